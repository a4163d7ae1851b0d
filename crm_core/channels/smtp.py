"""The e-mail channel: one message per notice over SMTP (``[channels.email]`` in crm.toml)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage

from crm_core.channels import Options
from crm_core.errors import ConfigError
from crm_core.i18n import _
from crm_core.outbox import OutboxMessage, Undeliverable


def compose(message: OutboxMessage, sender: str) -> EmailMessage:
    """The e-mail for one notice: the message, the record and the rule that raised it."""
    assert message.email is not None
    mail = EmailMessage()
    about = f"#{message.record_id} {message.record_title}" if message.record_id else "CRM"
    mail["Subject"] = f"[CRM] {about}: {message.message}"[:200]
    mail["From"] = sender
    mail["To"] = message.email
    mail["X-CRM-Outbox-Id"] = str(message.id)
    lines = [f"Hello {message.user_name},", "", message.message, ""]
    if message.record_id is not None:
        lines.append(f"Record: #{message.record_id} {message.record_title} ({message.record_kind})")
    lines += [f"Due: {message.due_at.isoformat(timespec='minutes')}", f"Rule: {message.cause}"]
    mail.set_content("\n".join(lines) + "\n")
    return mail


def channel(options: Options) -> Callable[[OutboxMessage], None]:
    """Read ``host``, ``port``, ``ssl``, ``starttls``, ``username``, ``password``, ``sender``,
    ``timeout``, and return the channel's ``deliver``.

    ``ssl`` connects over TLS from the start (port 465 by default); ``starttls``
    upgrades a plain connection (port 587 by default); neither: port 25.
    ``username`` and ``password`` log in when given. A user without an e-mail
    address is skipped.
    """
    host = options.text("host", required=True)
    use_ssl = options.flag("ssl")
    starttls = options.flag("starttls")
    if use_ssl and starttls:
        raise ConfigError(_("crm.toml [channels.email]: set ssl or starttls, not both"))
    port = int(options.number("port", 465 if use_ssl else 587 if starttls else 25, integer=True))
    username = options.text("username")
    password = options.text("password")
    if username and password is None:
        raise ConfigError(_("crm.toml [channels.email] password is required with a username"))
    sender = options.text("sender", required=True)
    assert host is not None and sender is not None
    timeout = options.number("timeout", 10.0)

    def deliver(message: OutboxMessage) -> None:
        if not message.email:
            raise Undeliverable(f"user {message.user_name} has no e-mail address")
        mail = compose(message, sender)
        context = ssl.create_default_context()
        smtp = (
            smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            if use_ssl
            else smtplib.SMTP(host, port, timeout=timeout)
        )
        with smtp:
            if starttls:
                smtp.starttls(context=context)
            if username:
                assert password is not None
                smtp.login(username, password)
            smtp.send_message(mail)

    return deliver
