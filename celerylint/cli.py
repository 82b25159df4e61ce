"""The command line: ``celerylint check PATH...``.

Exit status: 0 nothing found, 1 findings, 2 celerylint could not do its job (bad arguments, a
path that does not exist). Heavy modules (the model, the rules, jsonschema, resolvelib) are
imported inside the command, so ``--help`` and ``--version`` stay instant.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from celerylint import __version__

FORMATS = ("text", "concise", "json", "github", "sarif", "junit", "gitlab")  # report.FORMATS


def _size(value: str, where: str = "--max-file-size") -> int:
    """``10M``, ``512k`` or a number of bytes; ``where`` names the flag or file it came from."""
    text = value.strip().upper().removesuffix("B").removesuffix("I")
    factor = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}.get(text[-1:], 1)
    number = text[:-1] if factor > 1 else text
    try:
        size = int(float(number) * factor)
    except (ValueError, OverflowError):
        size = 0
    if size <= 0:
        raise click.BadParameter(f"'{value}' is not a size such as 10M or 512k",
                                 param_hint=where)
    return size


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="celerylint")
def main() -> None:
    """Find the configurations that break Celery in production, before you deploy them."""


#: Set by the console script: the model of the run, kept alive past the command so that exiting
#: does not free millions of objects one by one (over a second on a large tree).
_kept: list | None = None


def console() -> None:
    """The ``celerylint`` console script and ``python -m celerylint``: the command line, then an
    immediate exit once the output is flushed (the model is never torn down)."""
    global _kept
    _kept = []
    code: Any = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe (`| head`): nothing more to say
    os._exit(code)


def _quiet_collector() -> None:
    """The model lives for the whole run and holds millions of small objects: Python's cyclic
    collector would rescan all of them on every full collection (a quarter of a large run, and
    growing faster than the input: 20,000 apps cost 13x 2,000). It is off while the command
    runs; a --fix pass collects the model it discards (``fixes/apply.py``), and an in-process
    caller (tests, an editor's server) gets it back when the command ends."""
    import gc

    if gc.isenabled():
        gc.disable()
        if _kept is None:
            click.get_current_context().call_on_close(gc.enable)


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--format", "output_formats", type=click.Choice(FORMATS), multiple=True,
              help="Output format [default: text; github when GITHUB_ACTIONS=true]. Once: add "
                   "more with --output.")
@click.option("--output-file", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to this file instead of standard output.")
@click.option("--output", "extra_outputs", multiple=True, metavar="FORMAT:PATH",
              help="Also write the report in FORMAT to PATH, from the same run (repeatable), "
                   "e.g. --format github --output sarif:celerylint.sarif.")
@click.option("--statistics", is_flag=True,
              help="Print how many findings each rule has instead of the findings.")
@click.option("--quiet", "-q", is_flag=True,
              help="Print the findings only: no summary, no notices about skipped files.")
@click.option("--color", "colour_choice", type=click.Choice(["auto", "always", "never"]),
              default="auto", show_default=True,
              help="Colour text output (auto: on a terminal; NO_COLOR and FORCE_COLOR apply).")
@click.option("--context", "context_paths", multiple=True, metavar="PATH",
              help="Also read PATH (repeatable) for what the checked files refer to, and report "
                   "only the findings in PATHS: the pre-commit hook checks the staged files "
                   "with --context . (the whole deployment).")
@click.option("--stdin-filename", default=None, metavar="PATH",
              help="The file standard input holds (an editor's unsaved buffer, a `helm template` "
                   "output): findings name it, and it replaces that file in the tree checked.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Print the fixes as a unified diff (git apply / patch -p1); change nothing.")
@click.option("--fix", "apply_fixes", is_flag=True, help="Apply the safe fixes to the files.")
@click.option("--unsafe-fixes", is_flag=True,
              help="With --fix or --diff, also the fixes that change behaviour (review them).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Configuration file (default: the nearest .celerylint.toml or pyproject.toml "
                   "with [tool.celerylint] above the first path).")
@click.option("--select", default=None, metavar="RULES",
              help="Comma-separated codes, code prefixes or names of the rules to run.")
@click.option("--extend-select", default=None, metavar="RULES", help="Rules to add to the selection.")
@click.option("--ignore", default=None, metavar="RULES", help="Rules not to run.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Lowest severity that makes the exit status 1 [default: info].")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when problems are found.")
@click.option("--no-inline-suppressions", is_flag=True,
              help="Ignore celerylint: ignore[...] comments and annotations (for audits).")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, exists=True),
              default=None, help="Report only findings that are not in this baseline file.")
