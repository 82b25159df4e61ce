"""Read every source once and assemble the deployment model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from celerylint import discover, parallel, timing
from celerylint import sources as src
from celerylint.carriers import compose, kustomize, launchers
from celerylint.carriers.embedded import OffsetMap
from celerylint.carriers.templatemap import TemplateMap
from celerylint.diagnostics import Span
from celerylint.model import Deployment
from celerylint.model import compose as compose_model
from celerylint.model import kubernetes
from celerylint.model import appconfig, pip_sets, probe_commands, requirement_sets
from celerylint.model.launch import Resolver
from celerylint.model.origins import ScriptText
from celerylint.parse import celery_cli, dockerfile, yamlnodes
from celerylint.parse.dockerfile import Dockerfile
from celerylint.sources import ParseProblem, Skip, SourceFile

if TYPE_CHECKING:
    from celerylint.carriers import helm


def load(paths: list[str], max_size: int = src.DEFAULT_MAX_FILE_SIZE,
         overlay: dict[str, SourceFile] | None = None, exclude=None,
         images: dict[str, str] | None = None, helm_options: helm.HelmOptions | None = None,
         strict_parse: bool = False, compose_projects: list[list[str]] | None = None,
         jobs: int = 1, yaml_load=None) -> tuple[Deployment, list[Skip]]:
    """Read the given paths (``-`` is stdin) into one Deployment; never raises on bad input.

    ``overlay`` replaces files on disk by edited versions (absolute path -> SourceFile);
    ``exclude(path)`` drops walked files (explicit ones are always read); ``images`` maps image
    names to Dockerfiles (configuration), before the linking heuristic; ``helm_options`` says how
    charts are rendered; ``strict_parse`` makes templates that cannot be rendered parse errors
    instead of notices; ``compose_projects`` lists compose files read together (configuration);
    ``jobs`` processes read and parse the YAML files (``parallel.py``); ``yaml_load`` replaces
    ``yamlnodes.load`` (the language server's cache of unchanged files)."""
    parse_yaml = yaml_load or yamlnodes.load
    deployment = Deployment()
    skipped: list[Skip] = []
    documents: list[yamlnodes.Document] = []
    dockerfiles: list[Dockerfile] = []
    requirement_files: list[SourceFile] = []
    app_modules: list[SourceFile] = []  # Celery app modules named on the command line
    script_commands: list[tuple[SourceFile, list]] = []  # each shell script's commands
    listed: dict[str, SourceFile] = {}  # deployment.sources so far, by path

    def take(result: SourceFile | Skip | ParseProblem, generated: bool = False,
             parsed: list | None = None) -> None:
        if isinstance(result, Skip):
            skipped.append(result)
            return
        if isinstance(result, ParseProblem):
            deployment.problems.append(result)
            return
        if result.kind == src.SCRIPT:
            from celerylint.carriers import scripts

            found = scripts.read(result.text, OffsetMap.identity(len(result.text)), result, "",
                                 [str(root) for root in scope.roots], read)
            fallback = Span(result.path, 1, 1, 1, 1)
            for command in found.commands:
                command.origin = ScriptText(result, result.text, 0, fallback)
            script_commands.append((result, found.commands))
            if found.heredocs or found.configmaps:
                for listing in [result, *found.files]:
                    if listing.path not in listed:
                        listed[listing.path] = listing
                        deployment.sources.append(listing)
                _embedded([(f.generated, f.map) for f in found.heredocs], deployment, take)
                _embedded(found.configmaps, deployment, take, count=False)
                deployment.heredocs.extend(found.heredocs)
            return
        if not generated:  # a rendered template is read, but the files are its template's
            earlier = listed.get(result.path)  # a file a script's ConfigMap holds may come again
            if earlier is None:
                deployment.sources.append(result)
            elif earlier.kind == "config" and earlier in deployment.sources:
                deployment.sources[deployment.sources.index(earlier)] = result  # as what it is
            if earlier is None or earlier.kind == "config":
                listed[result.path] = result
        else:
            deployment.generated.append(result)
        if result.kind == src.YAML:
            problems = []
            result.documents = 0
            for item in parsed if parsed is not None else \
                    parse_yaml(result, strict_parse or generated):
                if isinstance(item, ParseProblem):
                    problems.append(item)
                elif isinstance(item, Skip):
                    skipped.append(item)
                    if item.reason.endswith(yamlnodes.NOT_RENDERED) and not generated and \
                            result in deployment.sources:
                        deployment.sources.remove(result)  # a template: not a file checked
                else:
                    documents.append(item)
                    result.documents += 1
            if problems:  # one parse-error per file: the first, with a count of the others
                first = problems[0]
                if len(problems) > 1:
                    first.message += f" (and {len(problems) - 1} more problem" \
                                     f"{'s' if len(problems) > 2 else ''} in this file)"
                deployment.problems.append(first)
        elif result.kind == src.DOCKERFILE:
            parsed = dockerfile.parse(result)
            if isinstance(parsed, ParseProblem):
                deployment.problems.append(parsed)
            else:
                dockerfiles.append(parsed)
        elif result.kind in (src.REQUIREMENTS, src.PACKAGING):
            requirement_files.append(result)
        elif result.kind == src.PYTHON:
            app_modules.append(result)

    scope = discover.Scope.of(paths)

    def read(path: str, kind: str = "config") -> SourceFile | Skip | None:
        return src.read(Path(path), kind, max_size, overlay, scope)

    for arg in paths:
        if arg == "-":
            _stdin(src.read_stdin(max_size), scope, deployment, take, max_size, overlay)
    with timing.stage("discover"):
        walked = [(path, kind, explicit) for path, kind, explicit
                  in discover.walk([p for p in paths if p != "-"], skipped)
                  if explicit or exclude is None or not exclude(str(path))]
    with timing.stage("parse"):
        parsed = _parse_yaml(walked, jobs, max_size, overlay, scope, strict_parse)
        for index, (path, kind, explicit) in enumerate(walked):
            _take_walked(path, kind, explicit, parsed.get(index), take, deployment, skipped,
                         helm_options, scope, max_size, overlay)
    with timing.stage("model"):
        _assemble(deployment, documents, skipped, take, read, scope, max_size, overlay, images,
                  compose_projects, dockerfiles, app_modules, requirement_files, script_commands)
    return deployment, skipped


def _parse_yaml(walked: list, jobs: int, max_size: int, overlay, scope, strict: bool
                ) -> dict[int, tuple]:
    """Walked index -> ``(source, parsed items)`` for the YAML files, read and parsed by
    ``jobs`` worker processes; empty when the run is serial (``take`` reads them itself)."""
    wanted = [i for i, (_, kind, _) in enumerate(walked) if kind == src.YAML]
    if not parallel.usable(jobs, len(wanted)):
        return {}

    def parse(k: int) -> tuple:
        result = src.read(walked[wanted[k]][0], src.YAML, max_size, overlay, scope)
        return result, list(yamlnodes.load(result, strict)) \
            if isinstance(result, SourceFile) and result.kind == src.YAML else None

    return dict(zip(wanted, parallel.run(parse, len(wanted), jobs)))


def _take_walked(path: Path, kind: str | None, explicit: bool, parsed: tuple | None, take,
                 deployment: Deployment, skipped: list, helm_options, scope, max_size: int,
                 overlay) -> None:
    """Read one walked file (or take it as a worker parsed it) into the model."""
    if parsed is not None:
        take(parsed[0], parsed=parsed[1])
        return
    if kind is None and explicit:
        result = src.read(path, "unknown", max_size, overlay, scope)
        if isinstance(result, SourceFile):
            result.kind = discover.sniff(path.name, result.text) or ""
            if not result.kind:
                skipped.append(Skip(result.path, "not a Kubernetes manifest, Dockerfile or "
                                    "requirements file"))
                return
            if result.kind == src.PYTHON and not appconfig.has_celery_app(result):
                skipped.append(Skip(result.path, "a Python module without a Celery app "
                                    "(celerylint reads the modules that `celery -A` names)"))
                return
        take(result)
    elif kind == src.CHART:
        from celerylint.carriers import helm

        _chart(helm.render(path, helm_options or helm.HelmOptions(), scope, max_size, overlay),
               deployment, take, skipped)
    elif kind is not None:
        take(src.read(path, kind, max_size, overlay, scope))


def _assemble(deployment: Deployment, documents: list, skipped: list, take, read, scope,
              max_size: int, overlay, images, compose_projects, dockerfiles: list,
              app_modules: list, requirement_files: list, script_commands: list) -> None:
    """Everything read: kustomize, playbooks, Kubernetes objects and compose services, then
    the links between them (launches, app configuration, requirement and pip sets)."""
    deployment.scope = scope
    deployment.kustomizations = [d for d in documents if _is_kustomization(d)]
    deployment.kustomizations += _nearby_kustomizations(deployment.sources, scope, max_size,
                                                        overlay)
    patches = _kustomize_patches(deployment.kustomizations)
    built = kustomize.build(deployment.kustomizations, documents, patches, scope, overlay)
    skipped.extend(built.notices)
    documents[:] = [d for d in documents
                    if os.path.normpath(d.source.abspath or "") not in patches
                    and d.source.abspath not in built.replaced]
    for source_map in built.maps:
        deployment.remapper.maps[source_map.generated] = source_map
    for generated in built.generated:
        take(generated, generated=True)

    playbooks = _playbooks(list(documents), deployment, read, take, skipped)
    deployment.objects, deployment.workloads = kubernetes.build(documents, skipped)

    compose_documents = [d for d in documents if compose.is_compose(d)]
    workloads, compose_paths = _compose(compose_documents, compose_projects or [], deployment,
                                        read, skipped)
    deployment.workloads += workloads
    _unrecognised(deployment, compose_paths | playbooks,
                  patches | {os.path.normpath(p) for p in built.replaced if p}, skipped)
    deployment.dockerfiles = dockerfiles
    _launches(deployment, scope, max_size, overlay, images or {})
    appconfig.attach(deployment, scope, max_size, app_modules, overlay)
    requirement_sets.add(deployment, requirement_files, max_size, scope, skipped, overlay)
    pip_sets.add(deployment, script_commands)
    deployment.scripts = script_commands
    for requirement_set in deployment.requirement_sets:  # messages name files, not renders
        for pinned in requirement_set.requirements:
            if pinned.where in deployment.remapper.maps:
                pinned.where = deployment.remapper.maps[pinned.where].real or pinned.where


def _embedded(found: list, deployment: Deployment, take, count: bool = True) -> None:
    """Embedded manifests (``(generated source, EmbeddedMap)``: here-documents, Ansible tasks):
    read as YAML sources whose findings, and parse errors, land in the file that writes them.
    Their documents count as the file's (a fix must not change how many parse), unless the
    file is only data in them (``count`` off: a configuration file a ConfigMap is made of)."""
    for generated, source_map in found:
        deployment.remapper.maps[generated.path] = source_map
        before = len(deployment.problems)
        take(generated, generated=True)
        for k in range(before, len(deployment.problems)):
            problem = deployment.problems[k]
            if problem.path == generated.path:
                at = source_map.span(Span(problem.path, problem.line, problem.column,
                                          problem.line, problem.column))
                deployment.problems[k] = ParseProblem(at.path, at.line, at.column,
                                                      problem.message)
        if count:
            path = source_map.source.path
            deployment.embedded_documents[path] = \
                deployment.embedded_documents.get(path, 0) + generated.documents


def _playbooks(documents: list, deployment: Deployment, read, take, skipped: list[Skip]
               ) -> set[str]:
    """The manifests Ansible playbooks and role tasks apply (``carriers.ansible``); the paths of
    the playbooks that hold some. Playbooks are lists: without one, Ansible is not imported."""
    if not any(isinstance(d.data, list) for d in documents):
        return set()
    from celerylint.carriers import ansible

    reader = ansible.Reader(read)
    for doc in documents:
        if ansible.is_playbook(doc):
            reader.playbook(doc)
    found = reader.found
    skipped.extend(found.notices)
    embedded = found.generated + [(h.generated, h.map) for h in found.heredocs]
    known = {s.path for s in deployment.sources}
    for source in found.files:
        if source.path not in known:
            known.add(source.path)
            deployment.sources.append(source)
    _embedded(embedded, deployment, take)
    deployment.heredocs.extend(found.heredocs)
    return {source_map.real for _, source_map in embedded}


def _compose(documents: list[yamlnodes.Document], groups: list[list[str]],
             deployment: Deployment, read, skipped: list[Skip]) -> tuple[list, set[str]]:
    """The workloads of the compose projects the compose files form; the files they read
    (override and ``extends`` files, ``.env``, ``env_file`` and bind-mounted configuration
    files) join the sources."""
    loader = compose.Loader(read, skipped)
    for doc in documents:
        loader.add(doc)
    found = []
    known = {s.path for s in deployment.sources}
    for project in loader.projects(groups):
        workloads = compose_model.workloads(project, read)
        found += workloads
        skipped.extend(project.notices)
        mounted = [m.content for w in workloads for c in w.containers for m in c.mounts
                   if m.content is not None]
        for source in project.files + project.env_files + mounted:
            if source.path not in known:
                known.add(source.path)
                deployment.sources.append(source)
    # the files Compose validates (an extends base is read for one service, not validated)
    deployment.compose_files = [(loader.sources[path], data) for path, data
                                in loader.documents.items()
                                if data is not None and path in loader.project_files]
    for source in loader.sources.values():  # the bases too: fixes may edit their anchors
        if source.path not in known:
            known.add(source.path)
            deployment.sources.append(source)
    return found, {source.path for source in loader.sources.values()}


def _unrecognised(deployment: Deployment, compose_paths: set[str], patches: set[str],
                  skipped: list[Skip]) -> None:
    """YAML files that hold no Kubernetes object, kustomization or compose file are not checked:
    they leave the sources and are listed as skipped (``--verbose``, the JSON summary)."""
    read = {o.source.path for o in deployment.objects} | compose_paths | \
        {k.source.path for k in deployment.kustomizations} | {p.path for p in deployment.problems}
    for source in list(deployment.sources):
        if source.kind == src.YAML and source.path not in read and \
                os.path.normpath(source.abspath or "") not in patches:
            deployment.sources.remove(source)
            skipped.append(Skip(source.path, "YAML that is neither a Kubernetes manifest, a "
                                "kustomization nor a compose file: not checked", verbose=True))


def _chart(rendered: helm.Rendered, deployment: Deployment, take, skipped: list[Skip]) -> None:
    """A rendered chart: its generated sources are read, its files are what fixes edit."""
    skipped.extend(rendered.notices)
    known = {s.path for s in deployment.sources}
    deployment.sources.extend(f for f in rendered.files if f.path not in known)
    for source_map in rendered.maps:
        deployment.remapper.maps[source_map.generated] = source_map
    for generated in rendered.generated:
        take(generated, generated=True)


def _stdin(result, scope: discover.Scope, deployment: Deployment, take, max_size: int,
           overlay) -> None:
    """Standard input; ``helm template`` output is split at its ``# Source:`` comments, and each
    part is mapped to its template when the chart is in the checked tree."""
    if not isinstance(result, SourceFile) or "# Source: " not in result.text:
        take(result)
        return
    from celerylint.carriers import helm

    for key, text in helm.split_sources(result.text):
        template, value_sources = helm.find_template(key, scope, max_size, overlay)
        generated = SourceFile(f"{template.path if template else key}@stdin", src.YAML, text, None)
        if template is not None and template.path not in {s.path for s in deployment.sources}:
            deployment.sources.append(template)
        deployment.remapper.maps[generated.path] = helm.HelmMap(
            generated, template, TemplateMap(template.text, text) if template else None,
            value_sources, "", None, key)
        take(generated, generated=True)


def _launches(deployment: Deployment, scope: discover.Scope, max_size: int,
              overlay: dict[str, SourceFile] | None, images: dict[str, str]) -> None:
    """Follow each container's start (and each image's) to the commands it really runs."""
    resolver = Resolver(deployment.dockerfiles, scope, max_size, overlay, images)
    for container in deployment.containers():
        found = resolver.for_container(container)
        if found is not None:
            container.launch = found
            container.commands = found.commands
            container.celery = celery_cli.invocations(found.commands)
            deployment.launches.append(found)
    for parsed in deployment.dockerfiles:
        found = resolver.for_image(parsed)
        if found is not None:
            deployment.launches.append(found)
    launchers.add(deployment, resolver)  # Procfile, supervisord, s6/runit, systemd, entry scripts
    probe_commands.attach(deployment, resolver)  # exec probes, followed into scripts
    known = {s.path for s in deployment.sources}
    for launch in deployment.launches:
        for script in launch.sources:
            if script.path not in known:
                known.add(script.path)
                deployment.sources.append(script)


KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def _nearby_kustomizations(sources: list[SourceFile], scope: discover.Scope, max_size: int,
                           overlay) -> list[yamlnodes.Document]:
    """The kustomizations beside or above the YAML files checked (inside the checked tree) that
    were not checked themselves: a patch file passed alone (as pre-commit passes changed files)
    is still known as a patch. They are context, not checked files."""
    read = {s.abspath for s in sources}
    found: list[yamlnodes.Document] = []
    seen: set[str] = set()
    for source in sources:
        if source.kind != src.YAML or not source.abspath:
            continue
        directory = os.path.dirname(source.abspath)
        while directory not in seen and scope.contains(directory):
            seen.add(directory)
            for name in KUSTOMIZATION_NAMES:
                path = os.path.join(directory, name)
                if path in read or not os.path.isfile(path):
                    continue
                result = src.read(Path(path), src.YAML, max_size, overlay, scope)
                if isinstance(result, SourceFile):
                    found += [d for d in yamlnodes.load(result)
                              if isinstance(d, yamlnodes.Document) and _is_kustomization(d)]
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
    return found


def _is_kustomization(doc: yamlnodes.Document) -> bool:
    return os.path.basename(doc.source.path) in KUSTOMIZATION_NAMES and isinstance(doc.data, dict)


def _kustomize_patches(kustomizations: list[yamlnodes.Document]) -> set[str]:
    """Files a kustomization applies as patches: partial objects, never sent as they are."""
    patches: set[str] = set()
    for doc in kustomizations:
        source = doc.source
        if not source.abspath:
            continue
        entries: list = []
        for key in ("patchesStrategicMerge", "patches", "patchesJson6902"):
            value = doc.data.get(key)
            if isinstance(value, list):
                entries.extend(value)
        for entry in entries:
            path = entry.get("path") if isinstance(entry, dict) else entry
            if isinstance(path, str) and "\n" not in path:
                patches.add(os.path.normpath(os.path.join(os.path.dirname(source.abspath), path)))
    return patches
