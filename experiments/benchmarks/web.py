"""Benchmark: one step plus redraw of the browser page, on the server and in a real browser.

    python -m experiments.benchmarks.web [--scenarios wuhai_life_circle wuhai_city] [--no-browser]
                                         [--screenshot docs/img/browser.png]

Server side, per scenario: the page's model is built (``PageModel``, as the page does on load
and Reset), run without drawing to 09:00 of the first day (a busy hour: school, market, care
centres), then stepped CYCLES times, each step followed by everything the page redraws after a
step (the map, the occupancy chart, the exposure chart when it is due; the coverage chart changes
only with the plan). In the browser (Debian's chromium through playwright, no CDN): ``lifecircle
serve SCENARIO`` on a free loopback port, the page loaded, the clock run to 09:00 with the
render interval raised, then Step clicked CYCLES times; each time counts from the click until the
clock shows the next minute and the map drawn for it is shown (the plotly map's title names the
clock), in a 1400 x 1000 window. Prints Markdown tables with the median and the slowest cycle,
and the load average of the machine at the start and end of each row (the machine's other work
moves wall times: the server side also gives process CPU seconds).

In the browser each row also gives the page server's CPU seconds per click (Solara's and the
figures' work, read from /proc: what a quiet machine's wall time would be at the least), and
the first page load's wait for the kernels (:mod:`model.web.warmup`), and the time a tab opened
afterwards on the running server takes to draw its map ("another tab"). ``--repeat N`` runs the
browser measurement N times (a new server each) and keeps the fastest median ("best of N");
``--background-load N`` runs N busy processes (``while True: pass``) for the whole benchmark,
the issue's "2-process background load".
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from experiments.benchmarks.harness import machine

CYCLES = 20
WARM_MIN = 180  # 06:00 -> 09:00
TARGET_S = 1.0
VIEWPORT = (1400, 1000)  # the browser's window: the map and the charts are seen together in it
MAP_TITLE = ".lifecircle-map .js-plotly-plot .gtitle"  # the plotly map's title: the map is drawn
MAP_SHOWN = """([before]) => {
    const clock = document.querySelector('.lifecircle-clock')?.innerText;
    const title = document.querySelector('MAP_TITLE')?.textContent || '';
    return clock && clock !== before && title.includes(clock);
}""".replace("MAP_TITLE", MAP_TITLE)  # the clock moved on and the map drawn for it is shown (its title says the clock)


def _stats(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} | {max(values):.3f}"


def _load() -> str:
    """The load average over the last minute, as ``uptime`` says it."""
    return f"{os.getloadavg()[0]:.1f}"


def server_side(scenario: str) -> None:
    """Build, warm up and time CYCLES step + redraw cycles; print one table row."""
    from model.web import figures
    from model.web.state import PageModel, first_point

    load = _load()
    t0 = time.perf_counter()
    model = PageModel(scenario)
    build = time.perf_counter() - t0
    view = figures.MapView(band_type=model.city.types[0], selected=first_point(model))
    t0 = time.perf_counter()
    figures.map_figure(model, view)  # the first draw builds Mesa's grid of the model
    figures.coverage_figure(model)
    first = time.perf_counter() - t0
    for _ in range(WARM_MIN // model.clock.tick_min):
        model.step()
    every = figures.exposure_refresh_ticks(len(model.population.age))
    parts: dict[str, list[float]] = {"step": [], "map": [], "occupancy": [], "exposure": [], "total": []}
    cpu: list[float] = []
    for _ in range(CYCLES):
        times = {}
        c = time.process_time()
        t = time.perf_counter()
        model.step()
        times["step"] = time.perf_counter() - t
        t = time.perf_counter()
        figures.map_figure(model, view)
        times["map"] = time.perf_counter() - t
        t = time.perf_counter()
        figures.occupancy_figure(model)
        times["occupancy"] = time.perf_counter() - t
        t = time.perf_counter()
        if model.steps % every == 0:
            figures.exposure_figure(model)
            parts["exposure"].append(time.perf_counter() - t)
        times["exposure"] = time.perf_counter() - t
        times["total"] = sum(times.values())
        cpu.append(time.process_time() - c)
        for key in ("step", "map", "occupancy", "total"):
            parts[key].append(times[key])
    print(
        f"| {scenario} | {len(model.population.age):,} | {build:.1f} | {first:.1f} | "
        + " | ".join(f"{statistics.median(parts[k]):.3f}" for k in ("step", "map", "occupancy", "exposure"))
        + f" (every {every}) | {_stats(parts['total'])} | {statistics.median(cpu):.3f} | {load} to {_load()} |",
        flush=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its descendants (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return total


def _save_screenshot(page, path: str) -> None:
    """The page as a small PNG for the README: the 1400 x 1000 window, 1200 pixels wide, 256 colours."""
    from PIL import Image

    page.screenshot(path=path, clip={"x": 0, "y": 0, "width": VIEWPORT[0], "height": VIEWPORT[1]})
    with Image.open(path) as shot:
        small = shot.convert("RGB").resize((1200, round(shot.height * 1200 / shot.width)), Image.LANCZOS)
    small.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def in_browser(scenario: str, screenshot: str | None = None) -> tuple[float, float, list[float], list[float]]:
    """Serve the scenario, load the page in chromium, time CYCLES clicks on Step.

    With ``screenshot``, the page after the clicks is saved there (docs/img/browser.png is made so).

    Returns:
        Seconds to the loaded page (server start included), of them the wait for the kernels
        (the page's message shown), and per click the wall seconds and the server's CPU seconds.
    """
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = dict(os.environ, SOLARA_ASSETS_CDN=f"http://127.0.0.1:{_free_port()}/npm/")
    server = subprocess.Popen(
        [sys.executable, "-m", "model.cli", "serve", scenario, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        t0 = time.perf_counter()
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - t0 > 120:
                    raise RuntimeError(f"lifecircle serve {scenario} did not start") from None
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": VIEWPORT[0], "height": VIEWPORT[1]})
            page.route(
                "**/*",
                lambda r: (
                    r.continue_() if r.request.url.startswith(("http://127.0.0.1", "data:", "blob:")) else r.abort()
                ),
            )
            page.goto(url)
            page.wait_for_function(
                "() => document.querySelector('.lifecircle-warming, .lifecircle-map') !== null", timeout=300_000
            )
            t_shown = time.perf_counter()
            warming = page.locator(".lifecircle-warming").count() > 0
            page.wait_for_selector(MAP_TITLE, timeout=300_000)
            loaded = time.perf_counter() - t0
            waited = time.perf_counter() - t_shown if warming else 0.0
            clock = page.locator(".lifecircle-clock")
            # to 09:00: the render interval at its largest steps many ticks per click
            slider = page.locator(".v-input", has_text="Render Interval").get_by_role("slider")
            slider.focus()
            slider.press("End")
            while clock.inner_text() < "Day 1 (Mon) 09:00":
                before = clock.inner_text()
                page.get_by_role("button", name="Step").click()
                page.wait_for_function(f"() => document.querySelector('.lifecircle-clock').innerText !== '{before}'")
            slider.focus()
            slider.press("Home")
            page.wait_for_timeout(500)
            times, cpu = [], []
            for _ in range(CYCLES):
                before = clock.inner_text()
                c = _tree_cpu_s(server.pid)
                t = time.perf_counter()
                page.get_by_role("button", name="Step").click()
                page.wait_for_function(MAP_SHOWN, arg=[before], timeout=60_000, polling=10)
                times.append(time.perf_counter() - t)
                cpu.append(_tree_cpu_s(server.pid) - c)
            if screenshot:
                _save_screenshot(page, screenshot)
            # a tab more on the running server: until its map is drawn (its model, widgets and plotly's JavaScript)
            t = time.perf_counter()
            tab = browser.new_page(viewport={"width": VIEWPORT[0], "height": VIEWPORT[1]})
            tab.goto(url)
            tab.wait_for_selector(MAP_TITLE, timeout=300_000)
            another = time.perf_counter() - t
            browser.close()
        return loaded, waited, times, cpu, another
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def browser_row(scenario: str, repeat: int, screenshot: str | None = None) -> None:
    """Time the page in chromium ``repeat`` times (a new server each); print the row of the fastest median."""
    load = _load()
    runs = [in_browser(scenario, screenshot if i == 0 else None) for i in range(repeat)]
    loaded, waited, times, cpu, another = min(runs, key=lambda run: statistics.median(run[2]))
    print(
        f"| {scenario} | {loaded:.1f} | {waited:.1f} | {another:.1f} | {_stats(times)} | "
        f"{statistics.median(cpu):.3f} | {load} to {_load()} |",
        flush=True,
    )


def background_load(n: int) -> list[subprocess.Popen]:
    """Start ``n`` busy processes (one core each, as long as they run)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main(argv: list[str] | None = None) -> int:
    """Time the page on each scenario; print the tables."""
    parser = argparse.ArgumentParser(prog="python -m experiments.benchmarks.web", description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=["wuhai_life_circle", "wuhai_city"])
    parser.add_argument("--no-browser", action="store_true", help="only the server-side figures")
    parser.add_argument("--screenshot", help="save the page of the first scenario after its clicks here (a PNG)")
    parser.add_argument("--repeat", type=int, default=1, help="browser runs per scenario, the fastest kept (default 1)")
    parser.add_argument(
        "--background-load", type=int, default=0, help="busy processes running meanwhile (default 0; the issue's: 2)"
    )
    args = parser.parse_args(argv)
    busy = background_load(args.background_load)
    try:
        return _tables(args)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()


def _tables(args: argparse.Namespace) -> int:
    print(f"machine: {machine()}; {args.background_load} busy background processes\n")
    print(f"server side: median over {CYCLES} cycles from 09:00 (s); target for step + redraw < {TARGET_S:g} s")
    print("(the exposure chart is redrawn every few ticks in bigger populations: its median when drawn)\n")
    columns = ("scenario", "residents", "build s", "first draw s", "step", "map", "occupancy", "exposure (ticks)")
    print("| " + " | ".join(columns) + " | step + redraw | slowest | CPU s | load average |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for scenario in args.scenarios:
        server_side(scenario)
    if not args.no_browser:
        print(
            f"\nin chromium: click on Step until the next minute's map is shown, {CYCLES} clicks from 09:00 (s), "
            f"best median of {args.repeat}; the server's CPU seconds per click\n"
        )
        print(
            "| scenario | page loaded s | of it, kernels s | another tab s | step + redraw | slowest | server CPU s "
            "| load average |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for i, scenario in enumerate(args.scenarios):
            browser_row(scenario, args.repeat, args.screenshot if i == 0 else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
