"""The Celery app's own configuration, read with ``ast``: never imported, never executed.

For a workload's ``-A proj`` (or ``--app proj.celery:app``) we find the module in the repository
(``proj/celery.py``, ``proj/__init__.py``, ``proj.py``, or a ``tasks.py`` key of a ConfigMap
mounted at the working directory), then read its configuration: ``Celery(..., broker=...)``
arguments, ``app.conf.x = ...``, ``app.conf.update(...)``, ``config_from_object("module")`` and the
Django settings module (``DJANGO_SETTINGS_MODULE``, from the manifest or the
``os.environ.setdefault`` in the app module), following ``from .base import *``, with the
``CELERY_`` namespace and the old uppercase names mapped to today's lowercase settings.

Only what can be read for sure is known: literals, simple arithmetic (``30 * 60``),
``os.environ.get("X", default)``/``os.getenv`` (the default, marked as overridable by ``X``),
``crontab(...)``, ``timedelta(...)``, dict and list literals, and names assigned from those at
module level. Anything else is ``UNKNOWN``, and no rule treats unknown as a finding.
"""

from __future__ import annotations

import ast
import posixpath
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celerylint import sources as src
from celerylint.diagnostics import Span
from celerylint.sources import SourceFile


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN = _Unknown()

#: Limits on folding the app's constants: larger values are UNKNOWN (no setting is that big).
MAX_STRING = 100_000
MAX_INT_BITS = 4096

#: Old (Celery 3) uppercase names -> today's settings (celery/app/defaults.py, the mapping table).
OLD_NAMES = {
    "BROKER_URL": "broker_url", "CELERY_RESULT_BACKEND": "result_backend",
    "CELERYBEAT_SCHEDULER": "beat_scheduler", "CELERYBEAT_SCHEDULE": "beat_schedule",
    "CELERYBEAT_SCHEDULE_FILENAME": "beat_schedule_filename",
    "CELERYD_CONCURRENCY": "worker_concurrency", "CELERYD_POOL": "worker_pool",
    "CELERY_ROUTES": "task_routes", "CELERY_DEFAULT_QUEUE": "task_default_queue",
    "CELERY_QUEUES": "task_queues", "CELERY_ACCEPT_CONTENT": "accept_content",
    "CELERY_ACKS_LATE": "task_acks_late", "CELERY_ANNOTATIONS": "task_annotations",
    "CELERYD_TASK_TIME_LIMIT": "task_time_limit",
    "CELERYD_TASK_SOFT_TIME_LIMIT": "task_soft_time_limit",
}
#: Celery reads these environment variables itself (celery/app/utils.py, Settings).
ENV_SETTINGS = {"CELERY_BROKER_URL": "broker_url", "CELERY_RESULT_BACKEND": "result_backend"}
DEFAULTS = {"task_default_queue": "celery", "beat_scheduler": "celery.beat:PersistentScheduler",
            "beat_schedule_filename": "celerybeat-schedule", "worker_pool": "prefork"}


class PDict(dict):
    """A dict read from Python source that knows where each value is written."""

    __slots__ = ("spans",)

    def __init__(self) -> None:
        super().__init__()
        self.spans: dict[Any, Span] = {}


@dataclass
class Crontab:
    """A ``crontab(...)`` call: its keyword arguments and where it is written."""

    fields: dict[str, Any]
    span: Span


@dataclass
class Setting:
    """A setting's value and where it came from."""

    value: Any
    span: Span | None
    origin: str  # "default", "python" (app.conf, Celery(...)), "config" (a settings module), "env"
    env_override: str | None = None  # the whole value is os.environ.get("X", ...): X replaces it
    env_vars: frozenset = frozenset()  # every env var the value depends on


