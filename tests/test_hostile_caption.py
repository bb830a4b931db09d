"""Issue 23 items 3, 8, 10, 11 for captioning: key masking, failed clips keep their captions, malformed
HTTP 200 bodies, a server that drips bytes past the deadline."""

from __future__ import annotations

import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from chat_server import ChatServer, dead_url

from data_prep.captioning.cache import AnswerCache
from data_prep.captioning.features_io import clip_event_json
from data_prep.captioning.key_masking import mask_secret
from data_prep.captioning.openai_captioner import OpenAICaptioner, scrub
from handgen import cli
from handgen.io.data_dir import DataDir

SECRET = "sk-proj-Zq8RkT2mVw9LpX4cNb7HsY3dFgJ6"


@pytest.mark.parametrize("echo", [
    SECRET,
    "sk- proj-Zq8RkT2mVw9LpX4cNb7HsY3dFgJ6",  # a space typed into it
    "sk-proj-Zq8RkT2mVw9LpX4cNb7HsY3dF",  # truncated
    "sk-proj-Zq8RkT2mVw9LpX4cNb7HsY3dFgJ7",  # last character changed
    "SK-PROJ-ZQ8RKT2MVW9LPX4CNB7HSY3DFGJ6",  # case changed
    "sk-proj-Zq8RkT2mVw9-Lp-X4cNb7HsY3dFgJ6",  # dashes inserted
    "Zq8RkT2mVw9LpX4c",  # a middle piece alone
])
def test_altered_key_is_masked(echo):
    message = f"Incorrect API key provided: {echo}. You can find your API key at https://example.com."
    masked = mask_secret(message, SECRET)
    for i in range(len(SECRET) - 5):
        assert SECRET[i:i + 6].lower() not in masked.lower()
    assert masked.startswith("Incorrect API key provided: ") and "find your API key" in masked
    assert scrub(message, SECRET).count("***") >= 1


def test_masking_leaves_ordinary_text_alone():
    text = "HTTP 401 from the endpoint (invalid_request_error): model test-model not found"
    assert mask_secret(text, SECRET) == text


class _RawServer:
    """Answers every POST with HTTP 200 and ``body`` (optionally one byte every ``drip`` seconds)."""

    def __init__(self, body: bytes, drip: float = 0.0, header: bytes | None = None) -> None:
        outer = self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests += 1
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for i in range(len(body)):
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                        if drip:
                            time.sleep(drip)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def events(synthetic_data_dir):
    data = DataDir(synthetic_data_dir)
    return [clip_event_json(data, row) for row in data.manifest[:1]]


def _captioner(url, tmp_path, **kw):
    options = dict(model="m", base_url=url, api_key=SECRET, cache=AnswerCache(tmp_path / "cache"), k=5,
                   timeout=2.0, max_retries=0, invalid_retries=0, backoff=0.01, sleep=lambda s: None)
    options.update(kw)
    return OpenAICaptioner(**options)


@pytest.mark.parametrize("body", [b"<html>502 bad gateway</html>", b"[]", b'{"foo": 1}', b'{"choices": "x"}',
                                  b'{"choices": [{"message": {"content": 5}}]}', b""])
def test_malformed_http_200_body_falls_back_without_traceback(events, tmp_path, body):
    server = _RawServer(body)
    try:
        result = _captioner(server.url, tmp_path).caption(events[0])
    finally:
        server.close()
    assert result.source == "rules-fallback" and len(result.captions) == 5 and result.error


def test_dripping_server_is_cut_at_the_whole_request_deadline(events, tmp_path):
    body = b'{"choices": [{"message": {"content": "' + b"x" * 400 + b'"}}]}'
    server = _RawServer(body, drip=0.05)  # 20 s in all, each byte well inside the read timeout
    try:
        started = time.perf_counter()
        result = _captioner(server.url, tmp_path, timeout=1.0).caption(events[0])
        seconds = time.perf_counter() - started
    finally:
        server.close()
    assert result.source == "rules-fallback" and "timed out" in result.error
    assert seconds < 4.0


def test_caption_overwrite_keeps_llm_captions_of_failed_clips(synthetic_data_dir, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    shutil.copytree(synthetic_data_dir, data)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with ChatServer(["good"]) as server:
        assert cli.main(["-q", "caption", "--data", str(data), "--captioner", "openai", "--base-url", server.url,
                         "--model", "m", "--limit", "3"]) == 0
    before = {r["id"]: r for r in DataDir(data).manifest}
    llm = [i for i, r in before.items() if r["caption_source"] == "openai"]
    assert len(llm) == 3
    code = cli.main(["-q", "caption", "--data", str(data), "--captioner", "openai", "--base-url", dead_url(),
                     "--model", "m2", "--max-retries", "0", "--overwrite", "--limit", "5"])
    err = capsys.readouterr().err
    assert code == 1 and "3 kept their previous captions" in err and SECRET not in err
    after = {r["id"]: r for r in DataDir(data).manifest}
    for clip in llm:
        assert after[clip]["captions"] == before[clip]["captions"] and after[clip]["caption_source"] == "openai"
