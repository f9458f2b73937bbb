"""A mail catcher on loopback (aiosmtpd) for the demo and the tests: it accepts every
mail and keeps it, so a page (``GET /demo/mails``) or a test can read what the hub sent.

aiosmtpd is a development dependency: production never imports this module.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from hub.adapters.signing.simulator import free_port


@dataclass(frozen=True, slots=True)
class CaughtMail:
    """A mail as the catcher received it."""

    received_at: datetime
    sender: str
    recipients: tuple[str, ...]
    subject: str
    body: str


class _Keep:
    """The aiosmtpd handler: every DATA becomes a :class:`CaughtMail`."""

    def __init__(self) -> None:
        self.mails: list[CaughtMail] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        part = message.get_body(("plain",))
        with self.lock:
            self.mails.append(
                CaughtMail(
                    received_at=datetime.now(UTC),
                    sender=envelope.mail_from,
                    recipients=tuple(envelope.rcpt_tos),
                    subject=str(message["Subject"] or ""),
                    body=part.get_content() if part is not None else "",
                )
            )
        return "250 Message accepted for delivery"


class MailCatcher:
    """An SMTP server on 127.0.0.1 (no TLS, no AUTH) that keeps every mail."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port(host)
        self._handler = _Keep()
        self._controller = Controller(self._handler, hostname=host, port=self.port)

    @property
    def mails(self) -> list[CaughtMail]:
        """What was caught so far, oldest first."""
        with self._handler.lock:
            return list(self._handler.mails)

    @property
    def settings(self) -> dict[str, Any]:
        """The hub's settings that send its mails here."""
        return {"smtp_host": self.host, "smtp_port": self.port, "smtp_starttls": False}

    def start(self) -> MailCatcher:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
