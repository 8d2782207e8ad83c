"""The library as a web page (HTML, escaped by the template engine), Markdown and JSON."""

from __future__ import annotations

import re
from typing import Any

from listserv.cli_context import json_time
from listserv.library.model import Entry, Library, by_tag
from listserv.mail.permalinks import permalink_path
from listserv.render import Templates

MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-!|])")


def render_library_page(library: Library, templates: Templates, *, base_url: str = "", tag: str = "",
                        library_address: str = "") -> str:  # fmt: skip
    """The list's library page: grouped by tag, ranked; each entry links back to where it was shared."""
    name = library.list_address.partition("@")[0]
    return templates.render(
        "library.html.j2", library=library, groups=by_tag(library, tag), library_address=library_address,
        permalink=lambda message_id: base_url.rstrip("/") + permalink_path(name, message_id),
    )  # fmt: skip


def md(text: str) -> str:
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def render_markdown(library: Library, base_url: str = "") -> str:
    name = library.list_address.partition("@")[0]
    lines = [f"# {md(library.list_name)}: the library", ""]
    for group in by_tag(library):
        lines += [f"## {md(group.tag)}", ""]
        for e in group.entries:
            title = f"[{md(e.name)}](<{e.url}>)" if e.url else md(e.name)
            extra = [f"#{e.id}"] + ([f"{e.recommendations} +1"] if e.recommendations else [])
            extra += ["outdated"] if e.outdated else []
            if e.first:
                where = f" in [{md(e.first.subject or 'the discussion')}](<{base_url.rstrip('/')}"
                where += f"{permalink_path(name, e.first.message_id)}>)" if e.first.message_id else ""
                extra.append(f"shared by {md(e.first.by)}" + (where if e.first.message_id else ""))
            lines.append(f"- {title}" + (f": {md(e.description)}" if e.description else "") + f" ({', '.join(extra)})")
            if e.first and e.first.said:
                lines.append(f"  > {md(e.first.said)}")
        lines.append("")
    return "\n".join(lines)


def entry_json(entry: Entry, list_name: str, base_url: str = "") -> dict[str, Any]:
    return {
        "id": entry.id, "kind": entry.kind, "url": entry.url, "label": entry.label, "title": entry.title,
        "description": entry.description, "tags": list(entry.tags), "recommendations": entry.recommendations,
        "outdated": entry.outdated, "size": entry.size, "content_type": entry.content_type,
        "created_at": json_time(entry.created_at), "updated_at": json_time(entry.updated_at),
        "shares": [{"by": s.by, "said": s.said, "at": json_time(s.at), "again": s.again, "subject": s.subject,
                    "message_id": s.message_id,
                    "permalink": base_url.rstrip("/") + permalink_path(list_name, s.message_id) if s.message_id else ""}
                   for s in entry.shares],
    }  # fmt: skip


def library_json(library: Library, base_url: str = "") -> dict[str, Any]:
    name = library.list_address.partition("@")[0]
    return {"list": library.list_address, "resources": [entry_json(e, name, base_url) for e in library.entries]}
