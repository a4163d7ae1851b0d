"""The core's and the plugins' messages in the reader's language (``crm_core.i18n``).

The scans fail on a text a user may read that is not marked for translation,
on a marked text the Chinese catalogue lacks, and on a translation whose slots
differ from its English.
"""

from __future__ import annotations

import ast
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import crm_core
from crm_core import hookimpl, i18n
from crm_core.api import Crm, FieldError, InvalidInput, NotFound
from crm_core.i18n import Joined, Message, _
from crm_core.locale import zh as core_zh
from crm_core.plugins import PluginHost

CORE = Path(crm_core.__file__).parent
PLUGINS = CORE.parent / "plugins"
PLUGIN_PACKAGES = {
    "leads": PLUGINS / "leads" / "crm_leads",
    "b2b_accounts": PLUGINS / "b2b_accounts" / "crm_b2b_accounts",
    "real_estate": PLUGINS / "real_estate" / "crm_real_estate",
}
MARKS = {"_", "N_", "say"}
REFUSALS = {"CrmError", "InvalidInput", "NotFound", "Conflict", "PermissionDenied", "ConfigError"}
"""The errors a user reads; a registration error speaks to the plugin's author, in English."""


def _sources(root: Path) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(root.rglob("*.py")):
        if "tests" not in path.relative_to(root).parts:
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _marked(root: Path, skip: str | None = None) -> dict[str, str]:
    """Every literal text passed to ``_``, ``N_`` or ``say`` under ``root``, with where."""
    found: dict[str, str] = {}
    for path, tree in _sources(root):
        if skip and skip in path.parts:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            first = node.args[0] if node.args else None
            if node.func.id in MARKS and isinstance(first, ast.Constant):
                found.setdefault(first.value, f"{path.name}:{node.lineno}")
    return found


def _slots(text: str) -> list[str]:
    """Each ``{slot}`` of ``text`` whole (name, conversion and format), sorted."""
    return sorted(
        f"{name}!{conversion}:{spec}"
        for _literal, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    )


def _catalogues() -> Iterator[tuple[str, dict[str, str]]]:
    yield "core", core_zh.MESSAGES
    for name, package in PLUGIN_PACKAGES.items():
        module = __import__(f"{package.name}.locale_zh", fromlist=["MESSAGES"])
        yield name, module.MESSAGES


def test_every_marked_core_text_has_its_chinese() -> None:
    marked = _marked(CORE, skip="tui")  # the TUI's own words are crm_core.tui.i18n.ZH's
    assert len(marked) > 150  # the scan found the core's messages
    missing = {text: where for text, where in marked.items() if text not in core_zh.MESSAGES}
    assert missing == {}


@pytest.mark.parametrize("plugin", sorted(PLUGIN_PACKAGES))
def test_every_marked_plugin_text_has_its_chinese(plugin: str) -> None:
    package = PLUGIN_PACKAGES[plugin]
    marked = _marked(package)
    assert marked  # the plugin marks what its users read
    catalogue = dict(_catalogues())[plugin]
    missing = {t: w for t, w in marked.items() if t not in catalogue and t not in core_zh.MESSAGES}
    assert missing == {}


@pytest.mark.parametrize("root", [CORE, *PLUGIN_PACKAGES.values()], ids=lambda p: p.name)
def test_every_refusal_a_user_reads_is_marked_for_translation(root: Path) -> None:
    """``raise NotFound(f"no pool {name}")`` would reach a Chinese reader in English."""
    plain = []
    for path, tree in _sources(root):
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            call = node.exc
            kind = getattr(call.func, "id", getattr(call.func, "attr", ""))
            text = call.args[0] if call.args else None
            if kind in REFUSALS and isinstance(text, (ast.Constant, ast.JoinedStr)):
                plain.append(f"{path.relative_to(root)}:{node.lineno}")
    assert plain == []


@pytest.mark.parametrize("name, catalogue", list(_catalogues()), ids=lambda v: str(v)[:12])
def test_every_translation_keeps_the_slots_of_its_english(
    name: str, catalogue: dict[str, str]
) -> None:
    wrong = {en: zh for en, zh in catalogue.items() if _slots(en) != _slots(zh)}
    assert wrong == {}


def test_the_tui_words_keep_their_slots_too() -> None:
    from crm_core.tui.i18n import ZH

    assert {en: zh for en, zh in ZH.items() if _slots(en) != _slots(zh)} == {}


# -- what a message does


def test_a_message_is_its_english_and_renders_in_chinese() -> None:
    message = _("no pool '{name}' (pools: {names})", name="east", names="a, b")
    assert message == "no pool 'east' (pools: a, b)" and isinstance(message, str)
    assert message.msgid == "no pool '{name}' (pools: {names})"
    assert message.params == {"name": "east", "names": "a, b"}
    assert message.render("zh") == "没有公海“east”（已有公海：a, b）"
    assert message.render("en") == str(message)


def test_an_error_keeps_its_message_and_str_follows_the_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = NotFound(_("no record #{record_id}", record_id=7))
    assert str(error) == "no record #7"
    assert error.message.msgid == "no record #{record_id}"
    assert error.render("zh") == "没有客户 #7"
    monkeypatch.setenv("CRM_LANG", "zh_CN.UTF-8")
    assert str(error) == "没有客户 #7"
    i18n.use("en")  # the TUI's --lang wins over the environment
    assert str(error) == "no record #7"


def test_a_plain_error_has_a_message_without_slots() -> None:
    error = InvalidInput("something {odd}")
    assert error.message.msgid == "something {odd}" and error.render("zh") == "something {odd}"


