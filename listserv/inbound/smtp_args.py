"""MAIL FROM and RCPT TO arguments, read fast when they are plain (pure).

aiosmtpd reads every argument with the email package's RFC 5322 parser and defines a class
on each call, about 140 µs for `<a@b.example>`: two of them a post. Almost every argument is
a plain `<local@domain>` and optional ESMTP parameters; this reads those with one regular
expression and leaves anything else (quotes, comments, source routes, literals, `<>`,
non-ASCII) to aiosmtpd, so the answer is the same either way.
"""

from __future__ import annotations

import re

ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
PLAIN = re.compile(rf"<({ATOM}(?:\.{ATOM})*@{LABEL}(?:\.{LABEL})*)>(?:[ \t]+([^()\"\\\s][^()\"\\\r\n\f\v]*)?)?")


def plain_address(arg: str) -> tuple[str, str] | None:
    """(address, parameters) of `<local@domain> [PARAM=VALUE ...]`, or None to read it the long way."""
    match = PLAIN.fullmatch(arg)
    if match is None:
        return None
    return match.group(1), match.group(2) or ""
