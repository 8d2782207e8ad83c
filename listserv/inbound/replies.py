"""SMTP/LMTP replies we give, and the one exception that carries them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    code: int
    status: str  # RFC 3463 enhanced status code
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.status} {self.text}"


OK = Reply(250, "2.0.0", "Ok")
RCPT_OK = Reply(250, "2.1.5", "Ok")
NO_SUCH_LIST = Reply(550, "5.1.1", "No such list here")
LIST_CLOSED = Reply(550, "5.7.1", "This list is closed: it takes no new posts")
CLOSED_TO_JOINS = Reply(550, "5.7.1", "This list is closed: it takes no new members")
TOO_BIG = Reply(552, "5.3.4", "Message too big for this list")
HEADER_TOO_BIG = Reply(552, "5.3.4", "Message header block too large")
TOO_COMPLEX = Reply(554, "5.6.0", "Message structure too complex (MIME parts or nesting)")
LINE_TOO_LONG = Reply(500, "5.5.2", "Line too long (see RFC 5321 4.5.3.1.6)")
TRY_LATER = Reply(451, "4.3.0", "Temporary failure, please retry")
NO_STORAGE = Reply(452, "4.3.1", "Insufficient system storage, please retry")
TOO_MANY_CONNECTIONS = Reply(421, "4.7.0", "Too many connections, try again later")
TOO_MANY_FROM_CLIENT = Reply(421, "4.7.0", "Too many connections from your address, try again later")
IDLE_TIMEOUT = Reply(421, "4.4.2", "Timeout waiting for your command, closing connection")


class Refused(Exception):
    """Raised by core code to refuse a message with a definite reply."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(str(reply))
        self.reply = reply
