"""Replies composed the way real mail clients compose them, to a notice received at the sink.

Each answers to the notice's Reply-To, with `Re:` before its subject, In-Reply-To and
References set, and the notice quoted in that client's own style: Gmail (top-posted,
"On ... wrote:" wrapped over two lines, a gmail_quote in the HTML), Outlook (HTML only,
the original below a From:/Sent: block in divRplyFwdMsg), Apple Mail (format=flowed,
"Sent from my iPhone", blockquote type=cite) and mutt (bottom-posted, signature).
"""

from __future__ import annotations

import html
import itertools
from datetime import timedelta, timezone
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, parseaddr

import dkim

from support.clock import start_moment
from support.dkim_keys import SIGNING_KEY

_ids = itertools.count(1)
DATE = format_datetime(start_moment().replace(tzinfo=timezone.utc) + timedelta(hours=1))


def notice_text(notice: Message) -> str:
    part = notice
    while part.is_multipart():
        part = part.get_payload(0)
    return part.get_payload(decode=True).decode(part.get_content_charset("utf-8"))


def reply_address(notice: Message) -> str:
    return parseaddr(notice["Reply-To"] or notice["From"])[1]


def _headers(message: Message, notice: Message, sender: str, to: str | None) -> Message:
    message["From"] = sender
    message["To"] = to or reply_address(notice)
    message["Subject"] = "Re: " + str(notice["Subject"])
    message["Date"] = DATE
    message["Message-ID"] = f"<reply{next(_ids)}@{sender.rpartition('@')[2]}>"
    message["In-Reply-To"] = notice["Message-ID"]
    message["References"] = notice["Message-ID"]
    return message


def quoted(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines())


def gmail_reply(notice: Message, sender: str, text: str, to: str | None = None) -> bytes:
    """Top-posted, multipart/alternative, the attribution wrapped the way Gmail wraps it."""
    original = notice_text(notice)
    who = f"{notice['From']}"
    plain = f"{text}\n\nOn Sun, Nov 29, 2026 at 10:00 AM {who.split('<')[0].strip()} <\n{reply_address(notice)}> wrote:\n\n{quoted(original)}\n"
    body = "".join(f"<div>{html.escape(line) or '<br>'}</div>" for line in text.splitlines())
    rich = (f'<div dir="ltr">{body}</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Sun, '
            f"Nov 29, 2026 at 10:00 AM {html.escape(who)} wrote:<br></div>"
            f'<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204)">'
            f"{html.escape(original).replace(chr(10), '<br>')}</blockquote></div>")  # fmt: skip
    message = MIMEMultipart("alternative")
    message.attach(MIMEText(plain, "plain", "utf-8"))
    message.attach(MIMEText(rich, "html", "utf-8"))
    return _headers(message, notice, sender, to).as_bytes()


def outlook_html_reply(notice: Message, sender: str, html_text: str, to: str | None = None) -> bytes:
    """HTML only, Word markup, the original below a From:/Sent: header block."""
    original = html.escape(notice_text(notice)).replace("\n", "<br>\n")
    page = f"""<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<style><!-- p.MsoNormal {{margin:0cm; font-size:11.0pt}} --></style></head>
<body lang="EN-GB" link="#0563C1"><div class="WordSection1">
{"".join(f'<p class="MsoNormal">{line}<o:p></o:p></p>' for line in html_text.split(chr(10)))}
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<div id="Signature"><p class="MsoNormal">Kind regards,<br>Fran<o:p></o:p></p></div>
<div id="appendonsend"></div>
<hr style="display:inline-block;width:98%" tabindex="-1">
<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000">
<b>From:</b> {html.escape(str(notice["From"]))}<br><b>Sent:</b> Sunday, November 29, 2026 10:00 AM<br>
<b>To:</b> {html.escape(sender)}<br><b>Subject:</b> {html.escape(str(notice["Subject"]))}</font>
<div>&nbsp;</div></div>
<div class="BodyFragment"><font size="2"><span style="font-size:11pt;"><div class="PlainText">{original}</div></span></font></div>
</div></body></html>"""
    message = MIMEText(page, "html", "utf-8")
    return _headers(message, notice, sender, to).as_bytes()


def outlook_plain_reply(notice: Message, sender: str, text: str, to: str | None = None) -> bytes:
    """Outlook's text alternative: the original unquoted below an underscore line and From:/Sent:."""
    plain = (f"{text}\n\n________________________________\nFrom: {notice['From']}\n"
             f"Sent: Sunday, November 29, 2026 10:00 AM\nTo: {sender}\nSubject: {notice['Subject']}\n\n"
             f"{notice_text(notice)}\n")  # fmt: skip
    return _headers(MIMEText(plain, "plain", "utf-8"), notice, sender, to).as_bytes()


def apple_mail_reply(notice: Message, sender: str, text: str, to: str | None = None) -> bytes:
    """iPhone Mail: top-posted, "Sent from my iPhone", the quote in format=flowed."""
    plain = f"{text}\n\nSent from my iPhone\n\n> On 29 Nov 2026, at 10:00, {notice['From']} wrote:\n>\n{quoted(notice_text(notice))}\n"
    rich = (f'<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
            f'<body dir="auto"><div dir="ltr">{html.escape(text).replace(chr(10), "<br>")}</div>'
            f'<div dir="ltr"><br><div dir="ltr">Sent from my iPhone</div><div dir="ltr"><br><blockquote type="cite">'
            f"On 29 Nov 2026, at 10:00, {html.escape(str(notice['From']))} wrote:<br><br></blockquote></div>"
            f'<blockquote type="cite"><div dir="ltr">{html.escape(notice_text(notice))}</div></blockquote></div></body></html>')  # fmt: skip
    message = MIMEMultipart("alternative")
    part = MIMEText(plain, "plain", "utf-8")
    part.set_param("format", "flowed")
    message.attach(part)
    message.attach(MIMEText(rich, "html", "utf-8"))
    return _headers(message, notice, sender, to).as_bytes()


def mutt_reply(notice: Message, sender: str, text: str, to: str | None = None) -> bytes:
    """Bottom-posted below the quote, with a signature."""
    plain = (f"On Sun, Nov 29, 2026 at 10:00:00AM +0000, Team moderation wrote:\n{quoted(notice_text(notice))}\n\n"
             f"{text}\n\n-- \nFran Facilitator\nhttps://fran.example.org/\n")  # fmt: skip
    message = MIMEText(plain, "plain", "us-ascii" if plain.isascii() else "utf-8")
    message["User-Agent"] = "NeoMutt/20231103"
    return _headers(message, notice, sender, to).as_bytes()


def plain_reply(notice: Message, sender: str, text: str, to: str | None = None) -> bytes:
    """A simple top-posted text reply."""
    plain = f"{text}\n\n{quoted(notice_text(notice))}\n"
    return _headers(MIMEText(plain, "plain", "utf-8"), notice, sender, to).as_bytes()


def dkim_signed(raw: bytes, domain: str, selector: bytes = b"s1") -> bytes:
    """The message with a DKIM-Signature by SIGNING_KEY for domain, as the sender's provider adds."""
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    signature = dkim.sign(raw, selector, domain.encode(), SIGNING_KEY,
                          include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])  # fmt: skip
    return signature + raw
