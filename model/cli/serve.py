"""``lifecircle serve``: the browser page of a scenario, on Mesa's Solara-based visualisation.

Checks the scenario and the address first (bad input: a message and exit 2), fetches Solara's
front-end files into its cache when they are missing (``lifecircle assets``), then runs Solara's
server on the page model/web/app.py until Ctrl-C. It listens on 127.0.0.1 unless ``--host``
says otherwise. The server runs with glibc's ``MALLOC_ARENA_MAX`` at :data:`MALLOC_ARENAS`, so that
the memory of closed tabs goes back to it (docs/browser.md, "Memory across tabs").
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from model.cli.common import MAX_PORT, BadArgument, port_type, print_warnings, scenario_name, shown, writable_folder
from model.scenario import bundled_scenarios, load_scenario

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
_QUIET_MODULES = ("solara.server.starlette",)
# glibc's malloc gives every thread that allocates its own arena, up to 8 per core (mallopt(3),
# M_ARENA_MAX); Solara renders each tab in threads of its own, and the memory a closed tab's
# threads freed stayed in their arenas: 448 MB after the first tab of demo, 605 MB after 20
# (tests/test_browser_memory.py, issue 22). Two arenas: 431 MB and 473 MB. The number is an
# assumption; it costs the page no measurable speed (docs/browser.md, "Memory across tabs").
MALLOC_ARENAS = "2"
# Solara keeps the session of a page whose connection dropped for its kernel cull timeout (24 h by
# default), so that a reconnect finds it; a tab closed without its close message reaching the server
# (a crash, a lost network, or a close under load: seen in the browser tests) kept its model, and a
# model playing then, stepping for nobody. 30 s: a reconnect within it keeps the page (an assumption).
KERNEL_CULL = "30s"


def add_parser(sub) -> None:
    """The ``serve`` subcommand's arguments."""
    p = sub.add_parser("serve", help="watch, steer and re-plan a scenario in a browser page (Mesa's SolaraViz)")
    p.add_argument(
        "scenario",
        nargs="?",
        type=scenario_name,
        help="scenario file or bundled name (default: demo; the page offers the others too)",
    )
    p.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}: this machine only)"
    )
    p.add_argument(
        "--port",
        type=port_type,
        default=DEFAULT_PORT,
        help=f"port to listen on, 1 to {MAX_PORT:,} (default {DEFAULT_PORT})",
    )
    p.add_argument(
        "--save-dir", type=Path, default=None, help="folder the page saves plans into (default: the current folder)"
    )
    p.set_defaults(func=cmd_serve)


def check_address(host: str, port: int) -> None:
    """Raise BadArgument unless a server can listen on ``host:port`` now."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:  # UnicodeError: a name part longer than 63 characters
        reason = getattr(exc, "strerror", None) or f"not a host name: {exc}"
        raise BadArgument(f"--host: cannot resolve {shown(host)} ({reason})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as exc:
            raise BadArgument(f"--port: cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def ensure_assets() -> None:
    """Fetch Solara's front-end files when its cache lacks them, and put plotly's widget bundle there.

    Either failing is a warning, not a failure: the page then loads them the slower way (the
    public CDN; plotly's bundle through the websocket, model/web/widget_bundle.py).
    """
    from model.web import assets, widget_bundle

    packages = assets.pinned_packages()
    cache = assets.cache_dir()
    try:
        widget_bundle.install(cache)
    except OSError as exc:
        print(
            f"warning: cannot put plotly's widget bundle into {cache} ({exc.strerror or exc}); every tab"
            " then receives it four times through its websocket (slower to open)",
            file=sys.stderr,
        )
    if not assets.missing(packages, cache):
        return
    print(f"fetching the page's front-end files into {cache} (once; `lifecircle assets` does the same) ...")
    try:
        assets.fill_cache(packages, cache)
    except assets.AssetError as exc:
        print(f"warning: {exc}; the page will try the public CDN instead", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    """Check the input, then run Solara's server on the page until it stops."""
    if importlib.util.find_spec("solara") is None:
        raise BadArgument("serve: the browser page needs the web extra: pip install 'lifecircle[web]'")
    args.scenario = args.scenario or "demo"
    scenario = load_scenario(args.scenario)  # a grid or a street scenario: the page draws both
    print_warnings(scenario)
    save_dir = writable_folder(args.save_dir or Path.cwd(), "--save-dir")  # before resolve(): a name too long
    save_dir = save_dir.resolve()
    if not save_dir.is_dir():
        raise BadArgument(f"--save-dir: {save_dir} is not a folder (the page saves into one that exists)")
    check_address(args.host, args.port)
    ensure_assets()
    env = dict(os.environ)
    env.update(
        LIFECIRCLE_SCENARIO=args.scenario if args.scenario in bundled_scenarios() else str(scenario.path),
        LIFECIRCLE_SAVE_DIR=str(save_dir),
        SOLARA_TELEMETRY_MIXPANEL_ENABLE="False",  # no calls home from a planning office
        MALLOC_ARENA_MAX=env.get("MALLOC_ARENA_MAX", MALLOC_ARENAS),  # memory of closed tabs given back
        SOLARA_KERNEL_CULL_TIMEOUT=env.get("SOLARA_KERNEL_CULL_TIMEOUT", KERNEL_CULL),  # a lost tab's session ends
        # a warning at every page load that a user can do nothing about: plain http gets lax cookies
        PYTHONWARNINGS=",".join(
            filter(None, [env.get("PYTHONWARNINGS"), *(f"ignore::UserWarning:{m}" for m in _QUIET_MODULES)])
        ),
    )
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"lifecircle: {scenario.name} at http://{shown}:{args.port}/ (Ctrl-C stops the server)", flush=True)
    command = [sys.executable, "-m", "solara", "run", "model.web.app", "--production", "--no-open"]
    command += ["--host", args.host, "--port", str(args.port)]
    server = subprocess.Popen(command, env=env)
    # a SIGTERM to this command stops the server too (Ctrl-C reaches both already)
    signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait(timeout=10)
        raise
