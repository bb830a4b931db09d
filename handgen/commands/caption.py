"""``handgen caption``: caption a DATA_DIR's clips from their motion features (rules or an LLM)."""

from __future__ import annotations

import argparse

from handgen.commands import arg_types


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "caption", help="write {left, right, both} captions from motion features (rules or an OpenAI-compatible LLM)"
    )
    parser.add_argument("--data", required=True, help="DATA_DIR written by `handgen prep`")
    parser.add_argument("--captioner", choices=("rules", "openai"), default="rules", help="default: rules (offline)")
    parser.add_argument("--model", default="gpt-4o-mini", help="LLM model name (default gpt-4o-mini)")
    parser.add_argument("--base-url", default=None,
                        help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (default: the OpenAI API); "
                             "the key comes from OPENAI_API_KEY")
    parser.add_argument("--k", type=arg_types.positive_int, default=5, help="caption triplets per clip (default 5: 2 concise, "
                                                         "2 moderate, 1 detailed)")
    parser.add_argument("--concurrency", type=arg_types.int_in(1, 64), default=4, help="parallel LLM requests (default 4)")
    parser.add_argument("--overwrite", action="store_true", help="redo clips already captioned by this captioner")
    parser.add_argument("--limit", type=arg_types.nonneg_int, default=None, help="caption at most N clips this run")
    parser.add_argument("--dry-run", action="store_true", help="print one prompt (or rules captions); send nothing")
    parser.add_argument("--timeout", type=arg_types.float_in(0, 3600, lo_open=True), default=60.0, help="seconds per LLM request, the whole request however slowly it answers (default 60)")
    parser.add_argument("--max-retries", type=arg_types.int_in(0, 20), default=4,
                        help="retries of a request on 429/5xx/timeouts/connection errors (default 4)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from data_prep.captioning.run import run_from_args

    return run_from_args(args)
