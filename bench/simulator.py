"""Throughput of the CIMcloud simulator against a minimal stdlib HTTP stub, on loopback (run by hand).

    .venv/bin/python bench/simulator.py [--seconds 5] [--rounds 3] [--auth basic|bearer] [--in-process] [--no-write]

Both servers run in their own subprocess (unless --in-process), HTTP/1.1 keep-alive with TCP_NODELAY; the
simulator with rate limits and faults off. One `requests.Session` per target runs the same sequential POST loop
with the seed's example order; the targets alternate over a few rounds so that drift on the machine hits both.
The result goes to stdout and to the `## Simulator throughput` section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ordersite.settings")
os.environ["DJANGO_DEBUG"] = "1"  # the simulator's development credentials unless the environment sets others

EXAMPLE = (REPO / "tests" / "fixtures" / "cimcloud-orderpassthrough.example.json").read_bytes()
STUB_BODY = json.dumps(
    {
        "action": "DataImported",
        "success": True,
        "importedRecords": 0,
        "updatedRecords": 1,
        "recordCountInRequest": 1,
        "message": None,
    }
).encode()
GOAL = 0.75
SECTION = "## Simulator throughput"


# --- the stub ------------------------------------------------------------------------------------------------


class StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(STUB_BODY)))
        self.end_headers()
        self.wfile.write(STUB_BODY)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address


def serve_stub() -> None:
    server = StubServer(("127.0.0.1", 0), StubHandler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"STUB READY http://127.0.0.1:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


# --- targets -------------------------------------------------------------------------------------------------


class Target:
    def __init__(self, name: str, url: str, headers: dict[str, str], stop: Callable[[], None]) -> None:
        self.name, self.url, self.headers, self.stop = name, url, headers, stop
        self.requests = 0
        self.seconds = 0.0
        self.rounds: list[float] = []


def start_stub(in_process: bool) -> Target:
    if in_process:
        import threading

        server = StubServer(("127.0.0.1", 0), StubHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()

        def stop() -> None:
            server.shutdown()
            server.server_close()

        return Target("stub", f"http://127.0.0.1:{server.server_address[1]}/", {}, stop)
    process = subprocess.Popen([sys.executable, __file__, "--serve-stub"], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.match(r"STUB READY (\S+)", line)
    if match is None:
        process.kill()
        process.wait()
        raise SystemExit(f"stub did not start: {line!r}")

    def stop_process() -> None:
        process.terminate()
        process.wait(5)
        assert process.stdout is not None
        process.stdout.close()

    return Target("stub", match[1], {}, stop_process)


def start_simulator(in_process: bool, auth: str) -> Target:
    import requests

    from orders.simulators.runner import configs_from_settings, start_simulators

    cimcloud, _ = configs_from_settings(limits=False)
    if in_process:
        running = start_simulators(cimcloud)
        base, stop = running.cimcloud_url, running.stop
    else:
        from orders.simulators.process import start_simulator_process

        handle = start_simulator_process("--no-limits")
        base, stop = handle.cimcloud_url, handle.close
    headers = {}
    if auth == "bearer":
        credentials = {"AuthKey": cimcloud.auth_key, "AuthUserName": cimcloud.username}
        credentials["AuthPassword"] = cimcloud.password
        token = requests.post(base + "authenticate", json=credentials, timeout=10).json()["token"]
        headers["Authorization"] = f"Bearer {token}"
    else:
        import base64

        pair = f"{cimcloud.username}:{cimcloud.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    return Target("simulator", base + "orderpassthrough/", headers, stop)


# --- measuring -----------------------------------------------------------------------------------------------


def post_loop(session: Any, target: Target, seconds: float) -> tuple[int, float]:
    headers = {"Content-Type": "application/json", **target.headers}
    count, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        response = session.post(target.url, data=EXAMPLE, headers=headers, timeout=10)
        if response.status_code != 200:
            raise SystemExit(f"{target.name}: HTTP {response.status_code} {response.text[:200]}")
        count += 1
    return count, time.perf_counter() - started


def measure(targets: list[Target], seconds: float, rounds: int) -> None:
    import requests

    sessions = {target.name: requests.Session() for target in targets}
    try:
        for target in targets:
            post_loop(sessions[target.name], target, 0.5)  # warm-up: connection, caches
        for number in range(rounds):
            order = targets if number % 2 == 0 else targets[::-1]
            for target in order:
                count, elapsed = post_loop(sessions[target.name], target, seconds / rounds)
                target.requests += count
                target.seconds += elapsed
                target.rounds.append(count / elapsed)
                print(f"round {number + 1} {target.name:>9}: {count / elapsed:8.0f} req/s", flush=True)
    finally:
        for session in sessions.values():
            session.close()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = found[1].strip() if found else cpu
    return f"{os.cpu_count()} CPUs (nproc), {cpu}; {platform.system()} {platform.release()}"


def report(stub: Target, sim: Target, args: argparse.Namespace) -> str:
    stub_rate, sim_rate = stub.requests / stub.seconds, sim.requests / sim.seconds
    ratio = sim_rate / stub_rate
    verdict = "meets" if ratio >= GOAL else "MISSES"
    command = (
        f".venv/bin/python bench/simulator.py --seconds {args.seconds:g} --rounds {args.rounds} --auth {args.auth}"
    )
    if args.in_process:
        command += " --in-process"
    rounds = "\n".join(
        f"| {i + 1} | {a:,.0f} | {b:,.0f} | {b / a:.2f} |"
        for i, (a, b) in enumerate(zip(stub.rounds, sim.rounds, strict=True))
    )
    where = "threads of this process" if args.in_process else "its own subprocess"
    what = (
        f"What: sequential `requests.Session` POSTs of the seed's example order "
        f"(`tests/fixtures/cimcloud-orderpassthrough.example.json`, {args.auth} auth) over loopback keep-alive, "
        f"against (a) a minimal stdlib `ThreadingHTTPServer` stub answering a fixed small JSON and (b) the CIMcloud "
        f"simulator (`run_simulators --no-limits`, no faults: full parsing, validation, upsert, inspection log). "
        f"Each server in {where}; the targets alternate over {args.rounds} rounds, {args.seconds:g} s per target."
    )
    return f"""{SECTION}

