"""The local SeaweedFS store: started by the CLI beside the session's server, used, stopped."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from pipelines.data import storage
from pipelines.runtime.local_s3 import STATE_FILE, load_state


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
