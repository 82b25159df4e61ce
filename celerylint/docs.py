"""Rule documentation pages, generated from each rule's docstring.

``docs/rules/<name>.md`` is what SARIF ``helpUri``, ``celerylint explain`` and the README link
to; ``scripts/rule_docs.py`` writes the pages and a test keeps them equal to the docstrings.
"""

from __future__ import annotations


def rule_page(rule) -> str:
    """The Markdown page of one rule: title, one-line facts, then its documentation."""
    _, _, body = rule.doc.partition("\n")
    fix = "yes (`--fix`)" if rule.fixable else "no"
    facts = [f"- Code: `{rule.code}`; name: `{rule.name}`; default severity: {rule.severity.value}",
             f"- Automatic fix: {fix}"]
    if rule.security_severity is not None:
        facts.append(f"- Security severity (SARIF): {rule.security_severity:.1f}")
    return (f"# {rule.code} {rule.name}\n\n{rule.summary[0].upper()}{rule.summary[1:]}.\n\n"
            + "\n".join(facts) + f"\n\n{body.strip()}\n")


def index_page(rules) -> str:
    rows = "\n".join(f"| {r.code} | [`{r.name}`]({r.name}.md) | {r.severity.value} | "
                     f"{'yes' if r.fixable else ''} | {r.summary} |" for r in rules)
    return ("# celerylint rules\n\nGenerated from the rules' docstrings by "
            "`python scripts/rule_docs.py`; do not edit by hand.\n\n"
            "| Code | Name | Severity | Fix | Finds |\n|---|---|---|---|---|\n" + rows + "\n")
