"""Shared machinery of the local simulators: the threaded HTTP server, fault injection, the inspection log.

Everything here is stdlib only and never touches Django, so a simulator can run in any process (the management
command, a test fixture, a benchmark) from a plain config dataclass.
"""

from __future__ import annotations

import contextlib
import email.utils
import http
import json
import math
import random
import socket
import struct
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"
MAX_BODY_BYTES = 10 * 1024 * 1024
Headers = list[tuple[str, str]]


# --- JSON helpers ------------------------------------------------------------------------------------------


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class BadJson(ValueError):
    """The body is not valid JSON (the message says where)."""


def loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadJson(str(exc)) from None


def truncated(body: bytes) -> bytes:
    # A strict prefix of a JSON object or array is never valid JSON; keep at least one byte so it is "broken",
    # not merely empty.
    if len(body) < 2:
        return b'{"'
    return body[: max(1, len(body) // 2)]


def fmt_seconds(seconds: float, whole: bool) -> str:
    """Seconds for a header: ceil to whole seconds, or ceil to milliseconds (never rounds a wait down)."""
    seconds = max(0.0, seconds - 1e-9)  # float noise must not push 900.0 up to 901
    if whole:
        return str(math.ceil(seconds))
    return f"{math.ceil(seconds * 1000) / 1000:.3f}"


def seconds_header(seconds: float) -> str:
    """A configured number of seconds as a header value: `1`, `0.5`."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


# --- Faults ------------------------------------------------------------------------------------------------

ERROR, RESET, DROP, TIMEOUT, MALFORMED = "error", "reset", "drop", "timeout", "malformed"
# Bands of the single uniform draw, in this order.
_RATE_KINDS = (
    ("error_rate", ERROR),
    ("reset_rate", RESET),
    ("drop_rate", DROP),
    ("timeout_rate", TIMEOUT),
    ("malformed_rate", MALFORMED),
)


@dataclass
class FaultConfig:
    error_rate: float = 0.0
    statuses: list[int] = field(default_factory=lambda: [500, 503, 429])
    latency_ms: float = 0.0
    timeout_rate: float = 0.0
    drop_rate: float = 0.0
    reset_rate: float = 0.0
    malformed_rate: float = 0.0
    retry_after_s: float = 1.0
    seed: int | None = None
    hang_s: float = 30.0


@dataclass(frozen=True)
class Fault:
    """What to do to one request: `kind` is None when only latency applies."""

    kind: str | None
    status: int = 0
    latency_s: float = 0.0
    hang_s: float = 0.0
    retry_after_s: float = 0.0


class FaultError(ValueError):
    """A rejected POST /_sim/faults body."""


def _number(name: str, value: Any, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FaultError(f"{name} must be a number")
    if value < low or (high is not None and value > high):
        raise FaultError(f"{name} must be between {low} and {high}" if high is not None else f"{name} must be >= {low}")
    return float(value)


def _merged(current: FaultConfig, changes: Any) -> FaultConfig:
    if not isinstance(changes, dict):
        raise FaultError("body must be a JSON object")
    known = {f.name for f in fields(FaultConfig)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise FaultError(f"unknown key(s): {', '.join(unknown)}")
    values = asdict(current)
    for name, value in changes.items():
        if name == "statuses":
            ok = isinstance(value, list) and value and all(type(s) is int and 400 <= s <= 599 for s in value)
            if not ok:
                raise FaultError("statuses must be a non-empty list of HTTP status codes 400-599")
            values[name] = list(value)
        elif name == "seed":
            if value is not None and type(value) is not int:
                raise FaultError("seed must be an integer or null")
            values[name] = value
        elif name.endswith("_rate"):
            values[name] = _number(name, value, 0.0, 1.0)
        else:
            values[name] = _number(name, value, 0.0)
    if sum(values[name] for name, _ in _RATE_KINDS) > 1.0 + 1e-9:
        raise FaultError("the rates must add up to at most 1")
    return FaultConfig(**values)


class Faults:
    """The fault switch: one seeded uniform draw per request, partitioned by the rates."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._apply(FaultConfig(), reseed=True)

    def _apply(self, config: FaultConfig, reseed: bool) -> None:
        self.config = config
        if reseed:
            self._rng = random.Random(config.seed)
        bounds, total = [], 0.0
        for name, kind in _RATE_KINDS:
            rate = getattr(config, name)
            if rate > 0:
                bounds.append((total, total + rate, kind))
                total += rate
        self._bounds = bounds
        # Read without the lock on the fast path: a plain attribute swap is atomic.
        self.active = bool(bounds) or config.latency_ms > 0

    def update(self, changes: Any) -> dict[str, Any]:
        with self._lock:
            config = _merged(self.config, changes)
            self._apply(config, reseed="seed" in changes)
            return asdict(config)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self.config)

    def draw(self) -> Fault | None:
        if not self.active:
            return None
        with self._lock:
            config, bounds = self.config, self._bounds
            u = self._rng.random()
        kind, status = None, 0
        for low, high, band in bounds:
            if u < high:
                kind = band
                if band == ERROR:
                    # Same draw picks the status, so one request consumes exactly one number of the sequence.
                    share = (u - low) / (high - low)
                    status = config.statuses[min(int(share * len(config.statuses)), len(config.statuses) - 1)]
                break
        return Fault(kind, status, config.latency_ms / 1000, config.hang_s, config.retry_after_s)


# --- Inspection log ----------------------------------------------------------------------------------------


@dataclass
class Received:
    key: str
    count: int = 0
    accepted: int = 0
    applied: int = 0
    assigned_id: int | None = None
    first_body: Any = None
    last_body: Any = None
    auth: str | None = None
    last_status: int | None = None


class ReceivedLog:
    """One entry per order key; callers hold the simulator's lock."""

    def __init__(self) -> None:
        self._entries: dict[str, Received] = {}

    def clear(self) -> None:
        self._entries = {}

    def record(
        self, key: str, body: Any, auth: str | None, status: int, applied: bool = False, assigned_id: int | None = None
    ) -> None:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = Received(key=key, first_body=body)
        entry.count += 1
        entry.last_body = body
        entry.auth = auth
        entry.last_status = status
        if 200 <= status < 300:
            entry.accepted += 1
        if applied:
            entry.applied += 1
        if assigned_id is not None:
            entry.assigned_id = assigned_id

    def as_list(self) -> list[dict[str, Any]]:
        return [asdict(entry) for entry in self._entries.values()]


# --- HTTP server -------------------------------------------------------------------------------------------

_REASONS = {s.value: s.phrase for s in http.HTTPStatus}
_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True))
    return _date_cache[1]


