"""docs/cli.md is generated from the commands' --help: `python3 tests/support/clidoc.py > docs/cli.md`."""

from __future__ import annotations

import click

from listserv.cli.main import main

HEADER = """# listserv commands

Generated from `--help` by `python3 tests/support/clidoc.py > docs/cli.md`;
`tests/test_docs.py` fails when this file and the commands disagree.
Every command takes the global `--config PATH` before its name.
"""


def walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            found += walk(command.commands[name], path + [name])
    return found


def render() -> str:
    sections = [HEADER]
    for path, command in walk(main, ["listserv"]):
        with click.Context(command, info_name=" ".join(path), terminal_width=80, max_content_width=80) as ctx:
            text = command.get_help(ctx)
        sections.append(f"## `{' '.join(path)}`\n\n```\n{text}\n```\n")
    return "\n".join(sections)


if __name__ == "__main__":
    print(render(), end="")
