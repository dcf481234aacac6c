"""Import of the registries (objects, items, inspectors) from CSV or XLSX files.

All or nothing: every cell of every row is checked first, and any problem rejects the
whole file with one `row N, column NAME: problem` line per bad cell (the header is row
1; CSV rows are counted as records). Rows of an accepted file are upserted.

Columns (header names, any order, no others):
- objects: credit_code, name, township (Chinese name, e.g. 英吉沙镇), industry,
  risk_grade (low|medium|high), credit_grade (A|B|C|D)
- items: agency_code (an existing organization), item_code, name, legal_basis,
  method (site|written|remote), field (enforcement field), version
- inspectors: username (an existing user), certificate_no, fields (`;`-separated),
  valid_until (YYYY-MM-DD), conflicts (`;`-separated credit codes, may be empty)
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from pathlib import Path
from zipfile import BadZipFile

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.models import Certificate
from engine.models import Organization
from engine.models import User
from engine.planning.credit_code import credit_code_problem
from engine.planning.registry_apply import APPLIERS
from engine.planning.registry_apply import split_list
from engine.planning.townships import TOWNSHIP_CODE_BY_NAME

Row = dict[str, str]
Checker = Callable[[str], str | None]


class ImportRejected(EngineError):
    """A registry file had bad cells; nothing was imported. `problems` lists each one."""

    code = "import_rejected"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"import rejected, {len(problems)} problem(s): " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ImportResult:
    kind: str
    created: int
    updated: int

    @property
    def count(self) -> int:
        return self.created + self.updated


COLUMNS: dict[str, tuple[str, ...]] = {
    "objects": ("credit_code", "name", "township", "industry", "risk_grade", "credit_grade"),
    "items": ("agency_code", "item_code", "name", "legal_basis", "method", "field", "version"),
    "inspectors": ("username", "certificate_no", "fields", "valid_until", "conflicts"),
}

# Columns whose combined values must be unique inside one file; the problem is reported
# on the first column of the key.
UNIQUE_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "objects": (("credit_code",),),
    "items": (("item_code", "agency_code", "version"),),
    "inspectors": (("username",), ("certificate_no",)),
}


def import_registry(session: Session, kind: str, path: Path | str) -> ImportResult:
    """Check a whole registry file, then upsert its rows (flush only).

    Raises:
        ImportRejected: with one `row N, column NAME: problem` line per bad cell.
    """
    if kind not in COLUMNS:
        raise ImportRejected([f"unknown registry kind {kind!r}"])
    header, records = read_table(Path(path))
    problems = _header_problems(header, COLUMNS[kind])
    if problems:
        raise ImportRejected(problems)
    rows = [(number, dict(zip(header, values, strict=False))) for number, values in records]
    problems = _row_problems(session, kind, rows)
    if problems:
        raise ImportRejected(problems)
    created, updated = APPLIERS[kind](session, [row for _number, row in rows])
    session.flush()
    return ImportResult(kind=kind, created=created, updated=updated)


def read_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and numbered non-blank rows of a .csv (UTF-8) or .xlsx file."""
    table = _read_xlsx(path) if path.suffix.lower() == ".xlsx" else _read_csv(path)
    if not table:
        raise ImportRejected(["row 1, column -: the file is empty"])
    header = [cell.strip() for cell in table[0][1]]
    body = [(number, [c.strip() for c in cells]) for number, cells in table[1:] if any(cells)]
    return header, body


