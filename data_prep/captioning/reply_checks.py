"""What a chat-completions reply must look like, and a deadline for the whole request.

:func:`answer_text` accepts only a reply object with ``choices[0].message.content`` a string; an
HTTP 200 whose body is HTML, a bare list, or JSON of another shape is an
:class:`~data_prep.captioning.validate.InvalidAnswer`, not a traceback.
:func:`call_with_deadline` bounds the whole request: the HTTP client's timeout applies per read,
so a server that drips one byte at a time would otherwise hold a clip forever.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from data_prep.captioning.validate import InvalidAnswer

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The whole request took longer than its deadline."""


def answer_text(response: Any) -> str:
    """The text of the first choice of a chat-completions reply.

    Raises:
        InvalidAnswer: the reply is not a chat completion with a string message.
    """
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise InvalidAnswer(f"the reply is not a chat completion (got {type(response).__name__} without choices)")
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    if message is None:
        raise InvalidAnswer("the response holds no message")
    if content is None:
        return ""
    if not isinstance(content, str):
        raise InvalidAnswer(f"the message content is a {type(content).__name__}, not text")
    return content


def call_with_deadline(fn: Callable[[], T], seconds: float) -> T:
    """Run ``fn()`` and return its result, or raise :class:`DeadlineExceeded` after ``seconds``.

    The call runs in a daemon thread; one that overruns is abandoned (its socket closes when the
    server finally answers or the process exits) and never delays the exit.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="caption-request")
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise DeadlineExceeded(f"no complete answer within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]
