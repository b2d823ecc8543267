"""make_renderer's fast paths (inlined partials, the compiled template called without Template.render, cached
context parts, the quick clean-up) against a plain reference: Jinja's own ``Template.render`` of the template as
the loader gives it (includes and all), a context built field by field as replies.context was first written, and
the original clean-up. Every sample case, both languages, built-in and merchant templates, error replies too."""

from dataclasses import replace

import jinja2
import pytest
from conftest import NOW, facts_of
from hypothesis import given, strategies as st

from refund_sheet import replies
from refund_sheet.engine import Sla, default_policy, judge_all
from refund_sheet.engine.columns import INPUT_COLUMNS
from refund_sheet.engine.model import ENGLISH_DECISION, CaseType, Decision, ReasonGroup
from refund_sheet.replies import ERROR_MARK, SUFFIX, make_renderer
from refund_sheet.samples import decision_samples, sample_rows

POLICY = default_policy()


def reference_context(facts, verdict, policy, lang):
    """replies.context as it was before it was made faster: every value looked up anew for every row."""
    category = policy.category(facts.category)
    case = {name: getattr(facts, name) for name in replies.CASE_FIELDS}
    case["type"] = facts.type.value if facts.type else ""
    case["override"] = facts.override.value if facts.override else ""
    p = policy.params
    return {
        "case": case,
        "verdict": {
            "decision": verdict.decision.name,
            "label": verdict.decision.value if lang != "en" else ENGLISH_DECISION[verdict.decision],
            "amount": verdict.amount,
            "percent": verdict.percent,
            "deadline": verdict.deadline,
            "payer": verdict.payer.name if verdict.payer else "NONE",
            "explanation": verdict.explanation,
            "rule_id": verdict.rule_id,
            "group": verdict.group.name if verdict.group else "OTHER",
            "reason": verdict.reason or facts.reason or "",
            "unopened_only": verdict.unopened_only,
            "window_end": verdict.window_end,
            "risks": list(verdict.risks),
        },
        "buyer": facts.buyer or ("亲" if lang != "en" else "there"),
        "product": facts.product or "",
        "category": category.name if category else (facts.category or ""),
        "goods": replies._goods(category.name if category else (facts.category or "")),
        "reply_by": verdict.deadline if verdict.sla is not Sla.OVERDUE and verdict.sla is not Sla.WAITING else None,
        "category_ok": category.supports_no_reason if category else None,
        "unshipped": facts.type is CaseType.REFUND_UNSHIPPED,
        "quality": verdict.group in (ReasonGroup.QUALITY, ReasonGroup.WRONG_ITEM),
        "shop": p.shop_name,
        "signature": p.signature,
        "return_address": p.return_address,
        "lang": lang,
    }


def reference_clean(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())


def reference_renderer(policy, lang, templates=None):
    """The straightforward renderer: Template.render of what the loader gives (no inlining), a fresh context."""
    env = replies.environment(lang, templates)
    cache: dict[str, jinja2.Template] = {}

    def render(facts, verdict):
        name = verdict.template or replies.template_name(verdict.decision)
        if not name.endswith(SUFFIX):
            name += SUFFIX
        try:
            if name not in cache:
                if name == "done.j2" or (verdict.template and name not in compiled_names):
                    raise KeyError(name)  # make_renderer compiles only the decisions' and the rules' templates
                cache[name] = env.get_template(name)
            text = cache[name].render(reference_context(facts, verdict, policy, lang))
        except jinja2.UndefinedError as error:
            return f"{ERROR_MARK}{replies._located(error, name)}：缺少变量（{error.message}）"
        except jinja2.exceptions.SecurityError as error:
            return f"{ERROR_MARK}{replies._located(error, name)}：模板访问被禁止（{error}）"
        except Exception as error:
            return f"{ERROR_MARK}{replies._located(error, name)}：{type(error).__name__}: {error}"
        return reference_clean(text)

    compiled_names = {r.template if r.template.endswith(SUFFIX) else r.template + SUFFIX
                      for r in policy.rules if r.template}
    return render


ODD = ["{{ 7*7 }}", " 小王\t", "a\r\nb", "x\ry", "\u3000全角空格\u3000", "行\u2028分隔", "tab\tin", "\x0b\x0c\x1c", "\x85",
       "", None, "  ", "末尾\n\n", "é\u00a0"]


