"""`xietong bench` over HTTP: the real WSGI app under waitress on loopback, as API clients see it.

The console script's `bench` runs the engine figures (engine.commands.bench), then serves the
app with waitress in a thread on a free loopback port and drives it with keep-alive
http.client connections, one per client thread: start, read task, submit, whole instance.
Statements and commits per request are counted by a SQLAlchemy listener on the app's engine,
each request alone. Every ratio is to the engine-only task completion.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from waitress.server import create_server

from engine.commands import bench as engine_bench
from engine.models import User
from engine.people.accounts import issue_api_token
from web import create_app

HOST = "127.0.0.1"
OPERATIONS = ("start", "read task", "submit", "read + submit", "whole instance (5 tasks)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `--clients` to the engine's `bench` command and run the HTTP figures after it."""
    parser = sub.choices["bench"]
    parser.add_argument(
        "--clients", type=int, default=1, help="concurrent HTTP clients (waitress threads)"
    )
    parser.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    clients = max(1, int(args.clients))
    sys.stdout.write(run(database_url=args.database_url, rounds=args.rounds, clients=clients))
    return 0


class Client:
    """One keep-alive connection sending one user's bearer token."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection(HOST, port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        payload = json.dumps(body).encode("utf-8") if body is not None else None
        self.connection.request(method, f"/api/v1{path}", body=payload, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path} answered {response.status}: {data[:300]!r}")
        return json.loads(data)

    def start(self) -> dict[str, Any]:
        started: dict[str, Any] = self.call(
            "POST", "/instances", {"process_id": engine_bench.PROCESS_ID}
        )
        return started

    def read(self, task_id: int) -> None:
        self.call("GET", f"/tasks/{task_id}")

    def submit(self, task_id: int) -> dict[str, Any]:
        done: dict[str, Any] = self.call(
            "POST", f"/tasks/{task_id}/complete", {"data": {"note": "x"}}
        )
        return done

    def close(self) -> None:
        self.connection.close()


def open_task(instance: dict[str, Any]) -> int | None:
    ids = [task["id"] for task in instance["tasks"] if task["state"] == "open"]
    return int(ids[0]) if ids else None


@dataclass
class Samples:
    by_operation: dict[str, list[float]] = field(
        default_factory=lambda: {name: [] for name in OPERATIONS}
    )

    def timed(self, name: str, started: float) -> None:
        self.by_operation[name].append(time.perf_counter() - started)


def _one_instance(client: Client, samples: Samples) -> None:
    """Start an instance, then read and submit each of its tasks, timing every request."""
    whole = time.perf_counter()
    started = time.perf_counter()
    instance = client.start()
    samples.timed("start", started)
    task_id = open_task(instance)
    while task_id is not None:
        started = time.perf_counter()
        client.read(task_id)
        samples.timed("read task", started)
        submitted = time.perf_counter()
        instance = client.submit(task_id)
        samples.timed("submit", submitted)
        samples.timed("read + submit", started)
        task_id = open_task(instance)
    samples.timed("whole instance (5 tasks)", whole)


@contextmanager
def served(bench: engine_bench.Bench, threads: int) -> Iterator[int]:
    """The app on a free loopback port, served by waitress in a thread; yields the port."""
    settings = dataclasses.replace(bench.settings, secret_key=secrets.token_urlsafe(32))
    app = create_app(settings, session_factory=bench.factory)
    server = create_server(app, host=HOST, port=0, threads=threads, ident="xietong-bench")
    thread = threading.Thread(target=server.run, name="bench-waitress", daemon=True)
    thread.start()
    try:
        yield int(server.effective_port)
    finally:
        server.task_dispatcher.shutdown(timeout=5)  # let the last answers finish first
        server.close()
        thread.join(timeout=5)


def _token(bench: engine_bench.Bench) -> str:
    with bench.factory.begin() as session:
        user = session.get(User, bench.user_id)
        assert user is not None  # noqa: S101 - created by the engine bench
        return issue_api_token(session, user, "bench")


def _drive(port: int, token: str, clients: int, instances_each: int) -> Samples:
    samples = Samples()
    errors: list[BaseException] = []

    def work() -> None:
        client = Client(port, token)
        try:
            for _ in range(instances_each):
                _one_instance(client, samples)
        except BaseException as exc:  # reported after the threads end
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=work, name=f"bench-client-{n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return samples


def _counts(bench: engine_bench.Bench, port: int, token: str) -> dict[str, dict[str, int]]:
    """Statements and commits of each request alone (one client, nothing else running)."""
    client = Client(port, token)
    counts: dict[str, dict[str, int]] = {}
    try:
        with engine_bench.counting(bench.engine) as seen:
            instance = client.start()
        counts["start"] = dict(seen)
        task_id = open_task(instance)
        assert task_id is not None  # noqa: S101 - the model starts with a user task
        with engine_bench.counting(bench.engine) as seen:
            client.read(task_id)
        counts["read task"] = dict(seen)
        with engine_bench.counting(bench.engine) as seen:
            client.submit(task_id)
        counts["submit"] = dict(seen)
    finally:
        client.close()
    counts["read + submit"] = {
        key: counts["read task"][key] + counts["submit"][key] for key in counts["submit"]
    }
    return counts


def run(*, database_url: str | None, rounds: int, clients: int) -> str:
    """Engine figures, then HTTP figures on the same database; the printed report."""
    with engine_bench.bench_database(database_url) as (settings, where):
        bench = engine_bench.Bench(settings)
        engine_result = engine_bench.measure_engine(bench, where, rounds)
        token = _token(bench)
        with served(bench, threads=max(4, clients)) as port:
            _drive(port, token, 1, 1)  # warm-up: caches, pool, keep-alive
            counts = _counts(bench, port, token)
            instances_each = max(1, rounds // 5 // clients)
            samples = _drive(port, token, clients, instances_each)
        bench.engine.dispose()
    lines = [engine_bench.report(engine_result).rstrip("\n"), ""]
    lines += http_report(engine_result, samples, counts, clients)
    return "\n".join(lines) + "\n"


WHOLE = OPERATIONS[-1]


def http_report(
    engine_result: engine_bench.EngineResult,
    samples: Samples,
    counts: dict[str, dict[str, int]],
    clients: int,
) -> list[str]:
    completion, whole = engine_result.completion, engine_result.rows[2]
    lines = [
        f"HTTP (waitress on loopback, keep-alive, {clients} client(s)); x engine = median over "
        f"the engine-only completion median ({completion.median:.2f} ms), for the whole "
        f"instance over the engine-only end to end ({whole.median:.2f} ms)",
        f"{'request':<28}{'n':>6}{'median ms':>11}{'p95 ms':>10}{'x engine':>10}"
        f"{'statements':>12}{'BEGINs':>8}{'commits':>9}",
    ]
    for name in OPERATIONS:
        figures = engine_bench.Figures(name, samples.by_operation[name])
        reference = whole if name == WHOLE else completion
        ratio = figures.median / reference.median if reference.median else float("nan")
        count = counts.get(name)
        statements = str(count["statements"]) if count else "-"
        begins = str(count["begins"]) if count else "-"
        commits = str(count["commits"]) if count else "-"
        lines.append(
            f"{name:<28}{len(figures.samples):>6}{figures.median:>11.2f}{figures.p95:>10.2f}"
            f"{ratio:>10.1f}{statements:>12}{begins:>8}{commits:>9}"
        )
    lines.append("statements include the BEGINs (SQLite); counted per request, one client alone")
    return lines
