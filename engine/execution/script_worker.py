"""BPMN code in a worker process the operating system can stop (RLIMIT_AS, RLIMIT_CPU).

The size guards refuse every operation known to build a huge value in one C call, and the
trace budget stops Python loops; this is the backstop for whatever slips past both (an
operation nobody thought of, a comprehension that allocates gigabytes within its budget).
A worker is a plain `python -m engine.execution.script_worker` child that limits its own
address space and, before each piece of code, its CPU seconds; it runs the same
GuardedEnvironment as the server and answers with the value or the new task data.

If a worker exceeds its CPU limit, the kernel kills it; if it stops answering, the server
kills it after a wall-clock grace; either way the code fails with ScriptLimitExceeded and the
next call starts a fresh worker. The server reads a worker's answers with an unpickler that
knows only plain data and exception classes, so even code that escaped the sandbox inside
the worker cannot make the server run anything.
"""

from __future__ import annotations

import atexit
import builtins
import io
import logging
import pickle
import resource
import select
import struct
import subprocess
import sys
import threading
import traceback
from datetime import datetime
from typing import IO
from typing import Any

from engine.execution.limits import ScriptLimitExceeded
from engine.execution.sandbox import ScriptTimeoutError

logger = logging.getLogger(__name__)

_HEADER = struct.Struct("!Q")
# Beyond the code's own budget: wall-clock seconds before the server kills a silent worker
# (start-up, pickling, a loaded machine), and CPU seconds before the kernel ends it.
GRACE_SECONDS = 5.0
CPU_GRACE_SECONDS = 2.0
MAX_IDLE_WORKERS = 4
_SAFE_GLOBALS = frozenset(
    {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "complex"),
        ("builtins", "range"),
        ("builtins", "slice"),
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("zoneinfo", "ZoneInfo"),
        ("zoneinfo._zoneinfo", "ZoneInfo"),
        ("engine.execution.limits", "ScriptLimitExceeded"),
        ("engine.execution.sandbox", "ScriptTimeoutError"),
    }
)


class _DataUnpickler(pickle.Unpickler):
    """Plain data and exception classes only: a worker's answer is never trusted code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module == "builtins":
            found = getattr(builtins, name, None)
            if isinstance(found, type) and issubclass(found, BaseException):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a worker answer")


def _write_frame(stream: IO[bytes], payload: Any) -> None:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = stream.read(size - len(chunks))
        if not chunk:
            raise EOFError("worker stream closed")
        chunks.extend(chunk)
    return bytes(chunks)


def _read_frame(stream: IO[bytes]) -> bytes:
    (size,) = _HEADER.unpack(_read_exactly(stream, _HEADER.size))
    return _read_exactly(stream, size)


class ScriptWorker:
    """One worker process, used by one caller at a time."""

    def __init__(self, memory_mb: int) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own module, no shell
            [sys.executable, "-m", "engine.execution.script_worker", str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def run(self, request: dict[str, Any]) -> Any:
        """Send one piece of code and return the worker's answer (value or new task data).

        Raises:
            ScriptLimitExceeded: when the worker was stopped (CPU, memory, wall clock).
            Exception: whatever the code itself raised, as the worker reported it.
        """
        assert self.process.stdin is not None and self.process.stdout is not None  # noqa: S101
        try:
            _write_frame(self.process.stdin, request)
        except OSError as exc:
            raise self._stopped("the worker is not running") from exc
        if not self._answered_within(request["budget"] + GRACE_SECONDS):
            raise self._stopped("it ran past its time budget")
        try:
            answer = _DataUnpickler(io.BytesIO(_read_frame(self.process.stdout))).load()
        except EOFError as exc:
            raise self._stopped("the operating system ended it (CPU or memory limit)") from exc
        except pickle.UnpicklingError as exc:
            raise self._stopped(f"its answer was refused ({exc})") from exc
        status, value = answer
        if status == "error":
            if isinstance(value, MemoryError):
                self.stop()
            raise value
        return value

    def _stopped(self, reason: str) -> ScriptLimitExceeded:
        logger.warning("script worker %s stopped: %s", self.process.pid, reason)
        self.stop()
        return ScriptLimitExceeded(f"script stopped: {reason}")

    def _answered_within(self, seconds: float) -> bool:
        assert self.process.stdout is not None  # noqa: S101 - opened in __init__
        ready, _, _ = select.select([self.process.stdout], [], [], seconds)
        return bool(ready)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class WorkerPool:
    """Idle workers kept for reuse; a caller takes one, or starts one when none is idle."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self._idle: list[ScriptWorker] = []
        self._lock = threading.Lock()

    def run(self, request: dict[str, Any]) -> Any:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        worker = worker or ScriptWorker(self.memory_mb)
        try:
            return worker.run(request)
        finally:
            self._give_back(worker)

    def close(self) -> None:
        """Stop the idle workers (at exit: a worker would otherwise outlive its server)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()

    def _give_back(self, worker: ScriptWorker) -> None:
        with self._lock:
            if worker.alive() and len(self._idle) < MAX_IDLE_WORKERS:
                self._idle.append(worker)
                return
        worker.stop()


_POOLS: dict[int, WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(memory_mb: int) -> WorkerPool:
    """The process's worker pool for one memory limit (created on first use)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(memory_mb)
        if pool is None:
            pool = _POOLS[memory_mb] = WorkerPool(memory_mb)
            atexit.register(pool.close)
        return pool


