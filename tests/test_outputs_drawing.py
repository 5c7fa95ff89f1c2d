"""The pictures of a run, drawn on a thread of their own (model/report/drawing/__init__.py, issue 19).

A run's process is multi-threaded when it draws, so its pictures are no longer drawn by forked
workers: one thread draws them, in the order given, while the tables are written; its first
error reaches the caller, and pictures not yet begun are dropped when the caller gives up.
"""

from __future__ import annotations

import threading

import pytest

from model.report.drawing import Pictures, draw_in_background


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
