"""The pictures of a run, drawn on a thread of their own and in the drawing process (issue 19).

A run's process is multi-threaded when it draws, so its pictures are no longer drawn by forked
workers: one thread draws them, in the order given, while the tables are written; its first
error reaches the caller, and pictures not yet begun are dropped when the caller gives up. A
command that started the drawing process (spawned, not forked) has its maps drawn there, beside
the thread, with the same bytes.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from model.measures.access import needs_by_type, users_pace
from model.model import LifeCircleModel
from model.report import drawing
from model.report.drawing import Pictures, draw_in_background
from tests.conftest import write_small


def test_jobs_run_in_order_on_another_thread():
    seen = []
    pictures = draw_in_background([(seen.append, (k,)) for k in range(5)])
    pictures.add(lambda: seen.append(threading.current_thread().name))
    pictures.finish()
    assert seen[:5] == [0, 1, 2, 3, 4]
    assert seen[5] != threading.current_thread().name
    assert seen[5].startswith("lifecircle-drawing")


def test_the_first_error_reaches_the_caller_and_later_pictures_are_dropped():
    started = threading.Event()
    release = threading.Event()
    seen = []

    def fails():
        started.set()
        release.wait(10)
        raise ValueError("no such colour")

    pictures = Pictures()
    pictures.add(seen.append, "before")
    pictures.add(fails)
    pictures.add(seen.append, "after")
    assert started.wait(10)
    release.set()
    with pytest.raises(ValueError, match="no such colour"):
        pictures.finish()
    assert seen == ["before"]


def test_abandon_waits_for_the_picture_begun_and_drops_the_rest():
    started = threading.Event()
    release = threading.Event()
    seen = []

    def slow():
        started.set()
        release.wait(10)
        seen.append("slow")

    pictures = Pictures()
    pictures.add(slow)
    pictures.add(seen.append, "never")
    assert started.wait(10)
    threading.Timer(0.05, release.set).start()
    pictures.abandon()
    assert seen == ["slow"]


# ----------------------------------------------------------------- the drawing process


def write_pid(path: Path) -> None:
    """A job for the drawing process: note which process ran it."""
    path.write_text(str(os.getpid()), encoding="utf-8")


def refuse(message: str) -> None:
    raise ValueError(message)


@pytest.fixture
def drawing_process():
    drawing.start_drawing_process(only_if_idle=False)  # however busy the machine running the tests
    yield
    drawing.stop_drawing_process()


def test_maps_go_to_the_drawing_process_in_order_and_charts_stay_on_the_thread(drawing_process, tmp_path):
    seen = []
    paths = [tmp_path / f"map{k}" for k in range(3)]
    pictures = draw_in_background([(seen.append, ("chart",))], maps=[(write_pid, (p,)) for p in paths])
    pictures.finish()
    assert seen == ["chart"]
    pids = {int(p.read_text()) for p in paths}
    assert len(pids) == 1 and os.getpid() not in pids  # one other process drew every map


def test_without_a_drawing_process_the_maps_are_drawn_on_the_thread(tmp_path):
    drawing.stop_drawing_process()
    path = tmp_path / "map"
    draw_in_background([], maps=[(write_pid, (path,))]).finish()
    assert int(path.read_text()) == os.getpid()


def test_an_error_in_the_drawing_process_reaches_the_caller_and_stops_its_later_maps(drawing_process, tmp_path):
    after = tmp_path / "after"
    pictures = draw_in_background([], maps=[(refuse, ("no such colour",)), (write_pid, (after,))])
    with pytest.raises(ValueError, match="no such colour"):
        pictures.finish()
    assert not after.exists()


def test_a_map_drawn_in_the_drawing_process_has_the_bytes_of_one_drawn_here(drawing_process, tmp_path):
    """The same function, backend and settings in a fresh interpreter: the same PNG, byte for byte."""
    model = LifeCircleModel(write_small(tmp_path, residents=40), seed=1)
    built = model.built
    needs = needs_by_type(built.residents.age, model.types)
    t = model.city.types[0]
    args = (built.city, model.spec, t, built.fields_m[t], users_pace(built.residents.m_per_min, needs[t]))
    access = model.summary()["access"][t]
    draw_in_background([], maps=[(drawing.plot_access_map, (tmp_path / "there.png", *args, access))]).finish()
    drawing.plot_access_map(tmp_path / "here.png", *args, access)
    assert (tmp_path / "there.png").read_bytes() == (tmp_path / "here.png").read_bytes()


@pytest.mark.parametrize("cores, runnable, started", [(2, 1, True), (2, 2, False), (1, 1, False), (8, 7, True)])
def test_the_drawing_process_starts_only_when_a_core_is_idle(monkeypatch, cores, runnable, started):
    """Runnable processes now, this one counted: 1 of 2 cores leaves one free, 2 of 2 none."""
    drawing.stop_drawing_process()
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    monkeypatch.setattr(drawing, "_runnable", lambda: runnable)
    drawing.start_drawing_process()
    try:
        assert (drawing._PROCESS is not None) == started
    finally:
        drawing.stop_drawing_process()


def test_a_command_started_in_this_process_leaves_no_drawing_process(tmp_path):
    """``lifecircle run`` called in-process (as from a notebook) starts the drawing process and ends it."""
    from model.cli import main

    assert main(["run", str(write_small(tmp_path, residents=40)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert (tmp_path / "out" / "maps").is_dir() and any((tmp_path / "out" / "maps").glob("access_*.png"))
    assert drawing._PROCESS is None


def test_this_process_counts_itself_among_the_runnable():
    assert drawing._runnable() >= 1
