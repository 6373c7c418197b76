"""Start and stop the simulators in this process (each server on its own thread), and build their configs.

`configs_from_settings()` is the only place that reads Django settings: the simulators themselves take the plain
dataclasses, so tests and benchmarks can run them without Django.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from orders.simulators.base import SimApp, SimServer
from orders.simulators.cimcloud import CimcloudConfig, CimcloudSimulator
from orders.simulators.tulaerp import TulaerpConfig, TulaerpSimulator


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


@dataclass
class RunningServer:
    app: SimApp
    server: SimServer
    thread: threading.Thread
    url: str  # http://HOST:PORT/

    def stop(self) -> None:
        self.app.stopping.set()  # wakes handlers hanging on a timeout fault
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(app: SimApp, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> RunningServer:
    """Bind (port 0 picks a free one) and serve on a daemon thread."""
    server = SimServer((host, port), app, verbose=verbose)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.name = f"sim-{app.name}"
    thread.start()
    return RunningServer(app, server, thread, _url(host, server.server_address[1]))


@dataclass
class RunningSimulators:
    cimcloud: RunningServer
    tulaerp: RunningServer
    sitename: str

    @property
    def cimcloud_root(self) -> str:
        return self.cimcloud.url

    @property
    def cimcloud_url(self) -> str:
        return f"{self.cimcloud.url}{self.sitename}/"

    @property
    def tulaerp_url(self) -> str:
        return self.tulaerp.url

    def stop(self) -> None:
        for running in (self.cimcloud, self.tulaerp):
            running.stop()

    def __enter__(self) -> RunningSimulators:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_simulators(
    cimcloud: CimcloudConfig | None = None,
    tulaerp: TulaerpConfig | None = None,
    host: str = "127.0.0.1",
    cimcloud_port: int = 0,
    tulaerp_port: int = 0,
    verbose: bool = False,
) -> RunningSimulators:
    cimcloud = cimcloud or CimcloudConfig()
    first = serve(CimcloudSimulator(cimcloud), host, cimcloud_port, verbose)
    try:
        second = serve(TulaerpSimulator(tulaerp or TulaerpConfig()), host, tulaerp_port, verbose)
    except BaseException:
        first.stop()
        raise
    return RunningSimulators(first, second, cimcloud.sitename)


def configs_from_settings(**options: Any) -> tuple[CimcloudConfig, TulaerpConfig]:
    """Configs with the credentials the dashboard is given, so both sides of one environment agree.

    Unset credentials (DEBUG off and nothing configured) fall back to the fixed development ones. `options`
    override: sitename, token_ttl_s, max_details, rate_scale, limits, fulfil_after_s, deliver_after_s.
    """
    from django.conf import settings

    sim_cim = getattr(settings, "SIM_CIMCLOUD_CREDENTIALS", {})
    sim_tula = getattr(settings, "SIM_TULAERP_CREDENTIALS", {})
    defaults_cim, defaults_tula = CimcloudConfig(), TulaerpConfig()

    def pick(name: str, fallback: str) -> str:
        return getattr(settings, name, None) or fallback

    cimcloud = CimcloudConfig(
        sitename=options.get("sitename") or getattr(settings, "CIMCLOUD_SITENAME", None) or defaults_cim.sitename,
        auth_key=pick("CIMCLOUD_AUTH_KEY", sim_cim.get("key", defaults_cim.auth_key)),
        username=pick("CIMCLOUD_AUTH_USERNAME", sim_cim.get("username", defaults_cim.username)),
        password=pick("CIMCLOUD_AUTH_PASSWORD", sim_cim.get("password", defaults_cim.password)),
        token_ttl_s=options.get("token_ttl_s", defaults_cim.token_ttl_s),
        max_details=_first(options.get("max_details"), getattr(settings, "CIMCLOUD_SYNC_MAX_DETAILS", None), 10),
        rate_per_second=getattr(settings, "CIMCLOUD_RATE_PER_SECOND", defaults_cim.rate_per_second),
        rate_per_window=getattr(settings, "CIMCLOUD_RATE_PER_WINDOW", defaults_cim.rate_per_window),
        rate_window_s=float(getattr(settings, "CIMCLOUD_RATE_WINDOW_SECONDS", defaults_cim.rate_window_s)),
        rate_scale=options.get("rate_scale", 1.0),
        limits=options.get("limits", True),
    )
    tulaerp = TulaerpConfig(
        auth_header=pick("TULAERP_AUTH_HEADER", sim_tula.get("header", defaults_tula.auth_header)),
        auth_value=pick("TULAERP_AUTH_VALUE", sim_tula.get("value", defaults_tula.auth_value)),
        basic_username=getattr(settings, "TULAERP_BASIC_USERNAME", None),
        basic_password=getattr(settings, "TULAERP_BASIC_PASSWORD", None),
        fulfil_after_s=options.get("fulfil_after_s", defaults_tula.fulfil_after_s),
        deliver_after_s=options.get("deliver_after_s", defaults_tula.deliver_after_s),
    )
    return cimcloud, tulaerp


def _first(*values: Any) -> Any:
    return next(value for value in values if value is not None)
