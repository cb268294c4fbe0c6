"""The audit log's hash chain, who wrote each line, its syslog copy, and `verify` naming the first bad line."""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import subprocess
import sys
import syslog
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kdash.actions import audit as audit_module
from kdash.actions import delete
from kdash.actions.audit import GENESIS, AuditLog, line_hash, verify, verify_file
from kdash.actions.safety import WriteContext
from kdash.errors import KdashError
from kdash.kube.api import ApiClient, Configuration


@pytest.fixture(autouse=True)
def _no_ssh_or_sudo(monkeypatch) -> None:
    for name in ("SUDO_USER", "SSH_CONNECTION", "SSH_CLIENT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "state" / "audit.log")


def write(audit: AuditLog, n: int, prefix: str = "d") -> None:
    for i in range(n):
        audit.record(context="dev", verb="scale", target=f"Deployment/ns/{prefix}{i}", dry_run=False,
                     result="ok", detail=f"replicas {i} -> {i + 1}")


def raw_lines(audit: AuditLog) -> list[bytes]:
    return audit.path.read_bytes().splitlines(keepends=True)


def verdict_of(lines: list[bytes]) -> tuple[int, str]:
    result = verify(b"".join(lines))
    return result.line, result.problem


# -- the chain ------------------------------------------------------------------------------------


def test_each_line_carries_its_number_and_the_hash_of_the_line_before(audit: AuditLog) -> None:
    write(audit, 3)
    lines = raw_lines(audit)
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert records[0]["prev"] == GENESIS
    assert records[1]["prev"] == line_hash(lines[0]) and records[2]["prev"] == line_hash(lines[1])
    assert verify_file(audit.path).intact


def test_chain_stays_valid_across_two_audit_logs_writing_alternately(audit: AuditLog) -> None:
    other = AuditLog(audit.path)  # a second kdash on the same bastion account
    for i in range(10):
        write(audit if i % 2 else other, 1, prefix=f"p{i}-")
    verdict = verify_file(audit.path)
    assert verdict.intact and verdict.lines == 10, verdict.summary(audit.path)


def test_chain_stays_valid_across_threads(audit: AuditLog) -> None:
    logs = [audit, AuditLog(audit.path)]  # two instances: only the flock orders them
    threads = [threading.Thread(target=write, args=(logs[n % 2], 40, f"t{n}-")) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verdict = verify_file(audit.path)
    assert verdict.intact and verdict.lines == 240, verdict.summary(audit.path)


WRITER = """
import os, sys, time
from kdash.actions.audit import AuditLog
log = AuditLog(sys.argv[1])
while not os.path.exists(sys.argv[3]):  # both start writing at once
    time.sleep(0.001)
for i in range(300):
    log.record(context="dev", verb="scale", target=f"Deployment/ns/{sys.argv[2]}{i}", dry_run=False,
               result="ok", detail="x" * 300)
"""


def test_chain_stays_valid_with_two_kdash_processes_writing_at_once(audit: AuditLog) -> None:
    audit.path.parent.mkdir(parents=True)
    go = audit.path.parent / "go"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(audit.path), name, str(go)]) for name in "ab"]
    time.sleep(1.0)
    go.touch()
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    verdict = verify_file(audit.path)
    assert verdict.intact and verdict.lines == 600, verdict.summary(audit.path)


def test_a_file_of_an_earlier_kdash_is_continued_and_reported_unchained(audit: AuditLog) -> None:
    audit.path.parent.mkdir(parents=True)
    old = [{"time": "2025-01-01T00:00:00.000Z", "context": "dev", "verb": "scale", "object": f"Deployment/ns/{i}",
            "dry_run": False, "result": "ok", "detail": ""} for i in range(3)]
    audit.path.write_text("".join(json.dumps(line) + "\n" for line in old))
    write(audit, 2)
    records = audit.lines()
    assert [r.get("seq") for r in records] == [None, None, None, 4, 5]
    verdict = verify_file(audit.path)
    assert verdict.intact and verdict.unchained == 3
    assert "unchained before line 4" in verdict.summary("audit.log")
    lines = raw_lines(audit)
    lines[2] = lines[2].replace(b'"ok"', b'"error"')  # the last old line is covered by the first chained one
    assert verdict_of(lines) == (3, "edited (line 4 carries a different hash of it)")


