"""The deployment model: the one thing rules read.

It hides where a workload came from (a Deployment, a CronJob, a ``kind: List`` item) and gives
rules containers with their command lines already split and their celery invocations parsed,
mounts resolved to volumes, probes with Kubernetes defaults applied, and requirement sets ready to
resolve. Every value a rule can point at carries a ``Span``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from celerylint.diagnostics import Span
from celerylint.parse.celery_cli import CeleryInvocation
from celerylint.parse.shell import SimpleCommand
from celerylint.parse.yamlnodes import YMap
from celerylint.sources import ParseProblem, SourceFile

#: Volume sources that Kubernetes always mounts read-only.
READ_ONLY_VOLUME_KINDS = frozenset({"configMap", "secret", "projected", "downwardAPI"})


@dataclass
class Volume:
    name: str
    kind: str  # the volume source key: emptyDir, configMap, persistentVolumeClaim, ...
    span: Span

    @property
    def writable(self) -> bool:
        return self.kind not in READ_ONLY_VOLUME_KINDS


@dataclass
class Mount:
    name: str
    path: str
    read_only: bool
    sub_path: str | None
    span: Span
    volume: Volume | None
    how_read_only: str = "readOnly: true"  # how the carrier writes it (compose: ``:ro``)
    host_path: str | None = None  # a compose bind mount's source in the tree
    content: SourceFile | None = None  # that file, read when the command line names it

    @property
    def writable(self) -> bool:
        """Unknown volumes count as writable: we only report what we can show."""
        return not self.read_only and (self.volume is None or self.volume.writable)

    def why_read_only(self) -> str:
        if self.read_only:
            return f"volume mount '{self.name}' at {self.path} has {self.how_read_only}"
        assert self.volume is not None
        return f"{self.path} is a {self.volume.kind} volume ('{self.name}'), which is always read-only"


@dataclass
class Probe:
    """A probe with its runtime's defaults applied (Kubernetes core/v1 Probe; a compose
    ``healthcheck`` is kind "healthcheck", with Docker's defaults)."""

    kind: str  # liveness, readiness, startup, or healthcheck
    handler: str  # exec, httpGet, tcpSocket, grpc, or "" when none is set
    initial_delay: int  # a healthcheck's start_period
    period: int
    timeout: int
    failure_threshold: int  # a healthcheck's retries
    span: Span  # the probe's key (``livenessProbe:``, ``healthcheck:``)
    data: YMap  # the probe's mapping, for fixes
    # a healthcheck restarts nothing (outside Swarm): it only holds back the services that
    # wait for it with ``depends_on: {condition: service_healthy}``, named here
    waiting: list[str] = field(default_factory=list)
    source: SourceFile | None = None  # the file that writes ``data``, when not the workload's
    # an exec probe's command (a healthcheck's ``test``) as the runtime runs it, followed through
    # ``sh -c`` and the repository's scripts (``model.launch.Launch``; None: not exec, unread)
    launch: Any = None
    # variables Compose substitutes in a healthcheck's ``test`` from the shell that runs it
    # (``$HOSTNAME`` written with one ``$``): the container never sees them
    compose_variables: frozenset[str] = frozenset()

    @property
    def deadline(self) -> int:
        """Seconds after the container starts at which the last allowed failure has happened
        (a healthcheck: failures count once start_period is over, one per interval)."""
        if self.kind == "healthcheck":
            return self.initial_delay + self.failure_threshold * self.period
        return self.initial_delay + (self.failure_threshold - 1) * self.period + self.timeout


@dataclass
class StopGrace:
    """How long the runtime waits between the stop signal and SIGKILL (a pod's
    ``terminationGracePeriodSeconds``, a compose ``stop_grace_period``), and where it is said."""

    seconds: float | None  # the runtime's default when not written; None: written, not readable
    key: str  # the key that writes it (or would)
    source: SourceFile
    mapping: YMap | None  # the mapping that holds the key, or would hold it (for fixes)
    span: Span | None = None  # the value as written; None: the runtime's default applies
    signal: str | None = None  # the stop signal the runtime sends, when written (compose)
    signal_span: Span | None = None

    @property
    def default(self) -> bool:
        return self.span is None


@dataclass
class Port:
    """A port a container listens on, and how it is published on the host (compose ``ports``, a
    Kubernetes ``hostPort``)."""

    target: int | None  # the container's port; None: a range or a variable
    span: Span
    name: str | None = None  # a Kubernetes port's name (what a Service's targetPort may say)
    published: str | None = None  # the host port ("" for a random one); None: not published
    host_ip: str | None = None  # the host address it is bound to; None: every interface
    dynamic: bool = False  # built from a variable we cannot see


@dataclass
class EnvVar:
    name: str
    value: str | None  # None when it comes from a Secret, a field ref ...
    span: Span