Measured {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")} on {machine()}, Python {platform.python_version()}.

{what}

| round | stub req/s | simulator req/s | ratio |
|---|---|---|---|
{rounds}
| **all** | **{stub_rate:,.0f}** | **{sim_rate:,.0f}** | **{ratio:.2f}** |

Simulator / stub = **{ratio:.2f}** ({verdict} the goal of >= {GOAL:.2f}). The client (`requests`) is most of the
cost of a call on both sides, so the ratio is the figure to watch, not the absolute rates.

Reproduce: `{command}` (add `--no-write` to leave this file alone).
"""


def write_section(text: str) -> Path:
    path = REPO / "docs" / "BENCHMARKS.md"
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    path.parent.mkdir(exist_ok=True)
    path.write_text(updated.rstrip("\n") + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per target (split over rounds)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--auth", choices=("basic", "bearer"), default="basic")
    parser.add_argument("--in-process", action="store_true", help="servers on threads of this process")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/BENCHMARKS.md")
    parser.add_argument("--serve-stub", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stub:
        serve_stub()
        return
    stub = start_stub(args.in_process)
    try:
        sim = start_simulator(args.in_process, args.auth)
        try:
            measure([stub, sim], args.seconds, args.rounds)
        finally:
            sim.stop()
    finally:
        stub.stop()
    text = report(stub, sim, args)
    print()
    print(text)
    if not args.no_write:
        print(f"written to {write_section(text).relative_to(REPO)}")


if __name__ == "__main__":
    main()