@dataclass
class AppConfig:
    """Everything read for one app."""

    module: str
    source: SourceFile | None = None
    settings: dict[str, Setting] = field(default_factory=dict)
    namespace: str | None = None
    django_settings: str | None = None
    opaque: bool = False  # settings also come from places we cannot read (conditional imports)
    # why settings, or the environment variables they read, may also come from what was not
    # read (a module not found, a dotenv file, os.environ written, the app made in a function):
    # rules that report a *missing* setting, or an environment default, stay silent then
    unread: list[str] = field(default_factory=list)
    project: str = ""  # the project of the workload (or the module) it configures

    def get(self, name: str) -> Setting | None:
        if self.opaque:  # a conditional star import may have set (or reset) anything
            return Setting(UNKNOWN, None, "config")
        return self.settings.get(name)

    def value(self, name: str) -> Any:
        """The value, the default when nothing sets it, UNKNOWN when it cannot be read."""
        setting = self.get(name)
        if setting is None:
            return DEFAULTS.get(name)
        return setting.value


class _Evaluator:
    """Evaluates the expressions we can know for sure, in one module's namespace."""

    def __init__(self, source: SourceFile, line_offset: int = 0, column_offset: int = 0) -> None:
        self.source = source
        self.names: dict[str, Any] = {}
        self.name_env: dict[str, frozenset] = {}  # env vars behind each module-level name
        self.line_offset = line_offset
        self.column_offset = column_offset
        self.used: set[str] = set()  # env vars the expression being evaluated reads

    def span(self, node: ast.AST) -> Span:
        """ast counts columns in UTF-8 bytes; spans count characters."""
        lines = self.source.lines
        first = getattr(node, "lineno", 1)
        last = getattr(node, "end_lineno", None) or first

        def chars(row: int, byte: int) -> int:
            text = lines[row - 1] if 0 < row <= len(lines) else ""
            return len(text.encode("utf-8")[:byte].decode("utf-8", "ignore"))

        column = chars(first, getattr(node, "col_offset", 0)) + 1 + self.column_offset
        end_column = chars(last, getattr(node, "end_col_offset", None) or 0) + 1 + self.column_offset
        return Span(self.source.path, first + self.line_offset, column, last + self.line_offset,
                    end_column)

    def eval(self, node: ast.AST, depth: int = 0) -> Any:
        if depth > 50:
            return UNKNOWN
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = [self.eval(e, depth + 1) for e in node.elts]
            return UNKNOWN if any(i is UNKNOWN for i in items) else items
        if isinstance(node, ast.Dict):
            result = PDict()
            for key, value in zip(node.keys, node.values):
                if key is None:
                    return UNKNOWN  # **spread
                k = self.eval(key, depth + 1)
                if k is UNKNOWN or isinstance(k, (list, dict)):
                    return UNKNOWN
                result[k] = self.eval(value, depth + 1)
                result.spans[k] = self.span(value)
            return result
        if isinstance(node, ast.Name):
            self.used |= self.name_env.get(node.id, frozenset())
            return self.names.get(node.id, UNKNOWN)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            value = self.eval(node.operand, depth + 1)
            return -value if isinstance(value, (int, float)) else UNKNOWN
        if isinstance(node, ast.BinOp):
            return self._binop(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        return UNKNOWN

    def _binop(self, node: ast.BinOp, depth: int) -> Any:
        left, right = self.eval(node.left, depth + 1), self.eval(node.right, depth + 1)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
        if numbers and any(isinstance(v, int) and v.bit_length() > MAX_INT_BITS for v in (left, right)):
            return UNKNOWN  # a squaring chain would grow without bound: not a setting anyway
        try:
            if isinstance(node.op, ast.Add) and (numbers or all(isinstance(v, str) for v in (left, right))):
                if not numbers and len(left) + len(right) > MAX_STRING:
                    return UNKNOWN  # a doubling chain of strings: bounded, and never a setting
                return left + right
            if numbers and isinstance(node.op, ast.Mult):
                if all(isinstance(v, int) for v in (left, right)) and \
                        left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    return UNKNOWN
                return left * right
            if numbers and isinstance(node.op, ast.Sub):
                return left - right
            if numbers and isinstance(node.op, (ast.Div, ast.FloorDiv)) and right:
                return left / right if isinstance(node.op, ast.Div) else left // right
        except (TypeError, OverflowError):
            return UNKNOWN
        return UNKNOWN

    def _call(self, node: ast.Call, depth: int) -> Any:
        name = _dotted(node.func)
        if name in ("os.environ.get", "os.getenv", "environ.get", "getenv"):
            if not node.args or not isinstance(node.args[0], ast.Constant):
                return UNKNOWN
            self.used.add(str(node.args[0].value))
            default = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "default"), None)
            return self.eval(default, depth + 1) if default is not None else None
        if name.split(".")[-1] == "crontab":
            fields = {k.arg: self.eval(k.value, depth + 1) for k in node.keywords if k.arg}
            positional = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")
            fields.update({positional[i]: self.eval(a, depth + 1) for i, a in enumerate(node.args[:5])})
            return Crontab(fields, self.span(node))
        if name.split(".")[-1] == "timedelta":
            units = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1,
                     "milliseconds": 0.001}
            total = 0.0
            for keyword in node.keywords:
                value = self.eval(keyword.value, depth + 1)
                if keyword.arg not in units or not isinstance(value, (int, float)):
                    return UNKNOWN
                total += value * units[keyword.arg]
            if node.args:
                value = self.eval(node.args[0], depth + 1)
                if not isinstance(value, (int, float)):
                    return UNKNOWN
                total += value * 86400
            return total
        if name == "dict":
            if node.args or any(k.arg is None for k in node.keywords):
                return UNKNOWN
            result = PDict()
            for keyword in node.keywords:
                result[keyword.arg] = self.eval(keyword.value, depth + 1)
                result.spans[keyword.arg] = self.span(keyword.value)
            return result
        return UNKNOWN


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _parse(source: SourceFile) -> ast.Module | None:
    try:
        with warnings.catch_warnings():  # the project's invalid escapes are not our output
            warnings.simplefilter("ignore")
            return ast.parse(source.text, filename=source.path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


class ModuleFinder:
    """Finds Python modules of the repository by dotted name (files read once each)."""

    def __init__(self, scope, max_size: int, overlay: dict | None = None) -> None:
        self.scope = scope  # discover.Scope: modules outside the checked tree are not read
        self.max_size = max_size
        self.overlay = overlay  # edited buffers (--fix passes, an editor) read instead of disk
        self.cache: dict[str, SourceFile | None] = {}
        self.embedded: dict[str, tuple[SourceFile, int, int]] = {}  # module -> ConfigMap text
        self.found: dict[str, tuple[SourceFile, int, int] | None] = {}  # module -> where

    def files(self) -> list[SourceFile]:
        """The modules read from the repository (for spans, suppressions and fixes)."""
        return [s for s in self.cache.values() if s is not None]

    def find(self, module: str) -> tuple[SourceFile, int, int] | None:
        """The module's source and the line/column offsets of its text in that file."""
        if module in self.embedded:
            return self.embedded[module]
        if module not in self.found:  # thousands of workers name the same few modules
            self.found[module] = self._find(module)
        return self.found[module]

    def _find(self, module: str) -> tuple[SourceFile, int, int] | None:
        parts = [p for p in module.split(".") if p]
        if not parts:
            return None
        if any(p.startswith("/") or p == ".." for p in parts):
            return None  # -A /abs/path or a path that leaves the tree: never a module we read
        for root in self.scope.roots:
            for candidate in (root.joinpath(*parts).with_suffix(".py"),
                              root.joinpath(*parts, "__init__.py"),
                              root.joinpath("src", *parts).with_suffix(".py"),
                              root.joinpath("src", *parts, "__init__.py")):
                source = self._read(candidate)
                if source is not None:
                    return source, 0, 0
        return None

    def _read(self, path: Path) -> SourceFile | None:
        key = str(path)
        if key not in self.cache:
            result = src.read(path, "python", self.max_size, self.overlay, self.scope) \
                if self.scope.contains(path) and path.is_file() else None
            self.cache[key] = result if isinstance(result, SourceFile) else None
        return self.cache[key]


def _module_of(app: str) -> tuple[str, str | None]:
    """``proj.celery:app`` -> (``proj.celery``, ``app``); ``proj`` -> (``proj``, None)."""
    module, _, attribute = app.partition(":")
    return module, attribute or None


def read_app(app: str, finder: ModuleFinder, env: dict[str, str | None]) -> AppConfig | None:
    """The configuration of ``-A app``; None when its module is not in the repository."""
    module, _ = _module_of(app)
    found = None
    for candidate in (module, f"{module}.celery", f"{module}.celery_app", f"{module}.app"):
        found = finder.find(candidate)
        if found is not None and has_celery_app(found[0]):
            module = candidate
            break
        found = None
    if found is None:
        return None
    return read_module(module, found, finder, env)


def read_module(module: str, found: tuple[SourceFile, int, int], finder: ModuleFinder,
                env: dict[str, str | None]) -> AppConfig | None:
    """The configuration set by one app module (its text at the given line/column offsets)."""
    source, line_offset, column_offset = found
    config = AppConfig(module, source)
    tree = _parse(source)
    if tree is None:
        return None
    evaluator = _Evaluator(source, line_offset, column_offset)
    _app_module(tree, evaluator, config, finder, env)
    config.unread += _environment_writes(tree)
    return config


def has_celery_app(source: SourceFile) -> bool:
    return "Celery(" in source.text


def _app_module(tree: ast.Module, ev: _Evaluator, config: AppConfig, finder: ModuleFinder,
                env: dict[str, str | None]) -> None:
    app_names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            if isinstance(target, ast.Name):
                if isinstance(value, ast.Call) and _dotted(value.func).split(".")[-1] == "Celery":
                    app_names.add(target.id)
                    sources = (None, "config_source", "changes", "loader")
                    if len(value.args) > 1 or any(k.arg in sources for k in value.keywords):
                        config.unread.append("Celery() is given a configuration source")
                    for keyword in value.keywords:
                        name = {"broker": "broker_url", "backend": "result_backend"}.get(keyword.arg)
                        if name:
                            _set(config, name, keyword.value, ev)
                    continue
                _remember(ev, target.id, value)
            elif isinstance(target, ast.Attribute) and _dotted(target.value).endswith(".conf") \
                    and _dotted(target.value).split(".")[0] in app_names:
                _set(config, target.attr, value, ev)
            elif isinstance(target, ast.Subscript) and _dotted(target.value).endswith(".conf"):
                config.unread.append("app.conf[...] is assigned")
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            name = _dotted(call.func)
            if name in ("os.environ.setdefault", "environ.setdefault") and len(call.args) == 2:
                key, value = ev.eval(call.args[0]), ev.eval(call.args[1])
                if key == "DJANGO_SETTINGS_MODULE" and isinstance(value, str):
                    config.django_settings = config.django_settings or value
            elif name.split(".")[0] in app_names and name.endswith(".conf.update"):
                for keyword in call.keywords:
                    if keyword.arg:
                        _set(config, keyword.arg, keyword.value, ev)
                if call.args and isinstance(call.args[0], ast.Dict):
                    for key, value in zip(call.args[0].keys, call.args[0].values):
                        k = ev.eval(key) if key is not None else UNKNOWN
                        if isinstance(k, str):
                            _set(config, k, value, ev)
                if any(k.arg is None for k in call.keywords) or \
                        call.args and not isinstance(call.args[0], ast.Dict):
                    config.unread.append("app.conf.update() of a value that cannot be read")
            elif name.split(".")[0] in app_names and name.endswith("config_from_object") and call.args:
                target = ev.eval(call.args[0])
                namespace = next((ev.eval(k.value) for k in call.keywords if k.arg == "namespace"),
                                 None)
                if target == "django.conf:settings":
                    settings_module = env.get("DJANGO_SETTINGS_MODULE") or config.django_settings
                    config.namespace = namespace if isinstance(namespace, str) else None
                    if settings_module:
                        config.django_settings = settings_module
                        _settings_module(settings_module, finder, config, set())
                    if not settings_module or env.get("DJANGO_SETTINGS_MODULE", "") is None:
                        config.unread.append("the Django settings module is not known")
                elif isinstance(target, str):
                    config.namespace = namespace if isinstance(namespace, str) else None
                    _settings_module(target, finder, config, set())
                else:
                    config.unread.append("config_from_object() of a value that cannot be read")
            elif name.split(".")[0] in app_names and name.split(".")[-1] in (
                    "config_from_envvar", "config_from_cmdline", "add_defaults", "setdefault"):
                config.unread.append(f"{name}() sets configuration")
        elif isinstance(node, _COMPOUND):
            _conditional(node, config, app_names)
    if not app_names:
        config.unread.append("the Celery app is not made at module level")


def _settings_module(module: str, finder: ModuleFinder, config: AppConfig, seen: set[str]) -> None:
    """Module-level settings, ``from .base import *`` chains followed (base first)."""
    if module in seen or len(seen) > 10:
        return
    seen.add(module)
    found = finder.find(module)
    if found is None:
        config.unread.append(f"the settings module {module} is not in the repository")
        return
    source, line_offset, column_offset = found
    tree = _parse(source)
    if tree is None:
        return
    ev = _Evaluator(source, line_offset, column_offset)
    config.unread += _environment_writes(tree)
    # the package a relative import starts from: the module's own for an __init__.py
    package = module.split(".") if source.path.endswith("__init__.py") else module.split(".")[:-1]
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            base = node.module or ""
            if node.level:
                parent = package[:len(package) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            _settings_module(base, finder, config, seen)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            setting = _setting_name(name, config.namespace)
            if setting:
                _set(config, setting, node.value, ev, origin="config")
            _remember(ev, name, node.value)
        elif isinstance(node, _COMPOUND):
            _conditional(node, config, set())
        elif isinstance(node, ast.ClassDef):  # django-configurations: settings in classes
            config.unread.append(f"{module} defines settings in a class")


_COMPOUND = (ast.If, ast.Try, ast.With, ast.For, ast.While)

#: Calls that load variables into the process environment (python-dotenv, django-environ).
_ENV_LOADERS = frozenset({"load_dotenv", "read_env", "read_dotenv", "load_env"})


def _environment_writes(tree: ast.Module) -> list[str]:
    """Why a module may set environment variables or settings we cannot see: a dotenv file
    loaded, ``os.environ`` written (what ``os.environ.get`` reads may then come from there),
    ``exec``, or the app configured inside a function."""
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                isinstance(n, ast.Attribute) and n.attr in ("conf", "config_from_object")
                for n in ast.walk(function)):
            return [f"{function.name}() configures the app"]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name.split(".")[-1] in _ENV_LOADERS:
                return [f"{name}() loads environment variables"]
            if name in ("exec", "execfile"):
                return [f"{name}() runs code that is not read"]
            django = node.args and isinstance(node.args[0], ast.Constant) and \
                node.args[0].value == "DJANGO_SETTINGS_MODULE"
            if name.endswith(("environ.update", "environ.setdefault", "putenv")) and not django:
                return [f"{name}() writes the environment"]
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Subscript) and _dotted(t.value).endswith("environ")
                   for t in targets):
                return ["os.environ is written"]
    return []


