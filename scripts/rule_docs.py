#!/usr/bin/env python3
"""Write ``docs/rules/<name>.md`` (and its index) from the rules' docstrings.

Run it after editing a rule's documentation: ``python scripts/rule_docs.py``. A test fails when
the pages and the docstrings differ.
"""

from __future__ import annotations

from pathlib import Path

from celerylint.docs import index_page, rule_page
from celerylint.engine import all_rules

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    rules = all_rules()
    wanted = {f"{r.name}.md": rule_page(r) for r in rules} | {"README.md": index_page(rules)}
    for stale in DOCS.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (DOCS / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(wanted)} pages to {DOCS}")


if __name__ == "__main__":
    main()
