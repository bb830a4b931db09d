"""The LLM captioner: an OpenAI-compatible chat-completions endpoint through the ``openai`` client.

One request per clip (the events JSON in the prompt, :mod:`.prompt`); the answer is validated
(:mod:`.validate`) and cached on disk (:mod:`.cache`). Transient failures (429, 5xx, timeouts,
connection errors) are retried with exponential backoff and jitter (a ``Retry-After`` header is
honoured); invalid answers are asked again a few times; a clip whose every attempt failed is
captioned by the rules instead and marked ``rules-fallback``. The client is built with
``max_retries=0``: retries are ours. The API key is never logged: error texts are scrubbed.
Thread-safe: one captioner serves a thread pool.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from data_prep.captioning.cache import AnswerCache
from data_prep.captioning.key_masking import mask_secret
from data_prep.captioning.prompt import build_messages, prompt_key
from data_prep.captioning.reply_checks import DeadlineExceeded, answer_text, call_with_deadline
from data_prep.captioning.rules import rules_captions
from data_prep.captioning.validate import InvalidAnswer, parse_captions

PLACEHOLDER_KEY = "sk-local-no-key"  # local OpenAI-compatible servers ignore the key
RETRY_STATUS = frozenset({408, 409, 429})  # and every 5xx
MAX_BACKOFF = 30.0
GIVE_UP_AFTER = 8  # consecutive clips whose every attempt failed: stop sending for this run


@dataclass
class Usage:
    """Request and token counts (thread-safe through :meth:`add`)."""

    requests: int = 0
    failed_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    invalid_answers: int = 0
    not_sent: int = 0  # clips not sent because the endpoint kept failing
    last_error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: Any) -> None:
        with self._lock:
            for name, value in counts.items():
                if name == "last_error":
                    self.last_error = value
                else:
                    setattr(self, name, getattr(self, name) + value)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class CaptionResult:
    captions: list[dict[str, str]]
    source: str  # "openai" | "rules-fallback"
    cached: bool = False
    error: str | None = None


class TransientError(Exception):
    """A failure worth retrying after a pause (``retry_after`` seconds when the server said so)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """A failure that retrying will not fix (bad request, authentication, unknown model...)."""