def _conditional(statement: ast.AST, config: AppConfig, app_names: set[str]) -> None:
    """Inside ``if``/``try``/``with``/loops a setting may or may not be set: UNKNOWN. A star
    import there can set anything: the whole configuration becomes opaque."""
    for node in ast.walk(statement):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            config.opaque = True
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                name = None
                if isinstance(target, ast.Name):
                    name = _setting_name(target.id, config.namespace)
                elif isinstance(target, ast.Attribute) and _dotted(target.value).endswith(".conf"):
                    name = target.attr
                if name:
                    name = OLD_NAMES.get(name, name)
                    config.settings[name] = Setting(UNKNOWN, None, "python")
        elif isinstance(node, ast.Call) and _dotted(node.func).split(".")[-1] in (
                "update", "config_from_object", "setdefault") and app_names:
            config.opaque = True


def _setting_name(name: str, namespace: str | None) -> str | None:
    if namespace:
        return name[len(namespace) + 1:].lower() if name.startswith(namespace + "_") else None
    if name in OLD_NAMES:
        return OLD_NAMES[name]
    if name.islower() and not namespace:
        return name
    return None


def _remember(ev: _Evaluator, name: str, node: ast.AST) -> None:
    ev.used = set()
    ev.names[name] = ev.eval(node)
    ev.name_env[name] = frozenset(ev.used)


