"""The celery command-line parser: what a celery invocation asks Celery to do.

Rules ask it questions ("which pool?", "which schedule file?") instead of grepping strings. It reads
the command lines of Celery 5 (``celery -A app worker ...``), the Celery 4 order
(``celery worker -A app``), ``python -m celery``, ``--opt=value``, ``--opt value``, short flags with
attached values (``-c4``, ``-Ofair``) and bundles (``-BE``), and the wrappers people put in front
(``exec``, ``env``, ``gosu``, ``tini --``, ``newrelic-admin run-program`` ...).

Option tables follow ``celery/bin/{celery,worker,beat}.py`` at v5.6.3. Note that ``-S`` means
``--statedb`` for a worker but ``--scheduler`` for beat. Anything it cannot read is "unknown":
values built from ``$VAR`` are ``dynamic`` and no rule treats them as a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from celerylint.parse.shell import SimpleCommand, Word, is_python

#: spelling -> (canonical name, takes a value)
OptionTable = dict[str, tuple[str, bool]]


def _table(*specs: str) -> OptionTable:
    """Build a table from specs like ``"-c --concurrency =concurrency"`` (``=`` marks a value)."""
    table: OptionTable = {}
    for spec in specs:
        parts = spec.split()
        canonical = parts[-1].lstrip("=")
        takes_value = parts[-1].startswith("=")
        for spelling in parts[:-1]:
            table[spelling] = (canonical, takes_value)
    return table


GLOBAL = _table(
    "-A --app =app", "-b --broker =broker", "--result-backend =result_backend",
    "--loader =loader", "--config =config", "--workdir =workdir", "-C --no-color no_color",
    "-q --quiet quiet", "--version version", "--skip-checks skip_checks", "--help help",
)
_DAEMON = ("-f --logfile =logfile", "--pidfile =pidfile", "--uid =uid", "--gid =gid",
           "--umask =umask", "--executable =executable", "-l --loglevel =loglevel")
WORKER = _table(
    *_DAEMON,
    "-n --hostname =hostname", "-D --detach detach", "-S --statedb =statedb",
    "-O --optimization =optimization", "--prefetch-multiplier =prefetch_multiplier",
    "-c --concurrency =concurrency", "-P --pool =pool", "-E --task-events --events task_events",
    "--time-limit =time_limit", "--soft-time-limit =soft_time_limit",
    "--max-tasks-per-child =max_tasks_per_child", "--max-memory-per-child =max_memory_per_child",
    "--purge --discard purge", "-Q --queues =queues", "-X --exclude-queues =exclude_queues",
    "-I --include =include", "--without-gossip without_gossip", "--without-mingle without_mingle",
    "--without-heartbeat without_heartbeat", "--heartbeat-interval =heartbeat_interval",
    "--autoscale =autoscale", "-B --beat beat",
    "-s --schedule-filename --schedule =schedule", "--scheduler =scheduler",
    "--disable-prefetch disable_prefetch",
)
BEAT = _table(
    *_DAEMON, "--detach detach", "-s --schedule =schedule", "-S --scheduler =scheduler",
    "--max-interval =max_interval",
)
EVENTS = _table(*_DAEMON, "--detach detach", "-d --dump dump", "-c --camera =camera",
                "--frequency --freq =frequency", "-r --maxrate =maxrate")
INSPECT = _table("-t --timeout =timeout", "-d --destination =destination", "-j --json json")

SUBCOMMANDS = {
    "worker": WORKER, "beat": BEAT, "events": EVENTS, "inspect": INSPECT, "control": INSPECT,
    "status": INSPECT, "flower": {}, "multi": {}, "call": {}, "purge": {}, "result": {},
    "migrate": {}, "shell": {}, "graph": {}, "list": {}, "logtool": {}, "amqp": {},
    "upgrade": {}, "report": {},
}

#: Programs that run the command after them; values are how many positional words they take
#: before that command (a user name for gosu, ``run-program`` for newrelic-admin).
WRAPPERS = {
    "env": 0, "nice": 0, "nohup": 0, "ionice": 0, "stdbuf": 0, "timeout": 1, "tini": 0,
    "tini-static": 0, "dumb-init": 0, "gosu": 1, "su-exec": 1, "s6-setuidgid": 1, "chpst": 0,
    "setpriv": 0, "runuser": 0, "sudo": 0, "newrelic-admin": 1, "ddtrace-run": 0,
    "opentelemetry-instrument": 0, "watchmedo": 1, "doppler": 1, "pipenv": 1, "poetry": 1,
    "uv": 1, "pdm": 1, "hatch": 1, "catatonit": 0,
}

@dataclass
class Option:
    """One option as written: its word, and its value's word when it takes one."""

    name: str
    flag: Word
    value: str | None = None
    value_word: Word | None = None

    @property
    def dynamic(self) -> bool:
        word = self.value_word or self.flag
        return word.dynamic

    @property
    def words(self) -> list[Word]:
        """The words that write it: ``-f`` and ``x.log``, or the one ``--logfile=x.log``."""
        separate = self.value_word is not None and self.value_word is not self.flag
        return [self.flag, self.value_word] if separate else [self.flag]


