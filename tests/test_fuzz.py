"""The fuzz harness, bounded and repeatable: a fixed seed and a fixed number of examples in every
run of the suite, and every input that ever broke an invariant replayed from the corpus."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

import fuzzing


@settings(max_examples=40, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(fuzzing.repositories)
def test_generated_hostile_repositories_keep_every_invariant(files):
    fuzzing.check(files)


@pytest.mark.parametrize("case", sorted(p.name for p in fuzzing.CORPUS.iterdir())
                         if fuzzing.CORPUS.is_dir() else [])
def test_every_input_that_once_failed_still_passes(case):
    fuzzing.check_tree(fuzzing.CORPUS / case)
