"""Keeping PostgreSQL's planner statistics and visibility maps fresh when autovacuum is off.

PostgreSQL plans each query from statistics that ``ANALYZE`` gathers, and
counts from an index alone only on pages ``VACUUM`` has marked all-visible.
Its autovacuum daemon does both as tables change; a server where it is off
(some are set up that way) keeps the statistics of an empty table through
an import of a million rows, and a pool's count reads every row after a
sweep. :func:`maintain` does what autovacuum would, with autovacuum's own
thresholds read from the server, for the tables that are past them; on a
server where autovacuum runs it leaves them to it. SQLite needs none of
this: the CRM's queries are written for its planner without statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter

from sqlalchemy import Engine, text

from crm_core.views import View

# pg_stat_user_tables' counts of each table of the current schema, with the server's
# autovacuum thresholds (a table's own storage options are not read: the CRM sets none).
DUE = text(
    """
    SELECT s.relname,
           s.n_dead_tup > v.threshold + v.scale * greatest(c.reltuples, 0) AS dead,
           s.n_ins_since_vacuum > v.ins_threshold + v.ins_scale * greatest(c.reltuples, 0)
               AS inserted,
           s.n_mod_since_analyze > v.an_threshold + v.an_scale * greatest(c.reltuples, 0)
               AS changed
    FROM pg_stat_user_tables s
    JOIN pg_class c ON c.oid = s.relid
    CROSS JOIN (SELECT
        current_setting('autovacuum_vacuum_threshold')::float AS threshold,
        current_setting('autovacuum_vacuum_scale_factor')::float AS scale,
        current_setting('autovacuum_vacuum_insert_threshold')::float AS ins_threshold,
        current_setting('autovacuum_vacuum_insert_scale_factor')::float AS ins_scale,
        current_setting('autovacuum_analyze_threshold')::float AS an_threshold,
        current_setting('autovacuum_analyze_scale_factor')::float AS an_scale) v
    WHERE s.schemaname = current_schema()
    ORDER BY s.relname
    """
)


@dataclass
class MaintenanceStep(View):
    """One table vacuumed or analysed: why, and how long it took."""

    table: str
    action: str  # "vacuum analyze" or "analyze"
    why: str
    seconds: float


@dataclass
class MaintenanceReport(View):
    """What :func:`maintain` did, or why it did nothing."""

    dialect: str
    autovacuum: bool | None  # None on SQLite
    steps: list[MaintenanceStep] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the command line and the worker's log."""
        if self.autovacuum is None:
            return "nothing to do on SQLite"
        if self.steps:
            done = ", ".join(f"{s.action} {s.table} ({s.seconds:.2f} s)" for s in self.steps)
            return f"maintained: {done}"
        if self.autovacuum:
            return "autovacuum is on: PostgreSQL maintains the tables itself"
        return "every table's statistics are current"


def maintain(engine: Engine, *, force: bool = False) -> MaintenanceReport:
    """Vacuum and analyse the tables past autovacuum's thresholds, when autovacuum is off.

    ``force`` does it whatever autovacuum's setting (``crm db maintain --force``).
    Runs outside any transaction, as ``VACUUM`` must; each table is its own step.
    """
    if engine.dialect.name != "postgresql":
        return MaintenanceReport(engine.dialect.name, None)
    with engine.connect() as conn:
        autovacuum = conn.execute(text("SELECT current_setting('autovacuum') = 'on'")).scalar()
        rows = conn.execute(DUE).all() if force or not autovacuum else []
    report = MaintenanceReport("postgresql", bool(autovacuum))
    plain = engine.execution_options(isolation_level="AUTOCOMMIT")
    with plain.connect() as conn:
        for table, dead, inserted, changed in rows:
            if dead or inserted:
                action = "vacuum analyze"
                why = "many rows changed or deleted" if dead else "many rows added"
            elif changed:
                action, why = "analyze", "many rows changed since its statistics"
            else:
                continue
            start = perf_counter()
            conn.execute(text(f'{action.upper()} "{table}"'))
            report.steps.append(MaintenanceStep(table, action, why, perf_counter() - start))
    return report
