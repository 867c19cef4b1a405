"""The local SeaweedFS store: started by the CLI beside the session's server, used, stopped."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from pipelines.data import storage
from pipelines.runtime.local_s3 import STATE_FILE, _is_weed, load_state


def _cli(*args: str, state_dir) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.runtime.local_s3", *args,
                           "--state-dir", str(state_dir)], capture_output=True, text=True)


@pytest.mark.slow
def test_cli_start_env_stop_beside_another_server(tmp_path, s3_server):
    state_dir = tmp_path / "s3"
    started = _cli("start", state_dir=state_dir)
    assert started.returncode == 0, started.stderr
    server = load_state(state_dir)
    try:
        assert server is not None and server.endpoint_url != s3_server.endpoint_url
        assert server.secret_key not in started.stdout + started.stderr + repr(server)
        mode = stat.S_IMODE(os.stat(state_dir / STATE_FILE).st_mode)
        assert mode == 0o600
        assert _cli("start", state_dir=state_dir).returncode == 0  # already running: no-op
        assert load_state(state_dir).pid == server.pid
        exports = _cli("env", state_dir=state_dir).stdout
        assert f"export AWS_ENDPOINT_URL={server.endpoint_url}" in exports
        client = storage.s3_client(server.settings())
        client.create_bucket(Bucket="cli-bucket")
        client.put_object(Bucket="cli-bucket", Key="a.mp4", Body=b"abc")
        assert storage.read_bytes("s3://cli-bucket/a.mp4", server.settings()) == b"abc"
        assert "running" in _cli("status", state_dir=state_dir).stdout
    finally:
        stopped = _cli("stop", state_dir=state_dir)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert load_state(state_dir) is None
    assert not os.path.exists(f"/proc/{server.pid}/cmdline") or \
        b"weed" not in open(f"/proc/{server.pid}/cmdline", "rb").read()
    assert _cli("status", state_dir=state_dir).returncode == 1
    assert "not running" in _cli("stop", state_dir=state_dir).stdout


@pytest.mark.slow
def test_session_server_settings_hide_secrets(s3_server):
    assert s3_server.secret_key not in repr(s3_server) + repr(s3_server.settings())
    assert s3_server.env()["AWS_ENDPOINT_URL"] == s3_server.endpoint_url


TIED_DRIVER = """
import sys, time
from pipelines.runtime.local_s3 import start_server
print(start_server(sys.argv[1], tied=True).pid, flush=True)
if sys.argv[2] == "wait":
    time.sleep(600)
"""


def _gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _is_weed(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.slow
@pytest.mark.parametrize("end", ["exit", "SIGTERM", "SIGKILL"])
def test_a_tied_server_ends_with_the_process_that_started_it(tmp_path, end):
    """What a Ray job's driver gets: the store ends at a normal exit (stopped at exit), on
    SIGTERM (`ray job stop`) and on SIGKILL (the kernel's parent-death signal), checked by PID."""
    driver = subprocess.Popen([sys.executable, "-c", TIED_DRIVER, str(tmp_path / "s3"),
                               "exit" if end == "exit" else "wait"], stdout=subprocess.PIPE, text=True)
    pid = int(driver.stdout.readline())
    try:
        if end != "exit":
            assert _is_weed(pid)  # still serving while its driver runs
            driver.send_signal(getattr(signal, end))
        driver.wait(60)
        assert _gone(pid, timeout_s=0 if end == "exit" else 20), f"weed {pid} outlived its driver ({end})"
    finally:
        driver.kill()
        if _is_weed(pid):
            os.kill(pid, signal.SIGKILL)
