"""The only module that touches Jinja: customer replies from one template per decision and language (SPEC §6).

Templates live in ``templates/<lang>/`` (top level of the repository, shipped in the package as ``_templates``);
a merchant's folder overrides them file by file. The environment is sandboxed and strict: a missing variable is a
row error naming the template and the variable, never a silent blank. Customer text (buyer names, notes) is only
ever passed as data, so ``{{ 7*7 }}`` typed by a buyer comes out literally.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from pathlib import Path

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from .engine import Decision, Facts, Policy, Sla, Verdict
from .engine.model import ENGLISH_DECISION, CaseType, ReasonGroup
from .engine.money import yuan
from .errors import TemplateError
from .resources import TEMPLATES

BUILTIN = TEMPLATES
CASE_FIELDS = tuple(f.name for f in fields(Facts) if f.name not in ("problems", "loc"))
LANGUAGES = ("zh-CN", "en")
SUFFIX = ".j2"
ERROR_MARK = "【回复未生成】"


def template_name(decision: Decision) -> str:
    """REFUND_FULL → ``refund_full.j2``."""
    return decision.name.lower() + SUFFIX


def _money(value: Decimal | None) -> str:
    return yuan(value)


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _when(value: datetime | None, lang: str = "zh-CN", time: bool = True) -> str:
    """11月20日 09:00 / Nov 20, 9:00 (``time=False``: 11月20日 / Nov 20). Written out by hand: strftime is a tenth
    of a reply's time, and English month names must not follow the machine's locale."""
    if value is None:
        return ""
    if lang == "en":
        return f"{MONTHS[value.month - 1]} {value.day}" + (f", {value.hour}:{value.minute:02d}" if time else "")
    return f"{value.month}月{value.day}日" + (f" {value.hour:02d}:{value.minute:02d}" if time else "")


def environment(lang: str, templates: Path | None = None) -> SandboxedEnvironment:
    """A sandboxed, strict environment whose loader looks in the merchant's folder first, then the built-in one."""
    if lang not in LANGUAGES:
        raise TemplateError(f"不支持的回复语言“{lang}”：可用 {'、'.join(LANGUAGES)}")
    search = []
    if templates:
        folder = Path(templates)
        if not folder.is_dir():
            raise TemplateError(f"模板目录不存在：{folder}")
        search += [str(folder / lang), str(folder)]
    if not (BUILTIN / lang).is_dir():
        raise TemplateError(f"找不到内置回复模板：{BUILTIN / lang} 不存在。安装不完整：请按 README 重新安装 refund-sheet")
    search.append(str(BUILTIN / lang))
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(search, encoding="utf-8"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates are compiled once per run; no stat() per include per row
        cache_size=-1,  # a plain dict of the compiled templates: an include per row is a dict look-up, not an LRU shuffle
    )
    env.filters["money"] = _money
    env.filters["pct"] = lambda v: "" if v is None else f"{Decimal(v).normalize():f}"
    env.filters["when"] = lambda v: _when(v, lang)
    env.filters["day"] = lambda v: _when(v, lang, time=False)
    return env


