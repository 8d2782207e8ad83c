"""The search index follows the archive: posts distributed live are indexed by the `archive-index`
job, held posts are not, the migration indexes what was archived before it, and a removed
post leaves the index."""

from __future__ import annotations

from alembic import command
from search_posts import GARDEN, mbox, message
from sqlalchemy import delete, select

from listserv.archive.search_store import search_posts
from listserv.discussions.tables import ThreadContainer
from listserv.features import JOBS
from listserv.store import db
from listserv.store.schema import MailingList, Post
from support.mail import lmtp_send
from support.waiting import wait_until

INDEX_JOB = next(job for job in JOBS if job.name == "archive-index")


def list_id(session, address: str) -> int:
    return session.scalar(select(MailingList.id).where(MailingList.address == address))


def found(sessions, address: str, query: str) -> list[str]:
    with sessions() as session:
        return [hit.message_id for hit in search_posts(session, list_id(session, address), query).hits]


def settled(work) -> bool:
    """Both posts decided (the held one too) and the accepted one threaded."""
    with work.sessions() as session:
        decided = session.scalars(select(Post.decision)).all()
        placed = session.scalars(select(ThreadContainer.post_id).where(ThreadContainer.post_id.is_not(None))).all()
        return sorted(decided) == ["accept", "hold"] and len(placed) == 1


def test_a_live_post_is_indexed_by_the_job_and_a_held_one_is_not(engine, work, make_list):
    team = make_list("team", members=["alice@example.com"])
    post = message("live@example.com", "Rainwater barrels", "How big is your rainwater barrel?\n")
    held = message("held@example.com", "Rainwater offer", "Cheap rainwater pumps!\n", sender="spam@example.net")
    for sender, data in (("alice@example.com", post), ("spam@example.net", held)):
        assert lmtp_send(engine.lmtp, sender, [team], data.replace(b"corpus@", b"team@"))[team].startswith("250")
    wait_until(lambda: settled(work), 20, "the posts were not decided and threaded")
    INDEX_JOB.run(work)
    assert found(work.sessions, team, "rainwater") == ["live@example.com"]
    assert INDEX_JOB.run(work) == 0  # nothing left to index


def test_the_migration_indexes_the_posts_archived_before_it(cli, database_url, tmp_path):
    cli("list", "create", "corpus", "--name", "Corpus")
    cli("archive", "import", "corpus", str(mbox(GARDEN, tmp_path / "garden.mbox")))
    sql = db.open_engine(database_url)
    try:
        command.downgrade(db._alembic_config(sql), "0018")  # as a database before 0019 was: no index
        db.upgrade(sql)
        sessions = db.sessions(sql)
        assert found(sessions, "corpus@lists.example.test", "sunflowers") == ["html@example.com"]
        with sessions() as session, session.begin():
            html = select(ThreadContainer.post_id).where(ThreadContainer.message_id == "html@example.com")
            session.execute(delete(Post).where(Post.id.in_(html.scalar_subquery())))
        assert found(sessions, "corpus@lists.example.test", "sunflowers") == []
    finally:
        sql.dispose()
