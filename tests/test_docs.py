"""The docs describe what ships."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from listserv.settings import Settings
from support.clidoc import render

ROOT = Path(__file__).resolve().parent.parent


def test_the_cli_reference_matches_the_commands():
    assert (ROOT / "docs" / "cli.md").read_text() == render(), "run: python3 tests/support/clidoc.py > docs/cli.md"


def test_every_setting_is_documented_with_its_variable():
    text = (ROOT / "docs" / "configuration.md").read_text()
    for field in fields(Settings):
        assert f"`{field.name}`" in text and f"LISTSERV_{field.name.upper()}" in text, field.name


def test_the_readme_gives_the_two_commands_and_ci_runs_the_same_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "pip install -e '.[dev]' && listserv init && listserv serve" in readme
    assert "\npytest " in readme
    assert "\npytest || status=$?" in (ROOT / ".ci" / "run").read_text()
