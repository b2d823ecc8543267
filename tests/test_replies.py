"""Customer replies (SPEC §6): every decision in every language, strictness, the sandbox, merchant templates."""

from dataclasses import replace
from datetime import datetime

import pytest
from click.testing import CliRunner
from conftest import NOW, facts_of, read_register, row
from policy_edit import set_cell

from refund_sheet import service
from refund_sheet.cli import main
from refund_sheet.engine import Sla, compile_policy, default_policy, judge_all
from refund_sheet.engine.columns import INPUT_COLUMNS
from refund_sheet.engine.policy import default_tables
from refund_sheet.errors import TemplateError
from refund_sheet.replies import ERROR_MARK, make_renderer
from refund_sheet.samples import decision_samples
from refund_sheet.workbook.build import build_tracker, deterministic_bytes

POLICY = default_policy()
SAMPLES = decision_samples(POLICY)

# What each reply must say, by decision: (zh-CN facts, en facts). The sample cases are in samples.DECISION_CASES.
MUST = {
    "REFUND_FULL": (["¥25.00", "全额退款", "1–3个工作日"], ["¥25.00", "full refund", "1-3 working days"]),
    "REFUND_PARTIAL": (["¥19.98", "20%", "不用寄回", "11月23日"], ["¥19.98", "20%", "keep the item", "Nov 23"]),
    "RETURN_REFUND": (["¥99.90", "未拆封", "运费需要您承担"], ["¥99.90", "unopened", "paid by you"]),
    "EXCHANGE": (["换货", "尺码或颜色"], ["exchange", "size or colour"]),
    "RESEND": (["漏发", "补寄"], ["missing", "no cost"]),
    "REJECT": (["定制类商品不适用七天无理由退货", "《网络购买商品七日无理由退货暂行办法》", "上传问题部位的照片"],
               ["定制 items are excluded", "7-day no-reason returns", "upload photos"]),
    "NEED_EVIDENCE": (["问题部位的清晰照片", "快递面单", "第一时间为您处理"], ["photo of the problem", "shipping label", "handle your request"]),
    "MANUAL_REVIEW": (["核实物流", "11月20日 09:00"], ["courier", "Nov 20, 9:00"]),
    "INCOMPLETE": (["核对订单信息", "11月20日 09:00"], ["checking the order details", "Nov 20, 9:00"]),
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("name", list(MUST))
def test_every_decision_has_a_reply_with_its_facts(name, lang):
    facts, verdict = SAMPLES[name]
    assert verdict.decision.name == name
    reply = make_renderer(POLICY, lang=lang)(facts, verdict)
    for fact in MUST[name][0 if lang == "zh-CN" else 1]:
        assert fact in reply, (fact, reply)
    assert facts.product in reply and "本店" in reply and "售后客服" in reply
    assert "None" not in reply and "{{" not in reply and not reply.startswith(ERROR_MARK)


def test_buyer_name_falls_back_to_qin():
    facts, verdict = SAMPLES["RESEND"]
    assert make_renderer(POLICY)(replace(facts, buyer=None), verdict).startswith("亲，您好！")


@pytest.mark.parametrize("text", ["{{ 7*7 }}", "{% for x in range(3) %}x{% endfor %}", "{{ cycler.__init__.__globals__ }}"])
def test_customer_text_is_never_rendered(text):
    facts, verdict = SAMPLES["RESEND"]
    reply = make_renderer(POLICY)(replace(facts, buyer=text, product=text), verdict)
    assert reply.startswith(text) and "49" not in reply.splitlines()[0]


def test_the_return_address_from_the_policy_is_given():
    tables = default_tables()
    row_ = next(r for r in tables["参数"] if r["参数"].text == "退货地址")
    tables["参数"][tables["参数"].index(row_)] = dict(row_, 值=replace(row_["值"], text="浙江省杭州市余杭区XX路1号 售后部 收"))
    policy, problems = compile_policy(tables)
    assert problems == []
    facts, verdict = SAMPLES["RETURN_REFUND"]
    assert "退货地址：浙江省杭州市余杭区XX路1号 售后部 收" in make_renderer(policy)(facts, verdict)


# ------------------------------------------------------------------------------------------------ merchant templates


def write(folder, name, text, lang="zh-CN"):
    (folder / lang).mkdir(parents=True, exist_ok=True)
    (folder / lang / name).write_text(text, encoding="utf-8")


def test_a_merchant_folder_overrides_file_by_file(tmp_path):
    write(tmp_path, "reject.j2", "{% include '_greeting.j2' %}本店特别说明：{{ category }}商品恕不退换。")
    render = make_renderer(POLICY, templates=tmp_path)
    reject = render(*SAMPLES["REJECT"])
    assert "本店特别说明：定制商品恕不退换。" in reject and reject.startswith("小王，您好！")
    assert "全额退款" in render(*SAMPLES["REFUND_FULL"])  # built-in for the rest


def test_a_rule_may_name_its_own_template(tmp_path):
    write(tmp_path, "custom_reject.j2", "亲，定制商品一经制作不退不换哦～")
    tables = default_tables()
    r11 = next(r for r in tables["决策表"] if r["编号"].text == "R11")
    r11["回复模板"] = replace(r11["回复模板"], text="custom_reject")
    policy, problems = compile_policy(tables)
    assert problems == []
    facts = facts_of([row(商品类目="定制", 售后原因="不想要了")], policy)
    verdict = judge_all(facts, policy, NOW)[0]
    assert make_renderer(policy, templates=tmp_path)(facts[0], verdict) == "亲，定制商品一经制作不退不换哦～"


def test_a_missing_variable_is_a_row_error_naming_template_and_variable(tmp_path):
    write(tmp_path, "resend.j2", "您好\n我们会补寄 {{ tracking_number }}")
    reply = make_renderer(POLICY, templates=tmp_path)(*SAMPLES["RESEND"])
    assert reply.startswith(ERROR_MARK) and "resend.j2 第 2 行" in reply and "tracking_number" in reply


def test_a_syntax_error_stops_the_run_with_file_and_line(tmp_path):
    write(tmp_path, "exchange.j2", "第一行\n{% if quality %}换货")
    with pytest.raises(TemplateError, match=r"exchange.j2 第 2 行"):
        make_renderer(POLICY, templates=tmp_path)


@pytest.mark.parametrize(
    "attack",
    ["{{ case.__class__.__mro__ }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ verdict.items.__self__.__class__ }}"],
)
def test_sandbox_escapes_are_blocked(tmp_path, attack):
    write(tmp_path, "resend.j2", attack)
    reply = make_renderer(POLICY, templates=tmp_path)(*SAMPLES["RESEND"])
    assert reply.startswith(ERROR_MARK) and ("禁止" in reply or "缺少变量" in reply)
    assert "subclasses" not in reply.split("：", 1)[-1] or "禁止" in reply
    assert "<class" not in reply


# ------------------------------------------------------------------------------------------------ in the workbook


@pytest.fixture
def tracker(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(deterministic_bytes(build_tracker([{"case_id": "AS1", "order_id": "O1", "buyer": "晴天", "product": "碎花连衣裙",
        "category": "服装", "type": "退货退款", "reason": "商品破损", "paid": "159", "requested": "159", "evidence": "是",
        "delivered_at": datetime(2026, 11, 16, 10), "requested_at": datetime(2026, 11, 18, 9)}])))
    return path


def test_check_fills_the_reply_column(tracker):
    service.check_file(tracker, now=NOW)
    reply = read_register(tracker)[0]["回复话术"]
    assert reply.startswith("晴天，您好！") and "¥159.00" in reply and "寄回的运费由我们承担" in reply


def test_language_from_the_cli_or_the_policy(tracker):
    assert CliRunner().invoke(main, ["check", str(tracker), "--lang", "en", "--now", "2026-11-20 12:00"]).exit_code == 0
    assert read_register(tracker)[0]["回复话术"].startswith("Hi 晴天")
    set_cell(tracker, "参数", "语言", "值", "zh-CN")
    set_cell(tracker, "参数", "店铺名称", "值", "晴天小铺")
    service.check_file(tracker, now=NOW)
    assert "晴天小铺" in read_register(tracker)[0]["回复话术"]


def test_a_broken_merchant_template_writes_nothing(tracker, tmp_path):
    folder = tmp_path / "mine"
    write(folder, "return_refund.j2", "{% if %}")
    before = tracker.read_bytes()
    result = CliRunner().invoke(main, ["check", str(tracker), "--templates", str(folder)])
    assert result.exit_code == 1 and "return_refund.j2 第 1 行" in result.output
    assert tracker.read_bytes() == before


def test_templates_check_command(tmp_path):
    ok = CliRunner().invoke(main, ["templates", "check"])
    assert ok.exit_code == 0 and "已渲染 18 个回复，0 处错误" in ok.output
    write(tmp_path, "resend.j2", "{{ nope }}", lang="en")
    bad = CliRunner().invoke(main, ["templates", "check", str(tmp_path)])
    assert bad.exit_code == 1 and "[en] RESEND: resend.j2 第 1 行" in bad.output



def test_an_overdue_case_is_not_promised_a_time_already_past():
    facts, verdict = SAMPLES["MANUAL_REVIEW"]
    late = replace(verdict, sla=Sla.OVERDUE)
    assert "11月20日 09:00" in make_renderer(POLICY)(facts, verdict)
    reply = make_renderer(POLICY)(facts, late)
    assert "11月20日" not in reply and "耐心等待" in reply


def test_asking_for_photos_promises_no_time_the_buyer_cannot_meet():
    """The answer clock runs for the merchant; the buyer has not uploaded anything yet."""
    reply = make_renderer(POLICY)(*SAMPLES["NEED_EVIDENCE"])
    assert "前给您答复" not in reply and "第一时间为您处理" in reply


@pytest.mark.parametrize("category, words", [("虚拟商品", "虚拟商品不适用七天无理由退货"), ("定制", "定制类商品不适用七天无理由退货")])
def test_the_rejection_names_the_goods_naturally(category, words):
    facts = facts_of([row(商品类目=category, 售后原因="不想要了")])
    verdict = judge_all(facts, POLICY, NOW)[0]
    assert words in make_renderer(POLICY)(facts[0], verdict)


def test_partials_inlined_for_speed_render_exactly_what_include_renders(monkeypatch):
    """make_renderer inlines plain includes (half the time per reply); the text must be the same, byte for byte,
    for every decision in both languages and for a mix of real-looking cases."""
    from refund_sheet import replies
    from refund_sheet.samples import sample_rows

    rows = sample_rows(NOW, 400)
    facts = facts_of([{c.header: r.get(c.key) for c in INPUT_COLUMNS} for r in rows], POLICY)
    cases = list(zip(facts, judge_all(facts, POLICY, NOW))) + list(SAMPLES.values())
    for lang in ("zh-CN", "en"):
        for name in ("refund_full.j2", "return_refund.j2", "reject.j2"):  # the built-in ones are inlined whole
            assert not replies.INCLUDE.search(replies.inlined(replies.environment(lang), name) or "{% include \"x\" %}")
        render = make_renderer(POLICY, lang=lang)
        fast = [render(*case) for case in cases]
        with monkeypatch.context() as patch:
            patch.setattr(replies, "inlined", lambda env, name, depth=0: None)  # every partial through include
            render = make_renderer(POLICY, lang=lang)
        plain = [render(*case) for case in cases]
        assert fast == plain and len(set(fast)) > 100


def test_a_mistake_in_a_partial_is_located_in_the_partial_not_where_it_was_inlined(tmp_path):
    write(tmp_path, "_greeting.j2", "{{ buyer }}，您好！\n{{ tracking_number }}\n")
    reply = make_renderer(POLICY, templates=tmp_path)(*SAMPLES["REJECT"])
    assert reply.startswith(ERROR_MARK) and "_greeting.j2 第 2 行" in reply and "tracking_number" in reply


@pytest.mark.parametrize("partial", [
    "{% set who = '客官' %}{{ who }}，您好！",  # names of its own: would leak into the template if pasted in
    "{%- if buyer %}{{ buyer }}{% endif -%}，您好！{% include 'nowhere.j2' ignore missing %}",
])
def test_partials_that_could_render_differently_inlined_stay_includes(tmp_path, partial):
    write(tmp_path, "_greeting.j2", partial)
    write(tmp_path, "reject.j2", "{% set who = '顾客' %}{% include '_greeting.j2' %}再见，{{ who }}")
    reply = make_renderer(POLICY, templates=tmp_path)(*SAMPLES["REJECT"])
    assert reply.endswith("再见，顾客") and "您好！" in reply


@pytest.mark.parametrize("files", [
    {"reject.j2": '{# 旧的问候：{% include "_greeting.j2" %} #}正文在此'},  # an include commented out
    {"reject.j2": '{% raw %}{% include "_greeting.j2" %}{% endraw %}正文'},  # shown as text
    {"_greeting.j2": "{{ buyer }}，您好！\r\n", "reject.j2": '{% include "_greeting.j2" %}正文在此\r\n'},  # Windows lines
    {"_p.j2": "{{ buyer }}", "reject.j2": '{% for i in [1,2] %}{% include "_p.j2" %}{{ loop.index }}{% endfor %}'},
    {"_p.j2": "{{ loop.index }}", "reject.j2": '{% for i in [1,2] %}[{% include "_p.j2" %}]{% endfor %}'},  # an error
    {"_p.j2": "{{ x }}", "reject.j2": '{% macro m(x) %}<{% include "_p.j2" %}>{% endmacro %}{{ m(5) }}'},
    {"_p.j2": '{% include "_p.j2" %}', "reject.j2": 'a{% include "_p.j2" %}'},  # includes itself
    {"_p.j2": "{{ buyer }}\n", "reject.j2": '  {% include "_p.j2" %}  !'},  # indented: lstrip_blocks
], ids=["comment", "raw", "crlf", "loop", "loop-in-partial", "macro", "self", "lstrip"])
def test_a_merchant_template_renders_the_same_inlined_or_included(tmp_path, monkeypatch, files):
    from refund_sheet import replies

    for name, text in files.items():
        (tmp_path / "zh-CN").mkdir(exist_ok=True)
        (tmp_path / "zh-CN" / name).write_bytes(text.encode())
    fast = make_renderer(POLICY, templates=tmp_path)(*SAMPLES["REJECT"])
    monkeypatch.setattr(replies, "inlined", lambda env, name, depth=0: None)
    assert make_renderer(POLICY, templates=tmp_path)(*SAMPLES["REJECT"]) == fast
