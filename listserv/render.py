"""jinja2 rendering of mail templates (templates/<purpose>.<part>.j2).

The repository's templates/ folder is installed as listserv/templates/ (setup.py); a
checkout run without installing finds it beside the package. An operator's
`templates_dir` comes first, so it can override single templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from listserv.mail.message import ListInfo, Role

PACKAGE = Path(__file__).resolve().parent
DEFAULT_TEMPLATES = next((p for p in (PACKAGE / "templates", PACKAGE.parent / "templates") if p.is_dir()),
                         PACKAGE / "templates")  # fmt: skip


@dataclass(frozen=True)
class Footer:
    text: str
    html: str
    archive: str = ""  # the list's web archive (BASE/LIST) when it has one: posts get Archived-At


class Templates:
    def __init__(self, directory: str | Path = "", public_url: str = "") -> None:
        self.public_url = public_url.strip().rstrip("/")  # where the web archive is (archive links in footers)
        search = [str(directory)] if directory else []
        loader = jinja2.FileSystemLoader(search + [str(DEFAULT_TEMPLATES)])
        self._text = jinja2.Environment(loader=loader, autoescape=False, keep_trailing_newline=True)
        self._html = jinja2.Environment(loader=loader, autoescape=True, keep_trailing_newline=True)

    def render(self, name: str, **context: object) -> str:
        env = self._html if name.endswith(".html.j2") else self._text
        return env.get_template(name).render(**context)

    def render_for(self, lst: ListInfo, name: str, **context: object) -> str:
        """A template for a list's mail: templates_dir/lists/LIST@DOMAIN/NAME first (that list's
        own), else NAME; the list and its service addresses are in the context."""
        base: dict[str, object] = dict(
            list=lst, post=lst.address, request=lst.service(Role.REQUEST), owner=lst.service(Role.OWNER),
            join=lst.service(Role.JOIN), leave=lst.service(Role.LEAVE),
        )  # fmt: skip
        own = f"lists/{lst.address}/{name}"
        try:
            return self.render(own, **(base | context))
        except jinja2.TemplateNotFound as missing:
            if missing.name != own:
                raise
        return self.render(name, **(base | context))

    def render_footer(self, lst: ListInfo, control: str = "") -> Footer:
        """The list footer; `control` is the post's LIST-do+REF address (docs/engagement.md)."""
        context = {"list": lst, "request": lst.service(Role.REQUEST), "control": control}
        archive = f"{self.public_url}/{lst.local_part}" if self.public_url and lst.archive_access != "private" else ""
        return Footer(self.render("footer.txt.j2", **context), self.render("footer.html.j2", **context), archive)
