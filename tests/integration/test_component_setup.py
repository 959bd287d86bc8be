"""The prekey component's start: the key file (created atomically, shared by processes that
start together, never silently replaced) and the TOML configuration with ``--config``."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from otrv4.primitives.rng import DeterministicRng, SystemRng
from otrv4_xmpp.component import ConfigError, KeyFileError, load_config, load_or_create_key
from otrv4_xmpp.component.__main__ import main
from otrv4_xmpp.component.errors import EXIT_CONFIG, EXIT_FATAL

ROOT = Path(__file__).resolve().parents[2]


def _racer(path: str, barrier: multiprocessing.synchronize.Barrier,
           out: multiprocessing.Queue[str]) -> None:
    barrier.wait()
    try:
        out.put(load_or_create_key(Path(path), SystemRng()).sym_key.hex())
    except Exception as exc:  # reported to the test, which fails on it
        out.put(f"{type(exc).__name__}: {exc}")


def test_two_processes_starting_together_use_the_same_key(tmp_path: Path) -> None:
    """20 trials: two processes create the key file at the same moment; both end with the
    key that is in the file, and the folder holds nothing else."""
    ctx = multiprocessing.get_context("fork")
    for trial in range(20):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        path = folder / "service.key"
        barrier = ctx.Barrier(2)
        out: multiprocessing.Queue[str] = ctx.Queue()
        procs = [ctx.Process(target=_racer, args=(str(path), barrier, out)) for _ in range(2)]
        for p in procs:
            p.start()
        keys = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == 0
        on_disk = path.read_text().strip()
        assert keys == [on_disk, on_disk], f"trial {trial}: {keys}"
        assert [f.name for f in folder.iterdir()] == ["service.key"]  # no temporary left
        assert path.stat().st_mode & 0o777 == 0o600


def test_an_existing_key_is_kept_and_a_broken_one_is_named(tmp_path: Path) -> None:
    path = tmp_path / "service.key"
    first = load_or_create_key(path, DeterministicRng("keyfile:1"))
    assert load_or_create_key(path, DeterministicRng("keyfile:2")) == first
    path.write_text("")  # what a crash between create and write left before
    with pytest.raises(KeyFileError, match=f"key file {path} is empty"):
        load_or_create_key(path, DeterministicRng("keyfile:3"))
    assert path.read_text() == ""  # not replaced behind the operator's back
    path.write_text("abc\n")
    with pytest.raises(KeyFileError, match=f"key file {path} is corrupt"):
        load_or_create_key(path, DeterministicRng("keyfile:4"))


def _toml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_configuration_file_and_its_overrides(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s3cret\n")
    cfg = _toml(tmp_path / "c.toml", f"""
[component]
jid = "prekeys1.example.org"
secret_file = "{tmp_path / 'secret'}"
key_file = "{tmp_path / 'service.key'}"

[server]
host = "10.0.0.1"
port = 5348

[storage]
url = "postgresql://otr4@db.example.org/prekeys"

[limits]
retrievals_per_minute = 120
max_stored_per_device = 300

[reconnect]
initial_delay = 0.5
max_delay = 30

[log]
level = "debug"
""")
    c = load_config(cfg)
    assert (c.jid, c.secret, c.host, c.port) == ("prekeys1.example.org", "s3cret", "10.0.0.1", 5348)
    assert c.storage == "postgresql://otr4@db.example.org/prekeys"
    assert c.key_path == tmp_path / "service.key"
    assert (c.policy.retrievals_per_minute, c.policy.max_stored_per_device) == (120, 300)
    assert c.policy.dake_timeout == 120  # the default
    assert c.service_policy().publisher_domains == frozenset({"example.org"})
    assert (c.reconnect_initial, c.reconnect_max, c.log_level) == (0.5, 30.0, "DEBUG")
    o = load_config(cfg, {"port": 6000, "storage": "sqlite:/tmp/x.sqlite", "jid": None})
    assert (o.port, o.storage, o.jid) == (6000, "sqlite:/tmp/x.sqlite", "prekeys1.example.org")


@pytest.mark.parametrize(("text", "message"), [
    ("[component]\njid = 'p.example.org'\n", "secret is missing"),
    ("[component]\nsecret = 's'\n", "JID is missing"),
    ("[component]\njid = 'p.x'\nsecret = 's'\nsecrte = 't'\n", r"unknown key \[component\] secrte"),
    ("[compnent]\njid = 'p.x'\n", "unknown table"),
    ("[component]\njid = 'p.x'\nsecret = 's'\n[server]\nport = '5347'\n", "wrong type"),
    ("[component]\njid = 'p.x'\nsecret = 's'\n[storage]\nurl = 'mysql://x'\n", "unknown storage"),
    ("[component]\njid = 'p.x'\nsecret = 's'\n[limits]\nretrievals_per_minute = 0\n",
     "at least 1"),
    ("[component]\njid = 'p.x'\nsecret = 's'\n[log]\nlevel = 'LOUD'\n", "unknown log level"),
    ("[component\n", "not valid TOML"),
])
def test_configuration_errors_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_toml(tmp_path / "bad.toml", text))


def test_a_postgresql_storage_needs_a_key_file(tmp_path: Path) -> None:
    c = load_config(None, {"jid": "p.x", "secret": "s", "storage": "postgresql://db/p"})
    with pytest.raises(ConfigError, match="key_file is required"):
        _ = c.key_path
    assert load_config(None, {"jid": "p.x", "secret": "s", "storage": "sqlite:///v/p.sqlite"}
                       ).key_path == Path("/v/p.sqlite.key")


def test_the_command_line_exit_status_for_bad_setups(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    assert main(["--config", str(tmp_path / "missing.toml")]) == EXIT_CONFIG
    assert "cannot read it" in caplog.text
    key = tmp_path / "empty.key"
    key.write_text("")
    assert main(["--jid", "p.x", "--secret", "s", "--db", str(tmp_path / "p.sqlite"),
                 "--key", str(key)]) == EXIT_FATAL
    assert f"key file {key} is empty" in caplog.text


def test_help_lists_the_options_and_the_exit_status() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "spec_impl")}
    out = subprocess.run([sys.executable, "-m", "otrv4_xmpp.component", "--help"], env=env,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    for word in ("--config", "--storage", "--jid", "--secret", "--key", "Exit status"):
        assert word in out
