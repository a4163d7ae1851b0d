"""The outbox: notices queued in the deciding transaction, delivered after it by channels.

Real servers on 127.0.0.1 stand in for the outside world: an SMTP server
(aiosmtpd) for the e-mail channel and an HTTP server for the webhook. Each
test starts its own and stops it at the end.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from typer.testing import CliRunner

from crm_core import hookimpl
from crm_core.api import (
    ConfigError,
    Conflict,
    Crm,
    FieldError,
    InvalidInput,
    NotFound,
    OutboxMessage,
    PermissionDenied,
    PluginError,
    Undeliverable,
)
from crm_core.cli.main import app
from crm_core.clock import ManualClock
from crm_core.config import channel_settings
from crm_core.outbox import BACKOFF_CAP, MAX_ATTEMPTS
from crm_core.testing import CLEAN_ENV

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
WARN_AT = 12 * DAY + 12 * HOUR  # idle 14 days returns; warned 2 days before
WARN_CAUSE = "pool:public:idle:warn"

WORKFLOW = """\
workflow: leads
version: 1
kind: lead
timezone: Asia/Shanghai
stages:
  - id: new
  - id: won
    outcome: won
transitions:
  - {from: new, to: won}
pools:
  - id: public
    members: [alice, bob]
    return:
      - id: idle
        when: {days_since: last_activity, gt: 14}
        warn_days_before: 2
"""


# -- servers ----------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on (yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Mailbox:
    """What the local SMTP server received, and the logins it saw."""

    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[tuple[bytes, bool]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"crm", b"s3cret")
        self.logins.append((data.login, ok))
        return AuthResult(success=ok, handled=False)

    def mails(self) -> list[Any]:
        return [message_from_bytes(e.original_content or b"") for e in self.envelopes]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on 127.0.0.1 that wants the login crm / s3cret (no TLS)."""
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box, hostname="127.0.0.1", port=port, authenticator=box.authenticate,
        auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    yield box, port
    controller.stop()


@dataclass
class Hooked:
    """What the local webhook server received; ``status`` is what it answers."""

    server: ThreadingHTTPServer
    requests: list[tuple[Message, bytes]] = field(default_factory=list)
    status: int = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def webhook() -> Iterator[Hooked]:
    """An HTTP server on 127.0.0.1 (a free port) in a thread, stopped after the test."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hooked.requests.append((self.headers, body))  # names are case-insensitive
            self.send_response(hooked.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hooked = Hooked(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hooked
    server.shutdown()
    server.server_close()
    thread.join()


@dataclass
class Counting:
    """A channel plugin that counts its calls (``fail``: raises; ``slow``: takes a while)."""

    calls: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    slow: float = 0.0

    @hookimpl
    def crm_register_channels(self, register: Any) -> None:
        register("counter", self.deliver)

    def deliver(self, message: OutboxMessage) -> None:
        if self.slow:
            threading.Event().wait(self.slow)
        with self.lock:
            self.calls.append(message.id)


# -- set-up -----------------------------------------------------------------------


@pytest.fixture
def leads(people: Crm, tmp_path: Path) -> Path:
    """The people, alice with an e-mail address, and the ``public`` pool's workflow applied."""
    path = tmp_path / "leads.yaml"
    path.write_text(WORKFLOW, encoding="utf-8")
    people.apply_workflow("admin", path)
    people.update_user("admin", "alice", email="Alice@Example.COM", phone="139 0000 1111")
    return path


def lead(crm: Crm, owner: str, n: int) -> int:
    values = {"name": f"Lead {n}", "phone": f"1390000{n:04d}"}
    return crm.add_record("admin", "lead", values, owner=owner).record.id


@contextmanager
def opened(db_url: str, clock: ManualClock, **kwargs: Any) -> Iterator[Crm]:
    crm = Crm.open(db_url, clock=clock, **kwargs)
    try:
        yield crm
    finally:
        crm.close()


def email_config(port: int, **options: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "sender": "crm@example.com", **options}


