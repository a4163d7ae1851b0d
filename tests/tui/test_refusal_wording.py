"""The API's refusals as the TUI shows them: in the TUI's words, never the command line's flags."""

from __future__ import annotations

import pytest

from crm_core.api import Crm, CrmError
from crm_core.tui.i18n import Translator
from crm_core.tui.messages import said

LEAD = 5


def _refusal(call: object, *args: object, **kwargs: object) -> CrmError:
    with pytest.raises(CrmError) as refused:
        call(*args, **kwargs)  # type: ignore[operator]
    return refused.value


def test_a_release_without_a_reason_asks_for_one_in_the_tui_s_words(tui_crm: Crm) -> None:
    error = _refusal(tui_crm.release, "alice", LEAD, "")
    assert "--reason" in str(error)  # the command line's words…
    assert said(error, Translator("en")) == "Type the reason for the release."  # …and the TUI's
    assert said(error, Translator("zh")) == "请填写退回原因。"


def test_a_lost_stage_asks_for_its_reasons_without_naming_a_flag(tui_crm: Crm) -> None:
    error = _refusal(tui_crm.move_record, "alice", LEAD, "lost")
    shown = said(error, Translator("en"))
    assert shown == (
        "Moving to lost needs a reason: type one of no_budget, competitor, unreachable, not_a_fit."
    )
    assert "--" not in said(error, Translator("zh"))


def test_other_refusals_are_shown_as_the_api_gives_them(tui_crm: Crm) -> None:
    error = _refusal(tui_crm.move_record, "alice", LEAD, "won")
    assert said(error, Translator("en")) == str(error)
