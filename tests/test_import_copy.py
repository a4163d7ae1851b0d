"""The import's writes on PostgreSQL go through COPY; a dedupe key taken meanwhile by another
connection stops the batch with a conflict and keeps nothing of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm_core.api import Conflict, Crm
from crm_core.transfer import writer

pytestmark = pytest.mark.postgresql


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_key_taken_while_the_batch_is_written_is_a_conflict(
    crm: Crm, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("name,phone\nAnn,13900001111\nBob,13900002222\n", encoding="utf-8")
    take_ids = writer.take_ids

    def meanwhile(connection: Any, count: int) -> list[int]:
        # Another user's record with Bob's phone commits after the import checked its rows.
        other = Crm.open(db_url)
        try:
            other.add_record("admin", "lead", {"name": "Bob too", "phone": "139 0000 2222"})
        finally:
            other.close()
        return take_ids(connection, count)

    monkeypatch.setattr(writer, "take_ids", meanwhile)
    with pytest.raises(Conflict, match="same dedupe key while this batch was written"):
        crm.import_records("admin", "lead", path)
    titles = sorted(r.title for r in crm.list_records("admin"))
    assert titles == ["Bob too"]  # nothing of the batch, Ann included


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_copied_rows_keep_their_text_exactly(crm: Crm, tmp_path: Path) -> None:
    # COPY's text format escapes tabs, newlines and backslashes: the stored values must not show it.
    path = tmp_path / "leads.csv"
    path.write_text(
        'name,company,phone\n"Tab\there","Back\\\\slash\nNew line",13900003333\n',
        encoding="utf-8",
    )
    report = crm.import_records("admin", "lead", path)
    assert report.created == 1, report
    record = crm.list_records("admin")[0]
    assert record.fields["name"] == "Tab\there"
    assert record.fields["company"] == "Back\\\\slash\nNew line"