@dataclass
class CeleryInvocation:
    """One ``celery`` command line and what it asks for."""

    command: SimpleCommand
    program: Word
    subcommand: str | None
    subcommand_word: Word | None
    options: dict[str, Option] = field(default_factory=dict)
    positionals: list[Word] = field(default_factory=list)
    app_after_subcommand: bool = False
    unknown_options: list[Word] = field(default_factory=list)

    def span(self, word: Word | None = None):
        """Where ``word`` (default: the subcommand, else the program) is written."""
        return self.command.origin.span(word or self.subcommand_word or self.program)

    def option(self, name: str) -> Option | None:
        return self.options.get(name)

    def value(self, name: str) -> str | None:
        opt = self.options.get(name)
        return opt.value if opt else None

    @property
    def is_worker(self) -> bool:
        return self.subcommand == "worker"

    @property
    def runs_beat(self) -> bool:
        """``celery beat``, or a worker with ``-B`` (which embeds a beat)."""
        return self.subcommand == "beat" or (self.is_worker and "beat" in self.options)

    @property
    def app(self) -> str | None:
        return self.value("app")

    @property
    def pool(self) -> str | None:
        """The pool name, ``"prefork"`` when not given, None when it is computed at run time."""
        if not self.is_worker:
            return None
        opt = self.options.get("pool")
        if opt is None:
            return "prefork"
        if opt.dynamic or opt.value is None:
            return None
        return "prefork" if opt.value == "processes" else opt.value

    @property
    def queues(self) -> list[str] | None:
        """The ``-Q`` queues; None when not given or computed at run time."""
        opt = self.options.get("queues")
        if opt is None or opt.dynamic or not opt.value:
            return None
        return [q.strip() for q in opt.value.split(",") if q.strip()]

    @property
    def open_ended(self) -> bool:
        """True when an expansion such as ``$CELERY_ARGS`` may add options we cannot see.

        Rules that report a *missing* option stay silent then.
        """
        return any(w.dynamic and not w.text.startswith("-") for w in self.positionals) or (
            self.subcommand_word is not None and self.subcommand_word.dynamic)

    @property
    def exec_ed(self) -> bool:
        """True when celery becomes the process the container's runtime signals."""
        return self.command.replaces_shell

    @property
    def words(self) -> list[Word]:
        return self.command.words


#: Python options without a value that may come before ``-m celery`` (``python -u -m celery``).
_PYTHON_FLAGS = frozenset({"-u", "-O", "-OO", "-B", "-E", "-s", "-S", "-I", "-P", "-q"})


def _program_at(words: list[Word], i: int) -> int | None:
    """If a celery program starts at ``words[i]``, the index of its first argument."""
    word = words[i]
    if word.dynamic:
        return None
    if word.name in ("celery", "flower"):
        return i + 1
    if is_python(word.name):
        j = i + 1
        while j < len(words) and words[j].text in _PYTHON_FLAGS:
            j += 1
        if j + 1 < len(words) and words[j].text == "-m" and words[j + 1].text == "celery":
            return j + 2
        if j < len(words) and not words[j].dynamic and words[j].name == "celery" and \
                "/" in words[j].text:
            return j + 1  # python /venv/bin/celery: the console script run by a given Python
    return None


