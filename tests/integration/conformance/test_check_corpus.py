"""Every file of the corpus through the checker; every refusal justified in docs/conformance.md.

The table "Refused by the checker" in docs/conformance.md is the expected outcome: this test
fails when a file is refused that the table does not list (or for another reason), and
when a listed file is accepted now (then the table is out of date).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.conformance.corpus import refusals

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "conformance.md"
ROW = re.compile(r"^\| `([^`]+)` \| ([a-z -]+) \| .+ \|$")

# First refusal message -> category. Categories: invalid (the model is wrong), not executable
# (it needs what is not in it or not in Xietong), unsafe (the script gate), over-strict
# (a defect of Xietong's: the model should be accepted).
CATEGORIES: tuple[tuple[str, str], ...] = (
    (r"no executable bpmn:process", "not executable"),
    (r"^condition: syntax error", "not executable"),
    (r"Unknown Time Specification", "not executable"),
    (r"Data Store with name .* has no implementation", "not executable"),
    (r"Cannot resolve data(Input|Output)Association", "invalid"),
    (r"A Service Task must have an operator", "not executable"),
    (r"The process '.*' was not found", "not executable"),
    (r"No DMN Diagram available", "not executable"),
    (r"^duplicate id", "invalid"),
    (r"Exactly one start event is required", "invalid"),
    (r"multiinstance task must specify", "invalid"),
    (r"loopMaximum or loopCondition must be specified", "invalid"),
    (r"Cancel Events may only be used with transactions", "invalid"),
    (r"Multiple outgoing flows are not supported", "invalid"),
    (r"Non-default exclusive outgoing sequence flow without condition", "invalid"),
    (r"call to unregistered function print\(\)", "over-strict"),
    (r"FunctionDef is not allowed", "over-strict"),
    (r"call to unregistered function", "unsafe"),
    (r"is not allowed", "unsafe"),
)


def category(message: str) -> str:
    return next((c for pattern, c in CATEGORIES if re.search(pattern, message)), "unexplained")


def documented() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Refused by the checker", 1)[1].split("\n## ", 1)[0]
    return {m.group(1): m.group(2) for m in map(ROW.match, section.splitlines()) if m}


def test_every_refusal_is_documented_with_its_category(corpus: Path) -> None:
    found: dict[str, str] = {}
    for path in sorted(corpus.rglob("*.bpmn")):
        problems = refusals(path)
        if problems:
            found[str(path.relative_to(corpus))] = category(problems[0].message)

    assert "unexplained" not in found.values(), {
        k: v for k, v in found.items() if v == "unexplained"
    }
    assert found == documented()


@pytest.mark.parametrize("name", ["A.1.0", "B.2.0", "C.2.0"])
def test_non_executable_reference_models_are_refused_for_that_reason(
    corpus: Path, name: str
) -> None:
    [problem] = refusals(corpus / "miwg-reference" / f"{name}.bpmn")

    assert problem.message == "no executable bpmn:process"
