import pytest

from support.moderation import FAC, FAC2, MEMBERS


@pytest.fixture
def team(make_list):
    """The moderated list most moderation tests run against."""
    return make_list("team", members=MEMBERS, facilitators=(FAC, FAC2))
