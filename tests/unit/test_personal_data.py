"""Misconduct clues stay confidential: no ordinary process's form collects an official's data.

A public official's name, unit, post or conduct may be collected only by a confidential process
(监察法 Art. 18): a field carrying `x-xietong-personal: "official"`, or whose key or title looks
like one, is a deploy problem anywhere else (engine.execution.personal_data, checks.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.execution import catalog
from engine.execution.personal_data import official_fields
from engine.execution.personal_data import unmarked_official_fields

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
FOLDERS = catalog.process_folders(WORKFLOWS)


def _manifest(folder: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((folder / "process.json").read_text(encoding="utf-8"))
    return manifest


def _forms(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((folder / "forms").glob("*.json"))
    }


ORDINARY = [f for f in FOLDERS if not _manifest(f).get("confidential")]


def test_every_process_but_the_referral_is_ordinary() -> None:
    assert sorted(f.name for f in ORDINARY) == sorted(
        f.name for f in FOLDERS if f.name != "discipline_referral"
    )
    assert len(ORDINARY) == len(FOLDERS) - 1


@pytest.mark.parametrize("folder", ORDINARY, ids=lambda f: f.name)
def test_no_form_of_a_non_confidential_process_collects_an_officials_data(folder: Path) -> None:
    found = {form_id: official_fields(schema) for form_id, schema in _forms(folder).items()}
    assert {form_id: hits for form_id, hits in found.items() if hits} == {}


def test_the_confidential_referral_marks_every_field_of_the_official() -> None:
    confidential = [f for f in FOLDERS if _manifest(f).get("confidential")]
    assert [f.name for f in confidential] == ["discipline_referral"]
    forms = _forms(confidential[0])
    assert {form_id: unmarked_official_fields(s) for form_id, s in forms.items()} == {
        form_id: [] for form_id in forms
    }
    marked = [path for path, _reason in official_fields(forms["register_clue"])]
    assert marked == ["conduct_type", "person_name", "person_post", "person_unit", "summary"]


def test_every_process_folder_deploys_without_personal_data_problems() -> None:
    assert [p for p in catalog.check_paths(FOLDERS) if not p.warning] == []


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(WORKFLOWS / name, target)
    return target


def _write_form(folder: Path, form_id: str, schema: dict[str, Any]) -> None:
    text = json.dumps(schema, ensure_ascii=False, indent=2)
    (folder / "forms" / f"{form_id}.json").write_text(text, encoding="utf-8")


def test_the_old_crime_suspicion_form_with_the_officials_name_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "criminal_transfer")
    schema = _forms(folder)["record_crime_suspicion"]
    schema["properties"]["official_person_name"] = {"type": "string", "title": "姓名"}
    schema["properties"]["note"] = {"type": "string", "title": "涉及公职人员工作单位"}
    _write_form(folder, "record_crime_suspicion", schema)
    problems = catalog.check_paths([folder])
    assert [(Path(p.file).name, p.element, p.message.split(":")[0]) for p in problems] == [
        ("record_crime_suspicion.json", "record_crime_suspicion", "note"),
        ("record_crime_suspicion.json", "record_crime_suspicion", "official_person_name"),
    ]
    assert all("confidential process" in p.message for p in problems)


def test_an_unmarked_official_field_in_the_confidential_referral_is_refused(
    tmp_path: Path,
) -> None:
    folder = _copy(tmp_path, "discipline_referral")
    schema = _forms(folder)["register_clue"]
    del schema["properties"]["person_post"]["x-xietong-personal"]
    _write_form(folder, "register_clue", schema)
    [problem] = catalog.check_paths([folder])
    assert (problem.element, problem.message) == (
        "register_clue",
        "person_post: mark it x-xietong-personal: official",
    )


@pytest.mark.parametrize(
    ("prop", "found"),
    [
        ({"type": "string", "title": "姓名", "x-xietong-personal": "official"}, True),
        ({"type": "string", "title": "涉及人员职务"}, True),
        ({"type": "string", "title": "违纪情况"}, True),
        ({"type": "boolean", "title": "是否发现需移送纪检监察机关的问题线索"}, False),
        ({"type": "string", "title": "当事人名称或姓名"}, False),
    ],
)
def test_fields_are_found_by_mark_or_title(prop: dict[str, Any], found: bool) -> None:
    schema = {"type": "object", "properties": {"field": prop}}
    assert bool(official_fields(schema)) is found


@pytest.mark.parametrize(
    "key", ["official_person_name", "person_unit", "person_post", "conduct_type"]
)
def test_fields_are_found_by_key_even_inside_lists_and_conditions(key: str) -> None:
    item = {"type": "object", "properties": {key: {"type": "string", "title": "x"}}}
    in_list = {"properties": {"people": {"type": "array", "items": item}}}
    in_condition = {"allOf": [{"if": {}, "then": item}]}
    assert [p for p, _r in official_fields(in_list)] == [f"people.{key}"]
    assert [p for p, _r in official_fields(in_condition)] == [key]
