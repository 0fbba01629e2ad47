"""A throwaway Redis server for the test session: the Celery broker and result backend.

Debian's ``redis-server`` (installed with apt-get when missing and running as root), started on a
free port in a temporary directory with persistence off, and stopped (its directory removed) when the
session ends, like :mod:`.postgres_cluster`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .postgres_cluster import _free_port

PACKAGE = "redis-server"


def _server_binary() -> str | None:
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.access(p, os.X_OK)), None)


def ensure_redis_server() -> str:
    """The path of ``redis-server``; Debian's package is installed with apt-get when it is missing."""
    found = _server_binary()
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise RuntimeError(f"redis-server was not found: install it (Debian: apt-get install {PACKAGE}) "
                           "or set AIVLINGUAL_SKIP_CELERY=1 to skip the Celery tests")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", PACKAGE]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:  # stale package lists
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True)
        subprocess.run(install, env=env, check=True, capture_output=True)
    found = _server_binary()
    if not found:
        raise RuntimeError(f"apt-get installed {PACKAGE} but redis-server is not on PATH")
    return found


class RedisServer:
    """``RedisServer().start()`` … ``.url(db)`` … ``.stop()``."""

    def __init__(self) -> None:
        self.binary = ensure_redis_server()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="aiv-redis-"))
        self._proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "RedisServer":
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
                   "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
                   "--logfile", str(self.root / "redis.log")]
        self._proc = subprocess.Popen([self.binary, *options], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                log = (self.root / "redis.log")
                self.stop()
                raise RuntimeError(f"redis-server did not start: {log.read_text() if log.exists() else ''}")
            time.sleep(0.05)  # polling the port: redis-server has no readiness notification without systemd
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        try:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout=10)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
