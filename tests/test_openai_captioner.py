"""The LLM captioner against a real local HTTP peer speaking the chat-completions protocol.

The ``openai`` client itself is not mocked: ``tests/chat_server.py`` runs a ThreadingHTTPServer on
127.0.0.1 that answers ``POST /v1/chat/completions`` as an OpenAI-compatible server would.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest
from chat_server import COMPLETION_TOKENS, PROMPT_TOKENS, ChatServer, dead_url
from conftest import run_cli

from data_prep.captioning.cache import CACHE_DIR, AnswerCache
from data_prep.captioning.openai_captioner import OpenAICaptioner, scrub
from data_prep.captioning.prompt import build_messages, prompt_key
from data_prep.captioning.rules import rules_captions
from data_prep.captioning.validate import InvalidAnswer, parse_captions
from data_prep.captioning.features_io import clip_event_json
from handgen import cli
from handgen.io.data_dir import DataDir

SECRET = "sk-test-DO-NOT-LOG-0123456789"


@pytest.fixture(scope="module")
def events(synthetic_data_dir):
    data = DataDir(synthetic_data_dir)
    return [clip_event_json(data, row) for row in data.manifest[:3]]


def captioner(url: str, cache_dir, **kw) -> OpenAICaptioner:
    sleeps: list[float] = []
    options = dict(model="test-model", base_url=url, api_key=SECRET, cache=AnswerCache(cache_dir), k=5,
                   timeout=2.0, max_retries=2, backoff=0.01, sleep=sleeps.append)
    options.update(kw)
    cap = OpenAICaptioner(**options)
    cap.sleeps = sleeps
    return cap


# ------------------------------------------------------------------ protocol peer


def test_good_answer_is_parsed_counted_and_cached(events, tmp_path):
    with ChatServer(["good"]) as server:
        cap = captioner(server.url, tmp_path)
        result = cap.caption(events[0])
        assert result.source == "openai" and not result.cached and len(result.captions) == 5
        assert all(set(t) == {"left", "right", "both"} and all(t.values()) for t in result.captions)
        assert cap.usage.requests == 1 and cap.usage.prompt_tokens == PROMPT_TOKENS
        assert cap.usage.completion_tokens == COMPLETION_TOKENS and cap.usage.total_tokens == 444
        request = server.requests[0]
        assert request["path"] == "/v1/chat/completions"
        assert request["headers"]["authorization"] == f"Bearer {SECRET}"
        body = request["body"]
        assert body["model"] == "test-model" and body["response_format"] == {"type": "json_object"}
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        assert json.dumps(events[0], sort_keys=True, separators=(",", ":")) in body["messages"][1]["content"]
        assert len(list(tmp_path.glob("*.json"))) == 1
        # a second captioner on the same cache sends nothing
        again = captioner(server.url, tmp_path)
        cached = again.caption(events[0])
        assert cached.cached and cached.captions == result.captions and again.usage.requests == 0
        assert len(server.requests) == 1
        # another clip is another prompt
        assert not again.caption(events[1]).cached and len(server.requests) == 2


def test_429_then_success_backs_off_and_succeeds(events, tmp_path):
    with ChatServer(["429", "500", "good"]) as server:
        cap = captioner(server.url, tmp_path)
        result = cap.caption(events[0])
        assert result.source == "openai" and len(server.requests) == 3
        assert cap.usage.failed_requests == 2 and len(cap.sleeps) == 2
        assert 0.005 <= cap.sleeps[0] <= 0.01 and 0.01 <= cap.sleeps[1] <= 0.02  # exponential, jittered


def test_malformed_json_is_retried_then_falls_back_to_rules(events, tmp_path):
    with ChatServer(["malformed"]) as server:
        cap = captioner(server.url, tmp_path, invalid_retries=2)
        result = cap.caption(events[0])
        assert result.source == "rules-fallback" and "not valid JSON" in result.error
        assert result.captions == rules_captions(events[0])
        assert len(server.requests) == 3 and cap.usage.invalid_answers == 3
        assert not list(tmp_path.glob("*.json"))  # invalid answers are never cached
    with ChatServer(["wrong_count", "good"]) as server:
        cap = captioner(server.url, tmp_path)
        assert cap.caption(events[0]).source == "openai" and len(server.requests) == 2


def test_timeout_is_retried_then_falls_back(events, tmp_path):
    with ChatServer(["slow"], slow_seconds=1.5) as server:
        cap = captioner(server.url, tmp_path, timeout=0.3, max_retries=1)
        started = time.perf_counter()
        result = cap.caption(events[0])
        assert result.source == "rules-fallback" and "timed out" in result.error
        assert len(server.requests) == 2 and time.perf_counter() - started < 1.5


def test_server_down_falls_back_and_never_shows_the_key(events, tmp_path):
    cap = captioner(dead_url(), tmp_path, max_retries=2)
    result = cap.caption(events[0])
    assert result.source == "rules-fallback" and "connect" in result.error
    assert cap.usage.requests == 3 and cap.usage.failed_requests == 3 and len(cap.sleeps) == 2
    assert SECRET not in result.error and SECRET not in (cap.usage.last_error or "")
    assert scrub(f"bad key {SECRET}\nsecond line", SECRET) == "bad key *** second line"


def test_client_errors_are_not_retried(events, tmp_path):
    with ChatServer(["good"]) as server:
        cap = captioner(server.url.replace("/v1", "/nope"), tmp_path)  # 404
        result = cap.caption(events[0])
        assert result.source == "rules-fallback" and "404" in result.error and len(server.requests) == 1


# ------------------------------------------------------------------ prompt, validation


def test_prompt_holds_the_rules_and_the_features(events):
    messages = build_messages(events[0], k=5)
    system, user = messages[0]["content"], messages[1]["content"]
    assert "exactly 5 items" in system and "Triplets 1-2 are concise" in system and "triplet 5 is detailed" in system
    assert "Never guess a purpose" in system and "Report every contact" in system
    assert '"frames":60' in user and "Write 5 caption triplets" in user
    assert prompt_key("a", messages) != prompt_key("b", messages)
    assert prompt_key("a", messages) == prompt_key("a", build_messages(events[0], k=5))
    assert prompt_key("a", messages) != prompt_key("a", build_messages(events[1], k=5))


def test_answer_validation():
    good = {"captions": [{"left": " The left\nhand. ", "right": "R.", "two_hands_relation": "B."}] * 2}
    parsed = parse_captions("```json\n" + json.dumps(good) + "\n```", 2)
    assert parsed[0] == {"left": "The left hand.", "right": "R.", "both": "B."}
    assert parse_captions(json.dumps(good["captions"]), 2) == parsed
    for text, needle in [
        ("", "empty"), ("{", "not valid JSON"), ('{"captions": 3}', "list"),
        (json.dumps(good), None), (json.dumps({"captions": [{"left": "L", "right": "", "both": "B"}] * 3}), "'right'"),
        (json.dumps({"captions": [{"left": "L", "right": "R"}] * 3}), "'both'"),
        (json.dumps({"captions": ["text"] * 3}), "not a JSON object"),
    ]:
        with pytest.raises(InvalidAnswer, match=needle or "expected 3"):
            parse_captions(text, 3)


# ------------------------------------------------------------------ the command


def test_cli_fills_the_manifest_and_a_rerun_sends_nothing(synthetic_data_dir, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    shutil.copytree(synthetic_data_dir, data)
    with ChatServer(["good"]) as server:
        args = ["caption", "--data", str(data), "--captioner", "openai", "--base-url", server.url,
                "--model", "test-model"]
        proc = run_cli(*args, env={"OPENAI_API_KEY": SECRET}, check=True)  # the real command, in a subprocess
        rows = DataDir(data).manifest
        assert len(server.requests) == len(rows) == 96
        assert all(r["caption_source"] == "openai" and r["caption_model"] == "test-model" for r in rows)
        assert all(len(r["captions"]) == 5 and "phrasing 0" in r["captions"][0]["left"] for r in rows)
        assert all(r["gt_captions"] and r["gt_labels"] for r in rows)
        assert "96 requests" in proc.stdout and f"{96 * (PROMPT_TOKENS + COMPLETION_TOKENS)}" in proc.stdout
        assert len(list((data / CACHE_DIR).glob("*.json"))) == 96
        assert SECRET not in proc.stdout + proc.stderr
        # the same command again, in this process: every answer comes from the cache
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        assert cli.main(["-q", *args, "--overwrite"]) == 0
        out = capsys.readouterr()
        assert len(server.requests) == 96
        assert "0 requests" in out.out and "96 answers from the cache" in out.out
        assert cli.main(["-q", *args, "--overwrite", "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert len(server.requests) == 96 and "--- system ---" in out and "nothing sent" in out
        assert SECRET not in out


def test_cli_with_the_endpoint_down_falls_back_and_says_so(synthetic_data_dir, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    shutil.copytree(synthetic_data_dir, data)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    code = cli.main(["-q", "caption", "--data", str(data), "--captioner", "openai", "--base-url", dead_url(),
                     "--max-retries", "0", "--limit", "4"])
    out = capsys.readouterr()
    assert code == 1
    (line,) = out.err.strip().splitlines()
    assert line.startswith("handgen caption: error: every request to") and "4 clips were captioned by the rules" in line
    assert SECRET not in out.out + out.err
    rows = DataDir(data).manifest
    assert sum(r["caption_source"] == "rules-fallback" for r in rows) == 4
    assert sum(r["caption_source"] == "synthetic" for r in rows) == 92


def test_missing_key_for_the_openai_api_is_one_line(synthetic_data_dir, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code = cli.main(["-q", "caption", "--data", str(synthetic_data_dir), "--captioner", "openai", "--limit", "1"])
    assert code == 1 and "OPENAI_API_KEY" in capsys.readouterr().err


def test_a_dead_endpoint_stops_being_asked(events, tmp_path):
    cap = captioner(dead_url(), tmp_path, max_retries=1)
    cap.give_up_after = 2
    results = [cap.caption(e) for e in events]
    assert [r.source for r in results] == ["rules-fallback"] * 3
    assert cap.usage.requests == 4 and cap.usage.not_sent == 1 and "not sent" in results[-1].error
