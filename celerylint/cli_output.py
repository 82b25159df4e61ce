"""Where and how ``celerylint check`` writes its report: one analysis, several outputs.

``--format`` (once) goes to standard output or ``--output-file``; each ``--output FORMAT:PATH``
writes one more format to a file from the same run (the GitHub Action prints annotations and
writes SARIF at once, as ruff's and kube-linter's users do with two runs). ``--statistics``
prints a count per rule instead of the findings; ``--quiet`` leaves out the summary.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from typing import Any, TextIO

import click

from celerylint.report import FORMATS


def outputs(values: tuple[str, ...]) -> list[tuple[str, str]]:
    """``FORMAT:PATH`` pairs, checked: a usage error names the bad one."""
    found = []
    for value in values:
        name, colon, path = value.partition(":")
        if not colon or name not in FORMATS or not path:
            raise click.UsageError(f"--output {value!r}: expected FORMAT:PATH with FORMAT one of "
                                   f"{', '.join(FORMATS)} (e.g. --output sarif:celerylint.sarif)")
        found.append((name, path))
    return found


def check_places(output_file: str | None, extra: list[tuple[str, str]]) -> None:
    """Every file the report goes to can be written, before anything runs (a --fix must not
    write the fixes and then fail on the report)."""
    for path in ([output_file] if output_file else []) + [path for _, path in extra]:
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise click.UsageError(f"cannot write {path}: no directory {directory}")
        if os.path.isdir(path):
            raise click.UsageError(f"cannot write {path}: it is a directory")


def colour(choice: str, stream: TextIO) -> bool:
    """``--color``: ``always``/``never``; ``auto`` colours a terminal, unless NO_COLOR is set,
    and FORCE_COLOR (non-empty) forces it (https://no-color.org, https://force-color.org)."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def write(result: Any, output_format: str | None, output_file: str | None,
          extra: list[tuple[str, str]], statistics: bool) -> None:
    """The report in every requested place."""
    from celerylint.report import render

    if output_format is None:
        output_format = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    for name, path in extra:
        with open(path, "w", encoding="utf-8") as stream:
            render(name, result, stream)
    if statistics:
        table = counts(result.diagnostics, output_format == "json")
        if output_file:
            with open(output_file, "w", encoding="utf-8") as stream:
                stream.write(table)
        else:
            sys.stdout.write(table)
        return
    if output_file:
        with open(output_file, "w", encoding="utf-8") as stream:
            render(output_format, result, stream)
    else:
        render(output_format, result, sys.stdout)


def counts(diagnostics: list, as_json: bool = False) -> str:
    """Findings per rule, most first (ties by code): ``   12  CL304  probe-inspect-ping``, and
    ``[fixable]`` where at least one of them has a fix."""
    import json

    per_rule = Counter((d.code, d.name) for d in diagnostics)
    fixable = {(d.code, d.name) for d in diagnostics if d.fix is not None}
    rows = sorted(per_rule.items(), key=lambda item: (-item[1], item[0][0]))
    if as_json:
        return json.dumps([{"code": code, "name": name, "count": n,
                            "fixable": (code, name) in fixable}
                           for (code, name), n in rows], indent=2) + "\n"
    width = max((len(str(n)) for _, n in rows), default=1)
    return "".join(f"{n:>{width}}  {code}  {name}{'  [fixable]' if (code, name) in fixable else ''}\n"
                   for (code, name), n in rows)


def result(diagnostics, deployment, skipped, outcome, unsafe_fixes: bool, rules, last: dict,
           colour: bool, quiet: bool, reported: tuple[str, ...] | None = None):
    """What every reporter formats; ``reported``: with --context, the paths whose files count
    as checked (the others were only read for their links)."""
    from celerylint import cli_input
    from celerylint.fixes import apply
    from celerylint.report import Result

    sources = {s.path: s for s in deployment.sources}
    for diagnostic in diagnostics:
        if diagnostic.fix is not None:
            diagnostic.fix.diff = apply.fix_diff(diagnostic.fix, sources)
    checked = sorted(path for path in {s.path for s in deployment.sources} |
                     {p.path for p in deployment.problems}
                     if reported is None or cli_input.inside(path, reported))
    return Result(diagnostics, len(checked), skipped, fixed=outcome.fixed if outcome else None,
                  unsafe_fixes=unsafe_fixes, paths=checked, rules=rules,
                  suppressed=last["suppressed"], baselined=last["baselined"], colour=colour,
                  quiet=quiet)


def notices(skipped) -> list[str]:
    """One line per notice; three or more files of one folder skipped for the same reason (the
    templates of a chart that cannot be rendered) make one line."""
    groups: dict[tuple[str, str], list] = {}
    for skip in skipped:
        key = (os.path.dirname(skip.path), skip.reason) if skip.line is None else (skip.where, "")
        groups.setdefault(key, []).append(skip)
    lines = []
    for (directory, reason), items in groups.items():
        if len(items) >= 3 and reason:
            lines.append(f"skipped {len(items)} files in {directory or '.'}/: {reason}")
        else:
            lines += [f"{s.where}: {s.reason}" if s.line else f"skipped {s.path}: {s.reason}"
                      for s in items]
    return lines
