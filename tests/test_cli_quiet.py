"""``handgen -q``: no progress bars while the command runs, and none of it left behind afterwards."""

from __future__ import annotations

import io
import os

from conftest import cli_in_process
from tqdm import tqdm

from handgen import cli


def _bar_text() -> str:
    stream = io.StringIO()
    for _ in tqdm(range(3), file=stream, mininterval=0):
        pass
    return stream.getvalue()


def test_quiet_silences_bars_during_the_command_only(tmp_path, monkeypatch):
    seen = {}

    def fake(args):
        seen["bar"], seen["env"] = _bar_text(), os.environ.get("TQDM_DISABLE")
        return 0

    real = cli.build_parser

    def parser():
        p = real()
        parse = p.parse_args

        def parse_args(argv=None):
            args = parse(argv)
            args.func = fake
            return args

        p.parse_args = parse_args
        return p

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr(cli, "build_parser", parser)
    assert cli.main(["-q", "caption", "--data", str(tmp_path)]) == 0
    assert seen == {"bar": "", "env": "1"}  # bars off, and subprocesses told so
    assert "3/3" in _bar_text() and "TQDM_DISABLE" not in os.environ  # restored afterwards
    assert cli.main(["caption", "--data", str(tmp_path)]) == 0
    assert "3/3" in seen["bar"]  # without -q the bars show
    monkeypatch.setattr(cli, "build_parser", real)
    assert cli_in_process("-q", "clip", "--data", tmp_path / "none", "--id", "x", "--out", tmp_path / "c.npz") == 1
    assert "3/3" in _bar_text()  # a failing command restores them too
