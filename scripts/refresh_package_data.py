#!/usr/bin/env python3
"""Regenerate ``celerylint/data/packages.json`` from the real wheels on PyPI.

``dependency-conflict`` resolves requirements offline, so it needs the dependency metadata of
Celery's stack. This script reads it from the source of truth: it downloads one wheel per release
of the packages whose dependencies matter (celery, kombu, amqp) and reads ``Requires-Dist`` and
``Requires-Python`` from the wheel's ``METADATA``. For the leaf packages (redis, billiard, vine,
gevent, eventlet) only the release list and ``Requires-Python`` are needed, which the PyPI simple
index (PEP 691 JSON) carries per file.

Run it when a new Celery, kombu or redis release is out::

    python scripts/refresh_package_data.py            # writes celerylint/data/packages.json
    python scripts/refresh_package_data.py --cache /tmp/wheels   # keeps downloaded wheels

Only dependencies on packages in ``PACKAGES`` are kept: the rule never judges anything else.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.parser
import json
import re
import pathlib
import sys
import urllib.request
import zipfile

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

INDEX = "https://pypi.org/simple/{name}/"
OUT = pathlib.Path(__file__).resolve().parent.parent / "celerylint" / "data" / "packages.json"

#: package -> (oldest release kept, whether its own dependencies are read from wheels)
PACKAGES: dict[str, tuple[str, bool]] = {
    "celery": ("4.0.0", True),
    "kombu": ("4.0.0", True),
    "amqp": ("2.0.0", True),
    "redis": ("3.0.0", False),
    "billiard": ("3.5.0", False),
    "vine": ("1.1.0", False),
    "gevent": ("1.5.0", False),
    "eventlet": ("0.25.0", False),
}


def fetch(url: str, accept: str | None = None) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read()


def index_files(name: str) -> list[dict]:
    raw = fetch(INDEX.format(name=name), "application/vnd.pypi.simple.v1+json")
    return json.loads(raw)["files"]


def releases(name: str, oldest: Version) -> dict[Version, list[dict]]:
    """Group the index's files by release, keeping releases at or above ``oldest``."""
    by_version: dict[Version, list[dict]] = {}
    for entry in index_files(name):
        filename = entry["filename"]
        try:
            if filename.endswith(".whl"):
                version = parse_wheel_filename(filename)[1]
            elif filename.endswith((".tar.gz", ".zip")):
                stem = filename.rsplit(".tar.gz", 1)[0].rsplit(".zip", 1)[0]
                version = Version(stem.rsplit("-", 1)[1])
            else:
                continue
        except (InvalidVersion, ValueError, IndexError):
            continue
        if version >= oldest:
            by_version.setdefault(version, []).append(entry)
    return by_version


def wheel_metadata(entry: dict, cache: pathlib.Path) -> email.message.Message:
    path = cache / entry["filename"]
    if not path.exists():
        path.write_bytes(fetch(entry["url"]))
    with zipfile.ZipFile(path) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(wheel.read(name).decode("utf-8"))


def release_record(files: list[dict], read_deps: bool, cache: pathlib.Path) -> dict | None:
    wheels = [f for f in files if f["filename"].endswith(".whl")]
    universal = [f for f in wheels if "py3-none-any" in f["filename"] or "py2.py3" in f["filename"]]
    chosen = (universal or wheels or [None])[0]
    record: dict = {
        "requires_python": None,
        "yanked": all(bool(f.get("yanked")) for f in files),
        "requires_dist": [],
    }
    for f in [chosen] + files if chosen else files:
        if f and f.get("requires-python"):
            record["requires_python"] = f["requires-python"]
            break
    if read_deps:
        if chosen is None:
            return None  # no wheel: the metadata would have to be guessed from an sdist
        metadata = wheel_metadata(chosen, cache)
        record["requires_python"] = metadata.get("Requires-Python") or record["requires_python"]
        for line in metadata.get_all("Requires-Dist") or []:
            name = re.match(r"\s*([A-Za-z0-9._-]+)", line)
            if name and canonicalize_name(name.group(1)) in PACKAGES:
                Requirement(line)  # what we keep must parse with today's packaging
                record["requires_dist"].append(line)
        record["wheel"] = chosen["filename"]
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=pathlib.Path, default=pathlib.Path("/tmp/celerylint-wheels"))
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)

    packages: dict[str, dict] = {}
    for name, (oldest, read_deps) in PACKAGES.items():
        found = releases(name, Version(oldest))
        records = {}
        for version in sorted(found):
            record = release_record(found[version], read_deps, args.cache)
            if record is not None:
                records[str(version)] = record
        packages[name] = records
        print(f"{name}: {len(records)} releases", file=sys.stderr)

    data = {
        "generated": dt.date.today().isoformat(),
        "generator": "scripts/refresh_package_data.py",
        "packages": packages,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
