"""Concurrent HTTP clients for the CRF-save benchmark: one signed-in user each, on one
keep-alive connection (http.client), all posting at once for a fixed time.

Each client signs in like a browser (the login page's CSRF token, then a page of the
application for the session's own token) and from then on sends the same cookie with every
post: redirects are not followed, so the flashed messages a save adds to the cookie are
left out rather than piling up in it.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

from bench.served import Server
from bench.wsgi import WORKER_HEADER

TOKEN = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SAVED = 302  # a save answers with the redirect to its page

Posts = Iterator[tuple[str, bytes]]  # (path, body) to post, in order


@dataclass
class Client:
    server: Server
    username: str
    cookie: str = ""
    csrf: str = ""
    worker: str = ""
    conn: http.client.HTTPConnection = field(init=False)

    def __post_init__(self) -> None:
        self.connect()

    def connect(self) -> None:
        self.conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=60)

    def reconnect(self) -> None:
        self.conn.close()
        self.connect()

    def close(self) -> None:
        self.conn.close()

    def send(self, method: str, path: str, body: bytes | None = None,
             keep_cookie: bool = True) -> tuple[int, bytes]:
        headers = {**(FORM if body is not None else {}), "Cookie": self.cookie}
        self.conn.request(method, path, body=body, headers=headers)
        answer = self.conn.getresponse()
        content = answer.read()
        self.worker = answer.getheader(WORKER_HEADER) or ""
        cookie = answer.getheader("Set-Cookie")
        if cookie and not keep_cookie:
            self.cookie = cookie.split(";", 1)[0]
        return answer.status, content

    def sign_in(self, password: str, page: str) -> None:
        """Log in, then read `page` for the CSRF token of the new session."""
        self.cookie = ""
        _, content = self.send("GET", "/login", keep_cookie=False)
        body = urlencode({"username": self.username, "password": password,
                          "csrf_token": _token(content)}).encode()
        status, _ = self.send("POST", "/login", body, keep_cookie=False)
        if status != 302:
            raise RuntimeError(f"{self.username} cannot sign in: {status}")
        status, content = self.send("GET", page, keep_cookie=False)
        if status != 200:
            raise RuntimeError(f"{self.username}: {page} answers {status}")
        self.csrf = _token(content)


def _token(content: bytes) -> str:
    found = TOKEN.search(content)
    if found is None:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1).decode()


def balance(clients: list[Client], page: str, attempts: int = 200) -> Counter:
    """Reconnect clients until each worker holds as many connections as it has threads.

    A gthread worker keeps every keep-alive connection it accepted; left to chance, one
    worker may hold ten of the sixteen and queue requests while the other idles.
    """
    held: Counter = Counter()
    for client in clients:
        client.send("GET", page)
        while held[client.worker] >= client.server.threads:
            attempts -= 1
            if attempts < 0:
                raise RuntimeError(f"cannot spread the connections over the workers: {held}")
            client.reconnect()
            client.send("GET", page)
        held[client.worker] += 1
    return held


@dataclass
class Outcome:
    """One run: latency of every request (s), what the errors were, and how long it took."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    saved: list[int] = field(default_factory=list)  # successful posts, per client

    @property
    def throughput(self) -> float:
        return sum(self.saved) / self.elapsed


def drive(clients: list[Client], posts: Callable[[int], Posts], seconds: float) -> Outcome:
    """Every client posts back to back (`posts(index)`) until `seconds` have passed."""
    outcome = Outcome(saved=[0] * len(clients))
    start = threading.Barrier(len(clients) + 1)
    lock, ends = threading.Lock(), []
    began = [0.0]

    def work(index: int) -> None:
        latencies, errors, saved = [], Counter(), 0
        start.wait()
        deadline = began[0] + seconds
        for path, body in posts(index):
            if time.perf_counter() >= deadline:
                break
            status, took = _post(clients[index], path, body)
            latencies.append(took)
            if status == SAVED:
                saved += 1
            else:
                errors[status] += 1
        with lock:
            outcome.latencies.extend(latencies)
            outcome.errors.update(errors)
            outcome.saved[index] = saved
            ends.append(time.perf_counter())

    threads = [threading.Thread(target=work, args=(n,), daemon=True)
               for n in range(len(clients))]
    for thread in threads:
        thread.start()
    began[0] = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    outcome.elapsed = max(ends) - began[0]
    return outcome


def _post(client: Client, path: str, body: bytes) -> tuple[int | str, float]:
    """The status (or the exception's name) and the latency of one post."""
    sent = time.perf_counter()
    try:
        status, _ = client.send("POST", path, body)
    except (OSError, http.client.HTTPException) as exc:
        client.reconnect()  # the next post gets a fresh connection
        return type(exc).__name__, time.perf_counter() - sent
    return status, time.perf_counter() - sent
