"""The documentation users read matches the rules that run."""

from __future__ import annotations

import re

from conftest import ROOT

SECTIONS = ("## What it finds", "## Symptoms", "## Why", "## Fix", "## When it stays silent",
            "## References")


def rules():
    from celerylint.engine import all_rules

    return all_rules()


def test_readme_rule_table_lists_every_rule_exactly():
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (CL\d{3}) \| `([a-z0-9-]+)` \| (\w+) \| (yes|) \| (.+?) \|", readme, re.M)
    assert rows == [(r.code, r.name, r.severity.value, "yes" if r.fixable else "", r.summary)
                    for r in rules()]


def test_every_rule_documents_the_same_sections_and_has_a_unique_code_and_name():
    seen_codes, seen_names = set(), set()
    for rule in rules():
        assert rule.doc.startswith(f"{rule.name}: "), rule.name
        positions = [rule.doc.find(s) for s in SECTIONS]
        assert all(p >= 0 for p in positions), (rule.name, positions)
        assert positions == sorted(positions), rule.name
        assert re.fullmatch(r"CL\d{3}", rule.code) and rule.code not in seen_codes
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)+", rule.name) and rule.name not in seen_names
        seen_codes.add(rule.code)
        seen_names.add(rule.name)


def test_rule_pages_are_generated_from_the_docstrings():
    from celerylint.docs import index_page, rule_page

    pages = ROOT / "docs" / "rules"
    wanted = {f"{r.name}.md": rule_page(r) for r in rules()} | {"README.md": index_page(rules())}
    assert {p.name for p in pages.glob("*.md")} == set(wanted), "run scripts/rule_docs.py"
    for name, text in wanted.items():
        assert (pages / name).read_text(encoding="utf-8") == text, \
            f"docs/rules/{name} is stale: run python scripts/rule_docs.py"


def test_rule_docs_cite_only_what_users_have():
    for rule in rules():
        assert "../shared" not in rule.doc and "shared/reference" not in rule.doc, rule.name
