"""Image references (``registry:5000/team/app:1.2@sha256:...``) taken apart in one place."""

from __future__ import annotations


def split_image(reference: str | None) -> tuple[str, str]:
    """``(repository, tag)`` of an image reference; the tag is "" when none is written. A colon
    before the last ``/`` is a registry's port, not a tag; a digest is dropped."""
    name = (reference or "").split("@")[0]
    if ":" in name.rsplit("/", 1)[-1]:
        repository, _, tag = name.rpartition(":")
        return repository, tag
    return name, ""
