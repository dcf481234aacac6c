"""The `xietong` console script: engine commands plus `serve`, `demo` and the HTTP half of
`bench`, which need the web app."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from engine.commands import main as cli
from web import bench_http
from web import bench_pages
from web import serve


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    return cli.main(
        argv,
        extra_modules=(serve, bench_http),
        services={"scale_bench": bench_pages.run_scale_bench},
    )


if __name__ == "__main__":
    sys.exit(main())
