"""The `xietong` command line: argparse with one module per command group."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from engine.commands import accounts
from engine.commands import core
from engine.commands import deadline
from engine.commands import planning

COMMAND_MODULES = (core, deadline, accounts, planning)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xietong", description="Xietong workflow platform")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the engine-only commands; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
