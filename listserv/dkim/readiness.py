"""Is a list's mail signed, and does it carry one-click unsubscribe? Said plainly, for
`list show`, `status` and the fan-out, from the settings and the key files."""

from __future__ import annotations

from dataclasses import dataclass

from listserv.dkim.keys import key_path, load_key
from listserv.errors import ConfigError
from listserv.settings import Settings


@dataclass(frozen=True)
class Readiness:
    signed: bool
    one_click: bool
    signing: str  # a line on signing: what it is, or why not and what to do
    unsubscribe: str  # the same on one-click unsubscribe

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(line for ok, line in ((self.signed, self.signing), (self.one_click, self.unsubscribe)) if not ok)


def readiness(settings: Settings, domain: str, one_click_setting: bool | None) -> Readiness:
    """one_click_setting: the list's yes / no / unset (unset: on when mail is signed and public_url is set)."""
    try:
        key = load_key(settings, domain)
        signed = key is not None
        signing = (f"signed with DKIM d={domain} s={settings.dkim_selector}" if signed else
                   f"UNSIGNED: no DKIM key {key_path(settings, domain)}; run `listserv dkim keygen {domain}`")  # fmt: skip
    except ConfigError as error:
        signed, signing = False, f"UNSIGNED: {error}"
    if one_click_setting is False:
        return Readiness(signed, False, signing, "no one-click unsubscribe: turned off for this list")
    if not settings.public_url.strip():
        return Readiness(signed, False, signing, "no one-click unsubscribe: public_url is empty")
    if one_click_setting is None and not signed:
        return Readiness(signed, False, signing, "no one-click unsubscribe: it needs DKIM-signed mail (no key)")
    unsigned = "" if signed else " (but unsigned: providers ignore it)"
    return Readiness(signed, True, signing, f"one-click unsubscribe on{unsigned}")
