"""What ``crm bench`` found: figures against their baselines and targets, and sanity checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Figure:
    """One measured time, the baseline it is compared with, and the targets it must meet.

    ``ratio`` is always ``seconds / baseline``: below 1 the API beat its baseline.
    """

    name: str
    seconds: float
    baseline: float | None
    max_seconds: float | None = None
    max_ratio: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Seconds over baseline seconds, or None without a baseline."""
        return self.seconds / self.baseline if self.baseline else None

    @property
    def target(self) -> str:
        """The targets as text, or "report only"."""
        parts = []
        if self.max_seconds is not None:
            parts.append(f"< {self.max_seconds:g} s")
        if self.max_ratio is not None:
            parts.append(f"ratio ≤ {self.max_ratio:g}")
        return ", ".join(parts) or "report only"

    def failures(self) -> list[str]:
        """Each target missed, as a sentence."""
        out = []
        if self.max_seconds is not None and self.seconds >= self.max_seconds:
            out.append(f"{self.seconds:.3f} s is not under {self.max_seconds:g} s")
        ratio = self.ratio
        if self.max_ratio is not None and (ratio is None or ratio > self.max_ratio):
            out.append(f"ratio {_number(ratio)} is above {self.max_ratio:g}")
        return out

    @property
    def passed(self) -> bool | None:
        """True or False against the targets; None when there are none."""
        if self.max_seconds is None and self.max_ratio is None:
            return None
        return not self.failures()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "seconds": self.seconds,
            "baseline_seconds": self.baseline,
            "ratio": self.ratio,
            "target": self.target,
            "max_seconds": self.max_seconds,
            "max_ratio": self.max_ratio,
            "passed": self.passed,
            "note": self.note,
        }


@dataclass
class Check:
    """A sanity check: two counts (or values) that must agree for the figures to mean anything."""

    name: str
    expected: Any
    got: Any

    @property
    def passed(self) -> bool:
        """True when the value is the expected one."""
        return bool(self.expected == self.got)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "expected": self.expected,
            "got": self.got,
            "passed": self.passed,
        }


@dataclass
class Report:
    """A whole run: its sizes, the machine, the figures and the checks."""

    params: dict[str, Any]
    environment: dict[str, Any]
    figures: list[Figure]
    checks: list[Check]

    def failures(self) -> list[str]:
        """One line per missed target or failed check."""
        out = [f"FAIL {f.name}: {why}" for f in self.figures for why in f.failures()]
        out += [f"FAIL check {c.name}: expected {c.expected!r}, got {c.got!r}"
                for c in self.checks if not c.passed]  # fmt: skip
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``crm bench --json``)."""
        return {
            "params": self.params,
            "environment": self.environment,
            "figures": [f.to_dict() for f in self.figures],
            "checks": [c.to_dict() for c in self.checks],
            "passed": not self.failures(),
        }

    def lines(self) -> list[str]:
        """The report as text: a header, the table, the notes, the checks, then FAIL lines."""
        env = self.environment
        out = [
            f"crm bench {self.params['records']:,} records, {self.params['operators']} operators, "
            f"{self.params['new']:,} new; {env['date']}",
            f"SQLite {env['sqlite']}, Python {env['python']}, {env['platform']}, "
            f"{env['cpus']} CPUs, load average {env['load_average']}",
            "",
        ]
        header = ("figure", "seconds", "baseline s", "ratio", "target", "result")
        rows = [header] + [
            (f.name, _number(f.seconds), _number(f.baseline), _number(f.ratio), f.target,
             {True: "pass", False: "FAIL", None: "-"}[f.passed])
            for f in self.figures
        ]  # fmt: skip
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            cells = [
                cell.ljust(width) if i in (0, 4, 5) else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            out.append("  ".join(cells).rstrip())
        out += ["", "notes:"] + [f"  {f.name}: {f.note}" for f in self.figures if f.note]
        out += ["", "checks:"]
        out += [f"  {'ok  ' if c.passed else 'FAIL'}  {c.name}: {c.got!r}" for c in self.checks]
        failures = self.failures()
        out += ["", *failures] if failures else ["", "all targets met"]
        return out


def _number(value: float | None) -> str:
    """A time or ratio with four significant digits; "-" for none."""
    if value is None:
        return "-"
    return f"{value:.4g}" if value < 1000 else f"{value:,.0f}"