@click.option("--write-baseline", "write_baseline_file", type=click.Path(dir_okay=False),
              default=None, help="Record the current findings in this baseline file and exit 0.")
@click.option("--kubernetes-version", default=None, metavar="1.NN",
              help="Kubernetes version for schema checks (default: the newest bundled).")
@click.option("--no-strict", is_flag=True, help="Accept unknown fields in Kubernetes objects.")
@click.option("--max-file-size", default=None,
              help="Skip files larger than this, with a notice [default: 10M].")
@click.option("--startup-estimate", "estimates", multiple=True, metavar="STEP=SECONDS",
              help="Seconds a start-up step takes, for probe-too-early "
                   "(e.g. 'pip install=120'; repeatable).")
@click.option("--helm-values", "helm_values", multiple=True, type=click.Path(dir_okay=False),
              help="A values file for the charts checked, after their values.yaml (repeatable).")
@click.option("--helm-set", "helm_sets", multiple=True, metavar="KEY=VALUE",
              help="A value for the charts checked, as helm --set takes it (repeatable).")
@click.option("--helm-release", default=None, help="Release name [default: the chart's name].")
@click.option("--helm-namespace", default=None, help="Release namespace [default: default].")
@click.option("--strict-parse", is_flag=True,
              help="Report templates that cannot be rendered (Go, Jinja, GitHub Actions) as "
                   "parse errors instead of notices.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, metavar="N",
              help="Processes that parse files and run rules on a large tree [default: 0, the "
                   "CPUs this process may use; 1: no extra process; Linux only].")
@click.option("--verbose", "-v", is_flag=True,
              help="Also list the files skipped because they are not a carrier celerylint reads.")