def statuses(crm: Crm) -> list[tuple[str, str, int]]:
    """(channel, status, attempts) of every outbox row, oldest first."""
    return [(r.channel, r.status, r.attempts) for r in reversed(crm.outbox("admin"))]


# -- e-mail -----------------------------------------------------------------------


def test_a_sweep_that_warns_sends_mail_after_its_commit(
    crm: Crm, leads: Path, db_url: str, clock: ManualClock, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    config = {"email": email_config(port, username="crm", password="s3cret")}
    with opened(db_url, clock, channels=config) as mailer:
        rid = lead(mailer, "alice", 1)
        lead(mailer, "bob", 2)  # bob has no e-mail address
        clock.advance(WARN_AT)
        (result,) = mailer.sweep("admin")
        assert (result.warned, result.notified, result.outbox) == (2, 2, {"email": 2})
        assert box.envelopes == []  # the sweep committed; nothing is sent inside it
        assert statuses(mailer) == [("email", "pending", 0)] * 2
        report = mailer.deliver_outbox()
        assert (report.sent, report.skipped, report.retrying, report.failed) == (1, 1, 0, 0)
        (envelope,) = box.envelopes
        assert envelope.rcpt_tos == ["alice@example.com"]
        assert envelope.mail_from == "crm@example.com"
        assert box.logins == [(b"crm", True)]
        (mail,) = box.mails()
        body = mail.get_payload(decode=True).decode()
        assert f"#{rid} Lead 1" in mail["Subject"]
        assert "Hello alice," in body and f"Record: #{rid} Lead 1 (lead)" in body
        assert f"Rule: {WARN_CAUSE}" in body
        sent, skipped = reversed(mailer.outbox("admin"))
        assert (sent.status, sent.attempts, sent.sent_at, sent.last_error) == (
            "sent", 1, clock(), None
        )  # fmt: skip
        assert (skipped.status, skipped.last_error) == ("skipped", "user bob has no e-mail address")
        assert mailer.deliver_outbox().total == 0  # at most once
        assert len(box.envelopes) == 1


def test_a_refused_login_is_a_failed_attempt_and_the_sweep_stays(
    crm: Crm, leads: Path, db_url: str, clock: ManualClock, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    config = {"email": email_config(port, username="crm", password="wrong")}
    with opened(db_url, clock, channels=config) as mailer:
        rid = lead(mailer, "alice", 1)
        clock.advance(WARN_AT)
        mailer.sweep("admin")
        assert mailer.deliver_outbox().retrying == 1
        (row,) = mailer.outbox("admin")
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.last_error is not None and row.last_error.startswith("SMTPAuthenticationError")
        assert row.next_attempt_at == clock() + MINUTE
        assert box.envelopes == []
        assert box.logins and {ok for _login, ok in box.logins} == {False}  # PLAIN, then LOGIN
        tasks = [(t.record_id, t.cause) for t in mailer.list_tasks("admin")]
        assert tasks == [(rid, WARN_CAUSE)]


def test_starttls_against_a_server_without_it_is_a_failed_attempt(
    crm: Crm, leads: Path, db_url: str, clock: ManualClock, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    with opened(db_url, clock, channels={"email": email_config(port, starttls=True)}) as mailer:
        lead(mailer, "alice", 1)
        clock.advance(WARN_AT)
        mailer.sweep("admin")
        assert mailer.deliver_outbox().retrying == 1
        (row,) = mailer.outbox("admin")
        assert row.last_error is not None and "STARTTLS" in row.last_error
        assert box.envelopes == []


def test_bad_channel_settings_stop_the_crm_from_opening(db_url: str, clock: ManualClock) -> None:
    cases = [
        ({"email": {"port": 25, "sender": "a@b.c"}}, r"\[channels.email\] host is required"),
        (
            {"email": {**email_config(25), "port": "abc"}},
            r"\[channels.email\] port must be a number",
        ),
        ({"email": email_config(25, ssl=True, starttls=True)}, "ssl or starttls, not both"),
        ({"email": email_config(25, starttls="maybe")}, "starttls must be true or false"),
        ({"webhook": {"url": "ftp://x", "secret": "s"}}, r"url must be http\(s\)"),
        ({"webhook": {"url": "http://x"}}, r"\[channels.webhook\] secret is required"),
    ]
    for config, message in cases:
        # the admin's settings are at fault, not a plugin: exit 2 naming the table and key
        with pytest.raises(ConfigError, match=message) as err:
            Crm.open(db_url, clock=clock, channels=config)
        assert err.value.exit_code == 2


def test_channel_settings_come_from_crm_toml_and_the_environment() -> None:
    data = {"channels": {"email": {"host": "mail", "port": 587}, "sms": {"url": "http://s"}}}
    env = {
        "CRM_CHANNELS_EMAIL_PASSWORD": "pw",
        "CRM_CHANNELS_WEBHOOK_URL": "http://h",
        "CRM_CHANNELS_SMS_API_KEY": "k",
        "CRM_OTHER": "x",
    }
    assert channel_settings(data, env) == {
        "email": {"host": "mail", "port": 587, "password": "pw"},
        "sms": {"url": "http://s", "api_key": "k"},
        "webhook": {"url": "http://h"},
    }
    assert channel_settings({}, {}) == {}
    with pytest.raises(InvalidInput, match="one table per channel"):
        channel_settings({"channels": {"email": "yes"}}, {})


# -- webhook ----------------------------------------------------------------------


def test_the_webhook_receives_the_notice_as_signed_json(
    crm: Crm, leads: Path, db_url: str, clock: ManualClock, webhook: Hooked
) -> None:
    config = {"webhook": {"url": webhook.url, "secret": "topsecret", "timeout": 5}}
    with opened(db_url, clock, channels=config) as crm2:
        rid = lead(crm2, "alice", 1)
        clock.advance(WARN_AT)
        crm2.sweep("admin")
        assert crm2.deliver_outbox().sent == 1
        ((headers, body),) = webhook.requests
        expected = hmac.new(b"topsecret", body, hashlib.sha256).hexdigest()
        assert headers["X-CRM-Signature"] == f"sha256={expected}"
        payload = json.loads(body)
        (row,) = crm2.outbox("admin")
        assert headers["X-CRM-Outbox-Id"] == str(row.id)
        assert {k: payload[k] for k in ("id", "channel", "user_name", "email", "phone")} == {
            "id": row.id, "channel": "webhook", "user_name": "alice",
            "email": "alice@example.com", "phone": "+8613900001111",
        }  # fmt: skip
        assert (payload["record_id"], payload["record_title"], payload["record_kind"]) == (
            rid, "Lead 1", "lead"
        )  # fmt: skip
        assert payload["cause"] == WARN_CAUSE and payload["message"].startswith(f"#{rid} Lead 1")
        assert payload["due_at"] == clock().isoformat()


def test_servers_that_fail_leave_notices_pending_until_a_later_delivery(
    crm: Crm, leads: Path, db_url: str, clock: ManualClock, webhook: Hooked
) -> None:
    webhook.status = 500
    config = {
        "webhook": {"url": webhook.url, "secret": "s"},
        "email": email_config(free_port()),  # nobody listens there
    }
    with opened(db_url, clock, channels=config) as crm2:
        rid = lead(crm2, "alice", 1)
        clock.advance(WARN_AT)
        crm2.sweep("admin")
        report = crm2.deliver_outbox()
        assert (report.sent, report.retrying) == (0, 2)
        rows = {r.channel: r for r in crm2.outbox("admin")}
        assert rows["webhook"].last_error == "HTTPError: HTTP Error 500: Internal Server Error"
        assert rows["email"].last_error is not None
        assert "ConnectionRefusedError" in rows["email"].last_error
        assert all(r.next_attempt_at == clock() + MINUTE for r in rows.values())
        # the sweep's decision is committed: the warning task is there
        assert [t.cause for t in crm2.list_tasks("admin")] == [WARN_CAUSE]
        assert crm2.deliver_outbox().total == 0  # not due before the backoff
        clock.advance(MINUTE)
        assert crm2.deliver_outbox().retrying == 2  # still failing: the wait doubles
        assert all(r.next_attempt_at == clock() + 2 * MINUTE for r in crm2.outbox("admin"))
        webhook.status = 204
        clock.advance(2 * MINUTE)
        report = crm2.deliver_outbox()
        assert (report.sent, report.retrying) == (1, 1)
        assert len(webhook.requests) == 3
        assert {json.loads(b)["attempt"] for _h, b in webhook.requests} == {1, 2, 3}
        assert {json.loads(b)["record_id"] for _h, b in webhook.requests} == {rid}
        assert sorted(statuses(crm2)) == [("email", "pending", 3), ("webhook", "sent", 3)]


def test_a_notice_is_given_up_after_the_last_attempt_and_an_admin_retries_it(
    crm: Crm, leads: Path, db_url: str, clock: ManualClock, webhook: Hooked
) -> None:
    webhook.status = 503
    config = {"webhook": {"url": webhook.url, "secret": "s"}}
    with opened(db_url, clock, channels=config) as crm2:
        lead(crm2, "alice", 1)
        clock.advance(WARN_AT)
        crm2.sweep("admin")
        for _ in range(MAX_ATTEMPTS - 1):
            assert crm2.deliver_outbox().retrying == 1
            clock.advance(BACKOFF_CAP)
        assert crm2.deliver_outbox().failed == 1
        clock.advance(BACKOFF_CAP)
        assert crm2.deliver_outbox().total == 0
        ((row),) = crm2.outbox("admin", status="failed")
        assert row.attempts == MAX_ATTEMPTS
        with pytest.raises(PermissionDenied, match="only an admin may retry the outbox"):
            crm2.retry_outbox("alice", [row.id])
        with pytest.raises(NotFound, match="no outbox row #999"):
            crm2.retry_outbox("admin", [row.id, 999])
        with pytest.raises(InvalidInput, match="ids or --all-failed"):
            crm2.retry_outbox("admin")
        assert crm2.retry_outbox("admin", all_failed=True) == [row.id]
        webhook.status = 200
        assert crm2.deliver_outbox().sent == 1
        assert statuses(crm2) == [("webhook", "sent", 1)]
        with pytest.raises(Conflict, match=f"outbox #{row.id} is sent"):
            crm2.retry_outbox("admin", [row.id])
        retried = [e for e in crm2.journal("admin", limit=50) if e.entity == "outbox"]
        assert [(e.action, e.before, e.after) for e in retried] == [
            ("retry", {"status": "failed", "attempts": MAX_ATTEMPTS},
             {"status": "pending", "attempts": 0})
        ]  # fmt: skip


def test_a_row_left_sending_by_a_crash_is_not_sent_again_until_retried(
    crm: Crm, leads: Path, db_url: str, clock: ManualClock
) -> None:
    class Crash(BaseException):
        """Stands for the process dying in the middle of a delivery."""

    def crash(message: OutboxMessage) -> None:
        raise Crash

    dying = _channel("counter", crash)
    with opened(db_url, clock, extra_plugins=[("dying", dying)]) as crm2:
        lead(crm2, "alice", 1)
        clock.advance(WARN_AT)
        crm2.sweep("admin")
        with pytest.raises(Crash):
            crm2.deliver_outbox()
    counting = Counting()
    with opened(db_url, clock, extra_plugins=[("counting", counting)]) as crm3:
        clock.advance(DAY)
        assert crm3.deliver_outbox().total == 0
        assert statuses(crm3) == [("counter", "sending", 1)]
        (row,) = crm3.outbox("admin", status="sending")
        crm3.retry_outbox("admin", [row.id])
        assert crm3.deliver_outbox().sent == 1
        assert counting.calls == [row.id]


def _channel(name: str, deliver: Any) -> SimpleNamespace:
    def crm_register_channels(register: Any) -> None:
        register(name, deliver)

    return SimpleNamespace(crm_register_channels=hookimpl(crm_register_channels))


def test_a_channel_may_skip_a_person_with_a_reason(
    crm: Crm, leads: Path, db_url: str, clock: ManualClock
) -> None:
    def no_phone(message: OutboxMessage) -> None:
        raise Undeliverable(f"{message.user_name} has no WeChat")

    with opened(db_url, clock, extra_plugins=[("wechat", _channel("wechat", no_phone))]) as crm2:
        lead(crm2, "alice", 1)
        clock.advance(WARN_AT)
        crm2.sweep("admin")
        assert crm2.deliver_outbox().skipped == 1
        (row,) = crm2.outbox("admin", status="skipped")
        assert (row.last_error, row.user) == ("alice has no WeChat", "alice")
        with pytest.raises(Conflict, match="only failed or sending rows are retried"):
            crm2.retry_outbox("admin", [row.id])


# -- dry runs and simulations send nothing --------------------------------------------


def test_dry_runs_and_simulations_write_no_outbox_row_and_call_no_channel(
    crm: Crm, leads: Path, db_url: str, clock: ManualClock
) -> None:
    counting = Counting()
    with opened(db_url, clock, extra_plugins=[("counting", counting)]) as crm2:
        lead(crm2, "alice", 1)
        lead(crm2, "bob", 2)
        clock.advance(WARN_AT)
        (result,) = crm2.sweep("admin", dry_run=True)
        assert (result.warned, result.notified, result.outbox) == (2, 2, {"counter": 2})
        days = crm2.simulate_workflow("admin", leads, days=20)
        assert sum(d.notified for d in days) == 2
        assert [d.outbox for d in days if d.notified] == [{"counter": 2}]
        assert crm2.outbox("admin") == []
        assert crm2.list_tasks("admin") == []
        assert crm2.deliver_outbox().total == 0
        assert counting.calls == []
        (result,) = crm2.sweep("admin")  # the real one
        assert crm2.deliver_outbox().sent == 2
        assert len(counting.calls) == 2


def crm_cli(db_url: str, *args: str, user: str = "admin", code: int = 0) -> str:
    result = CliRunner().invoke(app, ["--db", db_url, "--as", user, *args], env=CLEAN_ENV)
    assert result.exit_code == code, (args, result.stdout, result.stderr, result.exception)
    return str(result.stdout if code == 0 else result.stderr)


def use_webhook(folder: Path, monkeypatch: pytest.MonkeyPatch, webhook: Hooked) -> None:
    """Run the CLI from ``folder``, whose crm.toml sends notices to ``webhook``."""
    (folder / "crm.toml").write_text(
        f'[channels.webhook]\nurl = "{webhook.url}"\nsecret = "s"\n', encoding="utf-8"
    )
    monkeypatch.chdir(folder)


def test_a_bad_channel_table_in_crm_toml_is_one_line_exit_2(
    crm: Crm, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "crm.toml").write_text(
        '[channels.webhook]\nurl = "ftp://x"\nsecret = "s"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    err = crm_cli(db_url, "outbox", "list", code=2)
    assert err.startswith("error: crm.toml [channels.webhook] url must be http(s)://"), err
    assert err.count("\n") == 1 and "plugin" not in err


def test_the_cli_dry_run_says_what_would_be_sent_and_the_real_sweep_sends_it(
    crm: Crm,
    leads: Path,
    db_url: str,
    clock: ManualClock,
    webhook: Hooked,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_webhook(tmp_path, monkeypatch, webhook)
    # The command line runs on the real clock: the lead is 11 days idle now.
    clock.advance(datetime.now(UTC) - clock() - 11 * DAY)
    lead(crm, "alice", 1)
    when = (clock() + WARN_AT).isoformat()
    out = crm_cli(db_url, "sweep", "--dry-run", "--now", when)
    assert "  would notify 1 (webhook 1)\n" in out
    assert "outbox" not in out
    out = crm_cli(db_url, "workflow", "simulate", str(leads), "--days", "20")
    assert "would notify 1 (webhook 1); nothing sent" in out
    assert webhook.requests == []
    assert crm_cli(db_url, "outbox", "list") == "no outbox rows\n"
    out = crm_cli(db_url, "sweep", "--now", when)
    assert "  notified 1 (webhook 1)\noutbox: sent 1, retrying 0, failed 0, skipped 0\n" in out
    assert len(webhook.requests) == 1
    (row,) = json.loads(crm_cli(db_url, "outbox", "list", "--status", "sent", "--json"))
    assert (row["channel"], row["user"], row["status"], row["attempts"]) == (
        "webhook", "alice", "sent", 1
    )  # fmt: skip
    assert "--status must be one of" in crm_cli(db_url, "outbox", "list", "--status", "x", code=2)
    assert "only an admin" in crm_cli(db_url, "outbox", "list", user="alice", code=3)
    assert "is sent" in crm_cli(db_url, "outbox", "retry", str(row["id"]), code=5)
    assert "no outbox row #77" in crm_cli(db_url, "outbox", "retry", "77", code=4)
    assert crm_cli(db_url, "outbox", "retry", "--all-failed") == "0 outbox row(s) pending again\n"
    assert crm_cli(db_url, "outbox", "deliver").startswith("outbox: sent 0,")


# -- two deliverers ----------------------------------------------------------------------


def test_two_deliverers_never_send_one_notice_twice(
    crm: Crm, leads: Path, db_url: str, clock: ManualClock
) -> None:
    counting = Counting(slow=0.01)
    plugins = [("counting", counting)]
    with (
        opened(db_url, clock, extra_plugins=plugins) as one,
        opened(db_url, clock, extra_plugins=plugins) as two,
    ):
        for n in range(12):
            lead(one, "alice", n)
        clock.advance(WARN_AT)
        one.sweep("admin")
        reports = []

        def deliver(crm: Crm) -> None:
            reports.append(crm.deliver_outbox(batch=2))

        threads = [threading.Thread(target=deliver, args=(c,)) for c in (one, two)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(counting.calls) == len(set(counting.calls)) == 12
        assert sum(r.sent for r in reports) == 12
        assert statuses(one) == [("counter", "sent", 1)] * 12


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgresql)],
                         indirect=True)  # fmt: skip
def test_on_postgresql_a_claim_skips_the_rows_another_deliverer_holds(
    crm: Crm, leads: Path, db_url: str, clock: ManualClock
) -> None:
    from crm_core import outbox

    counting = Counting()
    with opened(db_url, clock, extra_plugins=[("counting", counting)]) as crm2:
        for n in range(4):
            lead(crm2, "alice", n)
        clock.advance(WARN_AT)
        crm2.sweep("admin")
        with ExitStack() as stack:
            first = stack.enter_context(crm2._write(None, "test:first"))
            second = stack.enter_context(crm2._write(None, "test:second"))
            mine = [m.id for m in outbox.claim(first, 3)]
            theirs = [m.id for m in outbox.claim(second, 3)]
        assert len(mine) == 3 and len(theirs) == 1 and not set(mine) & set(theirs)


# -- the plugin contract ---------------------------------------------------------------


def test_a_plugin_still_implementing_crm_notify_is_refused_when_the_crm_opens(
    db_url: str,
) -> None:
    def crm_notify(notices: Any, tasks: Any) -> None:
        """Sent SMS from inside the sweep's transaction."""

    old = SimpleNamespace(crm_notify=hookimpl(crm_notify))
    with pytest.raises(PluginError) as err:
        Crm.open(db_url, extra_plugins=[("old_sms", old)])
    text = str(err.value)
    assert text.startswith("plugin 'old_sms' implements crm_notify, which crm-core no longer calls")
    assert "crm_register_channels" in text
    assert err.value.exit_code == 6

    def crm_register_chanels(register: Any) -> None:
        """A typo: pluggy alone would never call it."""

    typo = SimpleNamespace(crm_register_chanels=hookimpl(crm_register_chanels))
    with pytest.raises(PluginError, match="'typo' implements crm_register_chanels, unknown"):
        Crm.open(db_url, extra_plugins=[("typo", typo)])


def test_two_channels_of_one_name_are_refused(db_url: str) -> None:
    plugins = [("a", _channel("sms", print)), ("b", _channel("sms", print))]
    with pytest.raises(PluginError, match="plugin 'b': channel 'sms' already exists"):
        Crm.open(db_url, extra_plugins=plugins)
    with pytest.raises(PluginError, match="bad channel name 'SMS!'"):
        Crm.open(db_url, extra_plugins=[("c", _channel("SMS!", print))])


# -- users' e-mail and phone -------------------------------------------------------------


def test_users_have_an_email_and_a_phone_checked_and_normalised(people: Crm) -> None:
    user = people.add_user(
        "admin", "dan", "operator", email=" Dan@Example.com", phone="13900002222"
    )
    assert (user.email, user.phone) == ("dan@example.com", "+8613900002222")
    before = people.list_users("admin")
    with pytest.raises(FieldError, match="field 'email': not an e-mail address") as err:
        people.update_user("admin", "dan", email="nope", phone="x")
    assert err.value.exit_code == 2
    assert "field 'phone'" in str(err.value)
    with pytest.raises(PermissionDenied):
        people.update_user("alice", "dan", email="a@b.cn")
    with pytest.raises(NotFound):
        people.update_user("admin", "nobody", email="a@b.cn")
    with pytest.raises(InvalidInput, match="nothing to change"):
        people.update_user("admin", "dan")
    with pytest.raises(FieldError):
        people.add_user("admin", "eve", "operator", email="@")
    assert people.list_users("admin") == before
    updated = people.update_user("admin", "dan", phone="")
    assert (updated.email, updated.phone) == ("dan@example.com", None)
    (entry,) = [e for e in people.journal("admin", limit=20) if e.action == "update"]
    assert (entry.entity, entry.before, entry.after) == ("user", {"phone": "+8613900002222"},
                                                         {"phone": None})  # fmt: skip


def test_the_cli_adds_updates_and_lists_users_with_contacts(crm: Crm, db_url: str) -> None:
    crm_cli(db_url, "user", "add", "dan", "--role", "operator", "--email", "D@x.cn")
    out = crm_cli(db_url, "user", "update", "dan", "--phone", "+86 139-0000-3333")
    assert out == "user dan: email d@x.cn, phone +8613900003333\n"
    users = {u["name"]: u for u in json.loads(crm_cli(db_url, "user", "list", "--json"))}
    assert (users["dan"]["email"], users["dan"]["phone"]) == ("d@x.cn", "+8613900003333")
    assert users["admin"]["email"] is None
    assert "d@x.cn" in crm_cli(db_url, "user", "list")
    assert "not a phone number" in crm_cli(db_url, "user", "update", "dan", "--phone", "x", code=2)
    assert "only an admin" in crm_cli(
        db_url, "user", "update", "dan", "--email", "a@b.cn", user="dan", code=3
    )


def test_the_worker_delivers_after_each_tick(
    crm: Crm,
    leads: Path,
    db_url: str,
    clock: ManualClock,
    webhook: Hooked,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_webhook(tmp_path, monkeypatch, webhook)
    webhook.status = 500
    clock.advance(datetime.now(UTC) - clock() - 13 * DAY)  # warned on the real clock's tick
    rid = lead(crm, "alice", 1)
    first, second = crm_cli(db_url, "worker", "--once").splitlines()
    assert first.endswith("assigned 0, returned 0, rotated 0, warned 1")
    assert second.endswith("outbox: sent 0, retrying 1, failed 0, skipped 0")
    (row,) = crm.outbox("admin")
    assert (row.record_id, row.status, row.attempts) == (rid, "pending", 1)
    assert len(webhook.requests) == 1
