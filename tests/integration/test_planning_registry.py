"""Registry import (CSV and XLSX): all or nothing, with row/column problem lines."""

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.commands import planning as planning_commands
from engine.models import Certificate
from engine.models import Organization
from engine.models import User
from engine.planning.credit_code import check_character
from engine.planning.models import InspectionItem
from engine.planning.models import InspectionObject
from engine.planning.models import InspectorConflict
from engine.planning.registry import ImportRejected
from engine.planning.registry import import_registry


def credit(n: int) -> str:
    first17 = f"91653123MA{n:06d}0"
    return first17 + check_character(first17)


def count(session: Session, table: type) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


OBJECT_HEADER = "credit_code,name,township,industry,risk_grade,credit_grade"


def test_objects_csv_is_imported_with_township_codes(session: Session, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "objects.csv",
        [
            OBJECT_HEADER,
            f"{credit(1)},英吉沙县丝路餐厅,英吉沙镇,餐饮,medium,B",
            f"{credit(2)},英吉沙县天山超市,乌恰镇,食品销售,low,A",
        ],
    )
    result = import_registry(session, "objects", path)
    assert (result.created, result.updated, result.count) == (2, 0, 2)
    obj = session.get(InspectionObject, credit(2))
    assert obj is not None
    assert obj.township_code == "TWP-WUQIA"
    assert obj.credit_grade == "A"