def test_an_unwritable_lock_refuses_the_write_before_it_is_sent(audit: AuditLog, monkeypatch) -> None:
    """Another process holding the lock too long: the audit log counts as unwritable, nothing is sent."""
    monkeypatch.setattr(audit_module, "LOCK_TIMEOUT", 0.2)
    write(audit, 1)
    sent: list[Any] = []

    class Rest:
        def request(self, *args: Any, **kwargs: Any) -> Any:
            sent.append(args)
            raise AssertionError("sent")

    api_client = ApiClient(Configuration(host="https://k8s.test"))
    api_client.rest_client = Rest()
    ctx = WriteContext(api_client, "dev", audit=audit)
    with open(audit.path, "rb") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        with pytest.raises(KdashError, match="Audit log unavailable.*locked by another process"):
            delete.delete_pod(ctx, "prod", "web-1")
    assert sent == [] and len(audit.lines()) == 1


def test_the_file_stays_private(audit: AuditLog) -> None:
    write(audit, 2)
    assert audit.path.stat().st_mode & 0o777 == 0o600


# -- verify: each kind of damage at the right line --------------------------------------------------


@pytest.fixture
def five(audit: AuditLog) -> list[bytes]:
    write(audit, 5)
    lines = raw_lines(audit)
    assert verify(b"".join(lines)).intact
    return lines


def test_editing_a_line_is_reported_at_that_line(five: list[bytes]) -> None:
    five[2] = five[2].replace(b"replicas 2 -> 3", b"replicas 2 -> 9")
    assert verdict_of(five) == (3, "edited (line 4 carries a different hash of it)")


def test_editing_a_sequence_number_is_reported_at_that_line(five: list[bytes]) -> None:
    five[1] = five[1].replace(b'"seq": 2', b'"seq": 7')
    assert verdict_of(five)[0] == 2


def test_deleting_a_line_is_reported_where_it_is_missing(five: list[bytes]) -> None:
    del five[2]
    assert verdict_of(five) == (3, "1 line(s) missing before it (sequence 2 -> 4)")


def test_deleting_the_first_line_is_reported(five: list[bytes]) -> None:
    del five[0]
    assert verdict_of(five) == (1, "1 line(s) missing before it (the chain does not start at line 1)")


def test_inserting_an_unchained_line_is_reported_at_it(five: list[bytes]) -> None:
    forged = json.loads(five[1])
    del forged["seq"], forged["prev"]
    five.insert(2, (json.dumps(forged) + "\n").encode())
    assert verdict_of(five) == (3, "no hash after chained lines (inserted, or its hash was removed)")


def test_inserting_a_forged_chained_line_is_reported_at_it(five: list[bytes]) -> None:
    """A forger may chain a new line from line 2, but line 3 still names line 2: the insert shows."""
    forged = json.loads(five[1]) | {"seq": 3, "prev": line_hash(five[1]), "object": "Deployment/ns/forged"}
    five.insert(2, (json.dumps(forged) + "\n").encode())
    assert verdict_of(five) == (3, "inserted: line 4 chains from line 2, lines 3-3 are extra")


def test_a_replayed_line_is_reported_at_the_copy(five: list[bytes]) -> None:
    five.insert(3, five[1])
    assert verdict_of(five) == (4, "a copy of line 2 (replayed)")


def test_truncating_the_tail(five: list[bytes]) -> None:
    """Part of the last line cut: detected. The whole last line(s) removed: the rest is a valid
    chain, the file alone cannot tell (nothing after it names it); the syslog copy can."""
    cut = five[:4] + [five[4][:-20]]
    assert verdict_of(cut) == (5, "incomplete last line (truncated, or a write was interrupted)")
    no_newline = five[:4] + [five[4][:-1]]
    assert verdict_of(no_newline)[0] == 5
    assert verify(b"".join(five[:3])).intact


def test_a_write_after_an_interrupted_line_still_appends_and_verify_names_the_broken_line(
        audit: AuditLog) -> None:
    write(audit, 2)
    data = audit.path.read_bytes()
    audit.path.write_bytes(data + b'{"time": "2026')
    write(audit, 1, prefix="after")
    assert audit.lines  # the new line was written on a line of its own
    assert audit.path.read_bytes().endswith(b"\n")
    assert json.loads(raw_lines(audit)[-1])["object"] == "Deployment/ns/after0"
    assert verdict_of(raw_lines(audit)) == (3, "not a JSON record (edited, or a line was cut)")


# -- who ------------------------------------------------------------------------------------------


def test_user_sudo_user_and_ssh_client_are_recorded(audit: AuditLog, monkeypatch) -> None:
    monkeypatch.setenv("SUDO_USER", "alice")
    monkeypatch.setenv("SSH_CONNECTION", "203.0.113.7 52344 10.0.0.2 22")
    monkeypatch.setenv("USER", "mallory")  # the user comes from the uid, not the environment
    write(audit, 1)
    [record] = audit.lines()
    assert record["user"] == pwd.getpwuid(os.getuid()).pw_name
    assert record["sudo_user"] == "alice"
    assert record["ssh_client"] == "203.0.113.7 52344"


