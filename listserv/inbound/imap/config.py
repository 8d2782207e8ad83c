"""The per-list IMAP settings (`listserv list set LIST imap_... VALUE`), each checked when set.
The password is never a setting: only the file that holds it, or the variable that does."""

from __future__ import annotations

import os
import stat

from listserv.inbound.imap.rules import TlsMode, env_name_problem, folder_problem, host_problem, port_problem
from listserv.store.admin import ListSetting, optional


def folder_named(value: str) -> str | None:
    return "a folder name is needed" if not value.strip() else folder_problem(value)


def readable_file(value: str) -> str | None:
    if not os.path.isabs(value):
        return f"give the absolute path, not {value!r}"
    try:
        mode = os.stat(value).st_mode
        with open(value, "rb"):
            pass
    except OSError as error:
        return f"cannot read {value}: {error.strerror}"
    return None if stat.S_ISREG(mode) else f"{value} is not a file"


def secret_file(value: str) -> str | None:
    problem = readable_file(value)
    if problem:
        return problem
    if os.stat(value).st_mode & stat.S_IROTH:
        return f"{value} is readable by every user of this machine: chmod 600 it (owned by listserv's user)"
    return None


IMAP_SETTINGS = {
    "imap_host": ListSetting(str, check=optional(host_problem),
                             help="the IMAP server the list's mail is taken from (empty: no IMAP intake)"),
    "imap_port": ListSetting(int, check=port_problem, help="its port; 0: 993 with implicit TLS, else 143"),
    "imap_tls": ListSetting(str, tuple(TlsMode), help="implicit (port 993), starttls (143), or none (only to "
                            "this machine); certificates are always verified"),
    "imap_ca_file": ListSetting(str, check=optional(readable_file),
                                help="PEM file of a private CA that signed the server's certificate"),
    "imap_user": ListSetting(str, help="the mailbox's login name"),
    "imap_password_file": ListSetting(str, check=optional(secret_file),
                                      help="file holding the password (an app password), mode 0600"),
    "imap_password_env": ListSetting(str, check=optional(env_name_problem),
                                     help="or the environment variable of `listserv serve` that holds it"),
    "imap_folder": ListSetting(str, check=folder_named, help="the folder mail arrives in"),
    "imap_processed_folder": ListSetting(str, check=optional(folder_problem),
                                         help="where taken mail is moved (empty: marked \\Seen and left)"),
    "imap_failed_folder": ListSetting(str, check=folder_named,
                                      help="where mail that cannot be taken is moved, its reason logged"),
}  # fmt: skip
