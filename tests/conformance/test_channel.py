"""The adapter process: deadlines, crashes, garbage; the process group dies with it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from otrv4_conformance.channel import AdapterProcess
from otrv4_conformance.protocol import AdapterExited, AdapterTimeout, GarbageReply, WrongReplyId

from ._adapters import REFERENCE, misbehaving


def test_reference_answers_and_exits_on_bye() -> None:
    proc = AdapterProcess(REFERENCE, timeout=30)
    hello = proc.call("hello", {"protocol": 1})
    assert hello.result is not None and hello.result["levels"] == [1, 2, 3, 4]
    assert proc.call("no.such.op").unsupported
    assert proc.close() == 0


def test_a_hang_is_cut_at_the_deadline_and_the_adapter_killed() -> None:
    proc = AdapterProcess(misbehaving("hang", "tlv.TlvEncoding"), timeout=30)
    proc.call("hello")
    started = time.monotonic()
    with pytest.raises(AdapterTimeout, match=r"no reply to 'tlv.TlvEncoding' within 0.5 s"):
        proc.call("tlv.TlvEncoding", {"type": 1, "value": ""}, timeout=0.5)
    assert time.monotonic() - started < 30  # a guard against hanging, not a benchmark
    assert proc.dead and proc.proc.poll() is not None
    with pytest.raises(AdapterExited, match="no longer running"):
        proc.call("hello")


def test_the_whole_process_group_is_killed(tmp_path: Path) -> None:
    pidfile = tmp_path / "child"
    script = f"sleep 300 & echo $! > {pidfile}; read line; sleep 300"
    proc = AdapterProcess(["sh", "-c", script], timeout=30)
    with pytest.raises(AdapterTimeout):
        proc.call("hello", timeout=0.5)
    child = int(pidfile.read_text())
    for _ in range(100):  # the kernel may take a moment to reap it
        try:
            state = Path(f"/proc/{child}/stat").read_text().split()[2]
        except FileNotFoundError:
            break
        if state == "Z":
            break
        time.sleep(0.05)
    else:
        os.kill(child, 9)
        pytest.fail("the adapter's child survived the adapter")


def test_a_crash_is_reported_with_status_and_stderr() -> None:
    proc = AdapterProcess(misbehaving("crash", "kdf.Otrv4Kdf"), timeout=30)
    proc.call("hello")
    with pytest.raises(AdapterExited, match=r"exit status 3 during 'kdf.Otrv4Kdf'; stderr: "
                                            r"segmentation fault in kdf.Otrv4Kdf"):
        proc.call("kdf.Otrv4Kdf", {})


def test_garbage_and_wrong_ids_kill_the_adapter() -> None:
    proc = AdapterProcess(misbehaving("garbage", "tlv.TlvEncoding"), timeout=30)
    proc.call("hello")
    with pytest.raises(GarbageReply, match="not JSON: '<<this is not JSON>>'"):
        proc.call("tlv.TlvEncoding", {})
    assert proc.dead
    proc = AdapterProcess(misbehaving("wrong-id", "tlv.TlvEncoding"), timeout=30)
    proc.call("hello")
    with pytest.raises(WrongReplyId):
        proc.call("tlv.TlvEncoding", {})
    assert proc.dead


def test_a_missing_command_raises_at_start() -> None:
    with pytest.raises(FileNotFoundError):
        AdapterProcess("/nonexistent/adapter --flag")