def cases():
    rows = sample_rows(NOW, 400)
    facts = facts_of([{c.header: r.get(c.key) for c in INPUT_COLUMNS} for r in rows], POLICY)
    found = list(zip(facts, judge_all(facts, POLICY, NOW))) + list(decision_samples(POLICY).values())
    for i, text in enumerate(ODD):  # customer text with every kind of line break and space the clean-up meets
        f, v = found[i * 7 % len(found)]
        found.append((replace(f, buyer=text, product=text, note=text, category=text), v))
    f, v = decision_samples(POLICY)["REJECT"]
    found += [(f, replace(v, decision=Decision.DONE)), (f, replace(v, template="nowhere")),
              (f, replace(v, template="")), (f, replace(v, risks=("高金额", "重复")))]
    return found


CASES = cases()


def compare(lang, templates=None, expect_errors=False):
    fast = make_renderer(POLICY, lang=lang, templates=templates)
    reference = reference_renderer(POLICY, lang, templates)
    got = [fast(f, v) for f, v in CASES]
    want = [reference(f, v) for f, v in CASES]
    for (f, v), a, b in zip(CASES, got, want):
        assert a == b, (v.decision, f.buyer)
    again = [fast(f, v) for f, v in CASES]  # the same renderer once more: nothing a row did stays for the next
    assert again == got
    errors = [reply for reply in got if reply.startswith(ERROR_MARK)]
    if expect_errors:
        assert len(errors) == len(got)
    else:  # closed cases (DONE: no template) and a rule's missing template only
        assert len(errors) > 2 and all("KeyError" in reply for reply in errors), errors[:3]
    return got


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_built_in_templates_render_what_template_render_renders(lang):
    got = compare(lang)
    assert len(set(got)) > 200


SHAPES = {
    "globals": {
        "_macros.j2": "{% macro money_line(x) %}金额：{{ x|money }}{% endmacro %}",
        "_p.j2": "[{{ buyer }}]\n",
        "reply.j2": (
            '{% from "_macros.j2" import money_line %}{% import "_macros.j2" as m %}\n'
            "{% set ns = namespace(n=0) %}{% set who = buyer|upper %}\n"
            "{% for i in range(3) %}{% set ns.n = ns.n + i %}{{ loop.index }}/{{ loop.length }}{% endfor %} {{ ns.n }}\n"
            "{% set c = cycler('a', 'b') %}{% set j = joiner('; ') %}"
            "{% for k, v in case.items() %}{{ j() }}{{ c.next() }}{{ k }}={{ v }}{% endfor %}\n"
            "{{ dict(a=1, b=2)|dictsort }} {{ case|dictsort|length }} {{ verdict|dictsort|first }}\n"
            "{{ money_line(verdict.amount) }} {{ m.money_line(case.paid) }} {{ verdict.percent|pct }}\n"
            "{{ verdict.deadline|when }} {{ case.delivered_at|day }} {{ who }} {{ goods }} {{ category_ok }}\n"
            "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{{ caller() if caller else '' }}{% endmacro %}"
            "{% call greet(buyer) %} +{{ shop }}{% endcall %}\n"
            '{% include "_p.j2" %}{% include "_p.j2" ignore missing %}{% include ["_nope.j2", "_p.j2"] %}\n'
            "{{ verdict.risks.append('追加') or '' }}{{ verdict.risks|join('、') }} {{ case.update({'buyer': 'X'}) or '' }}"
            "{{ case.buyer }}\n"
            "{% filter upper %}{{ lang }} {{ verdict.label }}{% endfilter %}\t \n\n   \r\n"
            "{% with x = 5 %}{{ x * 2 }}{% endwith %}{{ '%05.1f'|format(3.14159) }} {{ [3, 1, 2]|sort|list }}\n"
            "{{ reply_by is none }} {{ unshipped }} {{ quality }} {{ return_address }} {{ signature }}   \n"
        ),
    },
    "extends": {
        "_base.j2": "{% block head %}您好 {{ buyer }}{% endblock %}\n{% block body %}{% endblock %}\n— {{ shop }}",
        "reply.j2": '{% extends "_base.j2" %}{% block body %}{{ super() }}{{ self.head() }} {{ product }}{% endblock %}',
    },
    "partials": {
        "_greeting.j2": "  {{ buyer }}，您好！ \n\n",
        "_line.j2": "{{ verdict.label }}\r\n",
        "reply.j2": '{% include "_greeting.j2" %}\n  {% include "_line.j2" %}  \n{% include "_signature.j2" %}',
    },
    # ``case`` named only in nested places, or only in another template that sees this one's context, or only where
    # its absence is no error: make_renderer builds ``case`` only for the templates that can reach it
    "case-nested": {
        "reply.j2": (
            "{% macro m() %}{{ case.buyer }}{% endmacro %}{% macro w() %}[{{ caller() }}]{% endmacro %}"
            "{{ m() }} {% call w() %}{{ case.product }}{% endcall %} {% block b %}{{ case.paid }}{% endblock %}\n"
            "{% set s %}{{ case.note }}{% endset %}{{ s }} {% filter upper %}{{ case.sku }}{% endfilter %}\n"
            "{% for x in [] %}{% else %}{{ case.reason }}{% endfor %} {{ 1 if case.closed else 2 }} "
            "{{ case is defined }} {{ self.b() }} {{ [1]|map('string')|join }} {{ verdict|dictsort|length }}"
        ),
    },
    "case-via-include": {"_c.j2": "{{ case.buyer if case is defined }}|{{ case is defined }}", "reply.j2": '{% include "_c.j2" ignore missing %}!'},
    "case-via-import": {"_m.j2": "{% macro x() %}{{ case.order_id if case is defined else '-' }}{% endmacro %}",
                        "reply.j2": '{% import "_m.j2" as m with context %}{{ m.x() }}'},
    "case-via-extends": {"_base.j2": "{{ case.case_id if case is defined else '-' }}{% block b %}{% endblock %}",
                         "reply.j2": '{% extends "_base.j2" %}{% block b %}{{ buyer }}{% endblock %}'},
    "case-defined": {"reply.j2": "{{ case is defined }} {{ case|default('-')|length > 5 }} {{ buyer }}"},  # never fails
    "no-case": {"_p.j2": "{{ buyer }}\n", "reply.j2": '{% include "_p.j2" %}{{ verdict.label }} {{ goods }}'},
}
ERRORS = {
    "undefined": {"reply.j2": "第一行\n第二行\n{{ tracking_number }}"},
    "undefined-in-partial": {"_p.j2": "{{ buyer }}\n{{ nope }}\n", "reply.j2": '头\n{% include "_p.j2" %}尾'},
    "zero": {"reply.j2": "{{ buyer }}\n{{ 1 / 0 }}"},
    "sandbox": {"reply.j2": "{{ case.__class__.__mro__ }}"},
    "sandbox-call": {"reply.j2": "{{ ''.__class__.__mro__[1].__subclasses__() }}"},
    "attribute": {"reply.j2": "{{ verdict.amount.nope.more }}"},
    # changes a row's own objects, then fails: the error must be the one a fresh render gives
    "mutate-then-fail": {"reply.j2": "{{ verdict.risks.append('x') or '' }}{% if verdict.risks|length > 1 %}"
                                     "{{ nope }}{% endif %}\n{{ 1 / 0 }}"},
    "raise": {"reply.j2": "{{ range(10**9)|list }}"},  # the sandbox's range limit: an OverflowError
}


