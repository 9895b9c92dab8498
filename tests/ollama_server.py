"""A fake Ollama: the documented REST API on a real loopback socket, its model scripted per test.

Ollama itself cannot run here, so this stands in for it, and only for it: the real
``ollama`` client talks to it over real HTTP. It serves the part of the API that
dictad uses, with the shapes of Ollama's docs/api.md:

- ``GET /api/version``: ``{"version": ...}``
- ``GET /api/tags``: the installed models
- ``POST /api/chat``: NDJSON chunks with chunked transfer encoding, or one JSON
  object when the request says ``"stream": false``; a model that is not installed
  gets 404 ``{"error": "model 'x' not found"}``; ``"think"`` sent for a model that
  cannot think gets the 400 of Ollama 0.9 to 0.12.4 when ``rejects_think`` is set.

A behaviour function gets each chat request body and returns a ``Reply`` saying what
the model writes, how fast, and how it fails (status, error, dropped connection).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_VERSION = "0.12.6"


@dataclass(frozen=True)
class Reply:
    """How the fake model answers one chat request."""

    content: str = ""
    chunks: Sequence[str] | None = None
    """The streamed pieces; by default ``content`` word by word."""
    status: int = 200
    error: str | None = None
    """The ``{"error": ...}`` body of a non-200 reply, or an error line after the chunks of a 200 one."""
    delay_s: float = 0.0
    """Silence before the response starts."""
    chunk_delay_s: float = 0.0
    """Silence before each streamed chunk."""
    done_reason: str = "stop"
    drop_connection: bool = False
    """Close the socket instead of answering."""
    drop_after_chunks: int | None = None
    """Close the socket after this many chunks, mid-answer."""

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        return [word + " " for word in self.content.split(" ")[:-1]] + self.content.split(" ")[-1:]


Behaviour = Callable[[dict[str, Any]], Reply]


class FakeOllama:
    """Serves on 127.0.0.1 at an ephemeral port from start() to stop(); records every chat request."""

    def __init__(
        self,
        behaviour: Behaviour,
        models: Sequence[str] = ("qwen2.5:1.5b",),
        version: str = DEFAULT_VERSION,
        rejects_think: bool = False,
    ):
        self.behaviour = behaviour
        self.models = list(models)
        self.version = version
        self.rejects_think = rejects_think
        self.chat_requests: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-ollama", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeOllama:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def has_model(self, name: str) -> bool:
        return _full_name(name) in {_full_name(model) for model in self.models}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOllama

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer is a case under test, not a server error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5
    server: _Server

    @property
    def fake(self) -> FakeOllama:
        return self.server.fake

    def do_GET(self) -> None:
        if self.path == "/api/version":
            self._send_json(200, {"version": self.fake.version})
        elif self.path == "/api/tags":
            self._send_json(200, {"models": [_tag(model) for model in self.fake.models]})
        else:
            self._send_json(404, {"error": "404 page not found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path == "/api/chat":
            self._chat(body)
        else:
            self._send_json(404, {"error": "404 page not found"})

    def _chat(self, body: dict[str, Any]) -> None:
        self.fake.chat_requests.append(body)
        model = body.get("model", "")
        if not self.fake.has_model(model):
            self._send_json(404, {"error": f"model '{model}' not found"})
        elif self.fake.rejects_think and "think" in body:
            self._send_json(400, {"error": f'"{model}" does not support thinking'})
        else:
            self._reply(model, self.fake.behaviour(body), stream=body.get("stream", True))

    def _reply(self, model: str, reply: Reply, stream: bool) -> None:
        if self._wait(reply.delay_s) or reply.drop_connection:
            self._drop()
        elif reply.status != 200:
            self._send_json(reply.status, {"error": reply.error or "internal error"})
        elif stream:
            self._stream(model, reply)
        else:
            self._send_json(200, _chat_part(model, reply.content, done_reason=reply.done_reason))

    def _stream(self, model: str, reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for sent, piece in enumerate(reply.pieces()):
            if sent == reply.drop_after_chunks or self._wait(reply.chunk_delay_s):
                self._drop()
                return
            self._send_line(_chat_part(model, piece))
        if reply.error:
            self._send_line({"error": reply.error})
        else:
            self._send_line(_chat_part(model, "", done_reason=reply.done_reason))
        self.wfile.write(b"0\r\n\r\n")

    def _send_line(self, part: dict[str, Any]) -> None:
        data = (json.dumps(part) + "\n").encode()
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _wait(self, seconds: float) -> bool:
        """Sleep, unless the server is stopping (then say so, and the test is over)."""
        return seconds > 0 and self.fake.stopping.wait(seconds)

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a test reads what the client got, not the server's access log."""


def _chat_part(model: str, content: str, done_reason: str | None = None) -> dict[str, Any]:
    part: dict[str, Any] = {
        "model": model,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "message": {"role": "assistant", "content": content},
        "done": done_reason is not None,
    }
    if done_reason is not None:
        part.update(
            done_reason=done_reason, total_duration=120_000_000, load_duration=2_000_000,
            prompt_eval_count=26, prompt_eval_duration=30_000_000, eval_count=12, eval_duration=80_000_000,
        )
    return part


def _tag(model: str) -> dict[str, Any]:
    return {
        "name": _full_name(model),
        "model": _full_name(model),
        "modified_at": "2025-05-04T17:37:44.706015396-07:00",
        "size": 986_061_892,
        "digest": "65ec06548149a5fd6e3e5d4ba2ab5e58bd3fb2e4a1f4b3a5ab2f1c6d8c6e0f11",
        "details": {
            "parent_model": "", "format": "gguf", "family": "qwen2", "families": ["qwen2"],
            "parameter_size": "1.5B", "quantization_level": "Q4_K_M",
        },
    }


def _full_name(model: str) -> str:
    return model if ":" in model.rpartition("/")[2] else f"{model}:latest"
