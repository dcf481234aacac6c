"""Tables written to Excel (openpyxl write-only mode: memory stays bounded) and to CSV.

A table is a title, headers, widths and rows of plain values. Times are shown in Asia/Shanghai.
Text that a spreadsheet would read as a formula (starting with =, +, - or @) is written as
text: an xlsx string cell with a quote prefix, a CSV field prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from engine.deadlines.rules import LEGAL_TZ

Value = str | int | float | datetime | None
FORMULA_STARTS = ("=", "+", "-", "@")
TIME_FORMAT = "yyyy-mm-dd hh:mm"
MAX_SHEET_TITLE = 31


@dataclass(frozen=True)
class Table:
    """One sheet: `widths` in characters, one per header."""

    title: str
    headers: Sequence[str]
    widths: Sequence[int]
    rows: Iterable[Sequence[Value]]


def local_time(moment: datetime) -> datetime:
    """A naive Asia/Shanghai time (spreadsheets have no time zones)."""
    return moment.astimezone(LEGAL_TZ).replace(tzinfo=None)


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def _cell(sheet: WriteOnlyWorksheet, value: Value) -> WriteOnlyCell:
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=local_time(value))
        cell.number_format = TIME_FORMAT
        return cell
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and is_formula_like(value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def _write_table(workbook: Workbook, table: Table) -> None:
    sheet = workbook.create_sheet(table.title[:MAX_SHEET_TITLE])
    sheet.freeze_panes = "A2"
    for index, width in enumerate(table.widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header = []
    for text in table.headers:
        cell = _cell(sheet, text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        sheet.append([_cell(sheet, value) for value in row])


def write_xlsx(tables: Iterable[Table]) -> bytes:
    """An .xlsx workbook with one sheet per table, in order."""
    workbook = Workbook(write_only=True)
    for table in tables:
        _write_table(workbook, table)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv_value(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_time(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return str(value)


def write_csv(table: Table) -> bytes:
    """One table as CSV, UTF-8 with a byte-order mark (so spreadsheets read the Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_csv_value(text) for text in table.headers])
    for row in table.rows:
        writer.writerow([_csv_value(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
