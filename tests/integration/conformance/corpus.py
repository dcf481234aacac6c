"""Reading the third-party corpus as a user would upload it: a file plus what it calls.

A model that calls a process or decision defined in another file of its folder (or the
folder's dmn/) is checked together with that file, as it would be uploaded together.
"""

from __future__ import annotations

import re
from pathlib import Path

from engine.errors import Problem
from engine.errors import WorkflowDefinitionError
from engine.execution import catalog
from engine.execution import uploads

DEFINED = re.compile(r'<(?:\w+:)?(?:process|decision)\b[^>]*\bid="([^"]+)"')
CALLED = re.compile(r'calledElement="([^"]+)"|decisionRef="([^"]+)"|calledDecisionId>([^<]+)<')


def upload_set(path: Path) -> list[Path]:
    """The file and the files in its folder that define what it calls and does not define."""
    text = path.read_text(encoding="utf-8", errors="replace")
    needed = {next(g for g in m if g) for m in CALLED.findall(text)} - set(DEFINED.findall(text))
    folder = path.parent.parent if path.parent.name == "dmn" else path.parent
    found: list[Path] = []
    for candidate in sorted(folder.rglob("*")):
        if candidate == path or candidate.suffix not in {".bpmn", ".dmn"}:
            continue
        defines = set(DEFINED.findall(candidate.read_text(encoding="utf-8", errors="replace")))
        if defines & needed:
            found.append(candidate)
            needed -= defines
    return [path, *found]


def refusals(path: Path) -> list[Problem]:
    """The errors (not warnings) the checker reports for the upload set of `path`."""
    files = [uploads.UploadedFile(p.name, p.read_bytes()) for p in upload_set(path)]
    try:
        bundles = uploads.bundles_from_files(files)
    except WorkflowDefinitionError as exc:
        return list(exc.problems)
    problems: list[Problem] = []
    for bundle in bundles:
        try:
            catalog.parse_bundle(bundle)
        except WorkflowDefinitionError as exc:
            problems += [p for p in exc.problems if not p.warning]
    return problems
