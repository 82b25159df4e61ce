#!/usr/bin/env python3
"""celerylint's ecosystem check: run celerylint over real public Celery deployments and show
what changed since the last run (the way ruff checks its ecosystem).

The list of deployments is ``ecosystem/deployments.toml``: each entry names a GitHub repository,
the commit to check and the repository-relative paths that hold its deployment (charts, compose
files and the Dockerfiles and scripts they use, manifests, deploy scripts, Ansible roles...).

For each entry this script

1. finds a git directory for the repository: ``$CELERYLINT_ECOSYSTEM_MIRRORS/owner+name``
   (default ``/work/.mirror``; a bare repository, or one holding ``repo/`` or ``repo/.git``), else
   a bare clone cached in ``~/.cache/celerylint-ecosystem/owner+name.git`` (made with
   ``git clone --bare``, which needs the network: offline, the entry is skipped and said so);
2. extracts the listed paths at the recorded commit (``git archive COMMIT -- PATHS``, unpacked
   with tarfile's safe filter) into ``ecosystem/.work/owner+name/``, keeping the repository's
   layout, and fences it with an empty ``.celerylint.toml`` so the project's own configuration
   is never picked up;
3. runs ``celerylint check --format json --exit-zero .`` inside that tree (nothing from the
   scanned repository is ever executed) with a timeout;
4. collects every diagnostic as (repo, path, line, code, name, message).

The whole result is saved to ``ecosystem/.last-run.json`` (unless ``--no-save``) and the report
prints, per repository, the counts by rule, then the findings that are NEW (``+``) or GONE
(``-``) since the previous saved run, then timings, skipped files and anomalies (an exit status
other than 0, a traceback on stderr, a timeout, a path that no longer exists). Findings are
matched on repo + path + code + message with line numbers taken out of the message, so a finding
that only moved is not churn.

Usage::

    python scripts/ecosystem.py                    # everything, compare, save
    python scripts/ecosystem.py --only jewely      # one entry (repeatable)
    python scripts/ecosystem.py --keep --jobs 2    # keep the extracted trees, run 2 at once
    python scripts/ecosystem.py --no-save          # compare without replacing the saved run

Exit status: 0 when every entry ran cleanly, 1 when any entry had an anomaly, 2 for bad usage.
Standard library (and tomli on Python 3.10, a celerylint dependency there); Python 3.10 or newer.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import datetime
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parent.parent
ECOSYSTEM = ROOT / "ecosystem"
LIST_FILE = ECOSYSTEM / "deployments.toml"
LAST_RUN = ECOSYSTEM / ".last-run.json"
WORK_DIR = ECOSYSTEM / ".work"
DEFAULT_MIRRORS = "/work/.mirror"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "celerylint-ecosystem"
GIT_TIMEOUT = 600


# --------------------------------------------------------------------------------------------
# The list


@dataclass
class Deployment:
    """One entry of deployments.toml."""

    name: str
    repo: str
    commit: str
    paths: list[str]
    carriers: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def slug(self) -> str:
        """``owner+name``: the directory name used by the mirrors and the work dir."""
        return self.repo.replace("/", "+")


def load_toml(path: Path) -> dict[str, Any]:
    """The TOML file as a dict (tomllib, or tomli on Python 3.10, which celerylint installs)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib.loads(path.read_text(encoding="utf-8"))


def load_deployments(path: Path) -> list[Deployment]:
    """The entries of the list, checked for the fields every entry needs."""
    entries = []
    for i, raw in enumerate(load_toml(path).get("deployment", []), 1):
        missing = [k for k in ("name", "repo", "commit", "paths") if k not in raw]
        if missing:
            raise ValueError(f"{path.name}: entry {i} lacks {', '.join(missing)}")
        if not re.fullmatch(r"[0-9a-f]{40}", raw["commit"]):
            raise ValueError(f"{path.name}: {raw['name']}: commit must be a full 40-hex sha")
        known = {"name", "repo", "commit", "paths", "carriers", "note"}
        entries.append(Deployment(**{k: v for k, v in raw.items() if k in known}))
    names = [e.name for e in entries]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"{path.name}: duplicate names: {', '.join(sorted(duplicates))}")
    return entries


# --------------------------------------------------------------------------------------------
# Finding and reading the repositories


class UsageError(Exception):
    """The script cannot run at all (no celerylint, unknown entry): exit status 2."""


class Unavailable(Exception):
    """The repository or its commit cannot be had here; the entry is skipped."""


