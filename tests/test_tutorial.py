"""The tutorial's plugin (docs/examples/crm-school) passes its own tests in the main suite.

It is not installed here: its entry point would add the school plugin to every
other test's CRM. Its tests register it themselves (``fresh_crm(plugins=…)``),
so they run in a child pytest with the example's folder on ``PYTHONPATH``.
``tox -e tutorial`` installs it by its entry point and runs the same tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "crm-school"


def test_the_tutorials_plugin_passes_its_tests_as_the_page_shows_them() -> None:
    env = {**os.environ, "PYTHONPATH": str(EXAMPLE)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(EXAMPLE), str(EXAMPLE / "tests")],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "skipped" not in result.stdout
