"""The command line: ``celerylint check PATH...``.

Exit status: 0 nothing found, 1 findings, 2 celerylint could not do its job (bad arguments, a
path that does not exist). Heavy modules (the model, the rules, jsonschema, resolvelib) are
imported inside the command, so ``--help`` and ``--version`` stay instant.
"""

from __future__ import annotations

import os
import sys

import click

from celerylint import __version__

FORMATS = ("text", "concise", "json", "github", "sarif", "junit", "gitlab")  # report.FORMATS


def _size(value: str) -> int:
    """``10M``, ``512k`` or a number of bytes."""
    text = value.strip().upper().removesuffix("B").removesuffix("I")
    factor = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}.get(text[-1:], 1)
    number = text[:-1] if factor > 1 else text
    try:
        size = int(float(number) * factor)
    except (ValueError, OverflowError):
        size = 0
    if size <= 0:
        raise click.BadParameter(f"'{value}' is not a size such as 10M or 512k",
                                 param_hint="--max-file-size")
    return size


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="celerylint")
def main() -> None:
    """Find the configurations that break Celery in production, before you deploy them."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "output_format", type=click.Choice(FORMATS), default=None,
              help="Output format [default: text; github when GITHUB_ACTIONS=true].")
@click.option("--output-file", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to this file instead of standard output.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Print the fixes as a unified diff (git apply / patch -p1); change nothing.")
@click.option("--fix", "apply_fixes", is_flag=True, help="Apply the safe fixes to the files.")
@click.option("--unsafe-fixes", is_flag=True,
              help="With --fix or --diff, also the fixes that change behaviour (review them).")
@click.option("--kubernetes-version", default=None, metavar="1.NN",
              help="Kubernetes version for schema checks (default: the newest bundled).")
@click.option("--no-strict", is_flag=True, help="Accept unknown fields in Kubernetes objects.")
@click.option("--max-file-size", default="10M", show_default=True,
              help="Skip files larger than this, with a notice.")
@click.option("--startup-estimate", "estimates", multiple=True, metavar="STEP=SECONDS",
              help="Seconds a start-up step takes, for probe-too-early "
                   "(e.g. 'pip install=120'; repeatable).")
def check(paths: tuple[str, ...], output_format: str | None, output_file: str | None,
          show_diff: bool, apply_fixes: bool,
          unsafe_fixes: bool, kubernetes_version: str | None, no_strict: bool, max_file_size: str,
          estimates: tuple[str, ...]) -> None:
    """Check Kubernetes manifests, Dockerfiles and requirements files under PATHS.

    Directories are walked (skipping .git, virtualenvs and node_modules); `-` reads YAML from
    standard input, for example `kubectl get deploy -o yaml | celerylint check -`.
    """
    if show_diff and apply_fixes:
        raise click.UsageError("--fix and --diff cannot be used together: --diff changes nothing")
    missing = [p for p in paths if p != "-" and not os.path.lexists(p)]
    if missing:
        raise click.UsageError(f"path does not exist: {missing[0]}")
    if (show_diff or apply_fixes) and "-" in paths:
        raise click.UsageError("--fix and --diff need files: standard input cannot be rewritten")
    from celerylint import kubeschema
    from celerylint.engine import Settings, all_rules, run
    from celerylint.fixes import apply
    from celerylint.model.build import load
    from celerylint.report import Result, render

    if kubernetes_version is not None and kubeschema.resolve_version(kubernetes_version) is None:
        raise click.BadParameter(
            f"no bundled schemas for {kubernetes_version} (available: "
            f"{', '.join(kubeschema.versions()) or 'none'})", param_hint="--kubernetes-version")
    settings = Settings(kubernetes_version=kubernetes_version, strict_schema=not no_strict)
    for estimate in estimates:
        step, _, seconds = estimate.rpartition("=")
        if step not in settings.startup_estimates or not seconds.isdigit():
            raise click.BadParameter(
                f"'{estimate}': expected STEP=SECONDS with STEP one of "
                f"{', '.join(sorted(settings.startup_estimates))}", param_hint="--startup-estimate")
        settings.startup_estimates[step] = int(seconds)
    max_size = _size(max_file_size)

    errors: list[str] = []

    def lint(overlay):
        deployment, skipped = load(list(paths), max_size, overlay)
        return deployment, skipped, run(deployment, settings, errors=errors)

    if show_diff or apply_fixes:
        outcome = apply.fix_all(lint, unsafe_fixes)
        deployment, skipped = outcome.deployment, outcome.skipped
    else:
        outcome = None
        deployment, skipped, _ = lint_result = lint(None)
    for skip in skipped:
        click.echo(f"celerylint: skipped {skip.path}: {skip.reason}", err=True)
    if show_diff:
        diff = outcome.diff()
        sys.stdout.write(diff)
        for error in dict.fromkeys(errors):
            click.echo(f"celerylint: {error}", err=True)
        click.echo(f"celerylint: {outcome.fixed} fix{'es' if outcome.fixed != 1 else ''} "
                   "would be applied (--fix applies them)", err=True)
        sys.exit(1 if diff else 0)
    if apply_fixes:
        for problem in apply.write(outcome):
            click.echo(f"celerylint: {problem}", err=True)
        diagnostics = outcome.remaining
    else:
        diagnostics = lint_result[2]
    sources = {s.path: s for s in deployment.sources}
    for diagnostic in diagnostics:
        if diagnostic.fix is not None:
            diagnostic.fix.diff = apply.fix_diff(diagnostic.fix, sources)
    files = len(deployment.sources) + len({p.path for p in deployment.problems} -
                                          {s.path for s in deployment.sources})
    checked = sorted({s.path for s in deployment.sources} | {p.path for p in deployment.problems})
    result = Result(diagnostics, files, skipped, fixed=outcome.fixed if outcome else None,
                    unsafe_fixes=unsafe_fixes, paths=checked, rules=all_rules())
    if output_format is None:
        output_format = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    if output_file:
        with open(output_file, "w", encoding="utf-8") as stream:
            render(output_format, result, stream)
    else:
        render(output_format, result, sys.stdout)
    for error in dict.fromkeys(errors):
        click.echo(f"celerylint: {error}", err=True)
    sys.exit(2 if errors else 1 if diagnostics else 0)


@main.command("problem-matcher")
def problem_matcher() -> None:
    """Print the GitHub Actions problem matcher for `--format concise` output.

    Register it in a workflow with `echo "::add-matcher::celerylint-matcher.json"`.
    """
    from importlib import resources

    click.echo(resources.files("celerylint.data").joinpath("problem-matcher.json").read_text(), nl=False)
