"""CLI commands of joint-inspection planning: registry import and draw verification.

xietong registry import objects|items|inspectors FILE
xietong draw verify RECORD_ID
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.commands.support import session_scope
from engine.errors import NotFound
from engine.planning.drawing import verify_draw
from engine.planning.registry import COLUMNS
from engine.planning.registry import ImportRejected
from engine.planning.registry import import_registry


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `registry` and `draw` command groups to the top-level subparsers."""
    registry = sub.add_parser("registry", help="inspection registries (一单两库)")
    registry_sub = registry.add_subparsers(dest="registry_command", required=True)
    importer = registry_sub.add_parser("import", help="import a CSV or XLSX registry file")
    importer.add_argument("kind", choices=sorted(COLUMNS))
    importer.add_argument("file", type=Path)
    importer.set_defaults(handler=import_command)

    draw = sub.add_parser("draw", help="random draws (双随机)")
    draw_sub = draw.add_subparsers(dest="draw_command", required=True)
    verify = draw_sub.add_parser("verify", help="replay a draw and compare with its record")
    verify.add_argument("record_id", type=int)
    verify.set_defaults(handler=verify_command)


def import_command(args: argparse.Namespace) -> int:
    """Import a whole file or nothing; prints one line per bad cell on rejection."""
    try:
        with session_scope() as session:
            result = import_registry(session, args.kind, args.file)
    except ImportRejected as exc:
        sys.stderr.writelines(f"{problem}\n" for problem in exc.problems)
        return 1
    except OSError as exc:
        sys.stderr.write(f"cannot read {args.file}: {exc.strerror or exc}\n")
        return 1
    sys.stdout.write(
        f"imported {result.count} {args.kind} ({result.created} new, {result.updated} updated)\n"
    )
    return 0


def verify_command(args: argparse.Namespace) -> int:
    """Exit 0 when the replay matches the stored result, 1 otherwise."""
    try:
        with session_scope() as session:
            outcome = verify_draw(session, args.record_id)
    except NotFound as exc:
        sys.stderr.write(f"{exc.message}\n")
        return 1
    if outcome.match:
        sys.stdout.write(f"draw {args.record_id}: match\n")
        return 0
    sys.stdout.write(f"draw {args.record_id}: mismatch\n")
    sys.stdout.writelines(f"- {reason}\n" for reason in outcome.reasons)
    return 1