def scrub(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (the API key) masked, on one line, at most 300 characters."""
    if secret and secret != PLACEHOLDER_KEY:
        text = mask_secret(str(text), secret)
    line = " ".join(str(text).split())
    return line if len(line) <= 300 else line[:297] + "..."


def _retry_after(response: Any) -> float | None:
    try:
        value = float(response.headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None
    return value if value >= 0 else None


class OpenAICaptioner:
    """Caption clips' events with an OpenAI-compatible endpoint; see the module docstring."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None,
        api_key: str,
        cache: AnswerCache,
        k: int = 5,
        timeout: float = 60.0,
        max_retries: int = 4,
        invalid_retries: int = 2,
        temperature: float = 0.7,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import openai

        self._openai = openai
        self.model, self.base_url, self.k = model, base_url, k
        self.max_retries, self.invalid_retries = max_retries, invalid_retries
        self.temperature, self.backoff, self._sleep = temperature, backoff, sleep
        self.cache = cache
        self.usage = Usage()
        self._secret = api_key
        self.timeout = timeout
        self.request_deadline = timeout  # the whole request, however slowly the bytes come
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
        self._rng = random.Random()
        self._lock = threading.Lock()
        self._failures_in_a_row = 0
        self.give_up_after = GIVE_UP_AFTER

    @property
    def settings(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "k": self.k, "response_format": "json_object"}

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        with self._lock:
            jitter = self._rng.uniform(0.0, 1.0)
        delay = min(MAX_BACKOFF, self.backoff * 2**attempt) * (0.5 + 0.5 * jitter)
        return min(MAX_BACKOFF, max(delay, retry_after or 0.0))

    def _request(self, messages: list[dict[str, str]]) -> str:
        """One chat-completions call; returns the answer text. Raises TransientError / PermanentError."""
        openai = self._openai
        self.usage.add(requests=1)
        try:
            response = call_with_deadline(lambda: self._client.chat.completions.create(
                model=self.model, messages=messages, temperature=self.temperature,
                response_format={"type": "json_object"},
            ), self.request_deadline)
        except DeadlineExceeded as exc:
            raise TransientError(f"the request timed out ({exc})") from None
        except openai.APIStatusError as exc:
            message = scrub(f"HTTP {exc.status_code} from the endpoint ({exc.message})", self._secret)
            if exc.status_code in RETRY_STATUS or exc.status_code >= 500:
                raise TransientError(message, _retry_after(exc.response)) from None
            raise PermanentError(message) from None
        except openai.APITimeoutError:
            raise TransientError("the request timed out") from None
        except openai.APIConnectionError as exc:
            raise TransientError(scrub(f"cannot connect to the endpoint ({exc.message})", self._secret)) from None
        except openai.OpenAIError as exc:
            raise PermanentError(scrub(f"{type(exc).__name__}: {exc}", self._secret)) from None
        except (ValueError, TypeError, AttributeError, KeyError) as exc:  # a 200 whose body is not a completion
            raise InvalidAnswer(scrub(f"malformed reply body ({type(exc).__name__}: {exc})", self._secret)) from None
        usage = getattr(response, "usage", None)
        try:
            if usage is not None:
                self.usage.add(prompt_tokens=int(usage.prompt_tokens or 0),
                               completion_tokens=int(usage.completion_tokens or 0))
        except (TypeError, ValueError, AttributeError):
            pass  # token counts are informative only
        return answer_text(response)

    def _ask(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        """Request with retries until a valid answer. Raises the last error when every attempt failed."""
        transient = invalid = 0
        while True:
            try:
                return parse_captions(self._request(messages), self.k)
            except TransientError as exc:
                self.usage.add(failed_requests=1, last_error=str(exc))
                if transient >= self.max_retries:
                    raise
                self._sleep(self._delay(transient, exc.retry_after))
                transient += 1
            except InvalidAnswer as exc:
                self.usage.add(invalid_answers=1, last_error=f"invalid answer: {exc}")
                if invalid >= self.invalid_retries:
                    raise
                invalid += 1
            except PermanentError as exc:
                self.usage.add(failed_requests=1, last_error=str(exc))
                raise

    def caption(self, events: dict[str, Any]) -> CaptionResult:
        """K triplets for one clip's events; falls back to the rules (marked) when the endpoint fails."""
        messages = build_messages(events, self.k)
        key = prompt_key(self.model, messages, self.settings)
        record = self.cache.get(key)
        if record is not None:
            try:
                captions = parse_captions_record(record, self.k)
            except InvalidAnswer:
                captions = None
            if captions is not None:
                self.usage.add(cache_hits=1)
                return CaptionResult(captions, "openai", cached=True)
        if self._failures_in_a_row >= self.give_up_after:
            self.usage.add(not_sent=1)
            return CaptionResult(rules_captions(events, self.k), "rules-fallback",
                                 error=f"not sent: {self._failures_in_a_row} clips in a row failed")
        try:
            captions = self._ask(messages)
        except (TransientError, PermanentError) as exc:
            with self._lock:
                self._failures_in_a_row += 1
            return CaptionResult(rules_captions(events, self.k), "rules-fallback", error=str(exc))
        except InvalidAnswer as exc:
            return CaptionResult(rules_captions(events, self.k), "rules-fallback", error=str(exc))
        with self._lock:
            self._failures_in_a_row = 0
        self.cache.put(key, {"model": self.model, "base_url": self.base_url, "captions": captions,
                             "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
        return CaptionResult(captions, "openai")


def parse_captions_record(record: dict[str, Any], k: int) -> list[dict[str, str]]:
    """The triplets of a cache record, re-validated."""
    return parse_captions(json.dumps({"captions": record.get("captions")}), k)
