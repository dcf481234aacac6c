"""Uploaded models: one or several .bpmn/.dmn files, or a zip of them, as one deployment.

Every executable process found in the files becomes a bundle holding all the files, so a
call activity resolves across files and a business rule task finds its DMN. A zip is read
with bounds (entries, sizes, compression ratio) before anything is decompressed whole, and
only its .bpmn and .dmn members count; names are reduced to their last path part.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from lxml import etree

from engine.errors import Problem
from engine.errors import WorkflowDefinitionError
from engine.execution.bundles import BPMN_NS
from engine.execution.bundles import SAFE_XML
from engine.execution.bundles import ProcessBundle

MODEL_SUFFIXES = (".bpmn", ".dmn")
MAX_FILES = 100
MAX_TOTAL_BYTES = 20 * 1024 * 1024
MAX_RATIO = 100  # uncompressed / compressed size of one zip member


@dataclass(frozen=True)
class UploadedFile:
    """One uploaded file: its name as the user gave it and its bytes."""

    name: str
    data: bytes


def files_from_zip(archive: UploadedFile) -> list[UploadedFile]:
    """The .bpmn and .dmn members of a zip, bounded against zip bombs.

    Raises:
        WorkflowDefinitionError: not a zip, too many or too large members, a member that
            compresses suspiciously well, or two members with the same name.
    """
    try:
        zipped = zipfile.ZipFile(io.BytesIO(archive.data))
    except zipfile.BadZipFile as exc:
        raise _refused(archive.name, "not a zip archive") from exc
    members = [m for m in zipped.infolist() if not m.is_dir() and _is_model(m.filename)]
    if len(members) > MAX_FILES:
        raise _refused(archive.name, f"more than {MAX_FILES} model files")
    if sum(m.file_size for m in members) > MAX_TOTAL_BYTES:
        raise _refused(archive.name, f"models larger than {MAX_TOTAL_BYTES // 2**20} MB in all")
    files = []
    for member in members:
        if member.compress_size and member.file_size / member.compress_size > MAX_RATIO:
            raise _refused(archive.name, f"{member.filename}: compression ratio too high")
        with zipped.open(member) as handle:
            data = handle.read(member.file_size + 1)
        if len(data) != member.file_size:
            raise _refused(archive.name, f"{member.filename}: size does not match the header")
        files.append(UploadedFile(PurePosixPath(member.filename).name, data))
    return files


def bundles_from_files(files: Sequence[UploadedFile]) -> list[ProcessBundle]:
    """One bundle per executable process of the uploaded files; each bundle holds all files.

    Raises:
        WorkflowDefinitionError: no model file, duplicate names, a file that is not UTF-8 or
            not well-formed XML, or no executable process in any file.
    """
    texts = _texts(files)
    process_ids: list[str] = []
    for name, text in texts.items():
        if name.lower().endswith(".bpmn"):
            process_ids.extend(_executable_processes(name, text))
    if not process_ids:
        names = ", ".join(texts)
        raise WorkflowDefinitionError([Problem(names, None, None, "no executable bpmn:process")])
    return [
        ProcessBundle(
            process_id=process_id,
            files=dict(texts),
            manifest={"title": title or process_id, "start_roles": []},
            strict=False,
        )
        for process_id, title in _titles(texts, process_ids)
    ]


def _texts(files: Sequence[UploadedFile]) -> dict[str, str]:
    texts: dict[str, str] = {}
    problems: list[Problem] = []
    for upload in files:
        name = PurePosixPath(upload.name.replace("\\", "/")).name
        if not _is_model(name):
            problems.append(Problem(name or "?", None, None, "not a .bpmn or .dmn file"))
        elif name in texts:
            problems.append(Problem(name, None, None, "two uploaded files have this name"))
        else:
            try:
                texts[name] = upload.data.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(Problem(name, None, None, "the file is not UTF-8"))
    if problems:
        raise WorkflowDefinitionError(problems)
    if not texts:
        raise WorkflowDefinitionError([Problem("?", None, None, "no .bpmn or .dmn file uploaded")])
    return texts


def _executable_processes(name: str, text: str) -> list[str]:
    try:
        root = etree.fromstring(text.encode("utf-8"), SAFE_XML)
    except etree.XMLSyntaxError as exc:
        raise WorkflowDefinitionError([Problem(name, exc.lineno, None, exc.msg)]) from exc
    return [
        str(p.get("id"))
        for p in root.iter(f"{{{BPMN_NS}}}process")
        if p.get("id") and p.get("isExecutable", "true") == "true"
    ]


def _titles(texts: dict[str, str], process_ids: list[str]) -> list[tuple[str, str]]:
    titles: dict[str, str] = {}
    for name, text in texts.items():
        if not name.lower().endswith(".bpmn"):
            continue
        for process in etree.fromstring(text.encode("utf-8"), SAFE_XML).iter(
            f"{{{BPMN_NS}}}process"
        ):
            titles.setdefault(str(process.get("id")), process.get("name") or "")
    seen: set[str] = set()
    ordered = []
    for process_id in process_ids:
        if process_id not in seen:
            seen.add(process_id)
            ordered.append((process_id, titles.get(process_id, "")))
    return ordered


def _is_model(name: str) -> bool:
    return name.lower().endswith(MODEL_SUFFIXES)


def _refused(name: str, message: str) -> WorkflowDefinitionError:
    return WorkflowDefinitionError([Problem(name, None, None, message)])
