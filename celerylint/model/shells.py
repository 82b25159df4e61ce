"""Which shell runs a script, and whether it replaces itself (execs) with its last command.

A shell left as PID 1 swallows SIGTERM, so whether ``sh -c "... celery worker"`` execs celery
decides whether Celery gets a warm shutdown. The answer depends on the shell, its version and
the shape of the script; the facts below were measured by comparing process ids, with bash
4.3.0 to 5.3.0 built from source, Debian's dash 0.5.12 and BusyBox 1.35.0 and 1.37.0:

- Debian and Ubuntu ``/bin/sh`` is dash with Debian's patch
  ``0004-SHELL-Disable-sh-c-command-sh-c-exec-command-optimiza`` (Debian 11-13, Ubuntu
  20.04-24.04): it never execs, whatever the script. Upstream dash (since 0.5.7) does.
- BusyBox ash (Alpine's ``/bin/sh``, Wolfi) execs the last command of a ``-c`` string in any
  list shape, with redirections and inside ``if``/``{ }``/``( )``/``case``, unless a trap with an
  action is set, the command is in a pipeline or a loop, reads a here-document, or the string
  ends in a newline (a YAML ``|`` block does).
- bash reads a ``-c`` string line by line and can exec only a plain simple command of the last
  line, without a redirection, outside any compound command, with no trap set: alone on its line
  (every version), ending an ``&&``/``||`` list (4.4 and later), or after a top-level ``;`` (5.1
  and later: ``a && b; celery`` execs, ``a; b && celery`` never does).
- No shell execs the last command of a script file.

RHEL-family images (UBI, Fedora, Rocky, Alma, Amazon Linux) have bash as ``/bin/sh``. When the
image's base is unknown, ``/bin/sh`` is taken to be Debian's dash, the base of the official
``python`` images, and findings say that it is an assumption. When bash's version is unknown it is
taken to be 5.1 or later, the version that execs most: a missed warning, never a false one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from celerylint.model.images import split_image
from celerylint.parse.shell import SimpleCommand

#: Images whose ``/bin/sh`` is bash.
RHEL_FAMILY = ("ubi", "centos", "fedora", "rockylinux", "almalinux", "amazonlinux", "redhat",
               "rhel", "oraclelinux")
#: bash in Debian and Ubuntu releases (their Sources), by codename or version tag.
BASH_VERSIONS = {"buster": (5, 0), "bullseye": (5, 1), "bookworm": (5, 2), "trixie": (5, 2),
                 "focal": (5, 0), "20.04": (5, 0), "jammy": (5, 1), "22.04": (5, 1),
                 "noble": (5, 2), "24.04": (5, 2)}
#: Docker Hub official images built on Debian unless their tag says otherwise.
DEBIAN_OFFICIAL = frozenset({"python", "node", "ruby", "golang", "php", "perl", "rust", "debian",
                             "buildpack-deps", "openjdk", "eclipse-temurin", "pypy", "ubuntu"})


@dataclass(frozen=True)
class Shell:
    """A shell as it runs in one image."""

    kind: str  # "bash", "dash" (Debian's, never execs), "busybox" (or upstream dash)
    bash: tuple[int, int] | None = None  # bash's version when known
    assumed: bool = False  # the image's /bin/sh is not known: taken to be Debian's dash
    image: str | None = None

    def describe(self) -> str:
        """How the shell is known, for messages."""
        shown = f" ({self.image})" if self.image else ""
        if self.kind == "dash":
            if self.assumed:
                return "/bin/sh is assumed to be dash, as on Debian-based images such as python:* " \
                       "(the image's base is not known here), and Debian's dash never execs " \
                       "the command of sh -c"
            return f"/bin/sh is dash on Debian and Ubuntu images{shown}, and Debian's dash never " \
                   "execs the command of sh -c"
        if self.kind == "busybox":
            return f"/bin/sh is BusyBox ash{shown}"
        version = f" {self.bash[0]}.{self.bash[1]}" if self.bash else ""
        return f"bash{version}{shown}"


def image_family(image: str | None) -> tuple[str, str | None] | None:
    """``("debian", codename)``, ``("alpine", None)``, ``("rhel", None)`` or None (unknown)."""
    if not image:
        return None
    repository, tag = split_image(image.lower())
    parts = repository.split("/")
    path = parts[1:] if len(parts) > 1 and ("." in parts[0] or ":" in parts[0]) else parts
    last = path[-1]
    if "alpine" in last or "alpine" in tag or last in ("wolfi-base", "busybox"):
        return "alpine", None
    if any(family in part for part in path for family in RHEL_FAMILY):
        return "rhel", None  # registry.access.redhat.com/ubi9/python-311
    codename = next((c for c in BASH_VERSIONS if re.search(rf"(^|[-_.]){re.escape(c)}($|[-_.])",
                                                           tag)), None)
    if last == "ubuntu" and tag in BASH_VERSIONS:
        codename = tag
    if codename or "slim" in tag or ("/" not in repository and last in DEBIAN_OFFICIAL):
        return "debian", codename
    return None


def resolve(program: str | None, image: str | None) -> Shell:
    """The shell that ``program`` (``sh``, ``bash``, ``ash`` ...) is in ``image``."""
    family = image_family(image)
    kind, codename = family if family else (None, None)
    bash = BASH_VERSIONS.get(codename) if codename else None
    if program == "bash":
        return Shell("bash", bash, image=image)
    if program in ("ash", "busybox"):
        return Shell("busybox", image=image)
    if program == "dash":
        return Shell("busybox" if kind == "alpine" else "dash", image=image)  # upstream dash execs
    if kind == "alpine":
        return Shell("busybox", image=image)
    if kind == "rhel":
        return Shell("bash", image=image)
    return Shell("dash", assumed=kind is None, image=image)


def execs_last(shell: Shell, script: list[SimpleCommand], command: SimpleCommand) -> bool:
    """Whether the shell replaces itself with ``command`` without an explicit ``exec``.

    ``script`` is every simple command of the ``-c`` string that holds ``command``."""
    return why_not_exec(shell, script, command) is None


def why_not_exec(shell: Shell, script: list[SimpleCommand], command: SimpleCommand) -> str | None:
    """Why the shell stays as the parent of ``command`` (None when it execs it)."""
    if command.from_file:
        return f"{command.shell or 'sh'} runs it from a script file, and no shell execs the " \
               "last command of a script file"
    if not command.last:
        return "commands run after it, so the shell waits for it"
    if command.piped_into or command.piped_from:
        return "it runs in a pipeline, so the shell waits for every side"
    if command.background or command.prefixed:
        return "it runs in the background or under ! or time"
    if shell.kind == "dash":
        return shell.describe()
    before = script[:script.index(command)] if command in script else []
    if any(c.words and c.words[0].text == "trap" and _trap_action(c) for c in before):
        return "a trap is set before it, so the shell must stay to run the trap"
    if shell.kind == "busybox":
        if command.trailing_newline:
            return f"{shell.describe()}, which does not exec when the -c string ends in a newline " \
                   "(a YAML | block does)"
        if command.heredoc or command.compound in ("while", "until", "for"):
            return f"{shell.describe()}, which does not exec a command in a loop or with a " \
                   "here-document"
        return None
    if command.compound is not None:
        return f"{shell.describe()} never execs a command inside {command.compound} ... "
    if command.redirected or command.heredoc:
        return f"{shell.describe()} does not exec a command with a redirection"
    line = _last_line(before + [command])
    connectors = [c.connector for c in line[1:]]
    version = shell.bash or (5, 1)
    if not connectors:
        return None  # alone on its line
    if all(op in ("&&", "||") for op in connectors):
        return None if version >= (4, 4) else f"{shell.describe()} does not exec after &&"
    if connectors[-1] == ";":
        return None if version >= (5, 1) else \
            f"{shell.describe()} does not exec after ; (bash 5.1 and later does)"
    return f"{shell.describe()} does not exec the end of an && list that follows a ; " \
           "(a; b && celery)"


def _last_line(commands: list[SimpleCommand]) -> list[SimpleCommand]:
    """The commands of the last line (bash parses and runs a ``-c`` string line by line)."""
    start = max((i for i, c in enumerate(commands) if c.connector == "\n"), default=0)
    return commands[start:]


def _trap_action(command: SimpleCommand) -> bool:
    """A ``trap`` that sets an action (``trap '' TERM`` only ignores: shells still exec)."""
    words = [w.text for w in command.words[1:]]
    return bool(words) and words[0] not in ("", "-", "-p", "-l") and len(words) > 1
