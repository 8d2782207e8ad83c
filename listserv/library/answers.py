"""What the library's mail handlers share: ignoring automatic mail, the sender's own words,
the authentication check that replies to hold notices get, and the library's short answers.

(The digest's handlers have the same three checks; the library keeps its own so that the
digest may show the library without the two capabilities importing each other.)
"""

from __future__ import annotations

import logging
from datetime import datetime

from listserv.mail.message import ListInfo, Role
from listserv.mail.text import inline_text_part, message_text
from listserv.moderation.approve import own_lines
from listserv.moderation.reply import AUTOMATIC_SUBJECTS
from listserv.outbound.decorate import serialize
from listserv.outbound.notices import address_automatic, may_answer
from listserv.received import Received
from listserv.received import authenticated as sender_authenticated

log = logging.getLogger(__name__)


def automatic(received: Received) -> bool:
    """Bounces, null senders, Auto-Submitted or bulk mail, and out-of-office replies by subject."""
    if may_answer(received.inbound.mail_from, received.facts) and not AUTOMATIC_SUBJECTS.match(received.facts.subject):
        return False
    log.info("library mail ignored list=%s reason=automatic msgid=%s", received.lst.address,
             received.facts.message_id)  # fmt: skip
    return True


def own_words(received: Received) -> str:
    return "\n".join(own_lines(message_text(received.message, keep_quotes=False))).strip()


def authenticated(received: Received, address: str, what: str) -> bool:
    return sender_authenticated(received, address, what, "library")


def library_mail(lst: ListInfo, to: str, subject: str, text: str, reply_to: str, now: datetime,
                 in_reply_to: str = "") -> bytes:  # fmt: skip
    """A short answer from the library, answered by a plain Reply to `reply_to`."""
    message = inline_text_part(text)
    del message["Content-Disposition"]
    address_automatic(message, lst, now, sender=(f"{lst.name} library", reply_to), to=to, subject=subject,
                      loop_marker=lst.service(Role.LIBRARY), reply_to=reply_to, in_reply_to=in_reply_to,
                      kind="library", auto="auto-replied", precedence="list")  # fmt: skip
    return serialize(message)
