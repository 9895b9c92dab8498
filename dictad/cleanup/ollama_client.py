"""One Ollama server through the official ``ollama`` client, failures told in the user's terms.

Every way a request can fail (server down, model missing, too slow, a stream cut
short, something that is not Ollama at all) becomes one ``OllamaUnavailable`` whose
message names the fix, for the tray and the event log. What to ask (the cleanup
prompt) and whether to use the answer (the guard) are ``llm.py``'s.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import ollama


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, str]]
    num_predict: int
    keep_alive: str
    char_limit: int
    """Stop reading the answer past this many characters: it can no longer pass the guard."""


@dataclass(frozen=True)
class Answer:
    text: str
    stopped: str | None = None
    """Why the answer is incomplete, or None when the model finished it."""


class OllamaUnavailable(Exception):
    """Ollama gave no answer; the message says what is wrong and how to fix it, in the user's terms."""


def is_this_machine(host: str) -> bool:
    """Whether the Ollama at ``host`` runs here. No proxy belongs between dictad and it, whatever
    ``http_proxy`` says (Ollama's own CLI skips proxies for loopback addresses too)."""
    name = httpx.URL(host if "://" in host else f"http://{host}").host
    try:
        return name == "localhost" or ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class OllamaChat:
    """One Ollama server through the official client.

    Remembers whether the server rejects ``think`` (Ollama before 0.12.5 answers 400
    "does not support thinking" to ``think: false`` for models that cannot think), so
    only the first request pays for the retry.
    """

    def __init__(self, host: str):
        self.host = host
        self.sends_think = True
        self._clients: dict[float, ollama.Client] = {}

    def answer(self, request: ChatRequest, timeout_s: float, cancelled: threading.Event | None = None) -> Answer:
        """The model's answer, read until done, cut off, ``cancelled`` or past ``request.char_limit``.

        ``timeout_s`` bounds each network wait, not the whole answer: the caller owns the deadline.
        """
        with self._as_problem(request.model, timeout_s):
            try:
                return self._stream_answer(request, timeout_s, cancelled)
            except ollama.ResponseError as error:
                if not (self.sends_think and _rejects_think(error)):
                    raise
                self.sends_think = False
            return self._stream_answer(request, timeout_s, cancelled)

    def version(self, timeout_s: float) -> str:
        with self._as_problem(None, timeout_s):
            # The client has no call for /api/version; its own HTTP client has the resolved host.
            response = self._client(timeout_s)._client.get("/api/version")
            response.raise_for_status()
            return str(response.json()["version"])

    def has_model(self, model: str, timeout_s: float) -> bool:
        with self._as_problem(model, timeout_s):
            listed = self._client(timeout_s).list().models
        return _full_name(model) in {_full_name(entry.model or "") for entry in listed}

    def _stream_answer(self, request: ChatRequest, timeout_s: float, cancelled: threading.Event | None) -> Answer:
        chunks = self._client(timeout_s).chat(
            model=request.model,
            messages=request.messages,
            stream=True,
            think=False if self.sends_think else None,
            options={"temperature": 0, "num_predict": request.num_predict},
            keep_alive=request.keep_alive,
        )
        text = ""
        try:
            for chunk in chunks:
                text += chunk.message.content or ""
                if chunk.done:
                    cut_off = chunk.done_reason == "length"
                    return Answer(text, f"the answer was cut off at {request.num_predict} tokens" if cut_off else None)
                if len(text) > request.char_limit:
                    return Answer(text, f"the answer ran past {request.char_limit} characters")
                if cancelled is not None and cancelled.is_set():
                    return Answer(text, "cancelled")
        finally:
            chunks.close()
        return Answer(text, "Ollama ended the answer without finishing it")

    def _client(self, timeout_s: float) -> ollama.Client:
        if timeout_s not in self._clients:
            self._clients[timeout_s] = ollama.Client(host=self.host, timeout=timeout_s,
                                                     trust_env=not is_this_machine(self.host))
        return self._clients[timeout_s]

    @contextmanager
    def _as_problem(self, model: str | None, timeout_s: float) -> Iterator[None]:
        """Turn whatever the client raises into an ``OllamaUnavailable`` with a message for the user."""
        try:
            yield
        except OllamaUnavailable:
            raise
        except Exception as error:  # the client can raise anything from httpx, json or pydantic
            raise OllamaUnavailable(_describe_failure(error, self.host, model, timeout_s)) from error


def _describe_failure(error: Exception, host: str, model: str | None, timeout_s: float) -> str:
    """What went wrong talking to Ollama, with the fix, for the tray and the event log."""
    if isinstance(error, (ConnectionError, httpx.ConnectError)):
        return f"Ollama is not running at {host}: start it with `ollama serve`"
    if isinstance(error, ollama.ResponseError):
        if error.status_code == 404 and model and "not found" in str(error.error):
            return missing_model_message(model)
        if error.status_code == -1:
            return f"Ollama failed while answering: {error.error} (see the `ollama serve` log)"
        return f"Ollama answered HTTP {error.status_code}: {error.error} (see the `ollama serve` log)"
    if isinstance(error, httpx.TimeoutException):
        return too_slow_message(model or "the model", timeout_s)
    if isinstance(error, httpx.HTTPStatusError):
        return f"{host} answered HTTP {error.response.status_code}: is cleanup.ollama.host an Ollama server?"
    if isinstance(error, httpx.HTTPError):
        return f"the connection to Ollama at {host} broke ({type(error).__name__}: {error}); see the `ollama serve` log"
    return f"unexpected answer from {host} ({type(error).__name__}: {error}): is cleanup.ollama.host an Ollama server?"


def missing_model_message(model: str) -> str:
    return f"model {model} not found: run `ollama pull {model}`"


def too_slow_message(model: str, timeout_s: float) -> str:
    return (
        f"Ollama took longer than {timeout_s:g} s to clean up with {model}: "
        "raise cleanup.ollama.timeout_s or choose a smaller model"
    )


def _rejects_think(error: ollama.ResponseError) -> bool:
    return error.status_code == 400 and "does not support thinking" in str(error.error)


def _full_name(model: str) -> str:
    """Ollama's name for a model: ``llama3.2`` means ``llama3.2:latest``."""
    return model if ":" in model.rpartition("/")[2] else f"{model}:latest"
