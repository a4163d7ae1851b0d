"""The plugin contract: every hook a crm plugin may implement.

A plugin is an ordinary Python package that exposes a module through the
entry-point group ``crm.plugins`` and marks its functions with
``crm_core.hookimpl``::

    # pyproject.toml
    [project.entry-points."crm.plugins"]
    gym = "crm_gym.plugin"

    # crm_gym/plugin.py
    from crm_core import hookimpl

    @hookimpl
    def crm_register_kinds(register):
        register(
            "member",
            label={"en": "Gym member", "zh": "会员"},
            fields={
                "phone": {"type": "string", "required": True, "dedupe": "phone",
                          "label": {"en": "Phone", "zh": "电话"}},
                "plan": {"type": "string", "enum": ["monthly", "yearly"],
                         "default": "monthly", "indexed": True},
            },
        )

Registration hooks (``crm_register_*``) receive a ``register`` callback
instead of returning lists, so one plugin can register many things and the
core validates each one as it arrives and knows which plugin sent it. They are
called once, when the CRM opens. The core's own built-ins (activity types,
dedupe normalisers) register through these same hooks.

Write hooks (``crm_validate_record``, ``crm_record_changed``,
``crm_activity_logged``) are called inside the transaction of the write: an
exception raised there rolls the whole write back, journal included, and is
reported with the plugin's name (:class:`crm_core.api.PluginError`, exit 6).

An implementation names only the arguments it uses: pluggy passes each
implementation just those, so a hook that gains an argument keeps every
older implementation working (``crm_validate_record(kind, fields)`` is a
valid implementation).

Every type a hook receives or returns is a dataclass re-exported from
:mod:`crm_core.api`, with its fields documented there: ``RecordChange`` and
``RecordSnapshot``, ``RecordView``, ``ActivityView``, ``Member``, ``Load``,
``ReportContext``, ``ReportResult``, ``OutboxMessage`` and the screen parts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    from crm_core.api import ActivityView, RecordChange, RecordView
    from crm_core.channels import Options

hookspec = pluggy.HookspecMarker("crm")

# ---------------------------------------------------------------------------
# Registration: called once per plugin when the CRM opens
# ---------------------------------------------------------------------------


@hookspec
def crm_register_kinds(register: Callable[..., None]) -> None:
    """Declare kinds of customer record and their fields.

    Call ``register(name, *, label, fields, title=None, aliases=None)`` once
    per kind:

    - ``name``: the kind's id, lower case (``"lead"``, ``"buyer"``).
    - ``label``: ``{"en": "...", "zh": "..."}``.
    - ``fields``: a dict of field name to a JSON Schema of the value (``type``
      is one of ``string``, ``integer``, ``number``, ``boolean``, ``array``;
      ``enum``, ``pattern``, ``minimum``, ``maximum``, ``minLength``,
      ``maxLength``, ``format``, ``items`` and ``default`` are honoured;
      ``{"type": "number", "format": "money"}`` holds an exact amount, at
      most two decimals, a whole one kept as an integer) plus these keys of
      the CRM:

      - ``label``: ``{"en": ..., "zh": ...}``;
      - ``required``: the field must have a value on every write;
      - ``dedupe``: a normaliser name (``"phone"``, ``"email"``, ``"company"``,
        ``"exact"``); the normalised value is unique within the kind;
      - ``indexed``: the core keeps a database index on the field;
      - ``searchable``: the field is matched by free-text search.
    - ``title``: the records' title template, plain ``{field}`` slots
      (``"{name} ({company})"``; a missing value is empty, blanks are
      collapsed). It titles every new record (imports included) that is not
      given a title, and re-titles a record whenever an update changes a
      field it names. A title a user sets explicitly stands until one of
      those fields next changes. Without a template a record is titled
      with its first string field that has a value, once, on create.
    - ``aliases``: import column headers mapped to fields (or ``title``,
      ``stage``, ``owner``), so ``crm import`` reads a file with the headers
      your users write (``{"姓名": "name", "手机": "phone"}``) without
      ``--map``. A header that is a field's own name, and ``--map``, win.

    A kind registered twice, an unknown key or an invalid schema, a template
    naming an unknown field or an alias to one stops the CRM from opening
    with a message naming the plugin. Returns nothing.

    Example::

        @hookimpl
        def crm_register_kinds(register):
            register(
                "student_lead",
                label={"en": "Student lead", "zh": "学员线索"},
                fields={"name": {"type": "string", "required": True},
                        "phone": {"type": "string", "dedupe": "phone"},
                        "course": {"type": "string", "indexed": True}},
                title="{name} · {course}",
                aliases={"姓名": "name", "手机": "phone", "课程": "course"},
            )
    """


@hookspec
def crm_register_fields(register: Callable[..., None]) -> None:
    """Add fields to a kind that another plugin declared.

    Call ``register(kind, name, spec)`` with ``spec`` shaped like one entry of
    ``fields`` in :func:`crm_register_kinds`. Called after every plugin's
    ``crm_register_kinds``, so the kind already exists. Returns nothing.
    """


@hookspec
def crm_register_activity_types(register: Callable[..., None]) -> None:
    """Declare types of activity (touchpoint) that can be logged on a record.

    Call ``register(name, label={"en": ..., "zh": ...})``. The core registers
    call, visit, email, message, meeting, feedback, complaint and note through
    this hook; plugins add their own (a viewing, a demo). Returns nothing.
    """


@hookspec
def crm_register_normalizers(register: Callable[..., None]) -> None:
    """Declare dedupe normalisers usable as a field's ``dedupe`` value.

    Call ``register(name, function)``; ``function(value: str) -> str`` returns
    the normalised key or raises ``ValueError`` with a reason, which is shown
    to the user as the field's error; any other exception is a failure of
    the plugin (exit 6). The core registers ``phone`` (E.164), ``email``
    (lower-cased), ``company`` (folded) and ``exact``. Returns nothing.
    """


# ---------------------------------------------------------------------------
# Writes: called inside the write's transaction
# ---------------------------------------------------------------------------


@hookspec
def crm_validate_record(
    kind: str,
    fields: dict[str, Any],
    before: dict[str, Any] | None,
    actor: str,
    action: str,
    stage_before: str | None,
    stage_after: str | None,
    owner: str | None,
) -> list[tuple[str, str]] | None:
    """Check a record's field values, in their context, beyond what its JSON Schema can say.

    Called on every write that changes a record's fields or its stage (a
    create, an update, a merge, an import row, a workflow ``set``, and a stage
    move, which is how a rule can depend on the stage), after schema
    validation, inside the write's transaction. Arguments (name only those
    you use; older implementations taking ``(kind, fields, before, actor)``
    keep working):

    - ``kind``: the record's kind.
    - ``fields``: every field value as it would be after the write.
    - ``before``: the field values before it; ``None`` on create and import.
    - ``actor``: the acting user's name (``""`` for the scheduler).
    - ``action``: ``create``, ``import``, ``update``, ``merge`` or ``move``.
    - ``stage_before``: the record's stage before the write (``None`` on create).
    - ``stage_after``: its stage after the write (the target of a move; the
      first stage on create), ``None`` when its kind has no workflow.
    - ``owner``: the owner's user name after the write, ``None`` if unowned.

    Return a list of ``(field, reason)`` problems, or ``None``/``[]`` when the
    values are fine. Every plugin is asked; all problems are reported together
    (exit 2) and the write is refused. Raising instead is a plugin failure
    (exit 6).

    Example::

        @hookimpl
        def crm_validate_record(kind, fields, stage_after):
            if (
                kind == "student_lead"
                and stage_after == "trial_booked"
                and not fields.get("trial_date")
            ):
                return [("trial_date", "is required while the lead is in trial_booked")]
            return None
    """


@hookspec
def crm_record_changed(change: RecordChange) -> None:
    """React to a change of a record, in the same transaction.

    Called after every create, update, merge, assignment, reassignment,
    claim, release, pool return, rotation, stage move and archive of a record
    (imports, sweeps and assignment passes included), once the journal row is
    written. ``change`` is a :class:`crm_core.api.RecordChange`: ``record_id``,
    ``kind``, ``action``, ``before`` and ``after`` (each a whole
    :class:`crm_core.api.RecordSnapshot`: title, stage, owner name, pool name,
    archived, fields; ``before`` is ``None`` on create), ``changed`` (the
    frozenset of what differs: ``"stage"``, ``"owner"``, ``"pool"``,
    ``"title"``, ``"archived"``, ``"fields.NAME"``), ``actor`` and ``cause``.

    Raise to refuse the change: the write and its journal row are rolled back
    and the error names the plugin (exit 6). In a sweep or an assignment pass
    only that record's change is undone: it is skipped and reported as a
    failure naming the plugin, and the others go on. Set-based passes build
    the snapshots only when some plugin implements this hook. Returns nothing.

    Contract v1 sent ``before``/``after`` as dicts of only what changed;
    ``change.after["fields"]`` now raises a ``TypeError`` saying so.

    Example::

        @hookimpl
        def crm_record_changed(change):
            if change.kind != "student_lead" or "stage" not in change.changed:
                return
            if change.after.stage == "enrolled":
                course = change.after.fields.get("course")
                print(f"{change.after.title} enrolled in {course} by {change.actor}")
    """


@hookspec
def crm_activity_logged(activity: ActivityView, record: RecordView, actor: str | None) -> None:
    """React to a touchpoint (call, visit, complaint…) logged on a record, in its transaction.

    Called by every :meth:`crm_core.api.Crm.log_activity` (``crm log``, the
    TUI), after the activity and its journal row are written:

    - ``activity``: the :class:`crm_core.api.ActivityView` (``type``, ``note``,
      ``data``, ``occurred_at``, ``actor``).
    - ``record``: the :class:`crm_core.api.RecordView` the activity is on,
      its last activity time already moved.
    - ``actor``: the user who logged it.

    Raise to refuse it: the activity and its journal row are rolled back and
    the error names the plugin (exit 6). Returns nothing.

    Example::

        @hookimpl
        def crm_activity_logged(activity, record):
            if activity.type == "complaint" and not activity.note:
                raise ValueError("a complaint needs a note saying what went wrong")
    """


# ---------------------------------------------------------------------------
# Workflows: assignment strategies and delivery channels
# ---------------------------------------------------------------------------


@hookspec
def crm_register_assignment_strategies(register: Callable[..., None]) -> None:
    """Register assignment strategies a workflow may name in ``strategy:``.

    Call ``register(name, factory)``. ``factory(members, state)`` receives the
    scope's :class:`crm_core.api.Member` list (in the YAML's order) and the
    state the strategy saved last time (``{}`` at first) and returns an object
    with ``pick(eligible, load, *, record)`` and ``state() -> dict``:

    - ``eligible``: the members who may take one more record now (active, not
      away, working today, under their caps), in order.
    - ``load``: a :class:`crm_core.api.Load`, a mapping of user id to open
      records of the workflow's kind (those handed out earlier in the pass
      included); ``load.count(kind=..., stage=..., **fields)`` answers a
      narrower load in SQL, once per pass (``load.count(course="python")``).
    - ``record``: the :class:`crm_core.api.RecordSnapshot` being assigned.
      Optional: a ``pick(eligible, load)`` without it keeps working (the
      signature is inspected once per pass).

    ``pick`` returns the chosen :class:`crm_core.api.Member`, or ``None`` to
    leave the record waiting. The state is saved after each run, so a
    strategy stays fair across restarts. The core registers ``round_robin``,
    ``weighted`` and ``load_balanced`` this way. An exception from
    ``factory``, ``pick`` or ``state`` names the plugin (exit 6); in the
    scheduler's passes a ``pick`` that raises skips just that record, and a
    failing ``factory`` just that scope's records.

    Example::

        class FewestOfCourse:
            def __init__(self, members, state):
                pass

            def pick(self, eligible, load, *, record):
                mine = load.count(course=record.fields.get("course"))
                return min(eligible, key=lambda m: mine.get(m.user_id, 0), default=None)

            def state(self):
                return {}

        @hookimpl
        def crm_register_assignment_strategies(register):
            register("fewest_of_course", FewestOfCourse)
    """


@hookspec
def crm_register_channels(register: Callable[..., None], config: dict[str, Options]) -> None:
    """Register delivery channels for notices (e-mail, webhook, SMS, chat).

    When a rule raises a notice (a pool-return warning, a stage or SLA alert,
    a workflow ``notify``), the core writes the reminder task and one outbox
    row per registered channel in the transaction that decided it; nothing is
    delivered there, and a dry run or ``simulate`` writes and sends nothing.
    After the commit, ``crm worker``, ``crm sweep`` and ``crm assign`` hand
    each row to its channel's ``deliver``.

    Call ``register(name, deliver)``; ``deliver(message)`` gets a
    :class:`crm_core.api.OutboxMessage` (the person with e-mail and phone,
    the record, the rule, the text, the due time) and returns when it was
    delivered. Raise :class:`crm_core.api.Undeliverable` when this person
    cannot be reached on the channel (the notice is skipped with the reason);
    any other exception is a failed attempt, tried again later with backoff
    and shown by ``crm outbox list``. Each notice reaches each channel at most
    once. ``config`` maps the tables of ``[channels]`` in ``crm.toml`` to
    readers (``text``, ``number``, ``flag``, the raw ``table``); register a
    channel only when its table is there. The core's ``email`` and
    ``webhook`` channels register this way. Returns nothing.

    This replaces ``crm_notify``, which ran inside the transaction (and so in
    dry runs); a plugin still implementing it is refused when the CRM opens.

    Example::

        @hookimpl
        def crm_register_channels(register, config):
            if "sms" not in config:
                return
            gateway = config["sms"].text("url", required=True)

            def deliver(message):
                if not message.phone:
                    raise Undeliverable(f"{message.user_name} has no phone")
                post_sms(gateway, message.phone, message.message)

            register("sms", deliver)
    """


@hookspec
def crm_register_conditions(register: Callable[..., None]) -> None:
    """Add condition operators usable in a workflow's conditions (``when``, ``exempt``).

    Call ``register(name, *, python, sql=None, schema)`` once per operator; the
    YAML then writes ``{name: argument}`` wherever a condition goes, alone or
    inside ``all``/``any``/``not``:

    - ``schema``: the JSON Schema of the argument; ``crm workflow validate``
      checks it and reports a bad argument at its file, line and column.
    - ``python(facts, arg, now) -> bool``: decides for one record. ``facts`` is
      a :class:`crm_core.api.Facts` (``stage``, ``fields``,
      ``created_at``, ``stage_entered_at``, ``last_activity_at``,
      ``owner_role``, ``activities(type)``); ``now`` is the clock's aware UTC
      time. Used by transition guards and ``crm why``.
    - ``sql(arg, dialect, now) -> ColumnElement[bool]``: the same test as a
      SQL boolean over the ``record`` table (``crm_core.api.Record``);
      ``dialect`` is ``"sqlite"`` or ``"postgresql"``. Assignment rules and
      pool sweeps run on whole sets in SQL, so an operator without it is
      refused there by ``crm workflow validate`` (it works in transitions'
      ``when``). Give both forms the same meaning; a missing value is false.

    A name the core uses (``field``, ``stage``, ``all`` …) or another plugin
    took stops the CRM from opening. An exception from ``python`` or ``sql``
    is a failure of the plugin (exit 6). Returns nothing.

    Example::

        @hookimpl
        def crm_register_conditions(register):
            def python(facts, arg, now):
                return facts.fields.get("course") in arg["courses"]

            def sql(arg, dialect, now):
                return crm_core.api.field_text(dialect, "course").in_(arg["courses"])

            schema = {"type": "object", "required": ["courses"],
                      "properties": {"courses": {"type": "array", "items": {"type": "string"}}}}
            register("course_in", python=python, sql=sql, schema=schema)
    """


@hookspec
def crm_register_actions(register: Callable[..., None]) -> None:
    """Add actions a workflow may run: on entering a stage, at a stage limit, at the SLA.

    Call ``register(name, run, *, schema)``; the YAML may then name
    ``{name: argument}`` where it names actions:

    - among a transition's ``on_enter`` actions, beside the core's ``set``,
      ``task``, ``notify``, ``assign`` and ``move_to_pool``: run by the stage
      move, inside its transaction, after the move is journalled;
    - as a stage's ``max_days: {days: 7, action: {name: argument}}`` or the
      SLA's ``then: {name: argument}``: run by the sweep once on each record
      past the limit (once per stay in the stage, once per owner for the SLA;
      a ``workflow_action`` journal row marks it).

    ``schema`` is the JSON Schema of the argument, checked by
    ``crm workflow validate`` with the file, line and column of a bad one.
    The action must not reach the outside world itself: ``simulate`` and dry
    runs roll its writes back, and ``ctx.notify`` sends through the outbox
    after the commit.

    ``run(ctx, arg)`` gets a :class:`crm_core.api.ActionContext`:
    ``ctx.record`` (the record's view, after the move), ``ctx.actor`` (who
    moved it, or who ran the sweep), ``ctx.now``, ``ctx.rule`` (the
    journal's cause), and the ways to write through the core:
    ``ctx.set_fields({...})`` (validated and journalled),
    ``ctx.add_task(note, due_in_days=0, user=None)``,
    ``ctx.notify(message, to="owner")`` (task plus outbox notices),
    ``ctx.journal(entity, entity_id, action, before, after)`` for a row of the
    plugin's own tables (``entity`` starts with the plugin's name) and
    ``ctx.session`` to write those tables. An exception rolls the move back
    and is reported naming the plugin (exit 6); in a sweep it undoes that
    record's action alone, which is reported as a failure naming the plugin,
    and the sweep goes on. Returns nothing.

    Example::

        @hookimpl
        def crm_register_actions(register):
            def book_trial(ctx, arg):
                days = arg.get("in_days", 2)
                ctx.set_fields({"trial_status": "booked"})
                ctx.add_task(f"call {ctx.record.title} about the trial", due_in_days=days)

            schema = {"type": "object", "additionalProperties": False,
                      "properties": {"in_days": {"type": "integer", "minimum": 0}}}
            register("book_trial", book_trial, schema=schema)
    """


# ---------------------------------------------------------------------------
# Storage: the plugin's own tables
# ---------------------------------------------------------------------------


@hookspec
def crm_register_migrations(register: Callable[..., None]) -> None:
    """Declare the alembic revisions that create and change the plugin's own tables.

    Call ``register(versions)`` once, with the folder (a path) holding the
    plugin's revision files. They form the plugin's own version branch: the
    first revision has ``down_revision = None`` and ``branch_labels =
    ("PLUGIN",)`` (the plugin's name, as in its entry point); the later ones
    follow it. Revision ids start with the plugin's name so they never
    collide. No revision may ``depends_on`` or follow a core revision: the
    core is always upgraded first, so every core table exists (and alembic
    would otherwise hide the core's revision behind the plugin's). Name the
    tables ``PLUGIN_…`` and declare any models on a ``MetaData`` of the
    plugin's own, not the core's.

    ``crm db upgrade`` (and ``crm init``) runs the core's revisions, then every
    plugin's, up to their heads; ``crm db status`` shows each branch's current
    and head revision; a CRM opened on a database whose plugin branch is
    behind refuses with "run `crm db upgrade`". A branch that breaks these
    rules stops the upgrade with a message naming the plugin. Returns nothing.

    Example::

        # crm_school/plugin.py
        from pathlib import Path

        @hookimpl
        def crm_register_migrations(register):
            register(Path(__file__).parent / "migrations")

        # crm_school/migrations/school_0001_trial_slots.py
        import sqlalchemy as sa
        from alembic import op

        revision, down_revision = "school_0001", None
        branch_labels, depends_on = ("school",), None

        def upgrade():
            op.create_table("school_trial_slot",
                            sa.Column("id", sa.Integer, primary_key=True),
                            sa.Column("record_id", sa.ForeignKey("record.id"), nullable=False))
    """


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


@hookspec
def crm_register_reports(register: Callable[..., None]) -> None:
    """Register reports for ``crm report NAME`` and the dashboard.

    Call ``register(name, run, label={"en": ..., "zh": ...}, needs_kind=False,
    description="...", kind=None)``; ``kind`` is the kind the report is about
    when the user names none (a plugin's report on its own kind). ``run(ctx)``
    gets a :class:`crm_core.api.ReportContext`
    (a read-only session, the acting user, ``kind``, ``by``, ``since``,
    ``params``, the kind's workflow, ``ctx.records(*columns)`` to start a query
    over the records the user may see, ``ctx.field(name)`` and
    ``ctx.number(name)`` for custom fields, ``ctx.tables`` for the core's
    tables) and returns a :class:`crm_core.api.ReportResult`. Reports should
    answer in SQL: they run over a million records.
    """


# ---------------------------------------------------------------------------
# Moving in and out: ``crm import bundle.yaml``
# ---------------------------------------------------------------------------


@hookspec
def crm_register_import_entities(register: Callable[..., None]) -> None:
    """Add entities an import spec (``crm import bundle.yaml``) may name in ``entity:``.

    Call ``register(entity)`` with an instance of a subclass of
    :class:`crm_core.api.ImportEntity`: its ``name``, its target fields
    (``targets``), how its rows are found (``find``, ``key_fields``), their
    stored values (``current``), how a batch is written (``create``,
    ``update``, set-based, journaled through the :class:`crm_core.api.ImportContext`
    they get) and every stored row for ``crm export --all`` (``rows``). The core's
    own (team, user, pool, record, contact, deal, activity, task, stage_history)
    are always there. Example, a catalogue table of a plugin::

        from crm_core import hookimpl
        from crm_core.api import ImportEntity, Target, insert_returning, simple_find

        class Product(ImportEntity):
            name = "product"
            def targets(self, registry, kind):
                return {"external_id": Target("external_id"),
                        "name": Target("name", required=True)}
            def find(self, session, kind, by, values):
                return simple_find(session, PRODUCT, by, values)
            def current(self, session, kind, ids): ...
            def create(self, ctx, kind, rows):
                ids = insert_returning(ctx.session, PRODUCT, [r.values for r in rows])
                for row, product_id in zip(rows, ids):
                    row.id = product_id
                    ctx.journal("product", product_id, None, "create", None,
                                row.values, line=row.line)
            def update(self, ctx, kind, rows): ...
            def rows(self, session, kind): ...

        @hookimpl
        def crm_register_import_entities(register):
            register(Product())

    A name the core (or another plugin) registered already is refused. Returns
    nothing.
    """


# ---------------------------------------------------------------------------
# The operator's screens (``crm tui``)
# ---------------------------------------------------------------------------


@hookspec
def crm_register_list_columns(register: Callable[..., None]) -> None:
    """Choose the columns of a kind's record lists in the TUI.

    Call ``register(kind, field, width=None)`` once per column, in the order
    they should appear after the record's id and title; the column's heading
    is the field's label. A kind no plugin gives columns shows its required
    fields. An unknown kind or field stops the CRM from opening. Returns nothing.

    Example::

        @hookimpl
        def crm_register_list_columns(register):
            register("member", "plan", width=8)
            register("member", "visits")
    """


@hookspec
def crm_register_detail_panels(register: Callable[..., None]) -> None:
    """Add panels to the detail screen of a kind's records in the TUI.

    Call ``register(kind, name, render, label={"en": ..., "zh": ...})``.
    ``render(crm, actor, record)`` gets the :class:`crm_core.api.Crm`, the
    operator's name and the :class:`crm_core.api.RecordView`, and returns the
    panel's text (a string with Rich markup, or any Rich renderable). It runs
    off the UI thread and may call the API as ``actor``; an exception shows in
    the panel as a plugin failure. Returns nothing.

    Example::

        @hookimpl
        def crm_register_detail_panels(register):
            def visits(crm, actor, record):
                return f"{record.fields.get('visits', 0)} visits this year"
            register("member", "visits", visits, label={"en": "Visits", "zh": "到店"})
    """


@hookspec
def crm_register_dashboard_cards(register: Callable[..., None]) -> None:
    """Add cards to the TUI's dashboard.

    Call ``register(name, render, label={"en": ..., "zh": ...})``.
    ``render(crm, actor)`` returns the card's text (Rich markup or a Rich
    renderable); it runs off the UI thread, typically calling
    ``crm.run_report(actor, ...)``. Returns nothing.

    Example::

        @hookimpl
        def crm_register_dashboard_cards(register):
            def members(crm, actor):
                result = crm.run_report(actor, "funnel", kind="member")
                return f"{sum(row[1] for row in result.rows)} members"
            register("members", members, label="Members")
    """


@hookspec
def crm_register_messages(register: Callable[..., None]) -> None:
    """Add the plugin's translations: what its messages say in another language.

    The plugin marks each text a user may read with :func:`crm_core.i18n._`
    (an error it raises, a problem its ``crm_validate_record`` returns, its
    panels' and cards' words with :func:`crm_core.i18n.say`), and calls
    ``register(lang, catalogue)`` once per language (``"zh"``): ``catalogue``
    maps each marked English text, slots and all, to its translation, or is a
    function returning that dict, called the first time a text is wanted in
    ``lang`` (so an English reader never loads it). A translation keeps the
    English ``{name}`` slots. Called when the CRM opens; keep it cheap.
    Returns nothing.

    Example::

        from crm_core import hookimpl
        from crm_core.i18n import _

        @hookimpl
        def crm_validate_record(kind, fields, before, stage_after):
            if kind == "member" and not fields.get("phone"):
                return [("phone", _("a member needs a phone"))]
            return None

        @hookimpl
        def crm_register_messages(register):
            register("zh", {"a member needs a phone": "会员需要电话"})
    """


@hookspec
def crm_register_talking_points(register: Callable[..., None]) -> None:
    """Give operators a call script: what to say to a record of a kind in a stage.

    Call ``register(kind, stage, points)`` with the workflow's stage id and
    ``points`` a list of lines, each a string or ``{"en": ..., "zh": ...}``.
    The TUI's record screen shows the lines for the record's current stage
    when the operator presses ``i``; :meth:`crm_core.api.Crm.talking_points`
    returns them (plugins that register lines for the same stage add to each
    other, in registration order). An unknown kind, or points that are not a
    list of lines with text, stops the CRM from opening. A stage no workflow
    has is never shown. Returns nothing.

    Example::

        @hookimpl
        def crm_register_talking_points(register):
            register("member", "trial", [
                {"en": "Ask how the first visit went", "zh": "询问首次到店体验"},
                "Offer the yearly plan",
            ])
    """


# ---------------------------------------------------------------------------
# The command line and the plugin's own settings
# ---------------------------------------------------------------------------


@hookspec
def crm_register_commands(register: Callable[..., None]) -> None:
    """Add commands to ``crm`` (datasette's ``register_commands``).

    Call ``register(name, command)``: ``command`` is a ``typer.Typer`` (its
    commands become ``crm NAME …``) or a function (``crm NAME`` itself, its
    parameters typer options and arguments). ``name`` is lower case letters,
    digits and dashes; by convention the plugin's own name. Called each time
    ``crm`` starts, before it parses the command line, so keep the hook cheap.
    A name the core or another plugin already has stops ``crm`` with both
    named (exit 6).

    A command reaches the CRM like the core's own do: take a
    ``ctx: typer.Context`` parameter and call :func:`crm_core.commands.cli`
    for the opened :class:`crm_core.api.Crm`, the acting user (``--as``) and
    the plugin's settings; print with :func:`crm_core.commands.table` and
    :func:`crm_core.commands.emit_json`. A :class:`crm_core.api.CrmError`
    keeps its exit code; any other exception is one line naming the plugin
    and the command, exit 6. Returns nothing.

    Example::

        import typer
        from crm_core import hookimpl
        from crm_core.commands import cli

        @hookimpl
        def crm_register_commands(register):
            gym = typer.Typer(help="Gym members.")

            @gym.command("yearly")
            def yearly(ctx: typer.Context):
                \"\"\"List the yearly members the acting user sees.\"\"\"
                state = cli(ctx)
                members = state.crm.list_records(
                    state.actor, kind="member", where={"plan": "yearly"}
                )
                for record in members:
                    typer.echo(f"#{record.id} {record.title}")

            register("gym", gym)
    """


@hookspec
def crm_register_settings(register: Callable[..., None]) -> None:
    """Declare the plugin's settings: a JSON Schema of its ``[plugins.NAME]`` table.

    Call ``register(schema)`` once with an object schema: ``properties`` maps
    each key to its schema (``type`` string, integer, number, boolean or
    array of strings; ``default``, ``enum``, ``minimum``… as JSON Schema
    says), and ``required`` lists keys without a default. An admin sets them
    in ``crm.toml``::

        [plugins.gym]
        max_trials = 2

    or in the environment, which wins: ``CRM_PLUGIN_GYM_MAX_TRIALS=3`` (text
    is read as the key's type; arrays are comma-separated). A key the schema
    does not have, a missing required key or a value the schema refuses stops
    the CRM from opening with ``crm.toml [plugins.gym] max_trials: reason``
    (exit 2). The plugin reads the checked values, defaults filled in, with
    ``crm.settings("gym")`` wherever it has the :class:`crm_core.api.Crm`
    (commands, detail panels, dashboard cards). ``crm plugins show NAME``
    shows the schema and the values, keys named like password, secret, token
    or key masked (and any key the schema marks ``"writeOnly": true``).
    Returns nothing.

    Example::

        @hookimpl
        def crm_register_settings(register):
            register({
                "type": "object",
                "properties": {
                    "max_trials": {"type": "integer", "minimum": 1, "default": 2},
                    "api_token": {"type": "string"},
                },
            })
    """
