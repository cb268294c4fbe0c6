"""The audit log: one hash-chained JSON line per write attempt, who made it, an optional syslog copy, and its check."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import syslog
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from kdash import config
from kdash.errors import KdashError

AUDIT_FILE = "audit.log"
# What the first line of a file chains from.
GENESIS = "0" * 64
# Another kdash holding the lock longer than this is stuck: the write is refused rather than hung.
LOCK_TIMEOUT = 5.0
# authpriv: sudo's facility; syslog daemons keep it in a root-only file (auth.log, secure), so
# the copy is out of reach of the bastion user who could rewrite their own audit.log.
SYSLOG_FACILITY = syslog.LOG_AUTHPRIV
_TAIL_BLOCK = 4096

Result = Literal["ok", "error", "refused"]


def line_hash(line: bytes) -> str:
    """What the next line's `prev` carries: the SHA-256 of this line's bytes, newline included."""
    return hashlib.sha256(line).hexdigest()


def who() -> dict[str, str]:
    """The OS user (from the uid, not the environment), and `sudo_user` / `ssh_client` when present."""
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    fields = {"user": user}
    if os.environ.get("SUDO_USER"):
        fields["sudo_user"] = os.environ["SUDO_USER"]
    # SSH_CONNECTION "client_ip client_port server_ip server_port"; SSH_CLIENT "client_ip client_port server_port".
    ssh = (os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_CLIENT") or "").split()
    if ssh:
        fields["ssh_client"] = " ".join(ssh[:2])
    return fields


class AuditLog:
    """Append-only, hash-chained JSON-lines file of every write attempt; safe between threads and
    between kdash processes (each append reads the last line and writes under an exclusive flock)."""

    def __init__(self, path: Path | str, *, syslog: bool = False) -> None:
        self.path = Path(path)
        self.syslog = syslog
        self._lock = threading.Lock()

    @classmethod
    def default(cls, *, syslog: bool = False) -> AuditLog:
        return cls(config.state_dir() / AUDIT_FILE, syslog=syslog)

    def check_writable(self) -> None:
        """Raise KdashError unless a line can be appended: no write may go unaudited."""
        try:
            with self._locked():
                pass
        except OSError as exc:
            raise KdashError("Audit log unavailable",
                             f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def record(self, *, context: str, verb: str, target: str, dry_run: bool, result: Result,
               detail: str = "", transaction: dict[str, Any] | None = None) -> dict[str, Any]:
        """Append one line and return it as a dict; `transaction`: the whole story of a watched
        rollout (its change, start, verdict with evidence, undo, end) in the same chained line."""
        line: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "context": context,
            "verb": verb,
            "object": target,
            "dry_run": dry_run,
            "result": result,
            "detail": detail,
            **who(),
        }
        if transaction is not None:
            line["transaction"] = transaction
        try:
            with self._locked() as fd:
                data = self._chain(fd, line)
                os.write(fd, data)  # one write() on O_APPEND, under the lock
        except OSError:
            return line  # check_writable() ran just before; losing a line must not hide the write's outcome
        if self.syslog:
            _to_syslog(line, data)
        return line

    def lines(self) -> list[dict[str, Any]]:
        """Every recorded line, oldest first ([] when the file does not exist)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.split("\n") if line.strip()]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        """The file open for reading and appending (private), under this process's lock and an
        exclusive flock shared with every other kdash."""
        with self._lock, config.open_private(self.path, readable=True) as handle:
            fd = handle.fileno()
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise OSError(f"locked by another process for over {LOCK_TIMEOUT:.0f} s") from None
                    time.sleep(0.01)
            try:
                yield fd
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _chain(self, fd: int, line: dict[str, Any]) -> bytes:
        """`line`'s bytes with `seq` (its line number) and `prev` (the last line's hash) filled in."""
        last, size = _last_line(fd)
        prefix = b""
        if last and not last.endswith(b"\n"):
            prefix = b"\n"  # an interrupted write: closed here, and `verify` names it
            last += prefix
        if not last:
            seq, prev = 1, GENESIS
        else:
            try:
                seq = int(json.loads(last)["seq"]) + 1
            except (ValueError, KeyError, TypeError):
                # After unchained lines of an earlier kdash, or a broken line: its line number.
                seq = _count_lines(fd, size) + len(prefix) + 1
            prev = line_hash(last)
        line["seq"], line["prev"] = seq, prev
        return prefix + (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")


def _last_line(fd: int) -> tuple[bytes, int]:
    """The file's last line (with its newline, if it has one) and the file's size."""
    size = os.fstat(fd).st_size
    end = size
    tail = b""
    while end > 0:
        start = max(0, end - _TAIL_BLOCK)
        tail = os.pread(fd, end - start, start) + tail
        end = start
        cut = tail.rfind(b"\n", 0, len(tail) - 1)
        if cut >= 0:
            return tail[cut + 1:], size
    return tail, size


def _count_lines(fd: int, size: int) -> int:
    count, offset = 0, 0
    while offset < size:
        block = os.pread(fd, min(1 << 20, size - offset), offset)
        count += block.count(b"\n")
        offset += len(block)
    return count


_syslog_open = False


def _to_syslog(line: dict[str, Any], data: bytes) -> None:
    """The same record to syslog/journald; a failure there never fails or blocks the write."""
    global _syslog_open
    try:
        if not _syslog_open:
            syslog.openlog("kdash", syslog.LOG_PID, SYSLOG_FACILITY)
            _syslog_open = True
        priority = syslog.LOG_INFO if line["result"] == "ok" else syslog.LOG_NOTICE
        syslog.syslog(priority | SYSLOG_FACILITY, data.decode("utf-8").strip())
    except Exception:  # noqa: BLE001 - the file line is written; the copy is best effort
        pass


# -- verify ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: `problem` is "" when intact; `line` is where it is (1-based)."""

    lines: int
    unchained: int = 0
    """Lines at the start with no hash (written by a kdash before the chain): not checked."""
    line: int = 0
    problem: str = ""

    @property
    def intact(self) -> bool:
        return not self.problem

    def summary(self, path: Path | str) -> str:
        if self.problem:
            return f"{path}: line {self.line}: {self.problem}"
        if not self.lines:
            return f"{path}: empty, intact"
        chained = f"unchained before line {self.unchained + 1}, " if self.unchained else ""
        if self.unchained == self.lines:
            return f"{path}: {self.lines} lines, all unchained (written before the chain): nothing to verify"
        return f"{path}: intact: {self.lines} lines, {chained}chain valid through line {self.lines}"


def verify(data: bytes) -> Verdict:
    """The first tampered, inserted or missing line of an audit log's bytes, or intact."""
    raw = _split(data)
    hashes: dict[str, int] = {}  # hash of line n -> n, to name lines inserted after a chained one
    unchained = 0
    prev_hash, prev_seq = GENESIS, 0
    for number, text in enumerate(raw, 1):
        problem = _check_line(number, text, hashes, unchained, prev_hash, prev_seq)
        if problem:
            return Verdict(len(raw), unchained, *problem)
        record = json.loads(text)
        if "prev" not in record:
            unchained += 1
        else:
            prev_seq = record["seq"]
        prev_hash = line_hash(text)
        hashes.setdefault(prev_hash, number)
    return Verdict(len(raw), unchained)


def _check_line(number: int, text: bytes, hashes: dict[str, int], unchained: int, prev_hash: str,
                prev_seq: int) -> tuple[int, str] | None:
    """(line, why) for the first problem that line `number` shows, else None."""
    if not text.endswith(b"\n"):
        return number, "incomplete last line (truncated, or a write was interrupted)"
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        return number, "not a JSON record (edited, or a line was cut)"
    chained = number - 1 - unchained  # chained lines before this one
    if "prev" not in record:
        if chained:
            return number, "no hash after chained lines (inserted, or its hash was removed)"
        return None
    copied = hashes.get(line_hash(text))
    if copied:  # chained lines differ from every other line by their seq and prev, at least
        return number, f"a copy of line {copied} (replayed)"
    seq = record.get("seq")
    if not isinstance(seq, int) or not isinstance(record["prev"], str):
        return number, "malformed seq or prev (edited)"
    if not chained and seq > number:
        where = "the chain does not start at line 1" if number == 1 else f"sequence {seq} at line {number}"
        return number, f"{seq - number} line(s) missing before it ({where})"
    if record["prev"] == prev_hash:
        if chained and seq != prev_seq + 1:
            return number, f"sequence number {seq} after {prev_seq} with a valid hash (edited)"
        if not chained and seq != number:
            return number, f"sequence number {seq} at line {number} (edited, or lines inserted before it)"
        return None
    if chained and seq > prev_seq + 1:
        return number, f"{seq - prev_seq - 1} line(s) missing before it (sequence {prev_seq} -> {seq})"
    if record["prev"] in hashes and hashes[record["prev"]] < number - 1:
        first = hashes[record["prev"]] + 1
        return first, f"inserted: line {number} chains from line {first - 1}, lines {first}-{number - 1} are extra"
    if seq <= prev_seq:
        return number, f"inserted, or edited (sequence {prev_seq} -> {seq})"
    return number - 1, f"edited (line {number} carries a different hash of it)"


def _split(data: bytes) -> list[bytes]:
    """Lines with their newlines, split on \\n alone as the writer and `_last_line` do."""
    parts = [part + b"\n" for part in data.split(b"\n")]
    parts[-1] = parts[-1][:-1]
    return parts if parts[-1] else parts[:-1]


def verify_file(path: Path | str) -> Verdict:
    """`verify` over a file (OSError when it cannot be read)."""
    return verify(Path(path).read_bytes())