def _set(config: AppConfig, name: str, node: ast.AST, ev: _Evaluator, origin: str = "python") -> None:
    """Record a setting. ``app.conf``/``Celery(...)`` values ("python") win over a settings
    module's ("config"), whatever the order, as Celery's own layering does."""
    name = OLD_NAMES.get(name, name)
    existing = config.settings.get(name)
    if existing is not None and existing.origin == "python" and origin == "config":
        return
    ev.used = set()
    value = ev.eval(node)
    whole = None
    if isinstance(node, ast.Call) and _dotted(node.func) in (
            "os.environ.get", "os.getenv", "environ.get", "getenv") and len(ev.used) == 1:
        whole = next(iter(ev.used))
    config.settings[name] = Setting(value, ev.span(node), origin, whole, frozenset(ev.used))


def effective(config: AppConfig | None, env: dict[str, str | None],
              opaque_env: bool = False) -> AppConfig | None:
    """The app's settings with the container's environment applied (CELERY_BROKER_URL ... and
    the variables ``os.environ.get`` defaults stand for). A value built from a variable the
    container sets, or may set through an ``envFrom`` we cannot read, becomes UNKNOWN unless the
    variable is the whole value."""
    if config is None:
        return None
    result = AppConfig(config.module, config.source, dict(config.settings), config.namespace,
                       config.django_settings, config.opaque, config.project)
    result.unread = list(config.unread)
    for name, setting in config.settings.items():
        if setting.env_override and setting.env_override in env and not opaque_env:
            value = env[setting.env_override]
            result.settings[name] = Setting(UNKNOWN if value is None else value, None, "env")
        elif opaque_env and setting.env_vars or any(v in env for v in setting.env_vars):
            result.settings[name] = Setting(UNKNOWN, setting.span, "env")
    for variable, name in ENV_SETTINGS.items():
        if variable in env:
            value = env[variable]
            result.settings[name] = Setting(UNKNOWN if value is None else value, None, "env")
    return result


