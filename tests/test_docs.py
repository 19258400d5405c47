"""The docs cover the public surface (STYLE 15): every public name and every ``dataload`` command.

A name counts as documented when README.md or a page of docs/ shows it as code (in backticks or
a code block), as a whole word; a command when a line of code there runs it (``dataload pipeline
NAME retry``). Every command also has a help text.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import dataload
from dataload.cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent
_CODE = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)


def _docs_code() -> str:
    """The code of README.md and docs/*.md: code blocks and inline code, one piece a line."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(match.group().strip("`") for page in pages for match in _CODE.finditer(page.read_text()))


def _word(name: str) -> str:
    return rf"(?<![\w-]){re.escape(name)}(?![\w-])"


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every command under ``parser`` as its words (``("pipeline", "retry")``) with its help text."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for name, subparser in action.choices.items():
                yield (*path, name), helps.get(name, "")
                yield from _commands(subparser, (*path, name))


def test_every_public_name_is_in_the_docs() -> None:
    code = _docs_code()
    undocumented = [name for name in dataload.__all__ if not re.search(_word(name), code)]
    assert not undocumented, f"public names no page of the docs shows as code: {undocumented}"


def test_every_command_is_in_the_docs_and_has_help() -> None:
    lines = _docs_code().splitlines()
    commands = list(_commands(build_parser()))
    assert commands, "no command found in the parser"
    unshown = [" ".join(words) for words, _ in commands
               if not any(re.search(".*?".join(map(_word, ("dataload", *words))), line) for line in lines)]
    assert not unshown, f"commands no line of code in the docs runs: {unshown}"
    helpless = [" ".join(words) for words, help in commands if not help.strip()]
    assert not helpless, f"commands without help: {helpless}"
