"""listserv: an email-first engine for online communities of practice."""

__version__ = "0.6.1"
