"""The documentation's generated sections match the code (the cog blocks of docs/*.md)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

cogapp = pytest.importorskip(
    "cogapp", reason="cogapp checks the docs; it is in the test extra: pip install -e '.[test]'"
)

DOCS = Path(__file__).resolve().parent.parent / "docs"
README = DOCS.parent / "README.md"
GENERATED = sorted(
    p for p in [*DOCS.glob("*.md"), README] if "[[[cog" in p.read_text(encoding="utf-8")
)


def cog_check(*paths: Path) -> tuple[int, str]:
    """Run ``cog --check`` in-process; return its exit status and what it printed."""
    output = io.StringIO()
    cog = cogapp.Cog()
    cog.set_output(stdout=output, stderr=output)
    status = cog.main(["cog", "--check", "-I", str(DOCS), *map(str, paths)])
    return status, output.getvalue()


def test_the_reference_pages_are_generated() -> None:
    names = {p.name for p in GENERATED}
    assert {"cli.md", "hooks.md", "workflows.md", "permissions.md", "plugins.md"} <= names
    assert README in GENERATED  # its "Your first two minutes" is the F1 help's walkthrough


@pytest.mark.parametrize("page", GENERATED, ids=lambda p: p.name)
def test_generated_section_matches_the_code(page: Path) -> None:
    status, output = cog_check(page)
    assert status == 0, (
        f"{page.name} is stale: the code changed and the page did not. "
        f"Regenerate with `cog -r -I docs docs/*.md README.md`.\n{output}"
    )


def test_a_stale_page_fails_the_check(tmp_path: Path) -> None:
    page = tmp_path / "permissions.md"
    text = (DOCS / "permissions.md").read_text(encoding="utf-8")
    page.write_text(text.replace("| admin | other |", "| admin | elsewhere |"), encoding="utf-8")
    status, output = cog_check(page)
    assert status == 5, output
    assert "permissions.md" in output
