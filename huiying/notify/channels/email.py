"""Email over SMTP (stdlib smtplib + EmailMessage), as HUIYING_SMTP_* asks."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from huiying.errors import InputError, SettingsError
from huiying.figures import monthly, parse_month
from huiying.models import Notification, utcnow
from huiying.notify.channels import Failed, Unreachable
from huiying.notify.kinds import Channel, Kind
from huiying.notify.texts import FOOTER
from huiying.settings import Settings

SMTP_TIMEOUT = 30
ERRORS = (OSError, smtplib.SMTPException)


def connect(settings: Settings) -> smtplib.SMTP:
    """An SMTP connection as the settings ask: TLS on port 465, STARTTLS, login."""
    context = ssl.create_default_context()
    if settings.smtp_port == 465:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port,
                                              timeout=SMTP_TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT)
    try:
        if settings.smtp_starttls:
            smtp.starttls(context=context)
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def quit_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except ERRORS:
        smtp.close()


def message(settings: Settings, recipient: str, subject: str, body: str, now: datetime,
            key: str | None = None,
            attachments: Iterable[tuple[str, str, bytes]] = ()) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = settings.smtp_from
    mail["To"] = recipient
    mail["Date"] = format_datetime(now)
    # The sender's domain, not the host name: make_msgid would otherwise ask DNS.
    mail["Message-ID"] = make_msgid(domain=parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "huiying")
    mail["Auto-Submitted"] = "auto-generated"
    if key:
        mail["X-Huiying-Key"] = key
    mail.set_content(body)
    for name, media_type, data in attachments:
        maintype, _, subtype = media_type.partition("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail


def attachments(session: Session, settings: Settings, row: Notification,
                now: datetime) -> list[tuple[str, str, bytes]]:
    """Files sent with a row, made when it is sent: the monthly report's xlsx, as of now."""
    if row.kind != Kind.MONTHLY:
        return []
    from huiying.monthly_export import MEDIA_TYPES, file_name, render

    report = monthly(session, parse_month(row.fact.split(":")[1]), settings.timezone, now=now)
    data = render(report, "xlsx", settings.base_url, settings.bureau_name)
    return [(file_name(report, "xlsx"), MEDIA_TYPES["xlsx"], data)]


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


class EmailConnection:
    def __init__(self, session: Session, settings: Settings, now: datetime) -> None:
        self.session, self.settings, self.now = session, settings, now
        self.smtp: smtplib.SMTP | None = None

    def send(self, row: Notification) -> None:
        if self.smtp is None:
            try:
                self.smtp = connect(self.settings)
            except ERRORS as exc:
                raise Unreachable(_reason(exc)) from exc
        now = self.now
        try:
            self.smtp.send_message(message(self.settings, row.recipient, row.subject, row.body, now, row.key,
                                           attachments=attachments(self.session, self.settings, row, now)))
        except ERRORS as exc:
            permanent = isinstance(exc, smtplib.SMTPRecipientsRefused) and all(
                code >= 500 for code, _ in exc.recipients.values())
            reconnect = isinstance(exc, (OSError, smtplib.SMTPServerDisconnected))
            if reconnect:
                self.close()
            raise Failed(_reason(exc), permanent=permanent, reconnect=reconnect) from exc

    def close(self) -> None:
        if self.smtp is not None:
            quit_quietly(self.smtp)
            self.smtp = None


class EmailDriver:
    channel = Channel.EMAIL
    setting = "HUIYING_SMTP_HOST"

    def configured(self, settings: Settings) -> bool:
        return bool(settings.smtp_host)

    def open(self, session: Session, settings: Settings, now: datetime) -> EmailConnection:
        connection = EmailConnection(session, settings, now)
        try:
            connection.smtp = connect(settings)
        except ERRORS as exc:
            raise Unreachable(_reason(exc)) from exc
        return connection

    def probe(self, settings: Settings) -> bool:
        try:
            quit_quietly(connect(settings))
        except ERRORS:
            return False
        return True


def send_test(settings: Settings, recipient: str, now: datetime | None = None) -> None:
    """Send one test email at once (not through the table); a problem is one sentence."""
    now = now or utcnow()
    if not settings.smtp_host:
        raise SettingsError("HUIYING_SMTP_HOST is not set; set it (and HUIYING_SMTP_PORT, _USER, "
                            "_PASSWORD, _FROM, _STARTTLS as the mail server needs) to send email.")
    if "@" not in recipient:
        raise InputError(f"{recipient!r} is not an email address.")
    server = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        smtp = connect(settings)
    except smtplib.SMTPAuthenticationError as exc:
        raise SettingsError(f"HUIYING_SMTP_USER / HUIYING_SMTP_PASSWORD: {server} refused the login "
                            f"({_smtp_reason(exc)}).") from None
    except smtplib.SMTPNotSupportedError:
        raise SettingsError(f"HUIYING_SMTP_STARTTLS is on but {server} does not offer STARTTLS; "
                            "turn it off or use the server's TLS port.") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SettingsError(f"HUIYING_SMTP_HOST: cannot reach the mail server {server} "
                            f"({_smtp_reason(exc)}); check HUIYING_SMTP_HOST and HUIYING_SMTP_PORT."
                            ) from None
    body = (f"这是回应舆情系统的测试邮件。收到此邮件，说明邮件发送设置正确。\n\n"
            f"发送时间：{now.astimezone(ZoneInfo(settings.timezone)).strftime('%Y-%m-%d %H:%M')}\n"
            f"邮件服务器：{server}\n系统地址：{settings.base_url}/\n\n{FOOTER}\n")
    try:
        smtp.send_message(message(settings, recipient, "【回应】测试邮件", body, now))
    except smtplib.SMTPRecipientsRefused as exc:
        raise InputError(f"{server} refused the address {recipient} "
                         f"({_smtp_reason(exc)}).") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SettingsError(f"the mail server {server} did not accept the test email "
                            f"({_smtp_reason(exc)}); check HUIYING_SMTP_FROM and the server's log.") from None
    finally:
        quit_quietly(smtp)


def _smtp_reason(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        return f"{exc.smtp_code} {error.decode(errors='replace') if isinstance(error, bytes) else error}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
