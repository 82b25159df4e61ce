"""Every rule against its fixtures: fires where a ``# expect:`` marker says, nowhere else.

Markers: ``# expect: rule-name[, other-rule]`` on the line of the finding, or
``# expect-next: rule-name`` on the line before it (for Dockerfile lines, which cannot carry a
trailing comment). Text after the rule names in parentheses is a note for readers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import FIXTURES, found

RULE_DIRS = sorted(p for p in (FIXTURES / "rules").iterdir() if p.is_dir())
_MARKER = re.compile(r"#\s*expect(-next)?:\s*([a-z0-9, -]+)")


def expected(folder: Path) -> set[tuple[str, str, int]]:
    marks = set()
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = _MARKER.search(text)
            if match:
                line = number + 1 if match.group(1) else number
                for name in match.group(2).split(","):
                    if name.strip():
                        marks.add((name.strip(), path.name, line))
    return marks


@pytest.mark.parametrize("folder", RULE_DIRS, ids=[p.name for p in RULE_DIRS])
def test_rule_fixtures_match_their_markers(folder: Path):
    # fires/ and silent/ subfolders are separate repositories: each is checked on its own
    parts = [p for p in (folder / "fires", folder / "silent") if p.is_dir()] or [folder]
    for part in parts:
        assert set(found(part)) == expected(part), part.name


@pytest.mark.parametrize("folder", RULE_DIRS, ids=[p.name for p in RULE_DIRS])
def test_every_rule_has_a_firing_and_a_silent_example(folder: Path):
    marks = expected(folder)
    assert any(name == folder.name for name, _, _ in marks), "no example where the rule fires"
    silent = [p for p in folder.rglob("*") if p.is_file() and "silent" in str(p.relative_to(folder))]
    assert silent, "no example where the rule stays silent"


def test_every_rule_has_a_fixture_folder():
    from celerylint.engine import all_rules

    assert {r.name for r in all_rules()} == {p.name for p in RULE_DIRS}