def find(command: SimpleCommand) -> CeleryInvocation | None:
    """The celery invocation of a simple command, if it runs one."""
    words = command.words
    if not words:
        return None
    candidates = [0] if _program_at(words, 0) is not None else []
    if not candidates and words[0].name in WRAPPERS:
        candidates = [i for i in range(1, len(words)) if _program_at(words, i) is not None]
    for i in candidates:
        invocation = _parse(command, i)
        if invocation.subcommand in SUBCOMMANDS or (i == 0 and invocation.subcommand is None):
            return invocation
    return None


def _parse(command: SimpleCommand, start: int) -> CeleryInvocation:
    words = command.words
    program = words[start]
    first = _program_at(words, start) or start + 1
    inv = CeleryInvocation(command, program, None, None)
    if program.name == "flower":
        inv.subcommand = "flower"
    table: OptionTable = GLOBAL
    i = first
    while i < len(words):
        word = words[i]
        text = word.text
        if text == "--":
            inv.positionals.extend(words[i + 1:])
            break
        if text.startswith("-") and len(text) > 1:
            i = _option(inv, table, words, i)
            continue
        if inv.subcommand is None:
            inv.subcommand = text
            inv.subcommand_word = word
            extra = SUBCOMMANDS.get(text, {})
            table = {**GLOBAL, **extra}
        else:
            inv.positionals.append(word)
        i += 1
    return inv


def _option(inv: CeleryInvocation, table: OptionTable, words: list[Word], i: int) -> int:
    """Read the option at ``words[i]``; return the index of the next word."""
    word = words[i]
    text = word.text
    after_subcommand = inv.subcommand is not None
    if text.startswith("--"):
        name, eq, value = text.partition("=")
        spec = table.get(name)
        if spec is None:
            inv.unknown_options.append(word)
            key = name[2:].replace("-", "_")
            inv.options[key] = Option(key, word, value if eq else None, word if eq else None)
            return i + 1
        canonical, takes_value = spec
        if takes_value and not eq:
            if i + 1 < len(words):
                _set(inv, canonical, word, words[i + 1].text, words[i + 1], after_subcommand)
                return i + 2
            _set(inv, canonical, word, None, None, after_subcommand)
            return i + 1
        _set(inv, canonical, word, value if eq else None, word if eq else None, after_subcommand)
        return i + 1
    # short options: -c 4, -c4, -BE
    letters = text[1:]
    for k, letter in enumerate(letters):
        spec = table.get("-" + letter)
        if spec is None:
            inv.unknown_options.append(word)
            return i + 1
        canonical, takes_value = spec
        if takes_value:
            rest = letters[k + 1:]
            if rest:
                _set(inv, canonical, word, rest.lstrip("="), word, after_subcommand)
                return i + 1
            if i + 1 < len(words):
                _set(inv, canonical, word, words[i + 1].text, words[i + 1], after_subcommand)
                return i + 2
            _set(inv, canonical, word, None, None, after_subcommand)
            return i + 1
        _set(inv, canonical, word, None, None, after_subcommand)
    return i + 1


def _set(inv: CeleryInvocation, name: str, flag: Word, value: str | None,
         value_word: Word | None, after_subcommand: bool) -> None:
    inv.options[name] = Option(name, flag, value, value_word)
    # `celery multi start w1 -A app` and `flower -A app` are written that way in every version
    if name == "app" and after_subcommand and inv.subcommand != "multi" \
            and inv.program.name != "flower":
        inv.app_after_subcommand = True


def invocations(commands: list[SimpleCommand]) -> list[CeleryInvocation]:
    """Every celery invocation among a script's simple commands."""
    found = []
    for command in commands:
        invocation = find(command)
        if invocation is not None:
            found.append(invocation)
    return found
