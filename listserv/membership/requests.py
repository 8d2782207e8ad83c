"""Mail to LIST-request: help, and unsubscribe by mail."""

from __future__ import annotations

import logging

from listserv.incoming import Incoming, notify_sender
from listserv.membership.commands import Command, first_text, read_command
from listserv.store import queries

log = logging.getLogger(__name__)


def handle_request(incoming: Incoming) -> None:
    lst, facts = incoming.lst, incoming.facts
    command = read_command(facts.subject, first_text(incoming.message))
    if command is Command.UNSUBSCRIBE and queries.remove_member(incoming.session, lst.id, facts.sender):
        log.info("unsubscribed list=%s address=%s", lst.address, facts.sender)
        text = incoming.render("goodbye.txt.j2", address=facts.sender)
        notify_sender(incoming, "goodbye", f"You have left {lst.name}", text)
        return
    notify_sender(incoming, "help", f"Help for {lst.name}", incoming.render("help.txt.j2"))
