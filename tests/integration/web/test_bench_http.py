"""`xietong bench` drives the real app over HTTP on loopback and counts each request's SQL.

Timings are printed, never asserted; the counts and the shape of the report are.
"""

from __future__ import annotations

import argparse

from engine.commands import main as engine_cli
from web import bench_http
from web import cli


def _row(report: str, name: str) -> list[str]:
    [line] = [line for line in report.splitlines() if line.startswith(name + "  ")]
    return line[len(name) :].split()


def test_the_http_bench_reports_every_request_with_its_statements_and_commits() -> None:
    report = bench_http.run(database_url=None, rounds=10, clients=2)

    assert "complete one user task (commit)" in report  # the engine figures come first
    assert "HTTP (waitress on loopback, keep-alive, 2 client(s))" in report
    n, _median, _p95, _ratio, statements, begins, commits = _row(report, "read + submit")
    assert int(n) == 2 * 5  # one instance per client, five tasks each
    assert int(statements) - int(begins) <= 10 and commits == "1"
    assert _row(report, "read task")[-1] == "0"  # a read commits nothing
    whole = _row(report, "whole instance (5 tasks)")
    assert int(whole[0]) == 2 and whole[-3:] == ["-", "-", "-"]


def test_the_console_script_bench_takes_a_number_of_clients() -> None:
    args = cli_parser().parse_args(["bench", "--clients", "3", "--rounds", "7"])

    assert args.clients == 3 and args.rounds == 7 and args.handler is bench_http.run_bench


def cli_parser() -> argparse.ArgumentParser:
    return engine_cli.build_parser(extra_modules=(cli.serve, bench_http))
