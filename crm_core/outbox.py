"""The outbox: notices queued per delivery channel in the deciding transaction, sent after commit.

A rule that raises a notice writes one ``outbox`` row per enabled channel in
the transaction of the sweep, assignment or move that raised it, so a dry run
or a simulation (rolled back) leaves nothing to send. Deliverers claim due
rows (``sending``, committed, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so two
never take one row), call the channel outside any transaction, and record the
outcome. A row left in ``sending`` by a crash is not sent again until an admin
retries it: each notice goes out at most once per channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, or_
from sqlmodel import Session, col, select

from crm_core.errors import Conflict, InvalidInput, NotFound
from crm_core.i18n import _
from crm_core.models import Outbox, Record, User
from crm_core.views import View

if TYPE_CHECKING:
    from crm_core.notify import Notice
    from crm_core.records import WriteContext

STATUSES = ("pending", "sending", "sent", "failed", "skipped")
MAX_ATTEMPTS = 8
BACKOFF = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
ERROR_LENGTH = 500


class Undeliverable(Exception):
    """Raised by a channel's ``deliver`` when it cannot reach this person at all.

    The notice is marked ``skipped`` with the message as the reason and is not
    tried again (a user without an e-mail address, say). Any other exception
    is a failed attempt, tried again later.
    """


@dataclass(frozen=True)
class OutboxMessage:
    """One notice for one channel, as a channel's ``deliver(message)`` receives it.

    The person and the record are as they were when the rule raised the notice.

    Attributes:
        id: The outbox row, stable across attempts (receivers may use it to drop a duplicate).
        channel: The channel's registered name.
        attempt: Which attempt this is, counting from 1.
        user_id: The person's user id.
        user_name: The person's user name.
        email: The person's e-mail, or None.
        phone: The person's phone, or None.
        record_id: The record the notice is about, or None.
        record_kind: That record's kind, or None.
        record_title: That record's title, or None.
        cause: The rule that raised it (``pool:public:idle:warn``).
        message: The text.
        due_at: When the person should act.
        created_at: When the notice was raised.
    """

    id: int
    channel: str
    attempt: int
    user_id: int
    user_name: str
    email: str | None
    phone: str | None
    record_id: int | None
    record_kind: str | None
    record_title: str | None
    cause: str
    message: str
    due_at: datetime
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (times in ISO 8601), as the webhook channel posts it."""
        return {
            "id": self.id,
            "channel": self.channel,
            "attempt": self.attempt,
            "user_id": self.user_id,
            "user_name": self.user_name,
            "email": self.email,
            "phone": self.phone,
            "record_id": self.record_id,
            "record_kind": self.record_kind,
            "record_title": self.record_title,
            "cause": self.cause,
            "message": self.message,
            "due_at": self.due_at.isoformat(),
            "created_at": self.created_at.isoformat(),
        }


@dataclass
class OutboxView(View):
    """One outbox row as ``crm outbox list`` shows it."""

    id: int
    created_at: datetime
    channel: str
    user: str
    record_id: int | None
    cause: str
    message: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None


