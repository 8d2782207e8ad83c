import pytest

from listserv.inbound import authcheck
from support.clients import dns_txt
from support.moderation import FAC, FAC2, MEMBERS


@pytest.fixture
def team(make_list):
    """The moderated list most moderation tests run against."""
    return make_list("team", members=MEMBERS, facilitators=(FAC, FAC2))


@pytest.fixture
def dns():
    """DKIM keys published in a dict, through listserv's DNS seam (real dkimpy, no network)."""
    records: dict[str, str] = {}
    previous = authcheck.use_dns(lambda name, timeout=5: dns_txt(records)(name, timeout))
    yield records
    authcheck.use_dns(previous)
