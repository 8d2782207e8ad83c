"""The real `listserv` command, run in-process with the tests' clock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from click.testing import CliRunner, Result

from listserv.cli.main import main
from listserv.cli_context import CliContext
from listserv.clock import Clock
from support.clock import TestClock


def invoke(args: Sequence[str], clock: Clock | None = None, **options: Any) -> Result:
    """`listserv ARGS`; share the engine's clock (the `clock` fixture) when an engine runs."""
    return CliRunner().invoke(main, list(args), obj=CliContext(None, clock=clock or TestClock()), **options)
