"""CLI: `deadline START RULE` computes a due moment; `calendar ...` edits the overrides.

`calendar list|add|remove` lists and edits single days.

`calendar import FILE` enters a whole holiday notice: FILE.json holds year, region, 文号,
holidays and make-up days; FILE.csv holds `kind,name,start,end` rows and takes --year,
--region and --notice-no (shapes in engine/deadlines/notice_formats.py). Every change
recomputes the deadlines of the open tasks it may move.

`deadline` reads the calendar from the database when it is reachable and has the
`calendar_override` table; otherwise (or with --no-db) it uses the chinese_calendar package
plus the Xinjiang holidays shipped in engine/deadlines/data/xinjiang_holidays.json, and says
so on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC
from datetime import date
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine.commands.support import cli_settings
from engine.commands.support import session_scope
from engine.deadlines.calendar import NATIONAL
from engine.deadlines.calendar import OverrideKind
from engine.deadlines.calendar import WorkCalendar
from engine.deadlines.calendar import add_override
from engine.deadlines.calendar import default_calendar
from engine.deadlines.calendar import list_overrides
from engine.deadlines.calendar import load_calendar
from engine.deadlines.calendar import remove_override
from engine.deadlines.notice_formats import parse_notice_csv
from engine.deadlines.notice_formats import parse_notice_json
from engine.deadlines.notices import InvalidNotice
from engine.deadlines.notices import Notice
from engine.deadlines.notices import import_notice
from engine.deadlines.rules import LEGAL_TZ
from engine.deadlines.rules import compute_deadline
from engine.deadlines.rules import parse_rule
from engine.errors import EngineError
from engine.monitoring.recompute import recompute_open_deadlines

logger = logging.getLogger(__name__)

CLI_ACTOR = "cli"


def register(sub: Any) -> None:
    """Add the `deadline` and `calendar` commands to the `xietong` sub-parsers."""
    deadline = sub.add_parser("deadline", help="compute a statutory deadline")
    deadline.add_argument("start", help="trigger moment, ISO 8601; no offset means Beijing time")
    deadline.add_argument("rule", help="period such as 3wd, 15cd, 24h or 6mo")
    deadline.add_argument("--json", action="store_true", help="print due, skipped, warnings")
    deadline.add_argument(
        "--no-db", action="store_true", help="ignore the database's calendar overrides"
    )
    deadline.set_defaults(handler=run_deadline)

    calendar = sub.add_parser("calendar", help="holiday and make-up working day overrides")
    actions = calendar.add_subparsers(dest="calendar_command", required=True)
    listing = actions.add_parser("list", help="list overrides")
    listing.add_argument("--year", type=int)
    listing.set_defaults(handler=run_calendar_list)
    adding = actions.add_parser("add", help="add an override")
    adding.add_argument("date", type=date.fromisoformat)
    adding.add_argument("--kind", required=True, choices=[k.value for k in OverrideKind])
    adding.add_argument("--name", required=True, help="Chinese name, e.g. 肉孜节")
    adding.add_argument("--region", default=NATIONAL, help="national (default) or xinjiang")
    adding.set_defaults(handler=run_calendar_add)
    removing = actions.add_parser("remove", help="remove an override")
    removing.add_argument("date", type=date.fromisoformat)
    removing.add_argument("--region", default=NATIONAL)
    removing.set_defaults(handler=run_calendar_remove)
    importing = actions.add_parser("import", help="import a year's holiday notice (JSON or CSV)")
    importing.add_argument("file", type=Path)
    importing.add_argument("--year", help="CSV only: the notice's year")
    importing.add_argument("--region", default=NATIONAL, help="CSV only: national or xinjiang")
    importing.add_argument("--notice-no", default="", help="CSV only: the notice's 文号")
    importing.set_defaults(handler=run_calendar_import)


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")


def parse_start(text: str) -> datetime:
    """ISO 8601 moment; without an offset it is Beijing time.

    Raises:
        ValueError: not ISO 8601.
    """
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=LEGAL_TZ)
    return moment


def _cli_calendar(no_db: bool) -> WorkCalendar:
    if no_db:
        return default_calendar()
    try:
        with session_scope() as session:
            return load_calendar(session)
    except SQLAlchemyError as exc:
        logger.debug("calendar overrides unavailable", exc_info=exc)
        _err("database calendar unavailable; using package data and shipped Xinjiang holidays")
        return default_calendar()


def run_deadline(args: argparse.Namespace) -> int:
    """Print the due moment (+08:00) and the skipped days, or the JSON summary."""
    try:
        start = parse_start(args.start)
        rule = parse_rule(args.rule)
    except ValueError as exc:
        _err(f"error: {exc}")
        return 2
    deadline = compute_deadline(start, rule, _cli_calendar(args.no_db))
    explained = deadline.to_dict()
    if args.json:
        summary = {k: explained[k] for k in ("due", "skipped", "warnings")}
        _out(json.dumps(summary, ensure_ascii=False))
        return 0
    _out(explained["due"])
    for item in explained["skipped"]:
        _out(f"{item['date']} {item['reason']}")
    for warning in explained["warnings"]:
        _err(f"warning: {warning}")
    return 0


def run_calendar_list(args: argparse.Namespace) -> int:
    """One override per line: date, kind, region, name."""
    with session_scope() as session:
        for row in list_overrides(session, args.year):
            _out(f"{row.day.isoformat()} {row.kind} {row.region} {row.name}")
    return 0


def _recompute(session: Session, changed: set[date]) -> None:
    moved = recompute_open_deadlines(
        session, settings=cli_settings(), now=datetime.now(UTC), changed_days=changed
    )
    if moved:
        _out(f"recomputed the deadlines of {len(moved)} open tasks")


def run_calendar_add(args: argparse.Namespace) -> int:
    try:
        with session_scope() as session:
            add_override(
                session,
                day=args.date,
                kind=args.kind,
                name=args.name,
                region=args.region,
                actor=CLI_ACTOR,
            )
            _recompute(session, {args.date})
    except EngineError as exc:
        _err(f"error: {exc.message}")
        return 1
    _out(f"added {args.date.isoformat()} {args.kind} {args.region} {args.name}")
    return 0


def run_calendar_remove(args: argparse.Namespace) -> int:
    try:
        with session_scope() as session:
            remove_override(session, day=args.date, region=args.region, actor=CLI_ACTOR)
            _recompute(session, {args.date})
    except EngineError as exc:
        _err(f"error: {exc.message}")
        return 1
    _out(f"removed {args.date.isoformat()} {args.region}")
    return 0


def _read_notice(args: argparse.Namespace) -> Notice:
    """Raises: InvalidNotice, OSError."""
    text = args.file.read_text(encoding="utf-8")
    if args.file.suffix.lower() == ".json":
        return parse_notice_json(text)
    return parse_notice_csv(text, year=args.year, region=args.region, notice_no=args.notice_no)


def run_calendar_import(args: argparse.Namespace) -> int:
    """Replace a year's overrides of one region with the notice in FILE."""
    try:
        notice = _read_notice(args)
    except (OSError, UnicodeDecodeError) as exc:
        _err(f"error: cannot read {args.file}: {exc}")
        return 2
    except InvalidNotice as exc:
        for problem in exc.problems:
            _err(f"error: {problem}")
        return 1
    with session_scope() as session:
        changed = import_notice(session, notice, actor=CLI_ACTOR)
        _recompute(session, changed)
    _out(
        f"imported {notice.year} {notice.region} {notice.notice_no}: "
        f"{len(notice.days)} dates, {len(changed)} changed"
    )
    return 0
