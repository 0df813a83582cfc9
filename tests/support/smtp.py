"""A real SMTP server on 127.0.0.1 (aiosmtpd) that records what it receives, and can be told
to answer with temporary (451) or permanent (550) failures, or be switched off."""

from __future__ import annotations

import email
import socket
from email.message import Message

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.reply: str | None = None  # e.g. "451 try later", "550 no such user"

    async def handle_DATA(self, server, session, envelope):
        if self.reply:
            return self.reply
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.recorder = Recorder()
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[Message]:
        return self.recorder.messages

    def start(self) -> None:
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
