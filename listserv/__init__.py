"""listserv: an email-first engine for online communities of practice."""

__version__ = "0.5.0"
