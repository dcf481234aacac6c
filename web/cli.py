"""The `xietong` console script: engine commands plus `serve` and `demo`, which need the web app."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine.cli import build_parser
from engine.cli import configure_logging
from web.serve import register


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    register(subparsers)
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