@dataclass
class Container:
    name: str
    image: str | None
    argv: list[str]
    argv_dynamic: list[bool]  # items built from a variable whose value we cannot see
    # False when only ``args`` (compose: only ``command``) is set: the image's ENTRYPOINT runs
    argv_from_command: bool
    commands: list[SimpleCommand] | None  # None: the command line could not be read
    celery: list[CeleryInvocation]
    working_dir: str | None
    env: dict[str, EnvVar]
    env_open: bool  # envFrom a ConfigMap the repository does not define
    env_from_secret: bool  # envFrom a Secret: variables such as a broker URL we cannot see
    mounts: list[Mount]
    read_only_root: bool
    limits: dict[str, Any]
    probes: dict[str, Probe]
    span: Span
    workload: "Workload"
    data: YMap  # the container's mapping, for fixes
    init: bool = False
    launch: Any = None  # model.launch.Launch: how its main process starts, when known
    app_config: Any = None  # model.appconfig.AppConfig of its -A app, when found in the repo
    build: tuple[str, str | None] | None = None  # (Dockerfile path, target stage): compose build
    init_process: str | None = None  # an init the runtime puts first (compose init: true)
    read_only_how: str = "readOnlyRootFilesystem: true"  # how the carrier writes it
    network_mode: str | None = None  # compose network_mode (host, service:NAME ...)
    restart: str | None = None  # compose restart policy ("no" by default); None: the pod's
    resolves: frozenset[str] = frozenset()  # extra host names it resolves (links, extra_hosts)
    ports: list[Port] = field(default_factory=list)  # containerPort/hostPort, compose ports

    def mount_for(self, path: str) -> Mount | None:
        """The mount that holds ``path`` (longest mount path that contains it)."""
        path = posixpath.normpath(path)
        best: Mount | None = None
        for mount in self.mounts:
            base = posixpath.normpath(mount.path)
            if path == base or path.startswith(base.rstrip("/") + "/"):
                if best is None or len(base) > len(posixpath.normpath(best.path)):
                    best = mount
        return best

    @property
    def where(self) -> str:
        if self.workload.carrier == "compose":
            return self.workload.label
        return f"container '{self.name}' of {self.workload.label}"


@dataclass
class Workload:
    kind: str
    name: str
    namespace: str | None
    replicas: int | None
    span: Span
    source: SourceFile
    data: Any
    pod: YMap | None = None  # the pod spec mapping, for fixes
    containers: list[Container] = field(default_factory=list)
    volumes: dict[str, Volume] = field(default_factory=dict)
    carrier: str = "kubernetes"  # or "compose": what the words of messages are
    # the mapping and key that write the replica count, and how it is shown ("deploy.replicas")
    replicas_at: tuple[SourceFile, YMap, str, str] | None = None
    profiles: tuple[str, ...] = ()  # compose profiles that must be active for it to run
    hostnames: frozenset[str] = frozenset()  # names peers reach it by (compose service, aliases)
    # its network may hold names from outside the files read (an external network, compose
    # files of the same directory that may be run with it through -f)
    network_open: bool = False
    # when SIGKILL follows the stop signal (None: no grace period for this kind of workload)
    stop_grace: StopGrace | None = None

    @property
    def label(self) -> str:
        """How messages name it: ``Deployment 'worker'``, ``compose service 'worker'``."""
        if self.carrier == "compose":
            shown = f"compose service '{self.name}'"
            if self.profiles:
                shown += f" (profile {', '.join(self.profiles)})"
            return shown
        return f"{self.kind} '{self.name}'"


@dataclass
class KubeObject:
    """Any Kubernetes object (workloads included), for schema checks and cross-object rules."""

    kind: str
    api_version: str
    name: str | None
    namespace: str | None
    data: Any
    span: Span
    source: SourceFile


@dataclass
class PinnedRequirement:
    """One requirement as the user wrote it, where they wrote it."""

    name: str  # PEP 503 normalised
    text: str
    requirement: Any  # packaging.requirements.Requirement
    span: Span
    constraint: bool = False
    where: str = ""  # the file that writes it ("requirements.txt"), used in messages
    hashed: bool = False  # carries --hash options, which a new version invalidates
    project: str = ""  # the checked root of the file that writes it


@dataclass
class RequirementSet:
    """Requirements pip installs together (one file with its includes, or one pip command)."""

    label: str
    requirements: list[PinnedRequirement]
    span: Span
    python: str | None = None  # "3.11" when the image says so
    python_source: str = ""
    allow_pre: bool = False


@dataclass
class Deployment:
    """Everything celerylint read from the checked paths."""

    sources: list[SourceFile] = field(default_factory=list)
    objects: list[KubeObject] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    requirement_sets: list[RequirementSet] = field(default_factory=list)
    dockerfiles: list[Any] = field(default_factory=list)  # parse.dockerfile.Dockerfile
    launches: list[Any] = field(default_factory=list)  # model.launch.Launch, containers first
    apps: list[Any] = field(default_factory=list)  # model.appconfig.AppConfig of every app read
    kustomizations: list[Any] = field(default_factory=list)  # parse.yamlnodes.Document
    scope: Any = None  # discover.Scope: the checked tree (reads and --fix writes stay inside)
    remapper: Any = field(default_factory=lambda: _remapper())  # findings out of generated text
    compose_files: list[tuple[SourceFile, YMap]] = field(default_factory=list)  # and their data
    heredocs: list[Any] = field(default_factory=list)  # carriers.scripts.HeredocManifest
    # every shell script read, with its commands in order (their origins set): deploy scripts
    scripts: list[tuple[SourceFile, list]] = field(default_factory=list)
    # sources generated from files (rendered templates, here-documents): findings in them are
    # moved to their files (``remapper``), but a rule may need their text to build a fix
    generated: list[SourceFile] = field(default_factory=list)
    # documents of embedded manifests (here-documents, playbook tasks) by the file they are in
    embedded_documents: dict[str, int] = field(default_factory=dict)
    problems: list[ParseProblem] = field(default_factory=list)

    @cached_property
    def index(self):
        """The joins rules ask for (``model.index.Index``), built once, on first use."""
        from celerylint.model.index import Index

        return Index(self)

    @cached_property
    def dockerfile_workdirs(self) -> frozenset[str]:
        """Every WORKDIR the repository's Dockerfiles set: where an image's process may start."""
        return frozenset(posixpath.normpath(stage.workdir) for parsed in self.dockerfiles
                         for stage in parsed.stages if stage.workdir)

    def containers(self, include_init: bool = False):
        for workload in self.workloads:
            for container in workload.containers:
                if include_init or not container.init:
                    yield container


def _remapper():
    from celerylint.model.sourcemap import Remapper

    return Remapper()
