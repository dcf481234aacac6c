"""The `xietong` command line: argparse with one module per command group."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping
from collections.abc import Sequence
from types import ModuleType

from engine.commands import accounts
from engine.commands import audit
from engine.commands import core
from engine.commands import deadline
from engine.commands import planning

COMMAND_MODULES = (core, deadline, accounts, planning, audit)


def build_parser(
    extra_modules: Sequence[ModuleType] = (), services: Mapping[str, object] | None = None
) -> argparse.ArgumentParser:
    """The parser with every engine command group plus `extra_modules` (e.g. the web server).

    `services` become attributes of the parsed arguments: what the web layer lends engine
    commands without the engine importing it (the page timer of `bench --scale`).
    """
    parser = argparse.ArgumentParser(prog="xietong", description="Xietong workflow platform")
    parser.set_defaults(**(services or {}))
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (*COMMAND_MODULES, *extra_modules):
        module.register(sub)
    return parser


# Libraries that log every poll or task state change at INFO: quiet unless --verbose.
CHATTY_LOGGERS = ("apscheduler", "spiff", "SpiffWorkflow")


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)


def main(
    argv: Sequence[str] | None = None,
    extra_modules: Sequence[ModuleType] = (),
    services: Mapping[str, object] | None = None,
) -> int:
    """Run one command; returns the exit code. The console script adds the web commands."""
    parser = build_parser(extra_modules, services)
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
