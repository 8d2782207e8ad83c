"""Whole third-party corpora through the pure inbound and outbound stages: a definite answer, never a crash.

The corpora are not in this repository: LISTSERV_CORPORA names the folder (see its README.md).
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

import pytest

from listserv.inbound.limits import Limits, check_limits
from listserv.inbound.replies import Reply
from listserv.mail.message import ListInfo
from listserv.mail.parse import parse_bytes, read_facts
from listserv.outbound.decorate import decorate
from listserv.render import Footer
from listserv.settings import Settings
from support.corpora import corpora as shared_corpora

DEFAULTS = Settings()
LIMITS = Limits(DEFAULTS.max_message_size, DEFAULTS.max_header_bytes, DEFAULTS.max_mime_parts,
                DEFAULTS.max_mime_depth)  # fmt: skip
TEAM = ListInfo(id=1, address="team@lists.example.org", name="Team", subject_prefix="[team]", reply_to="list",
                archive_url="https://lists.example.org/team/")  # fmt: skip
FOOTER = Footer(text="-- \nÉquipe / Team: to leave, mail team-request@lists.example.org\n",
                html="<p>Équipe / Team: <a href='mailto:team-request@lists.example.org'>leave</a></p>")  # fmt: skip
BARE_LINE_END = re.compile(rb"\r(?!\n)|(?<!\r)\n")
NOT_MESSAGES = {"README", "PROVENANCE", "COPYING"}


@pytest.fixture(scope="module")
def corpora() -> Path:
    return shared_corpora()


def flanker_messages(root: Path) -> list[Path]:
    return sorted((root / "flanker_fixtures" / "messages").rglob("*.eml"))


def notmuch_messages(root: Path) -> list[Path]:
    folder = root / "notmuch_test_corpora" / "test" / "corpora"
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in NOT_MESSAGES)


def walk_without_recursion(message: Message) -> int:
    count, stack = 0, [message]
    while stack:
        part = stack.pop()
        count += 1
        payload = part.get_payload()
        if isinstance(payload, list):
            stack += [child for child in payload if isinstance(child, Message)]
    return count


def problems_with(raw: bytes) -> list[str]:
    """What is wrong with how the pure stages treat one message; [] if nothing."""
    answer = check_limits(raw, LIMITS)
    if answer is not None:
        return [] if isinstance(answer, Reply) and answer.code >= 500 else [f"odd answer {answer!r}"]
    message = parse_bytes(raw)
    facts = read_facts(message)
    wire = decorate(message, TEAM, FOOTER)
    problems = []
    if BARE_LINE_END.search(wire):
        problems.append("bare CR or LF")
    longest = max(len(line) for line in wire.split(b"\r\n"))
    if longest > 998:
        problems.append(f"a line of {longest} octets")
    again = BytesParser(policy=policy.compat32).parsebytes(wire)
    walk_without_recursion(again)
    if read_facts(again).message_id != facts.message_id:
        problems.append(f"Message-ID {facts.message_id!r} became {read_facts(again).message_id!r}")
    if again["List-Id"] != '"Team" <team.lists.example.org>':
        problems.append(f"List-Id is {again['List-Id']!r}")
    return problems


def run_corpus(root: Path, files: list[Path]) -> list[str]:
    failures = []
    for path in files:
        try:
            found = problems_with(path.read_bytes())
        except Exception:  # collected, with the file name, so that one bad file does not hide the rest
            found = [traceback.format_exc(limit=-3)]
        failures += [f"{path.relative_to(root)}: {problem}" for problem in found]
    return failures


@pytest.mark.parametrize(("name", "find", "at_least"), [("flanker", flanker_messages, 40),
                                                        ("notmuch", notmuch_messages, 300)])  # fmt: skip
def test_every_corpus_message_gets_an_answer_and_decorates_cleanly(
    corpora: Path, name: str, find: Callable[[Path], list[Path]], at_least: int
) -> None:
    files = find(corpora)
    assert len(files) >= at_least, f"expected the {name} corpus under {corpora}, found {len(files)} files"
    failures = run_corpus(corpora, files)
    assert not failures, f"{len(failures)} of {len(files)} {name} messages failed:\n" + "\n".join(failures)


def test_the_known_hard_cases_are_answered_the_way_we_expect(corpora: Path) -> None:
    messages = corpora / "flanker_fixtures" / "messages"
    endless = (messages / "enclosed-endless.eml").read_bytes()
    refusal = check_limits(endless, LIMITS)
    assert refusal is not None and refusal.status == "5.6.0"  # thousands of parts: refused before parsing
    assert check_limits((messages / "torture.eml").read_bytes(), LIMITS) is None  # deep but within the caps
    lkml = [p.read_bytes() for p in notmuch_messages(corpora) if b"unlisted-recipients:;" in p.read_bytes()]
    assert lkml, "the notmuch corpus should hold a message with To: unlisted-recipients:;"
    assert all(problems_with(raw) == [] for raw in lkml)
