"""The start-up figures: ``crm --help`` and ``crm record show`` in new processes.

Each is the median of several runs against the median of as many bare
``python -c pass`` runs, interleaved in the same loop so that both see the
same load: a script that calls ``crm`` once a row pays this on every call.
"""

from __future__ import annotations

import importlib.metadata
import os
import statistics
import subprocess
import sys
from time import perf_counter

from crm_core.bench.data import ADMIN, Setup
from crm_core.bench.report import Check, Figure
from crm_core.plugins import ENTRY_POINT_GROUP

RUNS = 7
HELP_MAX_RATIO = 5.0
SHOW_MAX_RATIO = 15.0
CLI = "from crm_core.cli.main import run; run()"  # what the `crm` console script runs


def measure(setup: Setup, record_id: int, runs: int = RUNS) -> tuple[list[Figure], list[Check]]:
    """Time ``crm --help`` and ``crm record show ID`` against ``python -c pass``, ``runs`` each."""
    commands = {
        "baseline": [sys.executable, "-c", "pass"],
        "help": [sys.executable, "-c", CLI, "--help"],
        "show": [sys.executable, "-c", CLI, "--db", setup.url, "--as", ADMIN,
                 "record", "show", str(record_id)],
    }  # fmt: skip
    env = _environment()
    codes = {}
    # Untimed, and allowed to write bytecode caches (as `pip install` does): no timed run
    # compiles sources, even where the shell sets PYTHONDONTWRITEBYTECODE.
    warm = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for name, argv in commands.items():
        codes[name] = subprocess.run(argv, capture_output=True, env=warm, check=False).returncode
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            start = perf_counter()
            subprocess.run(argv, capture_output=True, env=env, check=False)
            times[name].append(perf_counter() - start)
    median = {name: statistics.median(values) for name, values in times.items()}
    note = (
        f"median of {runs} runs each, interleaved; baseline: python -c pass, "
        "median of as many runs in the same loop"
    )
    figures = [
        Figure("crm --help, cold", median["help"], median["baseline"],
               max_ratio=HELP_MAX_RATIO, note=note),
        Figure(f"crm record show #{record_id}, cold", median["show"], median["baseline"],
               max_ratio=SHOW_MAX_RATIO),
    ]  # fmt: skip
    checks = [
        Check("`crm --help` exit code", 0, codes["help"]),
        Check("`crm record show` exit code", 0, codes["show"]),
    ]
    return figures, checks


def _environment() -> dict[str, str]:
    """The bench's environment, with the plugins other than leads disabled.

    The bench's database has the leads plugin's schema only.
    """
    others = {ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    disabled = ",".join(sorted(others - {"leads"}))
    return {**os.environ, "CRM_DISABLED_PLUGINS": disabled}
