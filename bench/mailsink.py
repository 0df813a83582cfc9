"""A local SMTP server for the reminders benchmark, in a process of its own so that it does
not share the sender's GIL: it accepts every message and keeps only its Message-ID.

    python -m bench.mailsink PORT    # prints "ready"; each "take" on stdin prints one JSON
                                     # line: the Message-IDs received since the last take
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

from aiosmtpd.controller import Controller

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the server imports nothing of app

MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


class Tally:
    """The aiosmtpd handler: answers 250 to every message, after noting its Message-ID."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._lock = threading.Lock()  # the server's loop thread appends, the main one takes

    async def handle_DATA(self, server, session, envelope) -> str:
        head = envelope.content.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(head)
        with self._lock:
            self._ids.append(found.group(1).decode() if found else "")
        return "250 OK"

    def take(self) -> list[str]:
        with self._lock:
            ids, self._ids = self._ids, []
        return ids


def serve(port: int) -> None:
    tally = Tally()
    controller = Controller(tally, hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "take":
                print(json.dumps(tally.take()), flush=True)
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailSink:
    """The server process, seen from the benchmark: `with MailSink() as sink: … sink.take()`."""

    def __init__(self) -> None:
        self.port = free_port()
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> MailSink:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.mailsink", str(self.port)], cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self._read() != "ready":
            self.__exit__(None, None, None)
            raise RuntimeError("the SMTP server did not start")
        return self

    def take(self) -> list[str]:
        """The Message-IDs received since the last take, in arrival order."""
        assert self._process and self._process.stdin
        self._process.stdin.write("take\n")
        self._process.stdin.flush()
        return json.loads(self._read())

    def _read(self) -> str:
        assert self._process and self._process.stdout
        return self._process.stdout.readline().strip()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._process is None:
            return
        if self._process.stdin:
            self._process.stdin.close()  # ends the server's loop
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout:
            self._process.stdout.close()
        self._process = None


if __name__ == "__main__":
    serve(int(sys.argv[1]))