def test_messages_inside_messages_are_translated_each(crm: Crm) -> None:
    with pytest.raises(FieldError) as caught:
        crm.add_record("admin", "lead", {"name": "Wang", "source": "referral"})
    error = caught.value
    assert "a referral lead needs the referring customer's id" in str(error)
    chinese = error.render("zh")
    assert chinese.startswith("lead 无效：字段“referrer_id”：转介绍线索需要填写转介绍客户的编号")
    assert "电话、邮箱、公司至少填写一项" in chinese


def test_a_value_checked_by_json_schema_is_recognised_in_chinese(crm: Crm) -> None:
    with pytest.raises(FieldError) as caught:
        crm.add_record("admin", "lead", {"name": "Wang", "phone": "1", "source": "tv"})
    assert "'tv' is not one of" in str(caught.value)
    assert "'tv' 不是 ['market_survey'" in caught.value.render("zh")


def test_stored_english_is_localized_with_its_values() -> None:
    note = (
        "#12 Wang returns to pool public within 3 day(s), by 2026-03-05 17:00 Asia/Shanghai "
        "(rule idle) unless you follow up"
    )
    assert i18n.localize(note, "zh") == (
        "#12 Wang 将在 3 天内（2026-03-05 17:00 Asia/Shanghai 前）"
        "退回 public（规则 idle），除非你跟进"
    )
    assert i18n.localize("record went back to a pool", "zh") == "客户已退回公海"
    assert i18n.localize("a note somebody typed", "zh") == "a note somebody typed"
    assert i18n.localize(note, "en") == note


def test_the_language_comes_from_crm_lang(monkeypatch: pytest.MonkeyPatch) -> None:
    assert i18n.active() == "en"
    for value, lang in [("zh", "zh"), ("zh_TW", "zh"), ("fr_FR", "en"), ("", "en")]:
        monkeypatch.setenv("CRM_LANG", value)
        assert i18n.active() == lang


# -- plugins bring their own catalogue


class _Gym:
    """A plugin with one message and a catalogue that says when it is read."""

    def __init__(self) -> None:
        self.reads = 0

    @hookimpl
    def crm_register_messages(self, register: Any) -> None:
        def chinese() -> dict[str, str]:
            self.reads += 1
            return {"a member needs {what}": "会员需要{what}"}

        register("zh", chinese)


def test_a_plugin_catalogue_is_read_only_for_its_language() -> None:
    gym = _Gym()
    PluginHost(extra=[("gym", gym)], entry_points=False)
    message = _("a member needs {what}", what=_("a phone"))
    assert message.render("en") == "a member needs a phone" and gym.reads == 0
    assert message.render("zh") == "会员需要a phone"
    assert message.render("zh") == "会员需要a phone" and gym.reads == 1  # read once


def test_a_plugin_registering_an_unknown_language_is_named() -> None:
    bad = SimpleNamespace(crm_register_messages=hookimpl(lambda register: register("fr", {})))
    with pytest.raises(crm_core.errors.PluginError, match="'bad' failed in crm_register_messages"):
        PluginHost(extra=[("bad", bad)], entry_points=False)


def test_english_reads_no_catalogue() -> None:
    """The CLI's start-up and an English error never import a catalogue."""
    code = (
        "import sys\n"
        "from crm_core.api import Crm, NotFound\n"
        "from crm_core.i18n import _\n"
        "str(NotFound(_('no record #{record_id}', record_id=1)))\n"
        "print(sorted(m for m in sys.modules if 'locale' in m and 'crm' in m))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_messages_survive_pickling() -> None:
    import pickle

    message = _("no task #{task_id}", task_id=3)
    copy = pickle.loads(pickle.dumps(message))
    assert isinstance(copy, Message) and copy.params == {"task_id": 3} and copy == message
    reasons = Joined("; ", [message, _("is required")])
    again = pickle.loads(pickle.dumps(reasons))
    assert again == "no task #3; is required" and again.render("zh") == "没有任务 #3; 必填"


def test_the_command_line_speaks_chinese_with_crm_lang(db_url: str) -> None:
    from typer.testing import CliRunner

    from crm_core.cli.main import app
    from crm_core.testing import CLEAN_ENV

    argv = ["--db", db_url, "--as", "admin", "record", "show", "999"]
    english = CliRunner().invoke(app, argv, env=CLEAN_ENV)
    assert (english.exit_code, english.stderr) == (4, "error: no record #999\n")
    chinese = CliRunner().invoke(app, argv, env={**CLEAN_ENV, "CRM_LANG": "zh"})
    assert (chinese.exit_code, chinese.stderr) == (4, "error: 没有客户 #999\n")


def test_a_workflow_file_s_problems_are_said_in_chinese(crm: Crm) -> None:
    from crm_core.workflow.loader import check_text

    head = "workflow: w\nversion: 1\nkind: lead\nstages:\n  - id: new\n"
    cases = {
        "  - id: new\n": "阶段“new”重复",
        "  - id: won\n    outcome: won\n    require: [shoe_size]\n": "lead 没有字段“shoe_size”",
        "  - id: won\n    outcome: won\ntransitions:\n"
        "  - {from: new, to: won, when: {field: budget, gte: many}}\n": (
            "“gte”须与数字比较，而不是 'many'"
        ),
    }
    for tail, chinese in cases.items():
        problems = check_text(head + tail, "w.yaml", crm.registry).problems
        said = [i18n.localize(p.message, "zh") for p in problems]
        assert any(s.startswith(chinese) for s in said), (said, [p.message for p in problems])
