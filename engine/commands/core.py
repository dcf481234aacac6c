"""Core commands: database, workflows, scheduler, benchmark."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import SQLAlchemyError

from engine import migrate
from engine.cases import instances
from engine.commands import scheduler_health as health
from engine.commands.support import cli_settings
from engine.commands.support import session_scope
from engine.deadlines import shipped
from engine.errors import EngineError
from engine.errors import WorkflowDefinitionError
from engine.execution import catalog
from engine.execution import processes
from engine.monitoring import lease
from engine.monitoring.recompute import recompute_open_deadlines


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="apply Alembic migrations").set_defaults(handler=db_upgrade)

    workflows = sub.add_parser("workflows", help="process definitions").add_subparsers(
        dest="workflows_command", required=True
    )
    check = workflows.add_parser("check", help="validate BPMN folders or files")
    check.add_argument("paths", nargs="+", type=Path)
    check.set_defaults(handler=workflows_check)
    deploy = workflows.add_parser("deploy", help="deploy process folders (default: workflows/)")
    deploy.add_argument("paths", nargs="*", type=Path)
    deploy.set_defaults(handler=workflows_deploy)

    instance = sub.add_parser("instance", help="process instances").add_subparsers(
        dest="instance_command", required=True
    )
    retry = instance.add_parser("retry", help="retry a failed instance from its failed step")
    retry.add_argument("instance_id", type=int)
    retry.add_argument("--data", default="{}", help="JSON object merged into the failed step")
    retry.set_defaults(handler=instance_retry)

    scheduler = sub.add_parser("scheduler", help="run the scheduler process (leader-elected)")
    scheduler.add_argument(
        "--health",
        action="store_true",
        help="say who leads and when each job last ran (exit 1 without a leader or when late)",
    )
    scheduler.set_defaults(handler=run_scheduler)

    bench = sub.add_parser("bench", help="benchmark engine steps with real commits")
    bench.add_argument("--database-url", help="benchmark this database instead of a temp SQLite")
    bench.add_argument("--rounds", type=int, default=200)
    bench.add_argument(
        "--scale",
        type=int,
        help="seed this many instances (PostgreSQL) and time pages and scheduler jobs",
    )
    bench.add_argument("--page-rounds", type=int, default=30, help="requests per page (--scale)")
    bench.set_defaults(handler=run_bench)


def db_upgrade(args: argparse.Namespace) -> int:
    """Migrate the schema, then bring in the shipped Xinjiang holidays and recompute deadlines."""
    settings = cli_settings()
    migrate.upgrade(settings)
    with session_scope() as session:
        changed = shipped.sync_shipped_overrides(session)
        moved = recompute_open_deadlines(
            session, settings=settings, now=datetime.now(UTC), changed_days=changed
        )
    sys.stdout.write("database is up to date\n")
    sys.stdout.write(f"shipped holiday data: {len(changed)} dates changed\n")
    if moved:
        sys.stdout.write(f"recomputed the deadlines of {len(moved)} open tasks\n")
    return 0


def _expand(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir() and not any(path.glob("*.bpmn")):
            found.extend(catalog.process_folders(path))
        else:
            found.append(path)
    return found


def workflows_check(args: argparse.Namespace) -> int:
    problems = catalog.check_paths(_expand(args.paths))
    for problem in problems:
        sys.stdout.write(f"{problem}\n")
    return 1 if any(not p.warning for p in problems) else 0


def workflows_deploy(args: argparse.Namespace) -> int:
    paths = args.paths or [cli_settings().workflows_dir]
    try:
        with session_scope() as session:
            results = processes.deploy_folders(session, paths, actor="cli")
            for definition, created in results:
                state = "deployed" if created else "unchanged"
                sys.stdout.write(f"{definition.process_id} version {definition.version} {state}\n")
    except WorkflowDefinitionError as exc:
        for problem in exc.problems:
            sys.stdout.write(f"{problem}\n")
        return 1
    return 0


def instance_retry(args: argparse.Namespace) -> int:
    try:
        patch = json.loads(args.data)
    except json.JSONDecodeError as exc:
        sys.stderr.write(f"--data is not JSON: {exc.msg}\n")
        return 2
    if not isinstance(patch, dict):
        sys.stderr.write("--data must be a JSON object\n")
        return 2
    try:
        with session_scope() as session:
            instance = instances.retry_instance(
                session, instance_id=args.instance_id, data_patch=patch, actor="cli"
            )
            sys.stdout.write(f"instance {instance.id} is {instance.status}\n")
    except EngineError as exc:
        sys.stderr.write(f"{exc.message}\n")
        return 1
    return 0


def run_scheduler(args: argparse.Namespace) -> int:
    if args.health:
        return scheduler_health()
    from engine.monitoring import scheduler
    from engine.monitoring.election import SchedulerSettingsError

    try:
        return scheduler.run_forever(cli_settings())
    except SchedulerSettingsError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2


def scheduler_health() -> int:
    try:
        with session_scope() as session:
            lines, healthy = health.report(session, now=lease.database_now(session))
    except SQLAlchemyError as exc:
        reason = str(exc.orig) if isinstance(exc, DBAPIError) else str(exc)
        sys.stderr.write(f"cannot read the scheduler state: {reason} (run `xietong db upgrade`?)\n")
        return 1
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0 if healthy else 1


def run_bench(args: argparse.Namespace) -> int:
    from engine.commands import bench

    if args.scale:
        # The web layer lends this runner (engine.demo.scale_bench with its page timer).
        scale_bench = getattr(args, "scale_bench", None)
        if scale_bench is None:
            sys.stderr.write("bench --scale runs only through the xietong console script\n")
            return 2
        report: str = scale_bench(
            database_url=args.database_url, scale=args.scale, rounds=args.page_rounds
        )
        sys.stdout.write(report)
        return 0 if report.startswith("xietong bench") else 2
    sys.stdout.write(bench.run(database_url=args.database_url, rounds=args.rounds))
    return 0
