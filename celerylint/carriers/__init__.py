"""Carriers: the ways a deployment reaches celerylint besides plain manifests and Dockerfiles.

Each carrier turns its files into the sources the model reads (YAML documents, scripts) and a
source map for each generated one (``model.sourcemap``), so rules never know which carrier a
workload came from, and every finding lands where a person edits it:

- ``helm``: charts rendered by Helm's own engine, findings mapped to template and values lines
  (``templatemap``);
- ``kustomize`` and ``compose``: kustomizations built and compose projects merged;
- ``scripts``: manifests in a shell script's here-documents fed to kubectl;
- ``ansible``: the manifests playbooks and roles apply, with Jinja rendered by ``jinja``;
- ``embedded``: the offset maps that carry positions and fixes through those layers.
"""
