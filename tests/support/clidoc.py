"""docs/cli.md, generated from the command tree: `python3 tests/support/clidoc.py > docs/cli.md`.

Written from the commands' own declarations (names, arguments, options, choices, defaults,
docstrings), not from click's --help formatting, so the reference reads the same with every
click release: wrapping and truncation are click's business, the words are ours.
"""

from __future__ import annotations

import inspect

import click

from listserv.cli.main import main

HEADER = """# listserv commands

Generated from the command tree by `python3 tests/support/clidoc.py > docs/cli.md`;
`tests/test_docs.py` fails when this file and the commands disagree.
Every command takes the global `--config PATH` before its name; `listserv --version` prints the version.

Exit status: 0 when the command did its work; 1 when it could not, with one line on standard error
saying what is wrong and what to do (no database yet, the database unreachable, read-only or not
migrated, a bad setting, no such list or member, ...); 2 for a mistake in the command line itself.
`listserv inject` answers in the sysexits codes an MTA's pipe reads instead: 0, 65, 67, 68, 75 or
77 (see `listserv inject`).
"""


def walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            found += walk(command.commands[name], path + [name])
    return found


def paragraphs(text: str | None) -> str:
    """A docstring as paragraphs, each on one line."""
    blocks = inspect.cleandoc(text or "").split("\n\n")
    return "\n\n".join(" ".join(block.split()) for block in blocks if block.strip())


def summary(command: click.Command) -> str:
    """The first sentence of a command's help."""
    text = paragraphs(command.help)
    first = text.split("\n\n")[0]
    end = first.find(". ")
    return first if end < 0 else first[: end + 1]


def value_of(param: click.Parameter) -> str:
    if isinstance(param.type, click.Choice):
        return "[" + "|".join(str(choice) for choice in param.type.choices) + "]"
    if isinstance(param.type, click.File | click.Path):
        return "PATH"
    names = {click.INT: "INTEGER", click.FLOAT: "NUMBER"}
    return names.get(param.type, "TEXT")  # type: ignore[call-overload]


def option_line(option: click.Option) -> str:
    names = ", ".join(f"`{name}`" for name in option.opts + option.secondary_opts)
    value = "" if option.is_flag else f" {value_of(option)}"
    notes = []
    if option.required:
        notes.append("required")
    if option.multiple:
        notes.append("repeatable")
    if option.show_default and option.default not in (None, "", ()):
        notes.append(f"default: {option.default}")
    tail = f" ({'; '.join(notes)})" if notes else ""
    return f"- {names}{value}: {paragraphs(option.help)}{tail}".rstrip(": ")


def argument_text(argument: click.Argument) -> str:
    name = argument.human_readable_name.upper()
    return f"[{name}]" if not argument.required else f"{name}..." if argument.nargs == -1 else name


def section(path: list[str], command: click.Command) -> str:
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    options = [p for p in command.params if isinstance(p, click.Option) and p.name not in ("help", "version")]
    usage = " ".join(path + (["[OPTIONS]"] if options else []) + [argument_text(a) for a in arguments])
    if isinstance(command, click.Group):
        usage += " COMMAND ..."
    lines = [f"## `{' '.join(path)}`", "", f"    {usage}", "", paragraphs(command.help)]
    choosing = [a for a in arguments if isinstance(a.type, click.Choice)]
    lines += [""] + [f"- `{argument_text(a)}`: one of {value_of(a)}" for a in choosing] if choosing else []
    if options:
        lines += ["", "Options:", ""] + [option_line(option) for option in options]  # type: ignore[arg-type]
    if isinstance(command, click.Group):
        lines += ["", "Commands:", ""]
        lines += [f"- `{name}`: {summary(sub)}" for name, sub in sorted(command.commands.items())]
    return "\n".join(lines) + "\n"


def render() -> str:
    return "\n".join([HEADER] + [section(path, command) for path, command in walk(main, ["listserv"])])


if __name__ == "__main__":
    print(render(), end="")
