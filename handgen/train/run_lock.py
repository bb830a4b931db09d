"""One training per run folder: ``RUN_DIR/train.lock`` holds the PID, host and start time of its owner.

The lock file is created with ``O_CREAT | O_EXCL`` (atomic on local file systems). A second training
into the same folder is refused, naming the owner; a lock left by a process that no longer exists
on this host (killed with ``kill -9``, machine crash) is reported as stale and taken over.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path

from handgen.errors import HandgenError

LOCK_FILE = "train.lock"
log = logging.getLogger(__name__)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


class RunLock:
    """Context manager holding ``run_dir/train.lock`` for the current process.

    Raises:
        HandgenError: another live process (or one on another host) holds the lock.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self.held = False

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        owner = {"pid": os.getpid(), "host": socket.gethostname(),
                 "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                self._clear_if_stale()
                continue
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(owner) + "\n")
                f.flush()
                os.fsync(f.fileno())
            self.held = True
            return
        raise HandgenError(f"{self.path}: could not take the training lock")

    def _clear_if_stale(self) -> None:
        other = _read(self.path)
        if other is None:  # half-written by a process killed at that instant, or garbage
            age = time.time() - self.path.stat().st_mtime
            if age < 10:
                raise HandgenError(f"{self.path.parent} is locked by another training (unreadable {LOCK_FILE}); "
                                   f"if none is running, delete {self.path}")
        elif other.get("host") == socket.gethostname() and isinstance(other.get("pid"), int) \
                and not _pid_alive(other["pid"]):
            log.warning("removing a stale training lock of process %s (started %s, no longer running)",
                        other["pid"], other.get("started"))
        else:
            raise HandgenError(
                f"{self.path.parent} is being trained by process {other.get('pid')} on {other.get('host')} "
                f"(started {other.get('started')}); wait for it, or use another output_dir "
                f"(if that process is gone, delete {self.path})")
        self.path.unlink(missing_ok=True)

    def release(self) -> None:
        if self.held:
            mine = _read(self.path)
            if mine and mine.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
