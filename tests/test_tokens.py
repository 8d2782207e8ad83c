"""One token mechanism for every reply-to-act address (listserv/tokens.py, store/tokens.py)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select

from listserv.store import admin, db
from listserv.store.schema import Token
from listserv.store.tokens import find_token, issue_token, retire_tokens, usable, use_token
from listserv.tokens import lookup_keys, matches, new_token, read_signed_ref, signed_ref, token_key

SECRET = b"s" * 32
NOW = datetime(2026, 3, 18, 10, 0)


def test_tokens_are_128_bit_lower_case_and_stored_only_as_a_keyed_mac():
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    token = tokens.pop()
    assert len(token) == 26 and token == token.lower() and token.isalnum()
    assert len(token_key(SECRET, token)) == 64 and token not in token_key(SECRET, token)
    assert token_key(SECRET, token) != token_key(b"t" * 32, token)  # the database alone cannot check a guess
    assert matches(token_key(SECRET, token), lookup_keys(SECRET, token.upper()))
    assert not matches(token_key(SECRET, token), lookup_keys(SECRET, new_token()))


def test_a_token_is_found_only_for_its_list_and_purpose_and_is_used_once(migrated_url):
    engine = db.open_engine(migrated_url)
    sessions = db.sessions(engine)
    with sessions() as session, session.begin():
        list_id = admin.create_list(session, "team@lists.example.test", "Team", "", NOW).id
        other = admin.create_list(session, "other@lists.example.test", "Other", "", NOW).id
        token = issue_token(
            session,
            SECRET,
            purpose="moderate",
            list_id=list_id,
            address="fac@example.org",
            now=NOW,
            expires=NOW + timedelta(days=14),
            target_id=7,
        )
        stored = session.scalars(select(Token.token_hash)).all()
    assert stored == [token_key(SECRET, token)] and token not in stored[0]
    with sessions() as session, session.begin():
        assert find_token(session, SECRET, token, other, ("moderate",)) is None
        assert find_token(session, SECRET, token, list_id, ("note",)) is None
        assert find_token(session, b"t" * 32, token, list_id, ("moderate",)) is None
        assert find_token(session, SECRET, "not a token!", list_id, ("moderate",)) is None
        row = find_token(session, SECRET, token.upper(), list_id, ("moderate",))
        assert row is not None and row.target_id == 7 and usable(row, NOW)
        assert not usable(row, NOW + timedelta(days=15))
        assert use_token(session, row.id, NOW) and not use_token(session, row.id, NOW)
    engine.dispose()


def test_tokens_issued_before_migration_0006_are_still_found(migrated_url):
    engine = db.open_engine(migrated_url)
    with db.sessions(engine)() as session, session.begin():
        list_id = admin.create_list(session, "team@lists.example.test", "Team", "", NOW).id
        old = "Ab_cD-efGhIjKlMnOpQrStUvWx"  # secrets.token_urlsafe, stored as its plain SHA-256
        session.add(
            Token(
                token_hash=hashlib.sha256(old.encode()).hexdigest(),
                purpose="moderate",
                list_id=list_id,
                address="fac@example.org",
                target_id=1,
                requested_by="",
                detail="{}",
                created_at=NOW,
                expires_at=NOW + timedelta(days=1),
            )
        )
        session.flush()
        assert find_token(session, SECRET, old, list_id, ("moderate",)) is not None
        retire_tokens(session, list_id, "moderate", NOW, target_id=1)
        row = find_token(session, SECRET, old, list_id, ("moderate",))
        assert row is not None and not usable(row, NOW)
    engine.dispose()


def test_a_signed_reference_names_one_post_of_one_list_and_cannot_be_forged() -> None:
    secret = b"s" * 32
    ref = signed_ref(secret, 3, 1234)
    assert len(ref) <= 26 and ref.startswith("1234-") and ref == ref.lower()
    assert read_signed_ref(secret, 3, ref) == 1234
    assert read_signed_ref(secret, 3, ref.upper()) == 1234  # an MTA may change the case
    assert read_signed_ref(secret, 4, ref) is None  # another list
    assert read_signed_ref(b"t" * 32, 3, ref) is None  # another server
    assert read_signed_ref(secret, 3, "1235-" + ref.partition("-")[2]) is None  # another post
    assert read_signed_ref(secret, 3, "0" + ref) is None
    assert read_signed_ref(secret, 3, "notaref") is None
    assert len(signed_ref(secret, 3, 999_999_999)) == 26  # fits LONGEST_TAG
