"""The files the core ships inside the package: the example workflows and the dashboard.

Commands fall back on them when no file of the user's own is at hand, so
``crm demo``, ``crm alerts`` and ``crm tui`` work from any directory, not
only from a checkout (whose ``workflows/`` and ``dashboards/`` link here).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKFLOWS = Path("workflows")
DASHBOARD = Path("dashboards/dashboard.yaml")


def workflow_dir() -> Path:
    """``./workflows`` when the current folder has one, else the shipped workflows."""
    return WORKFLOWS if WORKFLOWS.is_dir() else HERE / WORKFLOWS


def dashboard_file() -> Path:
    """``./dashboards/dashboard.yaml`` when the current folder has one, else the shipped one."""
    return DASHBOARD if DASHBOARD.is_file() else HERE / DASHBOARD
