"""Runs last in this folder: every sequence flow of every model was traversed by some test."""

from __future__ import annotations

import pytest

from tests.workflow_coverage import COVERAGE


def test_every_sequence_flow_of_every_model_is_traversed() -> None:
    if COVERAGE.tests_recorded < 5:
        pytest.skip("flow coverage needs the whole workflow suite in this run")
    missing = COVERAGE.missing()
    assert not missing, f"flow coverage {COVERAGE.percent():.1f}% — untraversed flows: {missing}"
