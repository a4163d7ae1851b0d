"""Every English text the TUI shows has its Chinese, and the translator fills slots."""

from __future__ import annotations

import ast
from pathlib import Path

from crm_core.tui import app as app_module
from crm_core.tui.i18n import ZH, Translator
from crm_core.tui.messages import CLI_WORDING

TUI = Path(app_module.__file__).parent


def _shown_texts() -> set[str]:
    """The literal first argument of every ``tr(...)`` call and every binding description."""
    texts: set[str] = set()
    for path in TUI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            first = node.args[0]
            if name == "tr" and isinstance(first, ast.Constant) and isinstance(first.value, str):
                texts.add(first.value)
            if name == "Binding" and len(node.args) >= 3:
                third = node.args[2]
                if isinstance(third, ast.Constant) and isinstance(third.value, str):
                    texts.add(third.value)
    return texts


def test_every_text_on_screen_has_a_chinese_translation() -> None:
    shown = _shown_texts()
    assert len(shown) > 20  # the scan found the screens' texts
    missing = sorted(t for t in shown if t not in ZH)
    assert missing == []


def test_translator_falls_back_to_english_and_fills_slots() -> None:
    zh, en = Translator("zh"), Translator("en")
    assert zh("My work") == "我的工作" and en("My work") == "My work"
    assert zh("a text nobody translated") == "a text nobody translated"
    assert Translator("fr").lang == "en"
    assert zh.label({"en": "Lead", "zh": "线索"}, "lead") == "线索"
    assert en.label({}, "lead") == "lead"


def test_the_tui_wording_of_api_refusals_has_its_chinese() -> None:
    missing = [wording for _pattern, wording in CLI_WORDING if wording not in ZH]
    assert missing == []
