"""The one exception hierarchy. Each error's message says what is wrong and what to do.

    ListservError
     ├── ConfigError        the configuration file or a LISTSERV_* variable is wrong
     ├── DatabaseError      the database is missing, unreachable, read-only or not migrated
     ├── NotFound           no such list, member, held post, discussion, prompt or poll
     ├── Invalid            a value or request the operator can correct
     └── ServiceError       a listener cannot start (a port in use, a file it cannot write)

The command line translates them once, at its root, into one line and an exit code
(cli/main.py); core code raises them and never prints. SMTP refusals are not errors of
this kind: they are replies (inbound/replies.py).
"""

from __future__ import annotations


class ListservError(Exception):
    """Something an operator can fix; str(error) says what and how."""

    exit_code = 1


class ConfigError(ListservError):
    pass


class DatabaseError(ListservError):
    pass


class NotFound(ListservError):
    pass


class Invalid(ListservError):
    pass


class ServiceError(ListservError):
    pass