def write_shape(folder, files):
    for name, text in files.items():
        for lang in ("zh-CN", "en"):
            (folder / lang).mkdir(parents=True, exist_ok=True)
            target = [template_name(d) for d in Decision if d is not Decision.DONE] if name == "reply.j2" else [name]
            for file in target:
                (folder / lang / file).write_bytes(text.encode())


def template_name(decision):
    return replies.template_name(decision)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_merchant_template_renders_what_template_render_renders(tmp_path, lang, shape):
    write_shape(tmp_path, SHAPES[shape])
    got = compare(lang, tmp_path)
    assert len(set(got)) > 50


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("shape", list(ERRORS))
def test_a_failing_merchant_template_gives_the_same_error_reply(tmp_path, lang, shape):
    write_shape(tmp_path, ERRORS[shape])
    got = compare(lang, tmp_path, expect_errors=True)
    if shape in ("undefined", "undefined-in-partial", "zero"):
        where = {"undefined": "第 3 行", "undefined-in-partial": "_p.j2 第 2 行", "zero": "第 2 行"}[shape]
        assert all(where in reply for reply in got[:400] if "KeyError" not in reply), got[0]


SPACES = [chr(c) for c in range(0x3001) if chr(c).isspace()]  # \t \n \x0b \x0c \r \x1c-\x1f \x85 \xa0 \u2028 \u3000 ...


@given(st.text(alphabet=st.sampled_from([*SPACES, "a", "字", "\u200b"]), max_size=40))
def test_the_clean_up_is_the_original_one_for_any_text(text):
    assert replies.clean(text) == reference_clean(text)
