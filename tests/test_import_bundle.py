"""``crm import bundle.yaml``: a whole CRM export moved in, on SQLite and PostgreSQL.

The bundle is modelled on a typical CRM export: sales teams with regional
offices, agents with managers and e-mails, accounts with a stage and a
stage history, and ~200 opportunities (agent, account, a stage such as
Prospecting / Engaging / Won / Lost, engage and close dates, close value).
A few rows are dirty on purpose (stray spaces, empty cells, a bad date, an
unknown agent, a stage nobody mapped); every figure the reports give is
computed again here from the rows written.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from crm_core import testing
from crm_core.api import Conflict, Crm, InvalidInput, PermissionDenied

ADMIN = "admin"
ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "workflows" / "b2b_sales.yaml"
STAGE_MAP = {"Prospecting": "lead", "Engaging": "proposal", "Won": "won", "Lost": "lost"}
PIPELINE = ["lead", "qualified", "proposal", "negotiation", "won"]
OFFICES = ["East", "West", "Central"]
START = date(2024, 1, 1)
BAD_DATE_LINE = 40
UNKNOWN_AGENT_LINE = 55
UNMAPPED_STAGE_LINE = 77


@dataclass
class Bundle:
    """The files written and what the test knows of them."""

    spec: Path
    agents: dict[str, str] = field(default_factory=dict)  # agent -> manager
    teams: dict[str, str] = field(default_factory=dict)  # agent or manager -> team
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    deals: list[dict[str, Any]] = field(default_factory=list)  # the valid opportunities
    history: int = 0  # rows of account_history.csv


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def _us(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def write_bundle(folder: Path, seed: int = 16, deals: int = 200) -> Bundle:
    """A CRM export and its spec in ``folder``."""
    rng = random.Random(seed)
    bundle = Bundle(folder / "bundle.yaml")
    _write(folder / "sales_teams.csv", ["sales_team", "regional_office"],
           [[f"Team {o}", o] for o in OFFICES])  # fmt: skip
    users = []
    for i, office in enumerate(OFFICES):
        manager = f"Manager {office}"
        users.append([manager, "", f"manager.{office.lower()}@example.com", f"Team {office}"])
        bundle.teams[manager] = f"Team {office}"
        for j in range(3):
            agent = f"Agent {i}{j}"
            # stray spaces around a name and a manager: read as the name
            shown = f"  {agent} " if (i, j) == (1, 1) else agent
            users.append([shown, f" {manager}", f"agent{i}{j}@Example.com", ""])
            bundle.agents[agent] = manager
            bundle.teams[agent] = f"Team {office}"
    _write(folder / "sales_agents.csv", ["sales_agent", "manager", "email", "team"], users)
    agents = sorted(bundle.agents)
    accounts, history = [], []
    for n in range(30):
        name = f"Account {n:02d}"
        owner = agents[n % len(agents)]
        created = START + timedelta(days=n)
        stage = ["Prospecting", "Engaging", "Won", "Lost"][n % 4]
        # the lost ones alternate: lost after engaging (proposal), or straight from prospecting
        engaged = stage in ("Engaging", "Won") or (stage == "Lost" and n % 8 == 3)
        reached = ["lead", "qualified", "proposal"] if engaged else ["lead"]
        if engaged:
            history.append([name, "Engaging", (created + timedelta(days=10)).isoformat()])
        if stage in ("Won", "Lost"):
            history.append([name, stage, (created + timedelta(days=40)).isoformat()])
        sector = "" if n == 7 else rng.choice(["retail", "tech", "medical"])  # an empty cell
        email = f"agent{owner[-2:]}@example.com"
        accounts.append([name, sector, OFFICES[n % 3], email, stage, _us(created)])
        bundle.accounts[name] = {"owner": owner, "stage": STAGE_MAP[stage], "reached": reached,
                                 "created": created}  # fmt: skip
    _write(
        folder / "accounts.csv",
        ["account", "sector", "office_location", "owner_email", "stage", "created"],
        accounts,
    )
    _write(folder / "account_history.csv", ["account", "stage", "date"], history)
    bundle.history = len(history)
    pipeline = []
    for n in range(deals):
        line = n + 2
        agent = rng.choice(agents)
        account = f"Account {rng.randrange(30):02d}"
        stage = rng.choice(["Prospecting", "Engaging", "Won", "Lost"])
        engage = START + timedelta(days=rng.randrange(300))
        close = engage + timedelta(days=rng.randrange(1, 90))
        value = rng.choice(["1054", "1054.50", "550", "4821", "26768"]) if stage == "Won" else ""
        row = [f"OP{n:04d}", agent, "GTX Basic", account, stage,
               engage.isoformat() if stage != "Prospecting" else "",
               _us(close) if stage in ("Won", "Lost") else "", value]  # fmt: skip
        if line == BAD_DATE_LINE:
            row[6] = "13/45/2024"
        elif line == UNKNOWN_AGENT_LINE:
            row[1] = "Zed Nobody"
        elif line == UNMAPPED_STAGE_LINE:
            row[4] = "Closed"
        else:
            row[4] = f" {stage} " if n % 10 == 0 else stage  # stray spaces
            bundle.deals.append({"id": row[0], "agent": agent, "account": account,
                                 "stage": STAGE_MAP[stage], "value": Decimal(value or 0),
                                 "engage": engage, "close": close, "line": line})  # fmt: skip
        pipeline.append(row)
    _write(folder / "sales_pipeline.csv",
           ["opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date",
            "close_date", "close_value"], pipeline)  # fmt: skip
    spec = {
        "version": 1,
        "defaults": {"currency": "USD", "owners": "name"},
        "files": [
            {"path": "sales_teams.csv", "entity": "team",
             "columns": {"name": "sales_team", "region": "regional_office"}},
            {"path": "sales_agents.csv", "entity": "user", "columns": {"name": "sales_agent"},
             "links": {"team": {"by": "name"}}},
            {"path": "accounts.csv", "entity": "record", "kind": "account",
             "columns": {"company": "account", "industry": "sector",
                         "region": "office_location", "owner": "owner_email",
                         "created_at": "created"},
             "links": {"owner": {"by": "email"}}, "date_format": "%m/%d/%Y",
             "values": {"stage": STAGE_MAP}},
            {"path": "account_history.csv", "entity": "stage_history",
             "columns": {"of": "account", "at": "date"}, "links": {"of": {"by": "company"}},
             "values": {"stage": STAGE_MAP}},
            {"path": "sales_pipeline.csv", "entity": "deal",
             "columns": {"external_id": "opportunity_id", "owner": "sales_agent",
                         "record": "account", "stage": "deal_stage", "created_at": "engage_date",
                         "closed_at": "close_date", "amount": "close_value"},
             "links": {"record": {"by": "company"}},
             "dates": {"closed_at": "%m/%d/%Y"},
             "values": {"stage": STAGE_MAP}},
        ],
    }  # fmt: skip
    bundle.spec.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return bundle


@pytest.fixture
def b2b(crm: Crm) -> Crm:
    """The CRM with the b2b_sales workflow applied to accounts."""
    crm.apply_workflow(ADMIN, WORKFLOW, create_users=True)
    return crm


def _counts(crm: Crm) -> dict[str, int]:
    with crm.engine.connect() as conn:
        tables = ("team", "crm_user", "record", "deal", "journal", "dedupe_key")
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def _file(report: Any, name: str) -> Any:
    return next(f for f in report.files if f.file == name)


def test_a_crm_export_moves_in_with_its_owners_dates_and_history(b2b: Crm, tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path)
    errors = tmp_path / "errors.csv"
    report = b2b.import_bundle(ADMIN, bundle.spec, errors_path=errors)

    assert [(f.file, f.created, f.rejected) for f in report.files] == [
        ("sales_teams.csv", 3, 0), ("sales_agents.csv", 12, 0), ("accounts.csv", 30, 0),
        ("account_history.csv", 0, 0), ("sales_pipeline.csv", len(bundle.deals), 3),
    ]  # fmt: skip
    # the history rows were written with their accounts, in time order: found again
    assert _file(report, "account_history.csv").unchanged == bundle.history
    with errors.open(encoding="utf-8") as rows:
        rejected = list(csv.DictReader(rows))
    assert [(r["file"], int(r["line"]), r["column"]) for r in rejected] == [
        ("sales_pipeline.csv", BAD_DATE_LINE, "close_date"),
        ("sales_pipeline.csv", UNKNOWN_AGENT_LINE, "sales_agent"),
        ("sales_pipeline.csv", UNMAPPED_STAGE_LINE, "deal_stage"),
    ]
    assert "'13/45/2024' is not a date (%m/%d/%Y" in rejected[0]["reason"]
    assert "'Zed Nobody' not found" in rejected[1]["reason"]
    assert "unknown deal stage 'Closed'" in rejected[2]["reason"]
    assert _file(report, "sales_pipeline.csv").unmapped == {
        "owner": {"Zed Nobody": 1},
        "stage": {"Closed": 1},
    }

    users = {u.name: u for u in b2b.list_users(ADMIN)}
    for agent, manager in bundle.agents.items():
        assert users[agent].team == bundle.teams[manager]  # joined the manager's team
        assert users[agent].email == f"agent{agent[-2:]}@example.com"
    # the imported teams, beside the workflow's own (sales_east, sales_west, made with its users)
    teams = {t.name: t for t in b2b.list_teams(ADMIN) if t.name.startswith("Team ")}
    assert set(teams) == {f"Team {o}" for o in OFFICES}

    with b2b.engine.connect() as conn:
        stored = {
            r.external_id: r
            for r in conn.execute(
                sa.text(
                    "SELECT d.external_id, d.stage, d.amount_minor, d.currency, d.closed_at, "
                    "d.created_at, u.name AS owner, r.title AS account FROM deal d "
                    "JOIN crm_user u ON u.id = d.owner_id JOIN record r ON r.id = d.record_id"
                )
            )
        }
        causes = set(
            conn.execute(
                sa.text("SELECT cause FROM journal WHERE entity = 'deal' AND action = 'create'")
            ).scalars()
        )
        regions = dict(
            conn.execute(sa.text("SELECT name, region FROM team WHERE name LIKE 'Team %'")).all()
        )
    assert regions == {f"Team {o}": o for o in OFFICES}
    for deal in bundle.deals:
        row = stored[deal["id"]]
        assert (row.stage, row.owner, row.account) == (
            deal["stage"],
            deal["agent"],
            deal["account"],
        )
        assert row.amount_minor == int(deal["value"] * 100) and row.currency == "USD"
        if deal["stage"] in ("won", "lost"):
            assert _day(row.closed_at) == deal["close"]
        if deal["stage"] != "lead":
            assert _day(row.created_at) == deal["engage"]
    assert causes == {f"import:sales_pipeline.csv:{d['line']}" for d in bundle.deals}

    _check_reports(b2b, bundle)


def _day(value: Any) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.date()


def _check_reports(crm: Crm, bundle: Bundle) -> None:
    """The funnel, time in stage and the b2b win rate, against figures computed here."""
    funnel = {r[0]: r for r in crm.run_report(ADMIN, "funnel", kind="account").rows}
    for i, stage in enumerate(PIPELINE):
        expected = 0
        for account in bundle.accounts.values():
            furthest = (PIPELINE.index(account["stage"]) if account["stage"] != "lost"
                        else PIPELINE.index(account["reached"][-1]))  # fmt: skip
            expected += furthest >= i
        assert funnel[stage][2] == expected, stage
    # an engaged account stays 10 days in lead, then 30 in proposal before its outcome
    spent: dict[str, list[float]] = {}
    for account in bundle.accounts.values():
        created = datetime.combine(account["created"], datetime.min.time(), UTC)
        steps = [("lead", created)]
        if "proposal" in account["reached"]:
            steps.append(("proposal", created + timedelta(days=10)))
        if account["stage"] in ("won", "lost"):
            steps.append((account["stage"], created + timedelta(days=40)))
        ends = [at for _, at in steps[1:]] + [crm.clock()]
        for (stage, since), until in zip(steps, ends, strict=True):
            spent.setdefault(stage, []).append((until - since).total_seconds() / 86400)
    stays = crm.run_report(ADMIN, "time_in_stage", kind="account").rows
    for stage, n, average, longest in stays:
        days = spent.get(stage, [])
        assert n == len(days), stage
        if days:
            assert (average, longest) == (round(sum(days) / n, 2), round(max(days), 2)), stage

    win = crm.run_report(ADMIN, "b2b_win_rate_by_owner", kind="account")
    expected: dict[str, list[Any]] = {}
    for deal in bundle.deals:
        owner = deal["agent"]  # a deal is credited to its own owner, not its account's
        row = expected.setdefault(owner, [0, 0, 0, Decimal(0)])
        row[0] += 1
        row[1] += deal["stage"] == "won"
        row[2] += deal["stage"] == "lost"
        row[3] += deal["value"] if deal["stage"] == "won" else 0
    got = {r[0]: r for r in win.rows}
    for owner, (n, won, lost, amount) in expected.items():
        rate = round(won / (won + lost), 4) if won + lost else None
        assert got[owner][1:6] == [n, n - won - lost, won, lost, rate], owner
        assert Decimal(str(got[owner][6])) == amount


def test_a_second_run_changes_nothing_and_a_changed_cell_is_an_update(
    b2b: Crm, tmp_path: Path
) -> None:
    bundle = write_bundle(tmp_path, deals=40)
    b2b.import_bundle(ADMIN, bundle.spec)
    before = _counts(b2b)
    again = b2b.import_bundle(ADMIN, bundle.spec)
    assert sum(f.created + f.updated for f in again.files) == 0
    assert _counts(b2b) == before
    assert _file(again, "accounts.csv").unchanged == 30

    pipeline = tmp_path / "sales_pipeline.csv"
    rows = list(csv.reader(pipeline.open(encoding="utf-8")))
    first = next(r for r in rows[1:] if r[4].strip() == "Won")
    first[7] = "999.99"
    _write(pipeline, rows[0], rows[1:])
    third = b2b.import_bundle(ADMIN, bundle.spec)
    assert _file(third, "sales_pipeline.csv").updated == 1
    with b2b.engine.connect() as conn:
        amount = conn.execute(sa.text("SELECT amount_minor FROM deal WHERE external_id = :e"),
                              {"e": first[0]}).scalar_one()  # fmt: skip
        journaled = conn.execute(
            sa.text("SELECT count(*) FROM journal WHERE entity = 'deal' AND action = 'update'")
        ).scalar()
    assert amount == 99999 and journaled == 1


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(b2b: Crm, tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path, deals=80)
    before = _counts(b2b)
    report = b2b.import_bundle(ADMIN, bundle.spec, dry_run=True)
    assert _counts(b2b) == before
    assert _file(report, "accounts.csv").created == 30
    # later files link to the rows earlier files would create
    assert _file(report, "sales_pipeline.csv").created == len(bundle.deals)
    assert _file(report, "sales_pipeline.csv").unmapped["owner"] == {"Zed Nobody": 1}


def test_atomic_keeps_nothing_when_a_later_file_rejects_a_row(b2b: Crm, tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path, deals=80)
    before = _counts(b2b)
    report = b2b.import_bundle(ADMIN, bundle.spec, atomic=True)
    assert report.rejected == 3
    assert _counts(b2b) == before
    # without --atomic, each batch is kept: the earlier files and the good rows are in
    kept = b2b.import_bundle(ADMIN, bundle.spec, batch_size=7)
    assert kept.rejected == 3
    assert _counts(b2b)["deal"] == len(bundle.deals)


def test_only_an_admin_imports_a_bundle(people: Crm, tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path, deals=5)
    with pytest.raises(PermissionDenied, match="only an admin may import a bundle"):
        people.import_bundle("mia", bundle.spec)


BAD_SPECS = [
    ("files:\n  - {path: sales_teams.csv, entity: team}\n", "1:1: 'version' is a required"),
    ("version: 1\nfiles:\n  - {path: sales_teams.csv, entity: teem}\n",
     "3:37: files[0].entity: unknown entity 'teem'"),
    ("version: 1\nfiles:\n  - path: accounts.csv\n    entity: record\n    kind: acount\n",
     "5:11: files[0].kind: no kind 'acount'"),
    ("version: 1\nfiles:\n  - {path: nowhere.csv, entity: team}\n",
     "3:12: files[0].path: no file"),
    ("version: 1\nfiles:\n  - path: sales_teams.csv\n    entity: team\n"
     "    columns: {name: sales_team, colour: x}\n",
     "5:33: files[0].columns.colour: unknown field 'colour'"),
    ("version: 1\nfiles:\n  - path: sales_pipeline.csv\n    entity: deal\n"
     "    columns: {external_id: opportunity_id, record: account}\n"
     "    links: {record: {kind: account, by: nosuch}}\n    date_format: 'soon'\n",
     "6:41: files[0].links.record.by: record cannot be found by 'nosuch'"),
    ("version: 1\nfiles:\n  - path: sales_pipeline.csv\n    entity: deal\n"
     "    columns: {external_id: opportunity_id, record: account}\n"
     "    links: {record: {kind: account, by: company}}\n    date_format: 'soon'\n",
     "7:18: files[0].date_format: bad date format 'soon'"),
    ("version: 1\nfiles:\n  - {path: sales_teams.csv, entity: team, colour: red}\n",
     "3:43: files[0].colour: unknown key"),
    ("version: 1\nfiles:\n  - path: sales_pipeline.csv\n    entity: deal\n"
     "    columns: {external_id: opportunity_id, record: account}\n",
     "3:5: files[0]: name the kind of the records 'record' points at in links.record.kind"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD_SPECS)
def test_a_bad_spec_is_exit_2_naming_file_line_and_column_and_changes_nothing(
    tmp_path: Path, text: str, message: str
) -> None:
    write_bundle(tmp_path, deals=5)
    spec = tmp_path / "bad.yaml"
    spec.write_text(text, encoding="utf-8")
    with testing.fresh_crm(tmp_path, entry_points=True) as crm:
        before = _counts(crm)
        with pytest.raises(InvalidInput) as caught:
            crm.import_bundle(ADMIN, spec)
        assert f"{spec}:{message}" in str(caught.value)
        assert _counts(crm) == before
    env = {**testing.CLEAN_ENV, "CRM_DATABASE_URL": f"sqlite:///{tmp_path / 'crm.db'}"}
    result = testing.invoke_cli(["--as", ADMIN, "import", str(spec)], env=env, entry_points=True)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_the_cli_prints_the_dry_run_per_file_and_json(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path, deals=80)
    with testing.fresh_crm(tmp_path, entry_points=True) as crm:
        crm.apply_workflow(ADMIN, WORKFLOW, create_users=True)
    env = {**testing.CLEAN_ENV, "CRM_DATABASE_URL": f"sqlite:///{tmp_path / 'crm.db'}"}
    args = ["--as", ADMIN, "import", str(bundle.spec), "--dry-run"]
    result = testing.invoke_cli(args, env=env, entry_points=True)
    assert result.exit_code == 2, result.output
    assert "dry run of bundle.yaml, nothing kept" in result.stdout
    assert "  accounts.csv (record account): 30 rows: 30 created" in result.stdout
    assert "    unmapped owner: 'Zed Nobody' (×1)" in result.stdout
    assert f"    line {UNKNOWN_AGENT_LINE}, sales_agent: owner 'Zed Nobody' not found" in (
        result.stdout
    )
    assert "3 row(s) rejected" in result.stderr
    as_json = testing.invoke_cli([*args, "--json"], env=env, entry_points=True)
    assert '"rejected": 3' in as_json.stdout and '"kept": false' in as_json.stdout
    with testing.fresh_crm(tmp_path, entry_points=True) as crm:
        assert _counts(crm)["record"] == 0
    kept = testing.invoke_cli(
        ["--as", ADMIN, "import", str(bundle.spec)], env=env, entry_points=True
    )
    assert kept.exit_code == 2 and "imported bundle.yaml:" in kept.stdout
    with testing.fresh_crm(tmp_path, entry_points=True) as crm, crm.engine.connect() as conn:
        causes = (
            conn.execute(
                sa.text(
                    "SELECT DISTINCT cause FROM journal WHERE entity = 'team' "
                    "AND cause LIKE 'import:%'"  # not the workflow's own teams
                )
            )
            .scalars()
            .all()
        )
    assert sorted(causes) == [f"import:sales_teams.csv:{line}" for line in (2, 3, 4)]


def test_the_readme_example_imports_as_its_sample_says(crm: Crm) -> None:
    example = ROOT / "docs" / "examples" / "moving-in" / "bundle.yaml"
    report = crm.import_bundle(ADMIN, example, dry_run=True)
    assert [(f.file, f.entity, f.created, f.rejected) for f in report.files] == [
        ("sales_teams.csv", "team", 2, 0), ("sales_agents.csv", "user", 4, 0),
        ("accounts.csv", "record", 3, 0), ("products.csv", "product", 3, 0),
        ("sales_pipeline.csv", "deal", 5, 1), ("sales_pipeline.csv", "deal_line", 4, 2),
    ]  # fmt: skip
    assert report.files[-1].unmapped == {"deal": {"ZZ9ZZ9ZZ": 1}, "product": {"GTX Plus Pro": 1}}
    assert _counts(crm)["deal"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "lead"], "give KIND FILE, or one import spec ending in .yaml or .yml"),
        (["import", "lead", "x.csv", "--atomic"], "--atomic goes with an import spec"),
    ],
)
def test_import_without_a_spec_or_file_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    with testing.fresh_crm(tmp_path, entry_points=True):
        pass
    env = {**testing.CLEAN_ENV, "CRM_DATABASE_URL": f"sqlite:///{tmp_path / 'crm.db'}"}
    result = testing.invoke_cli(["--as", ADMIN, *args], env=env, entry_points=True)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {message}")
    assert result.stderr.count("\n") == 1


def test_contacts_activities_tasks_and_later_history_link_to_imported_rows(
    b2b: Crm, tmp_path: Path
) -> None:
    write_bundle(tmp_path, deals=20)
    b2b.import_bundle(ADMIN, tmp_path / "bundle.yaml")
    _write(tmp_path / "contacts.csv", ["id", "account", "name", "phone"],
           [["C1", "Account 01", "Li Lei", "13800000001"],
            ["C2", "Account 02", "Han Meimei", "not a phone"]])  # fmt: skip
    _write(tmp_path / "activities.csv", ["id", "account", "kind", "when", "who", "note"],
           [["A1", "Account 01", "Call", "2025-03-01 09:30", "Agent 00", "first call"],
            ["A2", "Account 01", "Visit", "2025-03-02 15:00", "Agent 00", ""],
            ["A3", "Account 02", "Fax", "2025-03-02 15:00", "Agent 00", ""]])  # fmt: skip
    _write(
        tmp_path / "tasks.csv",
        ["id", "account", "for", "due", "what"],
        [["T1", "Account 01", "agent00@example.com", "2025-04-01 10:00", "send the quote"]],
    )
    # Account 00 was prospecting since 2024-01-01: it was qualified later, in Beijing time
    _write(tmp_path / "more_history.csv", ["account", "stage", "date"],
           [["Account 00", "qualified", "2025-01-10 08:00"],
            ["Account 04", "qualified", "2023-12-01 08:00"]])  # fmt: skip
    spec = {"version": 1, "defaults": {"timezone": "Asia/Shanghai"}, "files": [
        {"path": "contacts.csv", "entity": "contact",
         "columns": {"external_id": "id", "record": "account"},
         "links": {"record": {"kind": "account", "by": "company"}}},
        {"path": "activities.csv", "entity": "activity",
         "columns": {"external_id": "id", "record": "account", "type": "kind",
                     "occurred_at": "when", "actor": "who"},
         "values": {"type": {"Call": "call", "Visit": "visit"}},
         "links": {"record": {"kind": "account", "by": "company"}},
         "date_format": "%Y-%m-%d %H:%M"},
        {"path": "tasks.csv", "entity": "task",
         "columns": {"external_id": "id", "record": "account", "assignee": "for",
                     "due_at": "due", "note": "what"},
         "links": {"record": {"kind": "account", "by": "company"}, "assignee": {"by": "email"}},
         "date_format": "%Y-%m-%d %H:%M"},
        {"path": "more_history.csv", "entity": "stage_history",
         "columns": {"of": "account", "at": "date"},
         "links": {"of": {"kind": "account", "by": "company"}}, "date_format": "%Y-%m-%d %H:%M"},
    ]}  # fmt: skip
    path = tmp_path / "more.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    report = b2b.import_bundle(ADMIN, path)
    assert [(f.created, f.rejected) for f in report.files] == [(1, 1), (2, 1), (1, 0), (1, 1)]
    contacts, activities, _, history = (f.problems for f in report.files)
    assert (contacts[0].line, contacts[0].column) == (3, "phone")
    assert (activities[0].line, activities[0].column) == (4, "kind")
    assert report.files[1].unmapped == {"type": {"Fax": 1}}
    assert history[0].line == 3 and "already has a stage change" in history[0].reason

    account = next(
        r for r in b2b.list_records(ADMIN, kind="account", limit=100) if r.title == "Account 01"
    )
    logged = b2b.list_activities(ADMIN, account.id)
    assert [(a.type, a.actor, a.occurred_at) for a in logged] == [
        ("visit", "Agent 00", datetime(2025, 3, 2, 7, 0, tzinfo=UTC)),
        ("call", "Agent 00", datetime(2025, 3, 1, 1, 30, tzinfo=UTC)),
    ]
    assert b2b.get_record(ADMIN, account.id).last_activity_at == datetime(2025, 3, 2, 7, 0,
                                                                           tzinfo=UTC)  # fmt: skip
    [task] = b2b.list_tasks("Agent 00")
    assert (task.note, task.due_at, task.record_id) == (
        "send the quote",
        datetime(2025, 4, 1, 2, 0, tzinfo=UTC),
        account.id,
    )
    moved = next(
        r for r in b2b.list_records(ADMIN, kind="account", limit=100) if r.title == "Account 00"
    )
    assert moved.stage == "qualified"
    assert moved.stage_entered_at == datetime(2025, 1, 10, 0, 0, tzinfo=UTC)
    again = b2b.import_bundle(ADMIN, path)
    assert [(f.created, f.updated) for f in again.files] == [(0, 0)] * 4
    assert [f.unchanged for f in again.files] == [1, 2, 1, 1]


def test_every_entity_dumps_its_rows_for_an_export_that_imports_alike(
    b2b: Crm, tmp_path: Path
) -> None:
    """The entities' ``rows()`` (what ``crm export --all`` writes) import into an empty CRM
    and give the same reports."""
    from crm_core.transfer.bundle.registry import import_entities

    source = tmp_path / "source"
    source.mkdir()
    write_bundle(source, deals=60)
    b2b.import_bundle(ADMIN, source / "bundle.yaml")
    out = tmp_path / "dump"
    out.mkdir()
    entities = import_entities(b2b.host, b2b.registry)
    files = []
    with b2b.engine.connect() as conn, sa.orm.Session(bind=conn) as session:
        for name, kind in [("team", None), ("user", None), ("record", "account"),
                           ("deal", None), ("stage_history", None)]:  # fmt: skip
            rows = list(entities[name].rows(session, kind))
            header = list(dict.fromkeys(k for row in rows for k in row))
            _write(out / f"{name}.csv", header, [[_text(r.get(k)) for k in header] for r in rows])
            spec: dict[str, Any] = {"path": f"{name}.csv", "entity": name}
            if kind:
                spec["kind"] = kind
            if name == "team":  # the workflow's teams are there already: found by name
                spec["key"] = "name"
            if name == "user":  # the admin is there already: found by name
                spec |= {"key": "name", "links": {"team": {"by": "external_id"}}}
            if name in ("record", "deal"):
                spec["links"] = {"owner": {"by": "external_id"}}
            if name == "deal":
                spec["links"]["record"] = {"kind": "account"}
            if name == "stage_history":
                spec["columns"] = {}
                rows_of = [r for r in rows if r["entity"] == "record"]
                _write(out / f"{name}.csv", header,
                       [[_text(r.get(k)) for k in header] for r in rows_of])  # fmt: skip
            files.append(spec)
    (out / "bundle.yaml").write_text(yaml.safe_dump({"version": 1, "files": files}), "utf-8")

    (tmp_path / "copy").mkdir()
    with testing.fresh_crm(tmp_path / "copy", entry_points=True, clock=b2b.clock) as copy:
        copy.apply_workflow(ADMIN, WORKFLOW, create_users=True)
        report = copy.import_bundle(ADMIN, out / "bundle.yaml")
        assert report.rejected == 0, [f.problems for f in report.files]
        for name in ("funnel", "time_in_stage", "b2b_win_rate_by_owner", "b2b_pipeline"):
            assert (
                copy.run_report(ADMIN, name, kind="account").rows
                == b2b.run_report(ADMIN, name, kind="account").rows
            ), name
        assert copy.verify_journal(ADMIN).ok


def _text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def test_a_taken_name_is_a_rejected_row_and_a_collision_stops_saying_what_is_kept(
    crm: Crm, tmp_path: Path
) -> None:
    _write(tmp_path / "teams.csv", ["name"], [["east"], ["west"]])
    _write(tmp_path / "users.csv", ["external_id", "name"], [["U0", "admin"], ["U1", "Ann"]])
    _write(tmp_path / "twins.csv", ["external_id", "name"], [["U2", "Bo"], ["U3", "Bo"]])
    spec = tmp_path / "bundle.yaml"
    files = [{"path": "teams.csv", "entity": "team"}, {"path": "twins.csv", "entity": "user"}]
    spec.write_text(yaml.safe_dump({"version": 1, "files": files}), encoding="utf-8")
    kept = r"\(2 rows of earlier batches were kept; run the import again to finish"
    with pytest.raises(Conflict, match=rf"twins.csv: lines 2, 3 collide: .* {kept}"):
        crm.import_bundle(ADMIN, spec)
    assert {t.name for t in crm.list_teams(ADMIN)} == {"east", "west"}
    assert {u.name for u in crm.list_users(ADMIN)} == {"admin"}

    files[1]["path"] = "users.csv"
    spec.write_text(yaml.safe_dump({"version": 1, "files": files}), encoding="utf-8")
    report = crm.import_bundle(ADMIN, spec)
    [problem] = report.files[1].problems
    assert (problem.line, problem.field) == (2, "name")
    assert problem.reason == "name 'admin' is taken by #1, found by another key"
    assert {u.name for u in crm.list_users(ADMIN)} == {"admin", "Ann"}