def git(git_dir: Path, *args: str, timeout: float = GIT_TIMEOUT, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run git on a git directory, with pathspecs taken literally (``{{ }}``, ``*`` in names)."""
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", "--literal-pathspecs", *args],
        capture_output=True, timeout=timeout, **kwargs,
    )


def is_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def mirror_git_dir(slug: str, mirrors: Path) -> Path | None:
    """The git directory of ``owner+name`` under the mirrors, whichever layout it has: the fetch
    tool's ``owner+name/repo`` (bare) or ``owner+name/repo/.git`` (a clone), or a bare
    ``owner+name`` or ``owner+name.git``."""
    for base in (mirrors / slug, mirrors / f"{slug}.git"):
        for candidate in (base / "repo" / ".git", base / "repo", base / ".git", base):
            if is_git_dir(candidate):
                return candidate
    return None


def has_commit(git_dir: Path, commit: str) -> bool:
    return git(git_dir, "cat-file", "-e", f"{commit}^{{commit}}").returncode == 0


def cached_clone(dep: Deployment) -> Path:
    """A bare clone of the repository in the cache, made or updated with the network."""
    target = CACHE_DIR / f"{dep.slug}.git"
    url = f"https://github.com/{dep.repo}"
    try:
        if not is_git_dir(target):
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            done = subprocess.run(["git", "clone", "--bare", "--quiet", url, str(target)],
                                  capture_output=True, text=True, timeout=GIT_TIMEOUT,
                                  env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
            if done.returncode != 0:
                shutil.rmtree(target, ignore_errors=True)
                raise Unavailable(f"not in the mirrors, and `git clone --bare {url}` failed "
                                  f"(offline?): {last_line(done.stderr)}")
        if not has_commit(target, dep.commit):
            done = git(target, "fetch", "--quiet", "origin", dep.commit, text=True)
            if done.returncode != 0 or not has_commit(target, dep.commit):
                raise Unavailable(f"commit {dep.commit[:12]} is not in the cached clone and "
                                  f"fetching it failed (offline?): {last_line(done.stderr)}")
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"git timed out after {exc.timeout:.0f}s fetching {url}") from None
    return target


def find_git_dir(dep: Deployment, mirrors: Path) -> Path:
    """A git directory that holds the entry's commit, from the mirrors or else the cache."""
    mirrored = mirror_git_dir(dep.slug, mirrors)
    if mirrored is not None and has_commit(mirrored, dep.commit):
        return mirrored
    return cached_clone(dep)


def missing_paths(git_dir: Path, commit: str, paths: list[str]) -> list[str]:
    """The listed paths that do not exist at the commit (``git archive`` refuses them)."""
    out = git(git_dir, "ls-tree", "--name-only", "-z", commit, "--", *paths)
    present = set(out.stdout.decode("utf-8", "surrogateescape").split("\0"))
    return [p for p in paths if p.rstrip("/") not in present and p not in (".", "")]


def extract(git_dir: Path, commit: str, paths: list[str], into: Path) -> int:
    """Unpack the paths at the commit into ``into`` (replaced), keeping the repository layout.
    Returns the number of files. Links, devices and names escaping the tree are refused."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    archive = git(git_dir, "archive", "--format=tar", commit, "--", *paths)
    if archive.returncode != 0:
        raise RuntimeError(f"git archive failed: {last_line(archive.stderr.decode(errors='replace'))}")
    count = 0
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        members = [m for m in tar.getmembers() if m.isdir() or m.isfile()]
        for member in members:
            target = (into / member.name).resolve()
            if not target.is_relative_to(into.resolve()):
                raise RuntimeError(f"archive member escapes the tree: {member.name}")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, members=members, filter="data")
        else:  # older Pythons: regular files and directories only, checked above
            tar.extractall(into, members=members)
        count = sum(1 for m in members if m.isfile())
    return count


# --------------------------------------------------------------------------------------------
# Running celerylint


#: ``python -m celerylint`` without the working directory on sys.path: the working directory is
#: the scanned tree, whose modules must never be imported (``-P`` would do, from Python 3.11).
_RUN_MODULE = ("import runpy, sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
               "sys.argv[0] = 'celerylint'; runpy.run_module('celerylint', run_name='__main__', alter_sys=True)")


def celerylint_command() -> list[str]:
    """The celerylint beside this interpreter, else ``python -m celerylint`` (without the
    working directory on sys.path), else the one on PATH."""
    beside = Path(sys.executable).parent / ("celerylint.exe" if os.name == "nt" else "celerylint")
    if beside.is_file():
        return [str(beside)]
    if importlib.util.find_spec("celerylint") is not None:
        return [sys.executable, "-c", _RUN_MODULE]
    found = shutil.which("celerylint")
    if found:
        return [found]
    raise UsageError("no celerylint found beside this Python, as a module, or on PATH")


def describe(command: list[str]) -> str:
    """The command as a person would type it."""
    return f"{command[0]} -m celerylint" if _RUN_MODULE in command else " ".join(command)


def celerylint_version(command: list[str]) -> str:
    """``celerylint --version``; a celerylint that cannot say it is an error (exit 2)."""
    done = subprocess.run(command + ["--version"], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise UsageError(f"`{describe(command)} --version` failed: {last_line(done.stderr)}")
    return done.stdout.strip()


@dataclass
class Finding:
    repo: str
    path: str
    line: int
    code: str
    name: str
    message: str
    severity: str = ""

    def key(self) -> tuple[str, str, str, str]:
        """What makes two findings of two runs the same one: no line numbers."""
        return (self.repo, self.path, self.code, normalize(self.message))

    def render(self) -> str:
        return f"{self.repo}/{self.path}:{self.line}: {self.code} {self.name}: {self.message}"


@dataclass
class RepoResult:
    name: str
    repo: str
    commit: str
    status: str  # "ok", "skipped", "failed"
    reason: str = ""
    files_extracted: int = 0
    missing_paths: list[str] = field(default_factory=list)
    exit_status: int | None = None
    seconds: float = 0.0
    files_checked: int = 0
    skipped_files: list[Any] = field(default_factory=list)
    stderr: str = ""
    anomalies: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def last_line(text: str) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no message)"


def run_celerylint(command: list[str], tree: Path, timeout: float) -> tuple[int | None, str, str, float]:
    """(exit status or None on timeout, stdout, stderr, seconds) of one check of a tree."""
    start = time.perf_counter()
    try:
        done = subprocess.run(command + ["check", "--format", "json", "--exit-zero", "."], cwd=tree,
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "NO_COLOR": "1", "GITHUB_ACTIONS": ""})
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return None, out, err, time.perf_counter() - start
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - start


def parse_report(dep: Deployment, stdout: str, result: RepoResult) -> None:
    """Fill the result from celerylint's JSON report; a report that is not JSON is an anomaly."""
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        result.anomalies.append("output is not JSON: " + (stdout.strip()[:200] or "(empty)"))
        return
    summary = report.get("summary", {})
    result.files_checked = summary.get("files", 0)
    result.skipped_files = summary.get("skipped", [])
    for d in report.get("diagnostics", []):
        result.findings.append(Finding(
            repo=dep.slug, path=d.get("path", ""), line=d.get("line", 0), code=d.get("code", ""),
            name=d.get("name", ""), message=d.get("message", ""), severity=d.get("severity", ""),
        ))


def check_one(dep: Deployment, mirrors: Path, command: list[str], timeout: float, keep: bool) -> RepoResult:
    """Everything for one entry: find, extract, run, collect. Never raises."""
    result = RepoResult(name=dep.name, repo=dep.repo, commit=dep.commit, status="ok")
    tree = WORK_DIR / dep.slug
    try:
        git_dir = find_git_dir(dep, mirrors)
        result.missing_paths = missing_paths(git_dir, dep.commit, dep.paths)
        if result.missing_paths:
            result.anomalies.append("paths not in the commit: " + ", ".join(result.missing_paths))
        present = [p for p in dep.paths if p not in result.missing_paths]
        if not present:
            raise Unavailable("none of the listed paths exists at the commit")
        result.files_extracted = extract(git_dir, dep.commit, present, tree)
    except Unavailable as exc:
        result.status, result.reason = "skipped", str(exc)
        return result
    except (RuntimeError, OSError, subprocess.SubprocessError, tarfile.TarError) as exc:
        result.status, result.reason = "failed", f"extraction: {exc}"
        return result
    try:
        status, stdout, stderr, seconds = run_celerylint(command, tree, timeout)
        result.exit_status, result.seconds, result.stderr = status, round(seconds, 2), stderr
        if status is None:
            result.anomalies.append(f"timed out after {timeout:.0f}s")
        elif status != 0:
            result.anomalies.append(f"exit status {status} despite --exit-zero: {last_line(stderr)}")
        if "Traceback (most recent call last)" in stderr:
            result.anomalies.append("traceback on stderr: " + last_line(stderr))
        if status is not None:
            parse_report(dep, stdout, result)
        if result.anomalies and status != 0:
            result.status = "failed"
    finally:
        if not keep:
            shutil.rmtree(tree, ignore_errors=True)
    return result


# --------------------------------------------------------------------------------------------
# Comparing runs

_PATH_LINE = re.compile(
    r"(?<![\w/:])((?:[\w.+-]+/)*(?:[\w.+-]+\.(?:ya?ml|txt|in|sh|bash|py|toml|cfg|ini|conf|j2|tpl|json|env)"
    r"|Dockerfile[\w.-]*|Containerfile[\w.-]*|Procfile[\w.-]*)):\d+(?::\d+)?"
)
_LINE_WORD = re.compile(r"\b(lines?) \d+(?:\s*[-–]\s*\d+)?")


def normalize(message: str) -> str:
    """The message without the line numbers it quotes (``file.yaml:45``, ``line 12``)."""
    return _LINE_WORD.sub(r"\1 N", _PATH_LINE.sub(r"\1:N", message))


def load_previous(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def previous_repo(run: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    for r in (run or {}).get("repos", []):
        if r["name"] == name:
            return r
    return None


def diff_findings(old: list[Finding], new: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(new findings, gone findings), matched as multisets on ``Finding.key``."""
    old_count = collections.Counter(f.key() for f in old)
    new_count = collections.Counter(f.key() for f in new)
    added, gone = [], []
    seen: collections.Counter = collections.Counter()
    for f in new:
        seen[f.key()] += 1
        if seen[f.key()] > old_count[f.key()]:
            added.append(f)
    seen.clear()
    for f in old:
        seen[f.key()] += 1
        if seen[f.key()] > new_count[f.key()]:
            gone.append(f)
    return added, gone


# --------------------------------------------------------------------------------------------
# Reporting


def counts_by_rule(findings: Iterable[Finding]) -> str:
    counts = collections.Counter(f"{f.code} {f.name}" for f in findings)
    return ", ".join(f"{rule} x{n}" for rule, n in sorted(counts.items())) or "no findings"


def print_summary(results: list[RepoResult]) -> None:
    print("## Findings per repository\n")
    for r in results:
        head = f"{r.name} ({r.repo}@{r.commit[:10]})"
        if r.status == "skipped":
            print(f"{head}: SKIPPED: {r.reason}")
            continue
        if r.status == "failed" and r.exit_status is None and not r.findings:
            print(f"{head}: FAILED: {r.reason or '; '.join(r.anomalies)}")
            continue
        print(f"{head}: {len(r.findings)} findings in {r.files_checked} files "
              f"({r.files_extracted} extracted): {counts_by_rule(r.findings)}")


def print_changes(results: list[RepoResult], previous: dict[str, Any] | None, partial: bool = False) -> int:
    """Print the NEW and GONE findings; returns how many changes there were. ``partial`` (an
    ``--only`` run) leaves out the entries that were not run."""
    print("\n## Changes since the previous run\n")
    if previous is None:
        print("(no previous run saved: everything is new; nothing to compare)")
        return 0
    print(f"previous run: {previous.get('started', '?')} with {previous.get('celerylint', '?')} "
          f"({previous.get('celerylint_source', '?')})")
    changes = 0
    for r in results:
        before = previous_repo(previous, r.name)
        if r.status == "skipped" or before is None or before.get("status") == "skipped":
            why = "new entry" if before is None else "skipped now or then"
            if r.status != "skipped" and before is None and r.findings:
                print(f"\n{r.name}: {why}, {len(r.findings)} findings not compared")
            continue
        added, gone = diff_findings([Finding(**f) for f in before.get("findings", [])], r.findings)
        if not added and not gone:
            continue
        moved = " (its commit changed: the input changed too)" if before.get("commit") != r.commit else ""
        print(f"\n{r.name}: +{len(added)} -{len(gone)}{moved}")
        for f in sorted(added, key=lambda f: (f.path, f.line, f.code)):
            print(f"+ {f.render()}")
        for f in sorted(gone, key=lambda f: (f.path, f.line, f.code)):
            print(f"- {f.render()}")
        changes += len(added) + len(gone)
    for old in previous.get("repos", []) if not partial else []:
        if old["name"] not in {r.name for r in results} and old.get("findings"):
            print(f"\n{old['name']}: not run this time ({len(old['findings'])} findings then)")
    if not changes:
        print("no changes")
    return changes


def print_health(results: list[RepoResult], total_seconds: float) -> None:
    print("\n## Timings, notices and anomalies\n")
    for r in sorted(results, key=lambda r: -r.seconds):
        skipped = f", {len(r.skipped_files)} files skipped with a notice" if r.skipped_files else ""
        if r.status != "skipped":
            print(f"{r.name}: {r.seconds:.2f}s, {r.files_checked} files checked{skipped}")
    print(f"total: {total_seconds:.1f}s wall")
    skipped = [r for r in results if r.status == "skipped"]
    if skipped:
        print(f"\n{len(skipped)} entries skipped:")
        for r in skipped:
            print(f"  {r.name}: {r.reason}")
    anomalous = [r for r in results if r.anomalies or r.status == "failed"]
    if anomalous:
        print(f"\n{len(anomalous)} entries with anomalies:")
        for r in anomalous:
            for a in r.anomalies or [r.reason]:
                print(f"  {r.name}: {a}")
    else:
        print("\nno anomalies (every run exited 0, no traceback)")


# --------------------------------------------------------------------------------------------
# Saving


def celerylint_source() -> str:
    """Where the celerylint that runs comes from: this checkout's HEAD (``-dirty`` when its
    tracked files have changes) when the package is imported from here, else its install path."""
    found = subprocess.run([sys.executable, "-c", "import celerylint, os; print(os.path.dirname(celerylint.__file__))"],
                           capture_output=True, text=True, timeout=60, cwd=Path.home()).stdout.strip()
    if found and not Path(found).resolve().is_relative_to(ROOT):
        return f"installed at {found}"
    return f"checkout {project_commit()}"


def project_commit() -> str:
    """The celerylint checkout's HEAD, with ``-dirty`` when the work tree has changes."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("-dirty" if dirty else "")


def save(path: Path, started: str, version: str, command: list[str], results: list[RepoResult],
         previous: dict[str, Any] | None) -> None:
    """Write the run; entries not run this time (``--only``) keep their previous result."""
    ran = {r.name for r in results}
    kept = [r for r in (previous or {}).get("repos", []) if r["name"] not in ran]
    data = {
        "started": started,
        "celerylint": version,
        "celerylint_source": celerylint_source(),
        "celerylint_command": command,
        "repos": kept + [asdict(r) for r in results],
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this entry (its name or owner/name; repeatable)")
    parser.add_argument("--keep", action="store_true",
                        help=f"keep the extracted trees in {WORK_DIR.relative_to(ROOT)}/")
    parser.add_argument("--no-save", action="store_true",
                        help=f"do not replace {LAST_RUN.relative_to(ROOT)}")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="entries run at once (default 1)")
    parser.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                        help="time allowed for celerylint on one entry (default 300)")
    parser.add_argument("--list", default=str(LIST_FILE), metavar="FILE", help="the deployments list")
    return parser.parse_args(argv)


def select(entries: list[Deployment], only: list[str] | None) -> list[Deployment]:
    if not only:
        return entries
    chosen = [e for e in entries if e.name in only or e.repo in only or e.slug in only]
    unknown = set(only) - {e.name for e in chosen} - {e.repo for e in chosen} - {e.slug for e in chosen}
    if unknown:
        raise UsageError(f"no entry named {', '.join(sorted(unknown))}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        entries = select(load_deployments(Path(args.list)), args.only)
        command = celerylint_command()
        version = celerylint_version(command)
    except (OSError, ValueError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mirrors = Path(os.environ.get("CELERYLINT_ECOSYSTEM_MIRRORS", DEFAULT_MIRRORS))
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    (WORK_DIR / ".celerylint.toml").write_text("# fence: keeps the project's configuration out\n")
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    print(f"# celerylint ecosystem check: {len(entries)} deployments, {version} ({describe(command)}; "
          f"{celerylint_source()}), mirrors {mirrors}\n")
    begin = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda d: check_one(d, mirrors, command, args.timeout, args.keep), entries))
    total = time.perf_counter() - begin
    previous = load_previous(LAST_RUN)
    print_summary(results)
    print_changes(results, previous, partial=bool(args.only) or Path(args.list) != LIST_FILE)
    print_health(results, total)
    if not args.no_save:
        save(LAST_RUN, started, version, command, results, previous)
        print(f"\nsaved {LAST_RUN.relative_to(ROOT)}")
    if not args.keep and not any(p.name != ".celerylint.toml" for p in WORK_DIR.iterdir()):
        shutil.rmtree(WORK_DIR, ignore_errors=True)  # trees kept by an earlier --keep stay
    return 1 if any(r.anomalies or r.status == "failed" for r in results) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `... | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