def test_ssh_client_falls_back_to_ssh_client_and_absent_fields_are_left_out(audit: AuditLog,
                                                                             monkeypatch) -> None:
    write(audit, 1)
    monkeypatch.setenv("SSH_CLIENT", "2001:db8::7 40022 22")
    write(audit, 1)
    first, second = audit.lines()
    assert "sudo_user" not in first and "ssh_client" not in first
    assert second["ssh_client"] == "2001:db8::7 40022"


# -- syslog -----------------------------------------------------------------------------------------


def test_syslog_gets_the_same_record(tmp_path: Path, monkeypatch) -> None:
    sent: list[tuple[int, str]] = []
    opened: list[tuple[Any, ...]] = []
    monkeypatch.setattr(audit_module, "_syslog_open", False)
    monkeypatch.setattr(syslog, "openlog", lambda *args: opened.append(args))
    monkeypatch.setattr(syslog, "syslog", lambda priority, message: sent.append((priority, message)))
    audit = AuditLog(tmp_path / "audit.log", syslog=True)
    audit.record(context="prod", verb="scale", target="Deployment/ns/web", dry_run=False, result="ok",
                 detail="replicas 1 -> 2")
    audit.record(context="prod", verb="delete", target="Pod/ns/web-1", dry_run=False, result="refused",
                 detail="read-only context")
    assert opened == [("kdash", syslog.LOG_PID, syslog.LOG_AUTHPRIV)]
    lines = audit.path.read_text().splitlines()
    assert sent == [(syslog.LOG_INFO | syslog.LOG_AUTHPRIV, lines[0]),
                    (syslog.LOG_NOTICE | syslog.LOG_AUTHPRIV, lines[1])]


def test_a_failing_syslog_never_blocks_the_write(tmp_path: Path, monkeypatch) -> None:
    def broken(*args: Any) -> None:
        raise OSError("no /dev/log")

    monkeypatch.setattr(audit_module, "_syslog_open", False)
    monkeypatch.setattr(syslog, "openlog", broken)
    monkeypatch.setattr(syslog, "syslog", broken)
    audit = AuditLog(tmp_path / "audit.log", syslog=True)
    write(audit, 2)
    assert len(audit.lines()) == 2 and verify_file(audit.path).intact


def test_syslog_is_off_unless_asked(audit: AuditLog, monkeypatch) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(syslog, "syslog", lambda *args: sent.append(args))
    write(audit, 1)
    assert sent == []


def test_deleting_old_unchained_lines_before_the_chain_is_reported(audit: AuditLog) -> None:
    audit.path.parent.mkdir(parents=True)
    audit.path.write_text("".join(json.dumps({"verb": "scale", "object": f"Deployment/ns/{i}"}) + "\n"
                                  for i in range(3)))
    write(audit, 1)
    lines = raw_lines(audit)
    del lines[0]
    assert verdict_of(lines) == (3, "1 line(s) missing before it (sequence 4 at line 3)")


# -- kdash audit verify -------------------------------------------------------------------------------


def _verify_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    kdash = Path(sys.executable).parent / "kdash"
    return subprocess.run([str(kdash), "audit", "verify", *args], capture_output=True, text=True, timeout=30,
                          env={**os.environ, **(env or {})})


def test_cli_verify_exit_codes_and_output(audit: AuditLog, tmp_path: Path) -> None:
    write(audit, 4)
    intact = _verify_cli("--file", str(audit.path))
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.count("\n") == 1
    assert intact.stdout.startswith(f"{audit.path}: intact: 4 lines, chain valid through line 4")
    lines = raw_lines(audit)
    audit.path.write_bytes(b"".join(lines[:1] + lines[2:]))
    tampered = _verify_cli("--file", str(audit.path))
    assert tampered.returncode == 1
    assert tampered.stdout == f"{audit.path}: line 2: 1 line(s) missing before it (sequence 1 -> 3)\n"
    missing = _verify_cli("--file", str(tmp_path / "nope.log"))
    assert missing.returncode == 2 and "No such file" in missing.stderr and missing.stdout == ""


def test_cli_verify_reads_kdash_own_log_by_default(tmp_path: Path) -> None:
    state = tmp_path / "xdg-state"
    log = AuditLog(state / "kdash" / "audit.log")
    log.path.parent.mkdir(parents=True)
    log.path.write_text(json.dumps({"verb": "scale"}) + "\n")
    write(log, 1)
    result = _verify_cli(env={"XDG_STATE_HOME": str(state)})
    assert result.returncode == 0, result.stderr
    assert "unchained before line 2" in result.stdout and str(log.path) in result.stdout
