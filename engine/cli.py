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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
