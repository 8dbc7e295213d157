"""Sending the notices by SMTP (``GATEWAY_SMTP_URL``): a short message with a link and nothing
about the child, in the language the person chose in the portal (Dutch if they chose none),
retried with backoff, then given up.

The text names no child, no organisation, no purpose and no field: only that something waits in
Kindkoppeling. Mail travels in the clear between servers more often than not; what it says
must be harmless to anyone who reads it.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import unquote, urlsplit

import structlog
from sqlalchemy.orm import Session, sessionmaker

from gateway.exchanges.sealing import MasterKeyring
from gateway.notifications.models import REVIEW_OVERDUE, MailMessage, MailStatus
from gateway.notifications.service import address_of, language_of
from gateway.outbox import claim_due
from gateway.translations import N_, SOURCE, in_language

log = structlog.get_logger(__name__)

SUBJECT = N_("Er staat iets voor u klaar in Kindkoppeling")
TEXTS = {
    "consent_requested": N_(
        "Er staat een vraag voor u klaar in Kindkoppeling. We krijgen graag uw antwoord."
    ),
    "informed": N_(
        "Er staat een bericht voor u klaar in Kindkoppeling over gegevens die zijn gedeeld."
    ),
}
BODY = N_(
    "Goedendag,\n\n"
    "%(what)s\n"
    "Log in om het te bekijken: %(link)s\n\n"
    "In deze e-mail staan met opzet geen gegevens over uw kind. Wilt u deze berichten niet "
    "meer krijgen? Haal dan uw e-mailadres weg in Kindkoppeling, onder 'E-mailberichten'.\n\n"
    "Kindkoppeling\n"
)
RETRY_SCHEDULE = (60, 600, 3600, 21600)
TIMEOUT = 10.0


# To privacy officers, whose pages are Dutch: no child, organisation or exchange is named.
OFFICER_SUBJECT = "Een break-glass-beoordeling is te laat"
OFFICER_BODY = (
    "Goedendag,\n\n"
    "Een uitwisseling met de noodprocedure (break-glass) wacht langer op beoordeling dan de "
    "termijn toestaat. U bent privacyfunctionaris van een van de partijen, of van Kindkoppeling.\n"
    "Bekijk de wachtrij: %(link)s/fg/break-glass\n\n"
    "U krijgt dit bericht omdat u een werkadres achterliet in Kindkoppeling. U haalt het daar "
    "weg onder 'E-mail bij te late beoordelingen'.\n\n"
    "Kindkoppeling\n"
)


def compose(kind: str, portal_url: str, language: str = SOURCE) -> tuple[str, str]:
    """A notice's subject and body: an officer's in Dutch, a parent's in their language."""
    if kind == REVIEW_OVERDUE:
        return OFFICER_SUBJECT, OFFICER_BODY % {"link": portal_url}
    what = in_language(language, TEXTS[kind])
    body = in_language(language, BODY) % {"what": what, "link": portal_url}
    return in_language(language, SUBJECT), body


@dataclass
class SmtpServer:
    """``smtp://[user:password@]host[:port]`` (STARTTLS when the server offers it, required when
    a password is sent) or ``smtps://…`` (TLS from the start)."""

    url: str

    def send(self, message: EmailMessage) -> None:
        parts = urlsplit(self.url)
        host = parts.hostname or "localhost"
        if parts.scheme == "smtps":
            with smtplib.SMTP_SSL(host, parts.port or 465, timeout=TIMEOUT) as smtp:
                self._log_in(smtp, parts.username, parts.password)
                smtp.send_message(message)
            return
        with smtplib.SMTP(host, parts.port or 25, timeout=TIMEOUT) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            elif parts.password:
                raise smtplib.SMTPException("the server offers no STARTTLS for the password")
            self._log_in(smtp, parts.username, parts.password)
            smtp.send_message(message)

    @staticmethod
    def _log_in(smtp: smtplib.SMTP, user: str | None, password: str | None) -> None:
        if user and password:
            smtp.login(unquote(user), unquote(password))


@dataclass
class Mailer:
    sessions: sessionmaker[Session]
    keyring: MasterKeyring
    server: SmtpServer
    sender: str
    portal_url: str
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    schedule: tuple[int, ...] = RETRY_SCHEDULE

    def run_once(self) -> int:
        """Send every notice that is due; return how many were attempted."""
        with self.sessions() as session:
            claimed = claim_due(session, MailMessage, MailStatus.PENDING, self.clock())
        for message_id in claimed:
            self._send(message_id)
        return len(claimed)

    def _send(self, message_id: str) -> None:
        with self.sessions() as session:
            message = session.get(MailMessage, message_id)
            if message is None:
                return
            address = address_of(session, self.keyring, message.person_pseudonym)
            if address is None:  # deleted meanwhile: nobody to tell
                session.delete(message)
                session.commit()
                return
            now = self.clock()
            mail = EmailMessage()
            mail["From"] = self.sender
            mail["To"] = address
            language = language_of(session, message.person_pseudonym) or SOURCE
            subject, body = compose(message.kind, self.portal_url, language)
            mail["Subject"] = subject
            mail["Date"] = format_datetime(now)  # RFC 5322 requires it
            # One id for the notice across retries, so a server that got it twice shows it once.
            mail["Message-ID"] = f"<{message.id}@{_domain_of(self.sender)}>"
            mail.set_content(body)
            mail["Content-Language"] = language  # after the content, which resets Content-*
            message.attempts += 1
            message.claimed_until = None
            try:
                self.server.send(mail)
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("notice_not_sent", attempts=message.attempts, error=type(exc).__name__)
                if message.attempts > len(self.schedule):
                    message.status = MailStatus.FAILED
                else:
                    delay = self.schedule[message.attempts - 1]
                    message.next_attempt_at = now + timedelta(seconds=delay)
            else:
                message.status = MailStatus.SENT
                message.sent_at = now
            session.commit()


def _domain_of(sender: str) -> str:
    """The domain of the sender's address (``Name <noreply@domain>``), for Message-IDs."""
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"
