"""The application under gunicorn, as a benchmark's context manager: a free port on
127.0.0.1, every worker answering before it yields, stopped (SIGTERM, then SIGKILL) after."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.config import PROJECT_ROOT
from bench.wsgi import WORKER_HEADER

HOST = "127.0.0.1"
BOOT_SECONDS = 90  # two workers importing the application on a busy machine


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    workers: int
    threads: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def command(port: int, workers: int, threads: int, log: Path) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "bench.wsgi:build()", "--worker-class", "gthread",
            "--workers", str(workers), "--threads", str(threads), "--bind", f"{HOST}:{port}",
            # clients keep their connections between runs: the checks in between take seconds
            "--keep-alive", "600", "--timeout", "120", "--graceful-timeout", "10",
            "--log-level", "warning", "--error-logfile", str(log)]


@contextmanager
def gunicorn(url: str, workers: int, threads: int, log: Path) -> Iterator[Server]:
    """gunicorn serving bench.wsgi against the database at `url`."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url}
    log.parent.mkdir(parents=True, exist_ok=True)
    # what gunicorn prints before its own log opens (a missing module, say) lands there too
    with log.open("ab") as early:
        process = subprocess.Popen(command(port, workers, threads, log), cwd=PROJECT_ROOT,
                                   env=env, stdout=subprocess.DEVNULL, stderr=early)
    try:
        _wait_for_workers(process, port, workers, log)
        yield Server(HOST, port, workers, threads)
    finally:
        _stop(process)


def _wait_for_workers(process: subprocess.Popen, port: int, workers: int, log: Path) -> None:
    """Until each worker has answered once: a new connection goes to whichever accepts it."""
    seen: set[str] = set()
    deadline = time.monotonic() + BOOT_SECONDS
    while len(seen) < workers:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}): {_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn: {len(seen)} of {workers} workers up: {_tail(log)}")
        worker = probe(port)
        if worker:
            seen.add(worker)
        else:
            time.sleep(0.2)


def probe(port: int) -> str | None:
    """The pid of the worker answering a new connection, None while none does."""
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", "/login")
        answer = conn.getresponse()
        answer.read()
        return answer.getheader(WORKER_HEADER)
    except OSError:
        return None
    finally:
        conn.close()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text().splitlines()[-lines:])
    except OSError:
        return "(no log)"
