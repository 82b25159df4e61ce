"""Requirements declared in a ``Pipfile``, where each is written.

``[packages]``, ``[dev-packages]`` and any other category (pipenv reads every table but
``source``, ``requires``, ``scripts`` and ``pipenv`` as one), with ``[requires] python_version``
as the interpreter the set is judged on. pipenv installs ``[packages]``, with ``[dev-packages]``
(or another category) on top, so each category is judged with ``[packages]``. Entries are
version strings or tables (``version``, ``extras``, ``markers`` and PEP 508 marker keys such as
``sys_platform = "== 'linux'"``); git, path and URL entries are not releases and are left out.
"""

from __future__ import annotations

import re

from celerylint.parse.datapos import Invalid, Path, load_toml
from celerylint.parse.pyproject import Declaration, EntryReader
from celerylint.sources import ParseProblem, SourceFile

_SECTIONS = frozenset({"source", "requires", "scripts", "pipenv"})  # not categories


def _keep_pipfile(path: Path) -> bool:
    return True


def read_pipfile(source: SourceFile) -> Declaration:
    loaded = load_toml(source.text, _keep_pipfile)
    if isinstance(loaded, Invalid):
        return Declaration(problems=[ParseProblem(source.path, loaded.line, loaded.column,
                                                  loaded.message)], declares=True)
    data, positions = loaded
    reader = EntryReader(source, positions, "pipfile")
    result = Declaration(declares=True)
    packages = reader.table(("packages",), data["packages"], "[packages]") \
        if "packages" in data else []
    result.sets.append((source.path, packages))
    for category, value in data.items():
        if category in _SECTIONS or category == "packages":
            continue
        entries = reader.table((category,), value, f"[{category}]")
        if entries:
            result.sets.append((f"{source.path} [{category}]", packages + entries))
    requires = data.get("requires", {})
    version = requires.get("python_version") or requires.get("python_full_version") \
        if isinstance(requires, dict) else None
    if isinstance(version, str) and re.fullmatch(r"3\.\d+(\.\d+)?", version.strip()):
        result.python = ".".join(version.strip().split(".")[:2])
        result.python_source = f"{source.path} [requires]"
    pipenv = data.get("pipenv", {})
    result.allow_pre = reader.allow_pre or (isinstance(pipenv, dict) and
                                            pipenv.get("allow_prereleases") is True)
    result.problems = reader.problems
    return result