def check(paths: tuple[str, ...], output_formats: tuple[str, ...], output_file: str | None,
          extra_outputs: tuple[str, ...], statistics: bool, quiet: bool, colour_choice: str,
          context_paths: tuple[str, ...], stdin_filename: str | None, show_diff: bool, apply_fixes: bool, unsafe_fixes: bool, config_file: str | None,
          select: str | None, extend_select: str | None, ignore: str | None,
          fail_on: str | None, exit_zero: bool, no_inline_suppressions: bool,
          baseline_file: str | None, write_baseline_file: str | None,
          kubernetes_version: str | None, no_strict: bool, max_file_size: str | None,
          estimates: tuple[str, ...], helm_values: tuple[str, ...], helm_sets: tuple[str, ...],
          helm_release: str | None, helm_namespace: str | None, strict_parse: bool,
          jobs: int, verbose: bool) -> None:
    """Check Kubernetes manifests, Helm charts, compose files, Dockerfiles and requirements
    files under PATHS (default: the current directory).

    Directories are walked (skipping .git, virtualenvs and node_modules); `-` reads YAML from
    standard input, for example `kubectl get deploy -o yaml | celerylint check -`.
    """
    from celerylint import cli_input, cli_output

    if len(output_formats) > 1:
        raise click.UsageError(f"--format given {len(output_formats)} times: give it once, and "
                               "write other formats with --output FORMAT:PATH")
    output_format = output_formats[0] if output_formats else None
    extra = cli_output.outputs(extra_outputs)
    cli_output.check_places(output_file, extra)
    if statistics and output_format not in (None, "text", "json"):
        raise click.UsageError("--statistics prints a table (text) or JSON: use --format text or "
                               "json, and --output FORMAT:PATH for the findings")
    paths = paths or (("-",) if stdin_filename else (".",))
    if stdin_filename and "-" not in paths:
        raise click.UsageError("--stdin-filename names standard input: give `-` among the paths")
    if show_diff and apply_fixes:
        raise click.UsageError("--fix and --diff cannot be used together: --diff changes nothing")
    for path in paths + context_paths:
        if path != "-" and not os.path.lexists(path):
            parent = os.path.dirname(os.path.abspath(path))
            if os.path.isdir(parent) and not os.access(parent, os.R_OK | os.X_OK):
                raise click.UsageError(f"cannot read {path}: permission denied on {parent}")
            raise click.UsageError(f"path does not exist: {path}")
    if (show_diff or apply_fixes) and "-" in paths:
        raise click.UsageError("--fix and --diff need files: standard input cannot be rewritten")
    from celerylint import config as configuration
    from celerylint import suppress
    from celerylint.engine import all_rules, analyse
    from celerylint.fixes import apply
    from celerylint.model.build import load
    from celerylint import timing
    from celerylint.report.text import printable

    rules = all_rules()
    try:
        config = configuration.load(Path(config_file) if config_file else configuration.find(
            next((p for p in paths if p != "-"), ".")), rules)
        _override(config, rules, select, extend_select, ignore, fail_on)
    except configuration.ConfigError as exc:
        _fail(str(exc))
    settings = _settings(config, kubernetes_version, no_strict, estimates)
    max_size = _size(max_file_size) if max_file_size else _size(
        config.max_file_size or "10M", f"max-file-size in {config.path}" if config.path else "")
    baseline = None
    if baseline_file:
        try:
            baseline = suppress.read_baseline(Path(baseline_file))
        except ValueError as exc:
            _fail(str(exc))
    errors: list[str] = []
    last: dict = {}
    helm_options = _helm_options(config, helm_values, helm_sets, helm_release, helm_namespace)

    _quiet_collector()
    if not jobs:
        from celerylint.parallel import available_cpus

        jobs = available_cpus()

    named = cli_input.named_stdin(stdin_filename, max_size, paths + context_paths) \
        if stdin_filename else {}
    if named:
        paths = tuple(stdin_filename if p == "-" else p for p in paths)

    def lint(overlay):
        overlay = {**named, **(overlay or {})} or None
        deployment, skipped = load(list(paths + context_paths), max_size, overlay,
                                   exclude=config.excluded,
                                   images=config.images, helm_options=helm_options,
                                   strict_parse=strict_parse or config.strict_parse,
                                   compose_projects=config.compose_projects, jobs=jobs)
        analysis = analyse(deployment, settings, config, not no_inline_suppressions, errors,
                           jobs=jobs)
        diagnostics, last["baselined"] = analysis.diagnostics, 0
        if baseline is not None:
            diagnostics, last["baselined"] = suppress.subtract_baseline(
                diagnostics, baseline, deployment)
        last["suppressed"] = analysis.suppressed
        if context_paths:  # read for the links, reported only where the user asked
            diagnostics = [d for d in diagnostics if cli_input.inside(d.path, paths)]
            skipped = [s for s in skipped if cli_input.inside(s.path, paths)]
        return deployment, skipped, diagnostics

    if show_diff or apply_fixes:
        outcome = apply.fix_all(lint, unsafe_fixes)
        deployment, skipped, diagnostics = outcome.deployment, outcome.skipped, outcome.remaining
    else:
        outcome = None
        deployment, skipped, diagnostics = lint(None)
    if _kept is not None:
        _kept.append((deployment, outcome))  # freed by the OS at exit, not object by object
    shown = [s for s in skipped if verbose or not s.verbose] if not quiet else []
    for line in cli_output.notices(shown):
        click.echo(f"celerylint: {printable(line)}", err=True)
    for error in dict.fromkeys(errors):
        click.echo(f"celerylint: {error}", err=True)
    if write_baseline_file:
        suppress.write_baseline(Path(write_baseline_file), diagnostics, deployment)
        click.echo(f"celerylint: recorded {len(diagnostics)} finding"
                   f"{'s' if len(diagnostics) != 1 else ''} in {write_baseline_file}", err=True)
        sys.exit(2 if errors else 0)
    if show_diff:
        diff = outcome.diff()
        sys.stdout.write(diff)
        click.echo(f"celerylint: {outcome.fixed} fix{'es' if outcome.fixed != 1 else ''} "
                   "would be applied (--fix applies them)", err=True)
        sys.exit(2 if errors else 1 if diff else 0)
    if apply_fixes:
        for problem in apply.write(outcome):
            click.echo(f"celerylint: {problem}", err=True)
    with timing.stage("report"):
        report = cli_output.result(diagnostics, deployment, skipped, outcome, unsafe_fixes,
                                   rules, last, colour=cli_output.colour(colour_choice, sys.stdout)
                                   and not output_file, quiet=quiet,
                                   reported=paths if context_paths else None)
        cli_output.write(report, output_format, output_file, extra, statistics)
    failing = any(config.fails(d.severity) for d in diagnostics)
    sys.exit(2 if errors else 0 if exit_zero else 1 if failing else 0)


