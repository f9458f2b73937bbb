"""Sending the hub's mails through the mail server the department configures.

One connection per batch of mails (:meth:`SmtpMailer.send`), STARTTLS and
credentials as the settings say. A mail server that is down or refuses a recipient
is logged and never raised: a notice that cannot go out must not stop the health
check that found the outage — the pages' banner still tells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Protocol

import aiosmtplib
import structlog

from hub.config import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Mail:
    """One plain-text mail to one person."""

    to: str
    to_name: str
    subject: str
    body: str


class Mailer(Protocol):
    async def send(self, mails: Sequence[Mail]) -> int:
        """Send ``mails``; how many the server accepted."""
        ...


@dataclass(frozen=True, kw_only=True)
class SmtpMailer:
    """A mail server reached over SMTP (aiosmtplib)."""

    host: str
    port: int
    sender: str
    starttls: bool = True
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpMailer | None:
        """The configured mail server, or None when ``HUB_SMTP_HOST`` is unset."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds,
        )

    def message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = formataddr((mail.to_name, mail.to))
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(mail.body)
        return message

    async def send(self, mails: Sequence[Mail]) -> int:
        if not mails:
            return 0
        client = aiosmtplib.SMTP(
            hostname=self.host, port=self.port, start_tls=self.starttls, timeout=self.timeout
        )
        sent = 0
        try:
            async with client:
                if self.username:
                    await client.login(self.username, self.password or "")
                for mail in mails:
                    try:
                        await client.send_message(self.message(mail))
                        sent += 1
                    except aiosmtplib.SMTPRecipientsRefused:
                        log.warning("mail_recipient_refused", to=mail.to)
        except (aiosmtplib.SMTPException, OSError) as error:
            log.error("mail_server_unavailable", host=self.host, error=str(error), sent=sent)
        return sent