@dataclass
class DeliveryReport(View):
    """What one delivery run did: sent, retrying (to be tried again), failed for good, skipped."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        """How many notices were tried."""
        return self.sent + self.retrying + self.failed + self.skipped

    def add(self, status: str) -> None:
        """Count one row that ended in ``status`` (pending after a failure counts as retrying)."""
        name = "retrying" if status == "pending" else status
        setattr(self, name, getattr(self, name) + 1)


def write(ctx: WriteContext, notices: Sequence[Notice], channels: Sequence[str]) -> dict[str, int]:
    """Queue every notice on every channel in this transaction; return rows per channel."""
    if not notices or not channels:
        return {}
    session = ctx.session
    user_ids = {n.user_id for n in notices}
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(user_ids))).all()}
    record_ids = {n.record_id for n in notices if n.record_id is not None}
    records = {
        r[0]: r
        for r in session.exec(
            select(Record.id, Record.kind, Record.title).where(col(Record.id).in_(record_ids))
        ).all()
    }
    rows: list[dict[str, Any]] = []
    for notice in notices:
        user = users[notice.user_id]
        record = records.get(notice.record_id) if notice.record_id is not None else None
        payload = {
            "user_name": user.name,
            "email": user.email,
            "phone": user.phone,
            "record_kind": record[1] if record else None,
            "record_title": record[2] if record else None,
        }
        rows.extend(
            {"created_at": ctx.now, "channel": channel, "user_id": notice.user_id,
             "record_id": notice.record_id, "message": notice.message, "cause": notice.cause,
             "due_at": notice.due_at, "payload": payload, "status": "pending", "attempts": 0,
             "next_attempt_at": ctx.now, "last_error": None, "sent_at": None}
            for channel in channels
        )  # fmt: skip
    session.execute(insert(Outbox), rows)
    return {channel: len(notices) for channel in channels}


def _message(row: Outbox) -> OutboxMessage:
    assert row.id is not None
    p = row.payload
    return OutboxMessage(
        id=row.id,
        channel=row.channel,
        attempt=row.attempts,
        user_id=row.user_id,
        user_name=p["user_name"],
        email=p.get("email"),
        phone=p.get("phone"),
        record_id=row.record_id,
        record_kind=p.get("record_kind"),
        record_title=p.get("record_title"),
        cause=row.cause,
        message=row.message,
        due_at=row.due_at,
        created_at=row.created_at,
    )


def claim(ctx: WriteContext, limit: int) -> list[OutboxMessage]:
    """Take up to ``limit`` pending rows due at ``ctx.now``, oldest first: they become ``sending``.

    The caller commits before delivering, so a crash mid-delivery leaves the
    row in ``sending`` and it is not sent twice. Rows another deliverer has
    locked are skipped, not waited for.
    """
    # A notice never tried is due at once, even one raised by a sweep run as of a
    # later moment (``crm sweep --now``): the decision is committed, so it goes out.
    due = or_(col(Outbox.attempts) == 0, col(Outbox.next_attempt_at) <= ctx.now)
    query = (
        select(Outbox)
        .where(col(Outbox.status) == "pending", due)
        .order_by(col(Outbox.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = ctx.session.exec(query).all()
    for row in rows:
        row.status = "sending"
        row.attempts += 1
        ctx.session.add(row)
    ctx.session.flush()
    return [_message(r) for r in rows]


@dataclass(frozen=True)
class Outcome:
    """How one delivery attempt ended: ``sent``, ``skipped`` or ``failed`` with the reason."""

    status: str
    error: str | None = None


def attempt(deliver: Callable[[OutboxMessage], None] | None, message: OutboxMessage) -> Outcome:
    """Call the channel once; whatever it raises becomes the outcome, never the caller's crash."""
    if deliver is None:
        return Outcome("failed", f"channel '{message.channel}' is not enabled")
    try:
        deliver(message)
    except Undeliverable as exc:
        return Outcome("skipped", str(exc)[:ERROR_LENGTH])
    except Exception as exc:  # a channel's failure belongs on its row, not in the worker
        return Outcome("failed", f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH])
    return Outcome("sent")


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 1 min doubling, capped."""
    return min(BACKOFF * 2 ** (attempts - 1), BACKOFF_CAP)


def store(ctx: WriteContext, message_id: int, outcome: Outcome) -> str:
    """Store the outcome of an attempt on its row; return the row's new status.

    A failure is tried again after :func:`backoff`, and given up (``failed``)
    after :data:`MAX_ATTEMPTS` attempts.
    """
    row = ctx.session.get(Outbox, message_id)
    assert row is not None
    if outcome.status == "sent":
        row.status, row.sent_at, row.last_error = "sent", ctx.now, None
    elif outcome.status == "skipped":
        row.status, row.last_error = "skipped", outcome.error
    else:
        row.last_error = outcome.error
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
        else:
            row.status = "pending"
            row.next_attempt_at = ctx.now + backoff(row.attempts)
    ctx.session.add(row)
    return row.status


def _view(row: Outbox, user: str) -> OutboxView:
    assert row.id is not None
    return OutboxView(
        row.id, row.created_at, row.channel, user, row.record_id, row.cause, row.message,
        row.status, row.attempts, row.next_attempt_at, row.last_error, row.sent_at,
    )  # fmt: skip


def listing(session: Session, status: str | None, limit: int) -> list[OutboxView]:
    """The newest ``limit`` rows, of one ``status`` or all."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            _(
                "--status must be one of {names}, not {status!r}",
                names=", ".join(STATUSES),
                status=status,
            )
        )
    if limit < 1:
        raise InvalidInput(_("--limit must be at least 1"))
    query = select(Outbox, User.name).join(User, col(User.id) == col(Outbox.user_id))
    if status is not None:
        query = query.where(col(Outbox.status) == status)
    rows = session.exec(query.order_by(col(Outbox.id).desc()).limit(limit)).all()
    return [_view(row, name) for row, name in rows]


def retry(ctx: WriteContext, ids: Sequence[int], all_failed: bool) -> list[int]:
    """Put failed rows (and rows stuck in ``sending``) back to pending, due now; journaled.

    ``ids`` names rows; ``all_failed`` takes every failed row. A sent,
    skipped or pending row is refused: it is never sent twice.
    """
    if bool(ids) == all_failed:
        raise InvalidInput(_("give outbox ids or --all-failed (not both)"))
    query = select(Outbox).with_for_update()
    if all_failed:
        query = query.where(col(Outbox.status) == "failed")
    else:
        query = query.where(col(Outbox.id).in_(set(ids)))
    rows = {r.id: r for r in ctx.session.exec(query.order_by(col(Outbox.id))).all()}
    missing = sorted(set(ids) - set(rows))
    if missing:
        raise NotFound(_("no outbox row {names}", names=", ".join(f"#{i}" for i in missing)))
    for row in rows.values():
        if row.status not in ("failed", "sending"):
            raise Conflict(
                _(
                    "outbox #{row_id} is {status}: only failed or sending rows are retried",
                    row_id=row.id,
                    status=row.status,
                )
            )
    out = []
    for row_id, row in rows.items():
        assert row_id is not None
        before = {"status": row.status, "attempts": row.attempts}
        row.status, row.attempts, row.next_attempt_at = "pending", 0, ctx.now
        ctx.session.add(row)
        after = {"status": "pending", "attempts": 0}
        ctx.journal("outbox", row_id, row.record_id, "retry", before, after)
        out.append(row_id)
    return out