def _limit_cpu(cpu_seconds: float) -> None:
    used = resource.getrusage(resource.RUSAGE_SELF)
    seconds = int(used.ru_utime + used.ru_stime + cpu_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, resource.RLIM_INFINITY))


def _answer(request: dict[str, Any]) -> tuple[str, Any]:
    # Imported here: script_engine imports this module for the server side.
    from engine.execution.script_engine import GuardedEnvironment

    def no_services(name: str, params: dict[str, Any]) -> Any:
        raise ScriptLimitExceeded("services are not available in a script worker")

    now = datetime.fromisoformat(request["now"]) if request["now"] else None
    environment = GuardedEnvironment(request["budget"], no_services, now)
    context, external = request["context"], request["external"]
    if request["mode"] == "eval":
        return "ok", environment.evaluate(request["source"], context, external)
    environment.execute(request["source"], context, external)
    return "ok", context


def _failure(exc: BaseException) -> tuple[str, BaseException]:
    line = next(
        (f.lineno for f in reversed(_frames(exc)) if f.filename == "<string>"),
        None,
    )
    reported: BaseException = exc
    if type(exc).__module__ != "builtins" and not isinstance(
        exc, ScriptLimitExceeded | ScriptTimeoutError
    ):
        reported = RuntimeError(f"{type(exc).__name__}: {exc}")
    reported.worker_line = line  # type: ignore[attr-defined]
    return "error", reported


def _frames(exc: BaseException) -> list[Any]:
    return list(traceback.extract_tb(exc.__traceback__))


def serve(memory_mb: int, requests: IO[bytes], answers: IO[bytes]) -> None:
    """The worker's loop: limit memory, then answer one request at a time until EOF."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            request = pickle.loads(_read_frame(requests))  # noqa: S301 - from our own server
        except EOFError:
            return
        _limit_cpu(request["cpu_seconds"])
        try:
            answer = _answer(request)
        except BaseException as exc:  # the code's failure is the answer
            answer = _failure(exc)
        try:
            _write_frame(answers, answer)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            _write_frame(answers, _failure(RuntimeError(f"unpicklable result: {exc}")))


def request_for(
    mode: str,
    source: str,
    context: dict[str, Any],
    external: Any,
    *,
    budget: float,
    now: datetime | None,
) -> dict[str, Any]:
    """One piece of code for a worker, with the task data it runs on and its limits."""
    return {
        "mode": mode,
        "source": source,
        "context": context,
        "external": external,
        "budget": budget,
        "now": now.isoformat() if now else None,
        "cpu_seconds": budget + CPU_GRACE_SECONDS,
    }


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.stdin.buffer, sys.stdout.buffer)
