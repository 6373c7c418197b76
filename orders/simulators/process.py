"""Run `manage.py run_simulators` as a subprocess and talk to its `/_sim/*` routes (tests, benchmarks, demos).

Stdlib only on purpose (urllib, not requests), so that a helper call never shares a connection pool with the
client under test.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_RE = re.compile(r"^SIMULATORS READY cimcloud=(?P<cimcloud>\S+) tulaerp=(?P<tulaerp>\S+)\s*$")
WHICH = ("cimcloud", "tulaerp")


class SimulatorStartError(RuntimeError):
    """The process exited or stayed silent; the message carries its stderr."""


class SimulatorProcess:
    """A running `run_simulators` process: URLs, `/_sim/*` helpers, and a clean stop."""

    def __init__(self, process: subprocess.Popen[str], stderr: IO[bytes], args: tuple[str, ...]) -> None:
        self.process = process
        self.args = args
        self._stderr = stderr
        self._ready = threading.Event()
        self._line: str | None = None
        self._reader = threading.Thread(target=self._read_stdout, name="sim-stdout", daemon=True)
        self._reader.start()
        self.cimcloud_url = self.tulaerp_url = ""

    # --- start-up ---
    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:  # drain to EOF so the child never blocks on a full pipe
            if self._line is None and READY_RE.match(line):
                self._line = line.strip()
                self._ready.set()
        self._ready.set()  # EOF: the process is gone

    def wait_ready(self, timeout: float) -> None:
        if not self._ready.wait(timeout) or self._line is None:
            reason = "exited" if self.process.poll() is not None else f"printed no READY line within {timeout:g}s"
            self.stop(signal.SIGKILL)
            raise SimulatorStartError(f"run_simulators {reason}; stderr:\n{self.stderr_text()}")
        match = READY_RE.match(self._line)
        assert match is not None
        self.cimcloud_url, self.tulaerp_url = match["cimcloud"], match["tulaerp"]

    @property
    def ready_line(self) -> str | None:
        return self._line

    # --- addresses ---
    @property
    def cimcloud_root(self) -> str:
        """`http://HOST:PORT/` (no site name)."""
        parts = urlsplit(self.cimcloud_url)
        return f"{parts.scheme}://{parts.netloc}/"

    @property
    def sitename(self) -> str:
        return urlsplit(self.cimcloud_url).path.strip("/")

    @property
    def cimcloud_base_url(self) -> str:
        """The form of the CIMCLOUD_BASE_URL setting: root without a trailing slash."""
        return self.cimcloud_root.rstrip("/")

    @property
    def tulaerp_base_url(self) -> str:
        """The form of the TULAERP_BASE_URL setting."""
        return self.tulaerp_url.rstrip("/")

    def settings_overrides(self) -> dict[str, str]:
        """Settings pointing the dashboard's clients here (e.g. for pytest-django's `settings` fixture)."""
        return {
            "CIMCLOUD_BASE_URL": self.cimcloud_base_url,
            "CIMCLOUD_SITENAME": self.sitename,
            "TULAERP_BASE_URL": self.tulaerp_base_url,
        }

    # --- credentials, as this process's Django settings see them (the child shares its environment) ---
    @property
    def cimcloud_auth(self) -> dict[str, str]:
        """The body for `POST authenticate`; AuthUserName/AuthPassword are also the Basic credentials."""
        cimcloud, _ = _configs()
        return {"AuthKey": cimcloud.auth_key, "AuthUserName": cimcloud.username, "AuthPassword": cimcloud.password}

    @property
    def tulaerp_headers(self) -> dict[str, str]:
        _, tulaerp = _configs()
        return {tulaerp.auth_header: tulaerp.auth_value}

    def root(self, which: str) -> str:
        if which not in WHICH:
            raise ValueError(f"which must be one of {WHICH}, not {which!r}")
        return self.cimcloud_root if which == "cimcloud" else self.tulaerp_url

    # --- /_sim/* helpers ---
    def reset(self) -> None:
        for which in WHICH:
            sim_call("POST", self.root(which) + "_sim/reset", {})

    def faults(self, which: str = "both", **changes: Any) -> dict[str, dict[str, Any]]:
        """Merge fault settings into one simulator or both; returns {name: full config}."""
        names = WHICH if which == "both" else (which,)
        return {name: sim_call("POST", self.root(name) + "_sim/faults", changes) for name in names}

    def received(self, which: str) -> list[dict[str, Any]]:
        return sim_call("GET", self.root(which) + "_sim/received")

    def expire_tokens(self) -> int:
        return sim_call("POST", self.cimcloud_root + "_sim/expire-tokens", {})["expired"]

    # --- shutdown ---
    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> int:
        """Signal, wait up to `timeout`, then kill; returns the exit code. Safe to call twice."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode

    def close(self) -> None:
        self.stop()
        self._stderr.close()

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _configs() -> tuple[Any, Any]:
    from orders.simulators.runner import configs_from_settings  # needs Django settings: only imported on use

    return configs_from_settings()


def sim_call(method: str, url: str, payload: Any = None, timeout: float = 10.0) -> Any:
    """One JSON call to a `/_sim/*` route; a 4xx answer raises ValueError with the simulator's message."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            raise ValueError(f"{method} {url} -> {exc.code}: {exc.read().decode(errors='replace')}") from None


def start_simulator_process(
    *args: str, env: dict[str, str] | None = None, timeout: float = 20.0, python: str = sys.executable
) -> SimulatorProcess:
    """Start `manage.py run_simulators --cimcloud-port 0 --tulaerp-port 0 *args` and wait for READY.

    The child inherits os.environ plus DJANGO_DEBUG=1 (so it uses the development credentials unless the
    environment says otherwise) plus `env`. Raises SimulatorStartError with its stderr on failure.
    """
    command = [python, str(REPO_ROOT / "manage.py"), "run_simulators", "--cimcloud-port", "0", "--tulaerp-port", "0"]
    command.extend(args)
    child_env = {**os.environ, "DJANGO_DEBUG": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
    # A file, not a pipe: --verbose logging can never fill it and block the child. Closed by handle.close().
    stderr = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=child_env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    except BaseException:
        stderr.close()
        raise
    handle = SimulatorProcess(process, stderr, tuple(args))
    try:
        handle.wait_ready(timeout)
    except BaseException:
        handle.close()
        raise
    return handle