def _located(error: Exception, fallback: str) -> str:
    """``refund_full.j2 第 3 行``: the template frame Jinja rewrites into the traceback."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.endswith(SUFFIX):
            return f"{Path(frame.filename).name} 第 {frame.lineno} 行"
    lineno = getattr(error, "lineno", None)
    name = getattr(error, "filename", None) or getattr(error, "name", None) or fallback
    return f"{Path(str(name)).name}" + (f" 第 {lineno} 行" if lineno else "")


def load_templates(env: SandboxedEnvironment, names: set[str]) -> dict[str, jinja2.Template]:
    """Compile every template a run may need, once; a syntax error or a missing file stops the run."""
    compiled = {}
    for name in sorted(names):
        try:
            compiled[name] = env.get_template(name)
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(f"回复模板语法错误：{_located(error, name)}：{error.message}") from None
        except jinja2.TemplateNotFound as error:
            raise TemplateError(f"找不到回复模板“{error.name}”（规则中的回复模板应为 templates 目录中的文件名）") from None
    return compiled


INCLUDE = re.compile(r"""\{%\s*include\s+(["'])([^"']+)\1\s*%\}""")  # a plain include of a named partial
SCOPED = re.compile(r"\{%-?\s*(?:set|macro|import|from|block|extends|call|filter|with)\b")  # makes names of its own
RUNTIME_NAMES = {"loop", "self", "super", "caller", "varargs", "kwargs"}  # mean something else once pasted in


def inlined(env: SandboxedEnvironment, name: str, depth: int = 0) -> str | None:
    """The source of template ``name`` with each plain ``{% include "x.j2" %}`` replaced by x.j2's own source (its
    includes too), or None when that could change what it renders: an include tag inside a comment or a raw
    block, a partial that defines names of its own or uses the loop's, one that cannot be found or parsed,
    includes nested too deep. The partial is wrapped in empty comments, so the whitespace rules (trim_blocks,
    lstrip_blocks) act around it as they did around the tag. Rendering a reply without ``include`` at run time
    takes half the time: no template look-up and no new context per partial per row."""
    try:
        source = env.loader.get_source(env, name)[0] if env.loader and depth <= 5 else None
        tree = env.parse(source) if source is not None else None
    except (jinja2.TemplateNotFound, jinja2.TemplateSyntaxError):
        return None
    if source is None or tree is None:
        return None
    plain = [node for node in tree.find_all(nodes.Include)
             if isinstance(node.template, nodes.Const) and node.with_context and not node.ignore_missing]
    if len(plain) != len(INCLUDE.findall(source)):  # a tag the parser does not see as one: in a comment, raw text
        return None
    if depth and (SCOPED.search(source) or any(n.name in RUNTIME_NAMES for n in tree.find_all(nodes.Name))):
        return None
    unsafe = False

    def partial(match: re.Match) -> str:
        nonlocal unsafe
        inner = inlined(env, match.group(2), depth + 1)
        if inner is None:
            unsafe = True
            return match.group(0)
        return "{# #}" + (inner[:-1] if inner.endswith("\n") else inner) + "{# #}"  # keep_trailing_newline=False

    text = INCLUDE.sub(partial, source)
    return None if unsafe else text


def _goods(category: str) -> str:
    return category if category.endswith(("商品", "类")) or not category else f"{category}类商品"


def contexts(policy: Policy, lang: str, base: dict | None = None) -> Callable[[Facts, Verdict, bool], dict]:
    """Everything a template may use, as a function of one row's facts and verdict, for one run. Customer text is
    passed as plain strings and never rendered itself. What depends only on the policy, the language, the decision
    or the 类目 text is worked out once, and each row's values are one dict (``base``, the template globals, first). Only immutable
    values are shared between rows (str, bool, None); the dicts and the risks list, which a template may change,
    are made anew per row. ``.name``/``.value`` of an enum are read as ``_name_``/``_value_``: the same strings
    without the enum property's Python-level ``__get__``. ``lean``: without ``case``, for a template that cannot
    reach it (``reaches``); building it is a third of the values' time."""
    base = base or {}
    english = lang == "en"
    read = attrgetter(*CASE_FIELDS)
    p = policy.params
    shop, signature, return_address = p.shop_name, p.signature, p.return_address
    nobody = "there" if english else "亲"
    labels = ENGLISH_DECISION if english else {d: d._value_ for d in Decision}
    categories: dict[str | None, tuple[str, str, bool | None]] = {}
    overdue, waiting, unshipped = Sla.OVERDUE, Sla.WAITING, CaseType.REFUND_UNSHIPPED
    quality = (ReasonGroup.QUALITY, ReasonGroup.WRONG_ITEM)

    def values(facts: Facts, verdict: Verdict, lean: bool) -> dict:
        text = facts.category
        try:
            name, goods, category_ok = categories[text]
        except KeyError:
            category = policy.category(text)
            name = category.name if category else (text or "")
            goods = _goods(name)  # 定制类商品, but 虚拟商品 (not 虚拟商品类商品)
            category_ok = category.supports_no_reason if category else None
            categories[text] = name, goods, category_ok
        decision, sla = verdict.decision, verdict.sla
        row = {
            **base,
            "verdict": {
                "decision": decision._name_,
                "label": labels[decision],
                "amount": verdict.amount,
                "percent": verdict.percent,
                "deadline": verdict.deadline,
                "payer": verdict.payer._name_ if verdict.payer else "NONE",
                "explanation": verdict.explanation,
                "rule_id": verdict.rule_id,
                "group": verdict.group._name_ if verdict.group else "OTHER",
                "reason": verdict.reason or facts.reason or "",
                "unopened_only": verdict.unopened_only,
                "window_end": verdict.window_end,
                "risks": list(verdict.risks),
            },
            "buyer": facts.buyer or nobody,
            "product": facts.product or "",
            "category": name,
            "goods": goods,
            # the time to promise an answer by; never one already past (an overdue case says "as soon as
            # possible"), never the buyer's own deadline (等待买家: the case waits on the buyer)
            "reply_by": verdict.deadline if sla is not overdue and sla is not waiting else None,
            "category_ok": category_ok,
            "unshipped": facts.type is unshipped,
            "quality": verdict.group in quality,
            "shop": shop,
            "signature": signature,
            "return_address": return_address,
            "lang": lang,
        }
        if not lean:  # last: no template can list its context, so the order of the names in it shows nowhere
            case = dict(zip(CASE_FIELDS, read(facts)))  # shallow: asdict's deep copy costs more than the render
            case["type"] = facts.type._value_ if facts.type else ""
            case["override"] = facts.override._value_ if facts.override else ""
            row["case"] = case
        return row

    return values


def reaches(env: SandboxedEnvironment, source: str) -> set[str] | None:
    """The names a template can look up in its context, or None when that is not known from its own source: it
    loads another template (include, import, extends), which sees the same context. A template has no other way
    to the context: no global, filter or test given to it reads the context's names (the built-in filters that
    take the context only call other filters and tests with it), and ``self`` gives blocks of the same source."""
    tree = env.parse(source)
    if next(tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)), None) is not None:
        return None
    return meta.find_undeclared_variables(tree)


def _caller(template: jinja2.Template, names: dict, located: bool = True) -> Callable[[dict], str]:
    """``template.render`` without its two copies of the values per call (``dict(values)``, then the globals and
    the values into one dict) nor its look-up of the globals through a ChainMap. The values come with the
    template's globals (range, dict, namespace, lipsum, cycler, joiner) already first in them, as ``render`` puts
    them (``contexts(..., base=names)``); the context is the one ``render`` makes (same class, name, blocks and
    global names; the sandbox is in the compiled code and the environment, both the same), over a dict made for
    this row alone. An error is re-raised as ``render`` does it, with the template's own lines in the traceback;
    ``located=False``: as it is (half an error reply's time), where the error is not reported but rendered again."""
    if dict(template.globals) != names:
        raise ValueError(f"{template.name}: a template with globals of its own")  # make_renderer gives none any
    env = template.environment
    new, root, name, blocks, concat = env.context_class, template.root_render_func, template.name, template.blocks, env.concat

    def call(values: dict) -> str:
        try:
            return concat(root(new(env, values, name, blocks, globals=names)))
        except Exception:
            env.handle_exception()

    def bare(values: dict) -> str:
        return concat(root(new(env, values, name, blocks, globals=names)))

    return call if located else bare


def _error_reply(error: Exception, name: str) -> str:
    """The reply that stands for a template that failed: ``【回复未生成】file line: reason``."""
    if isinstance(error, jinja2.UndefinedError):
        return f"{ERROR_MARK}{_located(error, name)}：缺少变量（{error.message}）"
    if isinstance(error, jinja2.exceptions.SecurityError):
        return f"{ERROR_MARK}{_located(error, name)}：模板访问被禁止（{error}）"
    return f"{ERROR_MARK}{_located(error, name)}：{type(error).__name__}: {error}"  # a merchant's template may fail in any way


def make_renderer(policy: Policy, lang: str | None = None, templates: Path | str | None = None):
    """A function (facts, verdict) → reply text, with every template compiled up front.

    A render failure (a missing variable in a merchant's template, a blocked attribute) becomes the reply text
    ``【回复未生成】file line: reason`` so the row shows the problem and the batch goes on.
    """
    lang = lang or policy.params.language
    folder = templates or (policy.params.templates_dir or None)
    env = environment(lang, Path(folder) if folder else None)
    names = {template_name(d) for d in Decision if d not in (Decision.DONE,)}
    names |= {rule.template if rule.template.endswith(SUFFIX) else rule.template + SUFFIX for rule in policy.rules if rule.template}
    compiled = load_templates(env, names)
    lean = set()  # the fast templates that never use ``case``: their values are built without it
    fast = {}  # each template with its partials inlined, where that renders the same; errors are located by the original
    for name in compiled:
        source = inlined(env, name)
        if source is not None:
            try:
                fast[name] = env.from_string(source)
                names_used = reaches(env, source)
                if names_used is not None and "case" not in names_used:
                    lean.add(name)
            except jinja2.TemplateSyntaxError:
                pass  # a partial's mistake: the original reports it, row by row
    shared = dict(env.globals)
    values_of = contexts(policy, lang, shared)
    quick = {name: _caller(template, shared, located=False) for name, template in fast.items()}
    plain = {name: _caller(template, shared) for name, template in compiled.items()}
    files = {d: template_name(d) for d in Decision}
    missing: dict[str, str] = {}  # the reply for a template that is not there, by name

    def render(facts: Facts, verdict: Verdict) -> str:
        own = verdict.template
        name = (own if own.endswith(SUFFIX) else own + SUFFIX) if own else files[verdict.decision]
        values = values_of(facts, verdict, name in lean)
        call = quick.get(name)
        if call is not None:
            try:
                text = call(values)
            except Exception:  # rendered again from the original below, so the error names its file and line; from
                values = values_of(facts, verdict, False)  # fresh values: the failed render may have changed these
            else:
                return clean(text)
        if name not in plain:  # a closed case's done.j2, say: the KeyError a look-up in plain raises, once per name
            if name not in missing:
                missing[name] = _error_reply(KeyError(name), name)
            return missing[name]
        try:
            text = plain[name](values)
        except Exception as error:
            return _error_reply(error, name)
        return clean(text)

    return render


def clean(text: str) -> str:
    """A reply without blank lines, trailing spaces, or space before its first line: what
    ``"\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())`` gives, without a Python
    generator. A line is blank after rstrip() exactly when strip() empties it, and every line break splitlines()
    knows is whitespace to strip(), so stripping the text's end first changes nothing the rest keeps."""
    return "\n".join(filter(None, map(str.rstrip, text.lstrip().splitlines())))


def check_templates(folder: Path | str | None, policy: Policy | None = None) -> tuple[list[str], int]:
    """Render every decision's template in every language against a sample case (``templates check``).

    Returns (problems as ``file line: reason``, number of replies rendered). A syntax error in one language is
    reported and the other language is still checked.
    """
    from .engine import default_policy
    from .samples import decision_samples

    policy = policy or default_policy()
    samples = decision_samples(policy)
    problems: list[str] = []
    rendered = 0
    for lang in LANGUAGES:
        try:
            render = make_renderer(policy, lang=lang, templates=folder)
        except TemplateError as error:
            problems.append(f"[{lang}] {error}")
            continue
        for name, (facts, verdict) in samples.items():
            reply = render(facts, verdict)
            rendered += 1
            if reply.startswith(ERROR_MARK):
                problems.append(f"[{lang}] {name}: {reply[len(ERROR_MARK):]}")
    return problems, rendered
