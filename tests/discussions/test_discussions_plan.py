"""The pure pieces around the JWZ core: planning runs against stored state, the displayed tree,
the mbox splitter, storable ids."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from listserv.discussions.headers import MAX_ID_BYTES, storable_id
from listserv.discussions.mbox import envelope_date, envelope_sender, split_mbox
from listserv.discussions.model import ThreadInput, ThreadMethod
from listserv.discussions.plan import (
    Arrival,
    DiscussionFacts,
    OnDuplicate,
    Plan,
    SkipReason,
    Snapshot,
    StoredContainer,
    plan_threads,
)
from listserv.discussions.tree import Container, link, subtree, tree

T0 = datetime(2026, 3, 1, 12, 0)


def msg(mid: str, irt: str | None = None, refs: tuple[str, ...] = (), subject: str = "Topic",
        day: float = 0.0) -> ThreadInput:  # fmt: skip
    return ThreadInput(mid, irt, refs, subject, T0 + timedelta(days=day))


class Store:
    """Plans applied to plain dicts: what the SQL shell does, without SQL."""

    def __init__(self) -> None:
        self.containers: dict[str, StoredContainer] = {}
        self.parents: dict[str, str | None] = {}
        self.methods: dict[str, str | None] = {}
        self.discussions: dict[str, DiscussionFacts] = {}

    def snapshot(self) -> Snapshot:
        return Snapshot(dict(self.containers), dict(self.discussions))

    def run(self, arrivals: list[Arrival], on_duplicate: OnDuplicate = OnDuplicate.FRESH_ID) -> Plan:
        plan = plan_threads(arrivals, self.snapshot(), on_duplicate=on_duplicate)
        for facts in plan.new_discussions + plan.changed_discussions:
            self.discussions[facts.key] = facts
        for source, target in plan.merges:
            del self.discussions[source]
            for mid, stored in list(self.containers.items()):
                if stored.discussion_key == source:
                    self.containers[mid] = StoredContainer(mid, target, stored.is_placeholder, stored.post_id)
        for placed in plan.inserts + plan.relinks:
            key = placed.discussion_key if not placed.stored else self.containers[placed.message_id].discussion_key
            self.containers[placed.message_id] = StoredContainer(placed.message_id, key, placed.is_placeholder,
                                                                 placed.ref)  # fmt: skip
            self.parents[placed.message_id] = placed.parent_id
            self.methods[placed.message_id] = placed.method.value if placed.method else None
        assert set(self.discussions) == {c.discussion_key for c in self.containers.values()}
        return plan

    def groups(self) -> set[frozenset[str]]:
        found: dict[str, set[str]] = {}
        for mid, stored in self.containers.items():
            if not stored.is_placeholder:
                found.setdefault(stored.discussion_key, set()).add(mid)
        return {frozenset(ids) for ids in found.values()}


def arrivals(*messages: ThreadInput, start: int = 1) -> list[Arrival]:
    return [Arrival(start + i, m, f"{m.message_id.split('@')[0]}@example.org", start + i)
            for i, m in enumerate(messages)]  # fmt: skip


def test_two_replies_to_a_missing_message_share_a_discussion_held_by_its_placeholder():
    store = Store()
    store.run(arrivals(msg("r1@x", "p@x", ("p@x",), "Re: Topic", 1)))
    store.run(arrivals(msg("r2@x", "p@x", ("p@x",), "Re: Topic", 2), start=2))
    assert store.groups() == {frozenset({"r1@x", "r2@x"})}
    assert store.containers["p@x"].is_placeholder
    assert store.methods["r1@x"] == store.methods["r2@x"] == "placeholder"
    assert store.discussions["p@x"].post_count == 2


def test_a_late_parent_takes_its_placeholders_place_and_becomes_the_starter():
    store = Store()
    store.run(arrivals(msg("r1@x", "p@x", ("p@x",), "Re: Topic", 1)))
    plan = store.run(arrivals(msg("p@x", subject="Topic", day=0), start=2))
    assert [p.message_id for p in plan.relinks] == ["p@x"] and not plan.inserts
    assert not store.containers["p@x"].is_placeholder and store.methods["p@x"] == "root"
    facts = store.discussions["p@x"]
    assert (facts.post_count, facts.started_by, facts.subject, facts.first_activity) == (
        2,
        "p@example.org",
        "Topic",
        T0,
    )


def test_a_message_naming_two_discussions_merges_them_into_the_top_most():
    store = Store()
    store.run(arrivals(msg("a@x"), msg("b@x", subject="Other", day=1)))
    assert len(store.groups()) == 2
    # c's References say b is a reply to a: b's discussion was a placeholder-less root, so only
    # a chain through placeholders merges; here b is real, so c joins b (its parent) only
    store.run(arrivals(msg("c@x", "b@x", ("a@x", "b@x"), day=2), start=3))
    assert store.groups() == {frozenset({"a@x"}), frozenset({"b@x", "c@x"})}
    # d replies to a missing m whose own ancestry (per d) is a and b-placeholder chains
    store.run(arrivals(msg("e@x", "m@x", ("m@x",), day=3), start=4))
    store.run(arrivals(msg("d@x", "m@x", ("a@x", "m@x"), day=4), start=5))
    assert store.groups() == {frozenset({"a@x", "d@x", "e@x"}), frozenset({"b@x", "c@x"})}
    assert store.discussions["a@x"].post_count == 3 and "m@x" not in store.discussions


def test_a_run_of_many_gives_what_one_at_a_time_gives_in_any_order():
    rng = random.Random(3)
    messages = []
    for index in range(300):
        mid = f"m{index}@x"
        if index and rng.random() < 0.8:
            parent = f"m{rng.randrange(index)}@x" if rng.random() < 0.7 else f"gone{rng.randrange(50)}@x"
            refs = (f"gone{rng.randrange(50)}@x", parent) if rng.random() < 0.3 else (parent,)
            messages.append(msg(mid, parent, refs, "Re: t", index / 10))
        else:
            messages.append(msg(mid, subject=f"t{index}", day=index / 10))
    for order in range(3):
        shuffled = list(messages)
        random.Random(order).shuffle(shuffled)
        one, many = Store(), Store()
        for arrival in arrivals(*shuffled):
            one.run([arrival])
        for start in range(0, 300, 64):
            many.run(arrivals(*shuffled[start : start + 64], start=start + 1))
        assert one.groups() == many.groups()
        assert one.containers == many.containers and one.discussions == many.discussions


def test_the_subject_fallback_joins_only_reply_subjects_within_the_window():
    store = Store()
    store.run(arrivals(msg("q1@x", subject="Retro formats", day=0)))
    store.run(arrivals(msg("q2@x", subject="Retro formats", day=1), start=2))  # not a reply: its own
    assert len(store.groups()) == 2
    store.run(arrivals(msg("r@x", subject="Re: retro formats", day=2), start=3))  # newest "Retro formats"
    assert frozenset({"q2@x", "r@x"}) in store.groups()
    assert store.methods["r@x"] == "subject" and store.parents["r@x"] == "q2@x"
    store.run(arrivals(msg("late@x", subject="Re: Retro formats", day=60), start=4))  # quiet for weeks
    assert frozenset({"late@x"}) in store.groups()


@pytest.mark.parametrize("one_run", [True, False])
def test_a_late_reply_without_references_joins_another_thread_never_its_own_replies(one_run):
    """An Outlook "RE:" (no references) whose reply arrived first: its placeholder's discussion
    has its title too, and is the most recent, but is not another thread (easy_ham, Razor-users)."""
    first = [msg("q@x", subject="[razor] Razor with sendmail", day=0),
             msg("r@x", "o@x", ("o@x",), "Re: [razor] Razor with sendmail", day=1)]  # fmt: skip
    late = [msg("o@x", subject="RE: [razor] Razor with sendmail", day=0.9)]
    store = Store()
    if one_run:
        store.run(arrivals(*first, *late))
    else:
        store.run(arrivals(*first))
        store.run(arrivals(*late, start=3))
    assert store.groups() == {frozenset({"q@x", "o@x", "r@x"})}
    assert (store.methods["o@x"], store.parents["o@x"]) == ("subject", "q@x")


def test_duplicates_are_skipped_on_import_and_threaded_under_a_fresh_id_live():
    store = Store()
    store.run(arrivals(msg("a@x")))
    plan = store.run(arrivals(msg("a@x", day=1), start=7), OnDuplicate.SKIP)
    assert [(s.ref, s.reason) for s in plan.skipped] == [(7, SkipReason.DUPLICATE_ID)]
    store.run(arrivals(msg("a@x", day=1), start=8))
    assert "a@x#duplicate-8" in store.containers
    again = store.run(arrivals(msg("a@x", day=1), start=8))  # the same post again: nothing
    assert [s.reason for s in again.skipped] == [SkipReason.ALREADY_THREADED] and not again.inserts
    first = store.run(arrivals(msg("a@x")))
    assert [s.reason for s in first.skipped] == [SkipReason.ALREADY_THREADED]


def test_a_reply_loop_terminates_and_keeps_both_messages():
    store = Store()
    store.run(arrivals(msg("a@x", "b@x", ("b@x",)), msg("b@x", "a@x", ("a@x",), day=1)))
    assert store.groups() == {frozenset({"a@x", "b@x"})}
    lines = tree([Container(m, store.parents.get(m), c.is_placeholder, None)
                  for m, c in store.containers.items()])  # fmt: skip
    assert sorted(line.message_id for line in lines) == ["a@x", "b@x"]


# -- the displayed tree ----------------------------------------------------------------------


def C(mid: str, parent: str | None = None, day: float | None = 0.0, hole: bool = False) -> Container:
    return Container(mid, parent, hole, None if day is None else T0 + timedelta(days=day))


def shape(lines):
    return [("  " * line.depth) + line.message_id + ("?" if line.is_placeholder else "") for line in lines]


def test_the_tree_prunes_placeholders_like_jwz_and_orders_siblings_by_date():
    containers = [C("p", hole=True), C("r2", "p", 2), C("r1", "p", 1), C("q", "r1", 3), C("h", "r1", hole=True),
                  C("s", "h", 4), C("lone", "gone", 0.5)]  # fmt: skip
    assert shape(tree(containers)) == ["lone", "p?", "  r1", "    q", "    s", "  r2"]
    assert shape(tree([C("p", hole=True), C("only", "p", 1)])) == ["only"]
    assert tree([C("p", hole=True)]) == []


def test_stored_loops_and_self_parents_are_broken_the_earlier_claim_winning():
    containers = [C("a", "c", 0), C("b", "a", 1), C("c", "b", 2), C("self", "self", 3)]
    assert link(containers) == {"a": "c", "b": "a", "c": None, "self": None}
    assert shape(tree(containers)) == ["c", "  a", "    b", "self"]
    assert subtree(containers, "a") == {"a", "b"}


def test_a_deep_chain_is_linked_and_shown_without_recursion():
    containers = [C(f"m{i}", f"m{i - 1}" if i else None, i / 1000) for i in range(100_000)]
    lines = tree(containers[::-1])
    assert len(lines) == 100_000 and lines[-1].depth == 99_999


# -- mbox ------------------------------------------------------------------------------------


def test_mbox_messages_are_split_on_from_lines_and_mboxrd_quoting_is_undone():
    data = (b"From alice at example.com  Mon Nov 30 10:00:00 2009\nSubject: a\n\nbody\n>From quoted\n"
            b">>From twice\nFrom what I saw at 10:30 it was fine\n\n"
            b"From bob@example.com Tue Dec  1 10:00:00 2009\r\nSubject: b\r\n\r\nx\r\n"
            b"From 1712@xxx Wed Jul 24 12:00:00 +0000 2024\nSubject: c\n\ny\n\n")  # fmt: skip
    found = list(split_mbox(data.splitlines(keepends=True)))
    assert [m.raw for m in found] == [
        b"Subject: a\n\nbody\nFrom quoted\n>From twice\nFrom what I saw at 10:30 it was fine\n",
        b"Subject: b\r\n\r\nx\r\n", b"Subject: c\n\ny\n"]  # fmt: skip
    assert [envelope_sender(m.envelope) for m in found] == ["alice@example.com", "bob@example.com", "1712@xxx"]
    assert [envelope_date(m.envelope) for m in found] == [datetime(2009, 11, 30, 10), datetime(2009, 12, 1, 10),
                                                          datetime(2024, 7, 24, 12)]  # fmt: skip
    assert [m.offset for m in found] == [0, data.index(b"From bob"), data.index(b"From 1712")]


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", []), (b"\n\n", []), (b"Subject: no envelope\n\nbody\n", [b"Subject: no envelope\n\nbody\n"]),
     (b"From a@b Mon Nov 30 10:00:00 2009\nFrom b@c Mon Nov 30 10:00:00 2009\n", [b"", b""])],
)  # fmt: skip
def test_mbox_edge_cases(data, expected):
    assert [m.raw for m in split_mbox(data.splitlines(keepends=True))] == expected


# -- ids -------------------------------------------------------------------------------------


def test_long_or_unprintable_ids_are_stored_shortened_and_stably():
    assert storable_id("a@b") == "a@b"
    long = "x" * 2000 + "@example.org"
    assert storable_id(long) == storable_id(long) and len(storable_id(long).encode()) <= MAX_ID_BYTES
    assert storable_id(long) != storable_id("y" + long)
    assert "\x00" not in storable_id("a\x00b@c") and storable_id("a\x00b@c") != "a?b@c"
    assert len(storable_id("é" * 300 + "@x").encode()) <= MAX_ID_BYTES


def test_every_method_is_one_the_store_documents():
    assert {m.value for m in ThreadMethod} == {"root", "reference", "placeholder", "subject"}