class SimHandler(BaseHTTPRequestHandler):
    """Parses requests and writes answers in one send; the routing lives in the SimApp."""

    protocol_version = "HTTP/1.1"
    server: SimServer
    _body: bytes | None = None
    started: float = 0.0

    def _dispatch(self) -> None:
        self._body = None
        self.started = time.perf_counter()
        app = self.server.app
        try:
            app.dispatch(self)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            self.send_bytes(500, app.internal_error_body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    @property
    def route_path(self) -> str:
        return self.path.split("?", 1)[0]

    @property
    def client_ip(self) -> str:
        return self.client_address[0]

    def read_body(self) -> bytes:
        """The request body, read once (an unreadable length closes the connection after the answer)."""
        if self._body is None:
            self._body = b""
            if self.headers.get("Transfer-Encoding"):
                self.close_connection = True  # no chunked decoding here: answer, then drop the stream
                return self._body
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY_BYTES:
                self.close_connection = True
            elif length:
                self._body = self.rfile.read(length)
        return self._body

    def send_bytes(self, status: int, body: bytes, headers: Headers = (), content_type: str = JSON_TYPE) -> None:
        self.read_body()  # keep the keep-alive stream in step even when a route ignored the body
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
            f"Server: {self.server.app.server_name}\r\nDate: {_http_date()}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        ]
        head.extend(f"{name}: {value}\r\n" for name, value in headers)
        if self.close_connection:
            head.append("Connection: close\r\n")
        head.append("\r\n")
        try:
            self.wfile.write("".join(head).encode("latin-1") + body)
        except OSError:
            self.close_connection = True  # the client went away (e.g. after its read timeout)
        if self.server.verbose:
            self.log_request(status, len(body))

    def send_json(self, status: int, payload: Any, headers: Headers = ()) -> None:
        self.send_bytes(status, dumps(payload), headers)

    def reset_connection(self) -> None:
        """Abort with a TCP RST: SO_LINGER 0 then close, without reading the body."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def drop_connection(self) -> None:
        """Close without any answer (an orderly FIN once the handler returns)."""
        self.close_connection = True

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the socket was reset on purpose or by the client
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up shutdown
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SimApp, verbose: bool = False) -> None:
        self.app = app
        self.verbose = verbose
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, SimHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        # Without it a small answer waits for the client's delayed ACK (~40 ms per request).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client hanging up is not worth a traceback
        super().handle_error(request, client_address)


# --- Application base ----------------------------------------------------------------------------------------


class SimApp:
    """State, faults and the `/_sim/*` routes common to both simulators.

    Subclasses implement `handle_api(handler, fault)` and `reset_state()`; `self.lock` guards all their state.
    """

    name = "sim"
    server_name = "Simulator/1.0"
    internal_error_body = dumps({"message": "An error has occurred."})

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.faults = Faults()
        self.received = ReceivedLog()
        self.stopping = threading.Event()

    # Entry point, one call per request.
    def dispatch(self, handler: SimHandler) -> None:
        path = handler.route_path
        if path.startswith("/_sim/"):
            self.handle_admin(handler, handler.command, path[len("/_sim/") :].rstrip("/"))
        else:
            self.handle_api(handler, self.faults.draw())

    def handle_api(self, handler: SimHandler, fault: Fault | None) -> None:
        raise NotImplementedError

    def reset_state(self) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        self.faults.reset()
        with self.lock:
            self.received.clear()
            self.reset_state()

    # --- /_sim/* (never faulted, never rate-limited) ---
    def handle_admin(self, handler: SimHandler, method: str, route: str) -> None:
        if method == "GET" and route == "received":
            with self.lock:
                entries = self.received.as_list()
            handler.send_json(200, entries)
        elif method == "GET" and route == "faults":
            handler.send_json(200, self.faults.snapshot())
        elif method == "POST" and route == "faults":
            try:
                handler.send_json(200, self.faults.update(loads(handler.read_body() or b"{}")))
            except (BadJson, FaultError) as exc:
                handler.send_json(400, {"error": str(exc)})
        elif method == "POST" and route == "reset":
            self.reset()
            handler.send_json(200, {"reset": True})
        elif not self.handle_admin_extra(handler, method, route):
            handler.send_json(404, {"error": f"no simulator route {method} /_sim/{route}"})

    def handle_admin_extra(self, handler: SimHandler, method: str, route: str) -> bool:
        return False

    # --- Answering with the post-apply faults ---
    def answer(self, handler: SimHandler, fault: Fault | None, status: int, body: bytes, headers: Headers = ()) -> None:
        """Send an answer for a request whose route ran: drop, hang or break it as the fault says."""
        if fault is not None:
            if fault.latency_s:
                time.sleep(fault.latency_s)
            if fault.kind == DROP:
                handler.drop_connection()
                return
            if fault.kind == TIMEOUT:
                self.stopping.wait(fault.hang_s)
            elif fault.kind == MALFORMED:
                status, body = 200, truncated(body)
        handler.send_bytes(status, body, headers)

    def answer_early(
        self, handler: SimHandler, fault: Fault | None, status: int, body: bytes, headers: Headers
    ) -> None:
        """Send an answer given before any route ran (rate limit, injected error): latency only."""
        if fault is not None and fault.latency_s:
            time.sleep(fault.latency_s)
        handler.send_bytes(status, body, headers)