def test_bad_objects_file_imports_nothing_and_names_each_bad_cell(
    session: Session, tmp_path: Path
) -> None:
    bad_check = credit(3)[:-1] + ("0" if credit(3)[-1] != "0" else "1")
    path = write_csv(
        tmp_path / "objects.csv",
        [
            OBJECT_HEADER,
            f"{credit(1)},英吉沙县丝路餐厅,英吉沙镇,餐饮,medium,B",
            f"{bad_check},英吉沙县天山超市,乌恰镇,食品销售,low,A",
            f"{credit(4)},,喀什市,餐饮,extreme,E",
            f"{credit(1)},英吉沙县重复餐厅,城关乡,餐饮,high,C",
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        import_registry(session, "objects", path)
    assert caught.value.problems == [
        f"row 3, column credit_code: check digit is {bad_check[-1]}, expected {credit(3)[-1]}",
        "row 4, column name: is empty",
        "row 4, column township: unknown township '喀什市'",
        "row 4, column risk_grade: 'extreme' is not one of low, medium, high",
        "row 4, column credit_grade: 'E' is not one of A, B, C, D",
        "row 5, column credit_code: duplicate of row 2",
    ]
    assert count(session, InspectionObject) == 0


def test_missing_and_unknown_columns_are_reported_on_row_1(
    session: Session, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "objects.csv",
        ["credit_code,name,township,industry,risk,credit_grade", f"{credit(1)},a,英吉沙镇,x,low,A"],
    )
    with pytest.raises(ImportRejected) as caught:
        import_registry(session, "objects", path)
    assert caught.value.problems == [
        "row 1, column risk_grade: missing column",
        "row 1, column risk: unknown column",
    ]


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_objects_xlsx_is_imported(session: Session, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "objects.xlsx",
        [
            OBJECT_HEADER.split(","),
            [credit(7), "英吉沙县昆仑药店", "城关乡", "药品零售", "high", "D"],
        ],
    )
    assert import_registry(session, "objects", path).count == 1
    obj = session.get(InspectionObject, credit(7))
    assert obj is not None
    assert obj.township_code == "TWP-CHENGGUAN"


def test_bad_xlsx_reports_rows_as_numbered_in_the_sheet(session: Session, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "objects.xlsx",
        [
            OBJECT_HEADER.split(","),
            [credit(7), "英吉沙县昆仑药店", "城关乡", "药品零售", "high", "D"],
            [None] * 6,
            ["91350100M000100Y4", "英吉沙县玉山宾馆", "龙甫乡", "公共场所", "low", "B"],
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        import_registry(session, "objects", path)
    assert caught.value.problems == ["row 4, column credit_code: must be 18 characters, got 17"]
    assert count(session, InspectionObject) == 0


ITEM_HEADER = "agency_code,item_code,name,legal_basis,method,field,version"


def add_org(session: Session, code: str, type_: str = "agency") -> None:
    session.add(Organization(code=code, type=type_, name=code))
    session.flush()


def test_items_import_checks_agency_method_and_duplicates(session: Session, tmp_path: Path) -> None:
    add_org(session, "YJS-SCJG")
    good = "YJS-SCJG,SCJG-001,食品经营检查,《中华人民共和国食品安全法》,site,market_regulation,1"
    path = write_csv(
        tmp_path / "items.csv",
        [
            ITEM_HEADER,
            good,
            "YJS-XX,X-1,检查,《条例》,site,f,1",
            "YJS-SCJG,SCJG-002,检查,《条例》,phone,f,1",
            good,
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        import_registry(session, "items", path)
    assert caught.value.problems == [
        "row 3, column agency_code: unknown organization 'YJS-XX'",
        "row 4, column method: 'phone' is not one of site, written, remote",
        "row 5, column item_code: duplicate of row 2",
    ]
    assert count(session, InspectionItem) == 0
    accepted = write_csv(tmp_path / "ok.csv", [ITEM_HEADER, good])
    assert import_registry(session, "items", accepted).created == 1


INSPECTOR_HEADER = "username,certificate_no,fields,valid_until,conflicts"


def add_user(session: Session, username: str, org: str = "YJS-SCJG") -> User:
    user = User(username=username, org_code=org, role="officer")
    session.add(user)
    session.flush()
    return user


def test_inspectors_import_creates_certificates_and_conflicts(
    session: Session, tmp_path: Path
) -> None:
    add_org(session, "YJS-SCJG")
    user = add_user(session, "zhang")
    path = write_csv(
        tmp_path / "inspectors.csv",
        [
            INSPECTOR_HEADER,
            f"zhang,65312300001,market_regulation;food,2027-06-30,{credit(1)};{credit(2)}",
        ],
    )
    assert import_registry(session, "inspectors", path).created == 1
    certificate = session.scalars(select(Certificate).filter_by(user_id=user.id)).one()
    assert certificate.fields == ["market_regulation", "food"]
    assert certificate.valid_until == date(2027, 6, 30)
    conflicts = session.scalars(select(InspectorConflict.credit_code).filter_by(user_id=user.id))
    assert sorted(conflicts) == sorted([credit(1), credit(2)])
    renewed = write_csv(
        tmp_path / "again.csv", [INSPECTOR_HEADER, "zhang,65312300001,food,2028-06-30,"]
    )
    assert import_registry(session, "inspectors", renewed).updated == 1
    assert session.scalars(select(InspectorConflict).filter_by(user_id=user.id)).all() == []


def test_bad_inspector_rows_are_rejected(session: Session, tmp_path: Path) -> None:
    add_org(session, "YJS-SCJG")
    add_user(session, "zhang")
    path = write_csv(
        tmp_path / "inspectors.csv",
        [
            INSPECTOR_HEADER,
            "nobody,N-1,food,2027-01-01,",
            "zhang,N-2,,2027-13-01,91350100M000100Y44",
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        import_registry(session, "inspectors", path)
    assert caught.value.problems == [
        "row 2, column username: unknown user 'nobody'",
        "row 3, column fields: is empty",
        "row 3, column valid_until: '2027-13-01' is not a date (YYYY-MM-DD)",
        "row 3, column conflicts: '91350100M000100Y44': check digit is 4, expected 3",
    ]
    assert count(session, Certificate) == 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    planning_commands.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_cli_import_prints_problems_and_exits_non_zero(
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    @contextmanager
    def scope() -> Iterator[Session]:
        yield session

    monkeypatch.setattr(planning_commands, "session_scope", scope)
    bad = write_csv(tmp_path / "bad.csv", [OBJECT_HEADER, f"{credit(1)},名称,英吉沙镇,餐饮,low,Z"])
    args = parse(["registry", "import", "objects", str(bad)])
    assert args.handler(args) == 1
    assert capsys.readouterr().err == "row 2, column credit_grade: 'Z' is not one of A, B, C, D\n"
    good = write_csv(
        tmp_path / "good.csv", [OBJECT_HEADER, f"{credit(1)},名称,英吉沙镇,餐饮,low,A"]
    )
    args = parse(["registry", "import", "objects", str(good)])
    assert args.handler(args) == 0
    assert "imported 1 objects" in capsys.readouterr().out
