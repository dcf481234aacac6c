"""`xietong audit verify [INSTANCE]`: check the audit log's hash chains (engine.audit)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine import audit
from engine.commands.support import session_scope


def register(sub: Any) -> None:
    """Add the `audit` command group to the CLI's subparsers."""
    group = sub.add_parser("audit", help="the audit log").add_subparsers(dest="audit_command")
    group.required = True
    verify = group.add_parser(
        "verify", help="check the hash chain of every instance (exit 1 at the first bad row)"
    )
    verify.add_argument("instance_id", nargs="?", type=int, help="only this instance")
    verify.set_defaults(handler=verify_command)


def verify_command(args: argparse.Namespace) -> int:
    with session_scope() as session:
        report = audit.verify(session, args.instance_id)
    if report.broken is not None:
        bad = report.broken
        sys.stdout.write(
            f"audit chain broken at audit_event {bad.event_id} "
            f"(instance {bad.instance_id}): {bad.reason}\n"
        )
        return 1
    sys.stdout.write(
        f"audit chain intact: {report.rows} row(s) of {report.instances} instance(s)\n"
    )
    return 0
