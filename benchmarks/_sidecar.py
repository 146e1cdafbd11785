"""Helpers shared by the sidecar benchmarks: a real sidecar process (``guardrails serve --config``), the tests'
scripted upstream in a thread, and /proc readings (CPU seconds, RSS) of a process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))  # tests.helpers (the scripted upstream)


def stop_on_sigterm() -> None:
    """Turn SIGTERM (e.g. from ``timeout``) into SystemExit, so that the sidecar processes are stopped on the way out."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Sidecar:
    """A ``guardrails serve --config`` process; its stderr (the log) goes to ``log_path``."""

    def __init__(self, config: dict[str, Any], *, workdir: Path, name: str = "sidecar", src: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / f"{name}.json"
        self.log_path = workdir / f"{name}.log"
        self.config_path.write_text(json.dumps({"port": self.port, **config}))
        environ = {**os.environ, "HF_HUB_OFFLINE": "1", "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "", **(env or {})}
        if src:  # benchmark another checkout of the package (e.g. the code before a change)
            environ["PYTHONPATH"] = src + os.pathsep + environ.get("PYTHONPATH", "")
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "guardrails.cli.main", "serve", "--config",
                                      str(self.config_path)], env=environ, stdout=self._log, stderr=self._log,
                                     cwd=src or REPO)
        self.pid = self.proc.pid

    def wait(self, path: str = "/readyz", timeout: float = 180) -> "Sidecar":
        """Wait until ``path`` answers 200; else stop the process and raise RuntimeError with its log."""
        import httpx

        deadline = time.monotonic() + timeout
        problem = "did not become ready"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                problem = f"exited early ({self.proc.returncode})"
                break
            if "loading policy models failed" in self.log():
                problem = "cannot load its policy's models"
                break
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the sidecar {problem}; log:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@contextlib.contextmanager
def scripted_upstream() -> Iterator[Any]:
    """The tests' scripted OpenAI-compatible upstream on a free loopback port, in a thread: (ScriptedUpstream, server)."""
    from tests.helpers.scripted_upstream import ScriptedUpstream, ServerThread

    scripted = ScriptedUpstream()
    with ServerThread(scripted.app()) as server:
        yield scripted, server


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)