def embedded_modules(deployment, container) -> dict[str, tuple[SourceFile, int, int]]:
    """``*.py`` keys of ConfigMaps mounted at the container's working directory, as modules."""
    modules = {}
    cwd = container.working_dir
    if cwd is None:
        return modules
    for mount, obj in deployment.index.mounted_configmaps(container):
        data = obj.data.get("data")
        if posixpath.normpath(mount.path) == posixpath.normpath(cwd) and isinstance(data, dict):
            for key, text in data.items():
                if isinstance(key, str) and key.endswith(".py") and isinstance(text, str):
                    pos = data.value_pos[key]
                    lines = obj.source.lines
                    body = [line for line in lines[pos[0]:pos[2]] if line.strip()]
                    first = body[0] if body else ""
                    indent = len(first) - len(first.lstrip(" "))
                    # a literal block scalar: its text starts on the next line, indented
                    embedded = SourceFile(obj.source.path, "python", text, None)
                    modules[key[:-3]] = (embedded, pos[0], indent)
    return modules


def attach(deployment, scope, max_size: int, named: list[SourceFile] | None = None,
           overlay: dict | None = None) -> None:
    """Give each container that runs celery the effective configuration of its app, and read
    the app modules named on the command line; ``deployment.apps`` lists every one read."""
    finder = ModuleFinder(scope, max_size, overlay)
    for container in deployment.containers():
        apps = [i.app for i in container.celery if i.app and not i.option("app").dynamic]
        if not apps:
            continue
        finder.embedded = embedded_modules(deployment, container)
        env = {name: var.value for name, var in container.env.items()}
        container.app_config = effective(read_app(apps[0], finder, env), env,
                                         container.env_open or container.env_from_secret)
        if container.app_config is not None:
            container.app_config.project = container.workload.source.project
            deployment.apps.append(container.app_config)
    finder.embedded = {}
    for launch in deployment.launches:  # supervisord, systemd ...: no container, no environment
        apps = [i.app for i in launch.celery if i.app and not i.option("app").dynamic]
        if launch.container is None and apps:
            launch.app_config = read_app(apps[0], finder, {})
    for source in named or []:
        module = posixpath.splitext(source.path)[0].replace("/", ".")
        config = read_module(module, (source, 0, 0), finder, {})
        if config is not None:
            config.project = source.project
            deployment.apps.append(config)
    known = {s.path for s in deployment.sources}
    for source in finder.files():
        if source.path not in known:
            known.add(source.path)
            deployment.sources.append(source)
