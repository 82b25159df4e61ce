"""Which files start processes, told by their name and place alone (nothing is read here).

``discover.classify`` asks this module about every file it walks; ``carriers/launchers.py``
reads the ones named here and turns them into launches:

- ``Procfile`` and ``Procfile.<variant>`` (Heroku, Dokku, honcho, foreman);
- supervisord files: any ``*.conf`` (``supervisord.conf``, ``deploy/celery.conf``), read as one
  only when it holds ``[program:x]`` sections (nginx and redis files do not);
- s6 and runit ``run`` files: ``<svc>/run`` below ``s6-rc.d``, ``services.d``, ``sv`` or
  ``service`` (s6-overlay's ``/etc/s6-overlay/s6-rc.d/<svc>/run``, its legacy
  ``/etc/services.d/<svc>/run``, runit's ``/etc/sv/<svc>/run``);
- systemd ``*.service`` units;
- entry scripts whose launcher is not in the repository but whose name or place says what they
  are: ``docker-entrypoint*``, ``start-worker*``, ``start-beat*``, ``start-flower*``,
  ``start-celery*``, ``run_celery*``/``run-celery*``, and ``start`` below a ``compose`` or
  ``docker`` folder (cookiecutter-django's ``compose/production/django/celery/worker/start``).
"""

from __future__ import annotations

import re
from pathlib import PurePath

PROCFILE = "procfile"
SUPERVISORD = "supervisord"
S6 = "s6"
RUNIT = "runit"
SYSTEMD = "systemd"
ENTRY_SCRIPT = "entry-script"

#: Suffixes of documentation and templates: never a launcher file itself.
_NOT_LAUNCHERS = (".md", ".rst", ".txt", ".j2", ".jinja", ".jinja2", ".tpl", ".tmpl", ".example",
                  ".sample", ".orig", ".bak", ".swp", ".py", ".ps1", ".bat", ".cmd", ".yml",
                  ".yaml", ".json", ".toml")
_ENTRY_NAMES = re.compile(r"^(?:docker-entrypoint|start[-_](?:worker|beat|flower|celery)|"
                          r"run[-_]celery)[\w.-]*$", re.I)
_S6_DIRS = frozenset({"s6-rc.d", "services.d"})
_RUNIT_DIRS = frozenset({"sv", "service"})


def launcher_of(path: str | PurePath) -> str | None:
    """The launcher a file belongs to (``PROCFILE``, ``SUPERVISORD`` ...), or None."""
    parts = PurePath(str(path).replace("\\", "/")).parts
    if not parts:
        return None
    name = parts[-1]
    lower = name.lower()
    folders = [p.lower() for p in parts[:-1]]
    if lower.endswith(_NOT_LAUNCHERS):
        return None
    if name == "Procfile" or name.startswith("Procfile."):
        return PROCFILE
    if lower.endswith(".service"):
        return SYSTEMD
    if lower.endswith(".conf"):  # read only if it holds [program:x] (nginx, redis ... do not)
        return SUPERVISORD
    if name == "run" and len(folders) >= 2:
        if folders[-2] in _S6_DIRS or any(f.startswith("s6") for f in folders):
            return S6
        if folders[-2] in _RUNIT_DIRS:
            return RUNIT
        return None
    if "." in name and not lower.endswith((".sh", ".bash")):
        return None
    if _ENTRY_NAMES.match(name) or (name == "start" and any(f in ("compose", "docker")
                                                             for f in folders)):
        return ENTRY_SCRIPT
    return None
