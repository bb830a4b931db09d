"""A tiny OpenAI-compatible chat-completions server for tests (a real HTTP peer on 127.0.0.1).

It speaks what the ``openai`` client sends and expects: ``POST /v1/chat/completions`` with a
JSON body (model, messages, ...), answered with a ``chat.completion`` object carrying
``choices[0].message.content`` and ``usage`` token counts. Behaviour is scripted per request:
``script`` is a list of modes consumed in order (the last one repeats):

- ``"good"``: K valid caption triplets (K read from the prompt's "Write K caption triplets");
- ``"429"``: HTTP 429 with ``Retry-After: 0`` and an OpenAI-style error body;
- ``"500"``: HTTP 500;
- ``"malformed"``: a 200 answer whose content is not JSON;
- ``"wrong_count"``: valid JSON with one triplet too few;
- ``"slow"``: waits ``slow_seconds`` before a good answer (longer than the client's timeout).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROMPT_TOKENS, COMPLETION_TOKENS = 321, 123


class ChatServer:
    def __init__(self, script: list[str] | None = None, slow_seconds: float = 2.0) -> None:
        self.script = list(script or ["good"])
        self.slow_seconds = slow_seconds
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    index = len(server.requests)
                    server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    mode = server.script[min(index, len(server.script) - 1)]
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                if mode == "429":
                    return self._send(429, {"error": {"message": "rate limited", "type": "rate_limit"}},
                                      {"Retry-After": "0"})
                if mode == "500":
                    return self._send(500, {"error": {"message": "server error", "type": "server_error"}})
                if mode == "slow":
                    time.sleep(server.slow_seconds)
                content = server.answer(body, mode)
                self._send(200, {
                    "id": f"chatcmpl-{index}", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "test-model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                              "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS},
                })

            def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @staticmethod
    def answer(body: dict, mode: str) -> str:
        user = body["messages"][-1]["content"]
        match = re.search(r"Write (\d+) caption triplets", user)
        k = int(match.group(1)) if match else 5
        if mode == "malformed":
            return '{"captions": [{"left": "The left hand'
        if mode == "wrong_count":
            k -= 1
        tag = abs(hash(user)) % 10_000
        captions = [{"left": f"The left hand moves, phrasing {i} of clip {tag}.",
                     "right": f"The right hand moves, phrasing {i}.", "both": "The hands do not touch."}
                    for i in range(k)]
        return json.dumps({"captions": captions})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "ChatServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def dead_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