def _helm_options(config, files, sets, release, namespace):
    """The configuration's chart settings, with the command line's values added to every set."""
    if config.helm is None and not (files or sets or release or namespace):
        return None  # the defaults (and no import of the Helm carrier until a chart is found)
    from dataclasses import replace

    from celerylint.carriers.helm import HelmOptions

    options = config.helm or HelmOptions()

    def extend(value_set):
        return replace(value_set, files=value_set.files + [os.path.abspath(f) for f in files],
                       sets=value_set.sets + list(sets),
                       release=release or value_set.release,
                       namespace=namespace or value_set.namespace)

    return HelmOptions(extend(options.values),
                       {chart: [extend(s) for s in value_sets]
                        for chart, value_sets in options.charts.items()})


def _fail(message: str) -> NoReturn:
    """A one-line error and exit status 2: celerylint could not do its job."""
    click.echo(f"celerylint: error: {message}", err=True)
    sys.exit(2)


def _override(config, rules, select, extend_select, ignore, fail_on) -> None:
    """Command-line flags win over the configuration file."""
    from celerylint import config as configuration

    def parse(option: str, value: str) -> list[str]:
        selectors = [s.strip() for s in value.split(",") if s.strip()]
        for selector in selectors:
            configuration.check_selector(selector, rules, option)
        return selectors

    if select is not None:
        config.select = parse("--select", select)
    if extend_select is not None:
        config.extend_select += parse("--extend-select", extend_select)
    if ignore is not None:
        config.ignore += parse("--ignore", ignore)
    if fail_on is not None:
        config.fail_on = configuration.SEVERITIES[fail_on]


def _settings(config, kubernetes_version, no_strict, estimates):
    from celerylint import kubeschema
    from celerylint.engine import Settings

    version = kubernetes_version or config.kubernetes_version
    if version is not None and kubeschema.resolve_version(version) is None:
        raise click.BadParameter(
            f"no bundled schemas for {version} (available: "
            f"{', '.join(kubeschema.versions()) or 'none'})", param_hint="--kubernetes-version")
    settings = Settings(kubernetes_version=version, strict_schema=config.strict and not no_strict)
    settings.startup_estimates.update(config.startup_estimates)
    for estimate in estimates:
        step, _, seconds = estimate.rpartition("=")
        if step not in settings.startup_estimates or not seconds.isdigit():
            raise click.BadParameter(
                f"'{estimate}': expected STEP=SECONDS with STEP one of "
                f"{', '.join(sorted(settings.startup_estimates))}", param_hint="--startup-estimate")
        settings.startup_estimates[step] = int(seconds)
    return settings


@main.command("rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def rules_command(output_format: str) -> None:
    """List the rules: code, name, severity, whether it has fixes, and what it finds."""
    from celerylint.engine import all_rules

    rows = [{"code": r.code, "name": r.name, "severity": r.severity.value, "fixable": r.fixable,
             "summary": r.summary} for r in all_rules()]
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        fix = "fix" if row["fixable"] else "   "
        click.echo(f"{row['code']}  {row['name']:<30} {row['severity']:<8} {fix}  {row['summary']}")


@main.command()
@click.argument("query", nargs=-1, required=True)
def explain(query: tuple[str, ...]) -> None:
    """Print a rule's documentation. QUERY is a code (CL101), a name, or an error message or
    symptom pasted from production ("Read-only file system: 'celerybeat-schedule'")."""
    from celerylint.engine import all_rules, explain_query

    text = " ".join(query)
    found = explain_query(text, all_rules())
    if not found.confident:
        closest = ", ".join(f"{r.code} {r.name}" for r in found.rules[:3])
        _fail(f"no rule explains {text!r} well" + (f" (closest, weak matches: {closest})"
                                                  if closest else "") + ": try `celerylint rules`")
    best = found.rules[0]
    click.echo(f"{best.code} {best.doc}\n\nDocumentation: {best.doc_url}")
    if len(found.rules) > 1:
        click.echo("\nAlso related: " + ", ".join(f"{r.code} {r.name}" for r in found.rules[1:4]))


@main.command("problem-matcher")
def problem_matcher() -> None:
    """Print the GitHub Actions problem matcher for `--format concise` output.

    Register it in a workflow with `echo "::add-matcher::celerylint-matcher.json"`.
    """
    from importlib import resources

    click.echo(resources.files("celerylint.data").joinpath("problem-matcher.json").read_text(), nl=False)


@main.command()
def server() -> None:
    """Run the language server (LSP) on standard input and output, for editors: diagnostics as
    you type, quick fixes, suppressions and rule documentation on hover (docs/editors.md)."""
    try:
        from celerylint import server as language_server
    except ImportError as exc:
        _fail(f"the language server needs pygls ({exc}): pip install 'celerylint[lsp]'")
    sys.exit(language_server.main())
