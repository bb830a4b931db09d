"""``handgen caption``: fill a DATA_DIR's ``captions`` from the clips' motion features.

For every clip (sorted by id): extract the motion features, segment them into events, store
the events JSON (``motion_events/<clip id>.json``, :mod:`.features_io`) and caption it with
the rules or an LLM. The manifest gets, per captioned clip, ``captions`` (K triplets),
``caption_source`` ("rules", "openai" or "rules-fallback"), ``caption_model`` and
``motion_events``; ``gt_captions``/``gt_labels`` stay as prep wrote them (ground-truth captions
that were the clip's ``captions`` are kept in ``gt_captions``). The manifest is rewritten
atomically every :data:`FLUSH_EVERY` clips and at the end, so an interrupted run keeps its
work; clips already captioned by the same captioner and model (with K triplets) are skipped
unless ``overwrite``. A clip that cannot be read is left as it was and listed in
``caption_skipped.jsonl``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from data_prep.captioning.cache import CACHE_DIR, AnswerCache
from data_prep.captioning.features_io import clip_event_json, write_events
from data_prep.captioning.openai_captioner import PLACEHOLDER_KEY, OpenAICaptioner
from data_prep.captioning.prompt import build_messages
from data_prep.captioning.rules import rules_captions
from handgen.errors import HandgenError, InputFileError
from handgen.io.atomic import atomic_write_jsonl
from handgen.io.data_dir import DataDir

log = logging.getLogger(__name__)
RULES_MODEL = "handgen-rules-2"  # 2: contacts grouped per palm and per left fingertip
DEFAULT_MODEL = "gpt-4o-mini"
FLUSH_EVERY = 64
CAPTIONERS = ("rules", "openai")
SKIPPED = "caption_skipped.jsonl"  # clips that could not be read in the last run


@dataclass
class CaptionOptions:
    captioner: str = "rules"
    k: int = 5
    overwrite: bool = False
    limit: int | None = None
    dry_run: bool = False
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    concurrency: int = 4
    timeout: float = 60.0
    max_retries: int = 4
    progress: bool = True
    backoff: float = 1.0


@dataclass
class CaptionSummary:
    captioner: str
    model: str
    total: int = 0
    captioned: int = 0
    already_done: int = 0
    not_selected: int = 0
    fallback: int = 0
    kept_previous: int = 0  # failed clips that kept their earlier (LLM or ground-truth) captions
    cached: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    usage: Any = None
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"caption: {self.captioned} clips captioned with {self.captioner} ({self.model}) in {self.seconds:.1f} s; "
            f"{self.already_done} already done, {self.not_selected} left for later (--limit), "
            f"{len(self.failed)} unreadable{f' (listed in {SKIPPED})' if self.failed else ''}; "
            f"{self.total} clips in the manifest"
        ]
        if self.usage is not None:
            u = self.usage
            out.append(
                f"caption: {u.requests} requests ({u.failed_requests} failed, {u.invalid_answers} invalid answers), "
                f"{self.cached} answers from the cache, tokens: {u.prompt_tokens} prompt + {u.completion_tokens} "
                f"completion = {u.total_tokens}"
            )
            if self.fallback:
                skipped = f", {u.not_sent} of them not sent after repeated failures" if u.not_sent else ""
                out.append(f"caption: {self.fallback} clips fell back to the rules (caption_source rules-fallback"
                           f"{skipped}); re-run to retry them")
            if self.kept_previous:
                out.append(f"caption: {self.kept_previous} of the failed clips kept their previous captions")
        return out


def _api_key(base_url: str | None) -> str:
    key = os.environ.get("OPENAI_API_KEY", "").strip()
    if key:
        return key
    if base_url is None:
        raise HandgenError("set OPENAI_API_KEY (or --base-url for a local OpenAI-compatible server)")

    return PLACEHOLDER_KEY


def _done(row: dict[str, Any], source: str, model: str, k: int) -> bool:
    return row.get("caption_source") == source and row.get("caption_model") == model and len(row["captions"]) == k


def keeps_previous_captions(row: dict[str, Any]) -> bool:
    """True when a clip whose LLM request failed should keep what it has (captions from an LLM; synthetic
    ground truth is kept in ``gt_captions`` anyway)."""
    return bool(row.get("captions")) and row.get("caption_source") not in (None, "rules", "rules-fallback", "synthetic")


def _apply(row: dict[str, Any], captions: list[dict[str, str]], source: str, model: str, events_rel: str) -> None:
    if row.get("caption_source") == "synthetic" and not row.get("gt_captions"):
        row["gt_captions"] = [dict(c) for c in row["captions"]]
    row["captions"] = captions
    row["caption_source"] = source
    row["caption_model"] = model
    row["motion_events"] = events_rel


def _make_captioner(data: DataDir, opts: CaptionOptions):
    return OpenAICaptioner(
        model=opts.model, base_url=opts.base_url, api_key=_api_key(opts.base_url),
        cache=AnswerCache(data.path / CACHE_DIR), k=opts.k, timeout=opts.timeout, max_retries=opts.max_retries,
        backoff=opts.backoff,
    )


def dry_run(data: DataDir, todo: list[dict[str, Any]], opts: CaptionOptions) -> str:
    """The prompt (openai) or the captions (rules) of the first clip to do; nothing is sent or written."""
    if not todo:
        return "caption --dry-run: no clip to caption (all done; --overwrite redoes them)"
    row = todo[0]
    events = clip_event_json(data, row)
    if opts.captioner == "openai":
        messages = build_messages(events, opts.k)
        body = "\n\n".join(f"--- {m['role']} ---\n{m['content']}" for m in messages)
        return f"caption --dry-run: the prompt for {row['id']} (model {opts.model}); nothing sent\n{body}"
    captions = json.dumps(rules_captions(events, opts.k), indent=2)
    return f"caption --dry-run: rules captions for {row['id']}; nothing written\n{captions}"


def caption_data_dir(data_dir: str | Path, opts: CaptionOptions) -> CaptionSummary | str:
    """Caption the clips of ``data_dir``; returns the summary (or the dry-run text).

    Raises:
        HandgenError: bad options, an unreadable DATA_DIR, a missing API key, or (after writing
            the rules fallback) every request to the endpoint failing.
    """
    if opts.captioner not in CAPTIONERS:
        raise HandgenError(f"--captioner must be one of {CAPTIONERS}, got {opts.captioner!r}")
    if opts.k < 1 or opts.concurrency < 1 or (opts.limit is not None and opts.limit < 0):
        raise HandgenError("--k and --concurrency must be >= 1 and --limit >= 0")
    data = DataDir(data_dir)
    model = opts.model if opts.captioner == "openai" else RULES_MODEL
    rows = [dict(r) for r in data.manifest]
    todo = [r for r in rows if opts.overwrite or not _done(r, opts.captioner, model, opts.k)]
    summary = CaptionSummary(captioner=opts.captioner, model=model, total=len(rows),
                             already_done=len(rows) - len(todo))
    if opts.limit is not None:
        summary.not_selected = max(0, len(todo) - opts.limit)
        todo = todo[: opts.limit]
    if opts.dry_run:
        return dry_run(data, todo, opts)
    captioner = _make_captioner(data, opts) if opts.captioner == "openai" and todo else None
    started = time.perf_counter()
    bar = tqdm(total=len(todo), desc=f"caption ({opts.captioner})", unit="clip", disable=not opts.progress or not todo)
    pending: deque = deque()  # (row, events path, future) in clip order
    unsaved = 0

    def finish(row: dict[str, Any], rel: str, captions: list[dict[str, str]], source: str, cached: bool) -> None:
        nonlocal unsaved
        if source == "rules-fallback" and keeps_previous_captions(row):
            summary.kept_previous += 1  # a failed request never replaces good captions
        else:
            _apply(row, captions, source, model, rel)
        summary.captioned += 1
        summary.fallback += source == "rules-fallback"
        summary.cached += bool(cached)
        bar.update()
        unsaved += 1
        if unsaved >= FLUSH_EVERY:
            data.rewrite_manifest(rows)
            unsaved = 0

    def drain(limit: int) -> None:
        while len(pending) > limit:
            row, rel, future = pending.popleft()
            result = future.result()
            finish(row, rel, result.captions, result.source, result.cached)

    # features are computed here, shard by shard (the reader's cache is dropped between shards);
    # only the LLM requests run in the thread pool. An interruption still saves the finished clips.
    try:
        with ThreadPoolExecutor(max_workers=opts.concurrency) as pool:
            shard = None
            for row in sorted(todo, key=lambda r: (r["shard"], r["id"])):
                if row["shard"] != shard:
                    data.clear_cache()
                    shard = row["shard"]
                try:
                    events = clip_event_json(data, row)
                except (InputFileError, KeyError) as exc:
                    log.warning("skipped %s: %s", row["id"], exc)
                    summary.failed.append({"id": row["id"], "reason": str(exc)})
                    bar.update()
                    continue
                rel = write_events(data.path, row["id"], events)
                if captioner is None:
                    try:
                        captions = rules_captions(events, opts.k)
                    except Exception as exc:  # a captioner bug on one clip must not lose the others
                        log.warning("skipped %s: rules captioner failed: %r", row["id"], exc)
                        summary.failed.append({"id": row["id"], "reason": f"rules captioner failed: {exc!r}"})
                        bar.update()
                        continue
                    finish(row, rel, captions, "rules", False)
                else:
                    pending.append((row, rel, pool.submit(captioner.caption, events)))
                    drain(2 * opts.concurrency)
            drain(0)
    finally:
        bar.close()
        data.rewrite_manifest(rows)
        if summary.failed or (data.path / SKIPPED).exists():
            atomic_write_jsonl(data.path / SKIPPED, summary.failed)
    summary.seconds = time.perf_counter() - started
    if captioner is not None:
        summary.usage = captioner.usage
        sent_ok = captioner.usage.requests - captioner.usage.failed_requests - captioner.usage.invalid_answers
        if summary.fallback and summary.fallback == summary.captioned - summary.cached and sent_ok <= 0:
            where = opts.base_url or "the OpenAI API"
            raise HandgenError(
                f"every request to {where} failed (last error: {captioner.usage.last_error}); "
                f"{summary.fallback - summary.kept_previous} clips were captioned by the rules instead (caption_source "
                f"rules-fallback), {summary.kept_previous} kept their previous captions"
            )
    return summary


def run_from_args(args) -> int:
    """Entry point of ``handgen caption`` (see handgen/commands/caption.py)."""
    opts = CaptionOptions(
        captioner=args.captioner, k=args.k, overwrite=args.overwrite, limit=args.limit, dry_run=args.dry_run,
        model=args.model, base_url=args.base_url, concurrency=args.concurrency, timeout=args.timeout,
        max_retries=args.max_retries, progress=not getattr(args, "quiet", False),
    )
    result = caption_data_dir(args.data, opts)
    if isinstance(result, str):
        print(result)
        return 0
    for line in result.lines():
        print(line)
    return 0