def _read_csv(path: Path) -> list[tuple[int, list[str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [(i, row) for i, row in enumerate(csv.reader(handle), start=1)]
    except UnicodeDecodeError as exc:
        raise ImportRejected(["row 1, column -: the file is not UTF-8 text"]) from exc


def _read_xlsx(path: Path) -> list[tuple[int, list[str]]]:
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError) as exc:
        raise ImportRejected(["row 1, column -: not a readable XLSX workbook"]) from exc
    try:
        sheet = workbook.worksheets[0]
        return [
            (i, [_cell_text(value) for value in row])
            for i, row in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _header_problems(header: list[str], expected: tuple[str, ...]) -> list[str]:
    problems = [f"row 1, column {name}: missing column" for name in expected if name not in header]
    problems += [f"row 1, column {name}: unknown column" for name in header if name not in expected]
    problems += [
        f"row 1, column {name}: repeated column"
        for i, name in enumerate(header)
        if name in header[:i]
    ]
    return problems


def _row_problems(session: Session, kind: str, rows: list[tuple[int, Row]]) -> list[str]:
    checkers = _checkers(session, kind)
    problems: list[str] = []
    seen: dict[tuple[str, ...], int] = {}
    for number, row in rows:
        for column in COLUMNS[kind]:
            problem = checkers[column](row.get(column, ""))
            if problem:
                problems.append(f"row {number}, column {column}: {problem}")
        problems += _duplicate_problems(kind, number, row, seen)
        if kind == "inspectors":
            problems += _certificate_owner_problems(session, number, row)
    return problems


def _duplicate_problems(
    kind: str, number: int, row: Row, seen: dict[tuple[str, ...], int]
) -> list[str]:
    problems = []
    for columns in UNIQUE_KEYS[kind]:
        key = (columns[0], *(row.get(c, "") for c in columns))
        if not key[1]:
            continue
        if key in seen:
            problems.append(f"row {number}, column {columns[0]}: duplicate of row {seen[key]}")
        else:
            seen[key] = number
    return problems


def _certificate_owner_problems(session: Session, number: int, row: Row) -> list[str]:
    owner = session.scalar(
        select(User.username)
        .join(Certificate, Certificate.user_id == User.id)
        .where(Certificate.number == row.get("certificate_no", ""))
    )
    if owner is not None and owner != row.get("username"):
        return [f"row {number}, column certificate_no: belongs to user {owner}"]
    return []


def _checkers(session: Session, kind: str) -> Mapping[str, Checker]:
    if kind == "objects":
        return {
            "credit_code": lambda v: _required(v) or credit_code_problem(v),
            "name": _text(300),
            "township": lambda v: _required(v) or _member(v, TOWNSHIP_CODE_BY_NAME, "township"),
            "industry": _text(60),
            "risk_grade": _choice("low", "medium", "high"),
            "credit_grade": _choice("A", "B", "C", "D"),
        }
    if kind == "items":
        agencies = set(session.scalars(select(Organization.code)))
        return {
            "agency_code": lambda v: _required(v) or _member(v, agencies, "organization"),
            "item_code": _text(60),
            "name": _text(300),
            "legal_basis": _text(4000),
            "method": _choice("site", "written", "remote"),
            "field": _text(60),
            "version": _text(20),
        }
    users = set(session.scalars(select(User.username)))
    return {
        "username": lambda v: _required(v) or _member(v, users, "user"),
        "certificate_no": _text(60),
        "fields": lambda v: _required(v) or _list_problem(v, _text(60)),
        "valid_until": lambda v: _required(v) or _date_problem(v),
        "conflicts": lambda v: _list_problem(v, credit_code_problem) if v else None,
    }


def _required(value: str) -> str | None:
    return None if value else "is empty"


def _text(max_length: int) -> Checker:
    def check(value: str) -> str | None:
        if not value:
            return "is empty"
        if len(value) > max_length:
            return f"longer than {max_length} characters"
        return None

    return check


def _choice(*options: str) -> Checker:
    def check(value: str) -> str | None:
        if value in options:
            return None
        return f"{value!r} is not one of {', '.join(options)}"

    return check


def _member(value: str, known: Mapping[str, object] | set[str], what: str) -> str | None:
    return None if value in known else f"unknown {what} {value!r}"


def _list_problem(value: str, check: Checker) -> str | None:
    for part in split_list(value):
        problem = check(part)
        if problem:
            return f"{part!r}: {problem}"
    return None if split_list(value) else "is empty"


def _date_problem(value: str) -> str | None:
    try:
        date.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not a date (YYYY-MM-DD)"
    return None
