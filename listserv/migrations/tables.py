"""Every table, for Alembic: the core tables and each capability's own (with its own migration branch)."""

from listserv.archive import search_index as archive_search_tables  # migration 0019
from listserv.bounces import tables as bounce_tables  # migration 0009
from listserv.digest import tables as digest_tables  # migration 0005
from listserv.discussions import tables as discussion_tables  # migration 0002
from listserv.engagement import tables as engagement_tables  # migration 0014
from listserv.inbound.imap import tables as imap_tables  # migration 0012
from listserv.library import tables as library_tables  # migration 0020
from listserv.membership import tables as membership_tables  # migration 0004
from listserv.moderation import tables as moderation_tables  # migration 0003
from listserv.store.schema import Base

__all__ = [
    "Base",
    "archive_search_tables",
    "bounce_tables",
    "digest_tables",
    "discussion_tables",
    "engagement_tables",
    "imap_tables",
    "library_tables",
    "membership_tables",
    "moderation_tables",
]
