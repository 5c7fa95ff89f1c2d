"""Every flag of every command is total (issue 23, item 3): bad numbers and bad paths are messages.

Table-driven: for each (command, flag) the values -1, 0 (where 0 means nothing), 1e9, nan, inf,
'abc', a 5,000-digit integer and the first value past the stated limit, and for each path
argument a folder, /dev/zero, /dev/null, a FIFO, a path under a regular file and a name longer
than the file system allows, must exit 2 with a message on stderr that names the flag (and, for
numbers, the allowed range), no traceback, nothing written. The limits are those stated in the
flags' help and in docs/commands.md, written out here by hand. The tests run as root, which
ignores permissions, so "unwritable" is a path under a regular file (``a_file/out``), where
nothing can be made whatever the user.

Almost all cases call ``model.cli.main`` in-process (a refused flag costs milliseconds); a few go
through a real ``python -m model.cli`` to show the same from a shell.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from model.cli import build_parser, main
from tests.conftest import write_small

HUGE = "9" * 5000  # beyond Python's 4,300-digit limit of int(): a ValueError if read carelessly
LONG = "x" * 300  # longer than the 255 bytes a name may have on Linux file systems
NUMBERS = ["-1", "0", "1e9", "nan", "inf", "abc", HUGE]

# (command line with {} for the value, the flag as the message names it, the range as stated,
# the values to refuse besides NUMBERS, the values of NUMBERS that are allowed)
FLAGS = [
    (["run", "demo", "--days", "{}"], "--days", "from 1 to 366", ["367", "1000000000"], []),
    (["run", "demo", "--seed", "{}"], "--seed", "from 0 to 1,000,000,000,000,000,000", ["1" + "0" * 18 + "1"], ["0"]),
    (["compare", "demo", "demo", "--days", "{}"], "--days", "from 1 to 366", ["367"], []),
    (["compare", "demo", "demo", "--seed", "{}"], "--seed", "from 0 to 1,000,000,000,000,000,000", ["-5"], ["0"]),
    (["compare", "demo", "demo", "--replicates", "{}"], "--replicates", "from 1 to 1,000", ["1001"], []),
    (["optimize", "demo", "--type", "market", "--add", "{}"], "--add", "from 1 to 50,000,000", ["50000001"], []),
    (["optimize", "demo", "--type", "market", "--remove", "{}"], "--remove", "from 1 to 50,000,000", ["2.5"], []),
    (
        ["optimize", "demo", "--size", "market", "--share", "{}"],
        "--share",
        "greater than 0 and at most 1",
        ["1.01"],
        [],
    ),
    (
        ["optimize", "demo", "--type", "market", "--add", "1", "--minutes", "{}"],
        "--minutes",
        "greater than 0 and at most 1440",
        ["1440.5", "-0.5"],
        [],
    ),
    (["optimize", "demo", "--type", "market", "--add", "1", "--seed", "{}"], "--seed", "from 0 to", [], ["0"]),
    (["serve", "demo", "--port", "{}"], "--port", "from 1 to 65,535", ["65536"], []),
    (["batch", "exp.toml", "--workers", "{}"], "--workers", "from 1 to 1,024", ["1025"], []),
    (["calibrate", "calib.toml", "--workers", "{}"], "--workers", "from 1 to 1,024", ["1025"], []),
    (["import", "osm", "a.osm.pbf", "--population", "{}"], "--population", "from 1 to 20,000,000", ["20000001"], []),
    (["import", "gis", "--streets", "s.geojson", "--population", "{}"], "--population", "from 1 to 20,000,000", [], []),
]
BBOXES = ["1e9,0,1,1", "nan,0,1,1", "inf,0,1,1", "abc", HUGE, "0,0,1", "1,0,0,1", "0,1,1,0", "181,0,182,1", "0,91,1,92"]


def _cases():
    for argv, flag, words, extra, allowed in FLAGS:
        for value in [v for v in NUMBERS if v not in allowed] + extra:
            shown = value if len(value) < 20 else f"{value[:3]}...({len(value)})"
            yield pytest.param(argv, flag, words, value, id=f"{argv[0]}-{flag}-{shown}")
    for value in BBOXES:
        shown = value if len(value) < 20 else f"{value[:3]}...({len(value)})"
        yield pytest.param(
            ["import", "osm", "a.osm.pbf", "--bbox", "{}"], "--bbox", "W,S,E,N", value, id=f"bbox-{shown}"
        )


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A folder with good inputs (a small scenario, an experiment, a calibration) and bad paths."""
    folder = tmp_path_factory.mktemp("cli_args")
    small = write_small(folder, residents=60)
    (folder / "exp.toml").write_text(f'name = "e"\nscenarios = ["{small.as_posix()}"]\nseeds = [1]\n', encoding="utf-8")
    (folder / "calib.toml").write_text(
        'name = "c"\nscenario = "small.toml"\nobservations = "obs.csv"\nreplicates = 2\n'
        '[parameters]\n"facility_types.park.daily_prob" = { min = 0.05, max = 0.3 }\n',
        encoding="utf-8",
    )
    (folder / "obs.csv").write_text("figure,key,facility,type,hour,value,sd\nvisits_per_day,,0,,,20,\n")
    (folder / "a_file").write_text("mine")
    (folder / "a_folder").mkdir()
    os.mkfifo(folder / "a_fifo")
    return folder


def snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.lstat().st_mtime_ns for p in folder.rglob("*")}


@pytest.fixture
def cli(place, monkeypatch, capsys):
    """Run ``lifecircle ARGV`` in-process in the place; return (exit status, stderr), checking nothing was written.

    An alarm turns a command that hangs (reading a FIFO) into a failure rather than a stuck suite.
    """
    monkeypatch.chdir(place)

    def timed_out(*_):
        raise TimeoutError("the command did not return within 60 s")

    def run(argv: list[str]) -> tuple[int, str]:
        before = snapshot(place)
        old = signal.signal(signal.SIGALRM, timed_out)
        signal.alarm(60)
        try:
            status = main(argv)
        except SystemExit as exc:
            status = exc.code
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        err = capsys.readouterr().err
        assert snapshot(place) == before, "something was written"
        return status, err

    return run


@pytest.mark.parametrize(("argv", "flag", "words", "value"), list(_cases()))
def test_a_bad_number_is_refused_with_the_flag_and_its_range(cli, argv, flag, words, value):
    status, err = cli([a.replace("{}", value) for a in argv] + (["--out", "new_out"] if argv[0] != "serve" else []))
    assert status == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert f"argument {flag}: " in last, last
    assert words in last, last
    assert len(last) < 400, "a 5,000-digit value must not be echoed whole"
    assert not os.path.exists("new_out")


# The last value each flag allows, and the first it refuses: the limits are where the docs say
EDGES = [
    (["run", "--days"], "days", "366", 366),
    (["run", "--seed"], "seed", "1000000000000000000", 10**18),
    (["compare", "a", "b", "--replicates"], "replicates", "1000", 1000),
    (["optimize", "demo", "--add"], "add", "50000000", 50_000_000),
    (["optimize", "demo", "--size", "t", "--share"], "share", "1", 1.0),
    (["optimize", "demo", "--add", "1", "--minutes"], "minutes", "1440", 1440.0),
    (["optimize", "demo", "--add", "1", "--minutes"], "minutes", "1e-9", 1e-9),
    (["serve", "--port"], "port", "65535", 65535),
    (["batch", "x.toml", "--workers"], "workers", "1024", 1024),
    (["import", "osm", "x", "--population"], "population", "20000000", 20_000_000),
    (["import", "osm", "x"], "bbox", "--bbox=-180,-90,180,90", (-180.0, -90.0, 180.0, 90.0)),
]


@pytest.mark.parametrize(("argv", "dest", "text", "value"), EDGES, ids=[f"{e[1]}={e[2]}" for e in EDGES])
def test_the_limit_itself_is_allowed(argv, dest, text, value):
    args = build_parser().parse_args([*argv, text])
    assert getattr(args, dest) == value


# --------------------------------------------------------------------------- paths

BAD_INPUTS = {
    "a folder": ("a_folder", "is a folder"),
    "/dev/zero": ("/dev/zero", "is a device"),
    "/dev/null": ("/dev/null", "is a device"),
    "a FIFO": ("a_fifo", "FIFO"),
    "under a file": ("a_file/x.toml", "Not a directory"),
    "too long": (LONG, "too long"),
}
# (command line with {} for the path read, the argument as the message names it)
INPUTS = [
    (["run", "{}"], "scenario"),
    (["validate", "small.toml", "{}"], "scenarios"),
    (["compare", "small.toml", "{}"], "scenarios"),
    (["optimize", "{}", "--type", "market", "--add", "1"], "scenario"),
    (["optimize", "small.toml", "--type", "market", "--add", "1", "--candidates", "{}"], "--candidates"),
    (["serve", "{}"], "scenario"),
    (["batch", "{}"], "experiment"),
    (["calibrate", "{}"], "calibration"),
    (["import", "osm", "{}"], "file"),
    (["import", "gis", "--streets", "{}"], "--streets"),
    (["import", "gis", "--streets", "a_file", "--communities", "{}"], "--communities"),
]


def _input_cases():
    for argv, name in INPUTS:
        for case in BAD_INPUTS:
            if argv[:2] == ["import", "gis"] and case == "a folder":
                continue  # a GIS layer may be a folder GDAL reads (a File Geodatabase): see the next test
            yield pytest.param(argv, name, case, id=f"{argv[0]}-{name}-{case}")


@pytest.mark.parametrize(("argv", "name", "case"), list(_input_cases()))
def test_an_input_that_is_not_a_file_is_refused_before_it_is_opened(cli, argv, name, case):
    path, reason = BAD_INPUTS[case]
    status, err = cli([a.replace("{}", path) for a in argv] + (["--out", "new_out"] if argv[0] != "validate" else []))
    assert status == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    if argv[0] == "validate":  # each file is reported, and the others checked
        assert last.startswith(path[:40]) and ": cannot read: " in last, last
    else:
        assert f"argument {name}: cannot read " in last, last
    assert reason in last, last


def test_validate_reports_a_folder_and_checks_the_next_file(cli, capsys):
    status, err = cli(["validate", "a_fifo", "small.toml", "a_folder"])
    assert status == 2 and "Traceback" not in err
    assert err.splitlines() == [
        "a_fifo: cannot read: it is a FIFO (a named pipe), not a file",
        "a_folder: cannot read: it is a folder, not a file",
    ]


def test_a_gis_layer_that_is_a_folder_gdal_cannot_read_is_a_message(cli):
    status, err = cli(["import", "gis", "--streets", "a_folder", "--communities", "a_folder", "--out", "new_out"])
    assert status == 2, err
    assert "Traceback" not in err and "a_folder" in err


def test_a_missing_file_in_a_missing_folder_is_named_by_its_reader(cli):
    for argv in (["run", "no_such/x.toml"], ["batch", "no_such/x.toml"], ["calibrate", "no_such/x.toml"]):
        status, err = cli([*argv, "--out", "new_out"])
        assert status == 2, err
        assert "Traceback" not in err and "no_such/x.toml" in err


# an output folder (a file for optimize) that cannot be made; the reason each message must give
BAD_OUTS = {
    "/dev/null": ("/dev/null", "not a"),
    "a FIFO": ("a_fifo", "not a"),
    "under a file (unwritable, even for root)": ("a_file/out", "Not a directory"),
    "too long": (LONG, "too long"),
}
OUTS = [
    ["run", "small.toml", "--out", "{}"],
    ["compare", "small.toml", "demo", "--out", "{}"],
    ["optimize", "small.toml", "--type", "market", "--add", "1", "--out", "{}"],
    ["batch", "exp.toml", "--out", "{}"],
    ["calibrate", "calib.toml", "--out", "{}"],
    ["import", "osm", "a_file", "--out", "{}"],
    ["serve", "small.toml", "--save-dir", "{}"],
]


@pytest.mark.parametrize("case", list(BAD_OUTS))
@pytest.mark.parametrize("argv", OUTS, ids=[a[0] for a in OUTS])
def test_an_output_that_cannot_be_written_is_refused(cli, argv, case):
    path, reason = BAD_OUTS[case]
    flag = "--save-dir" if argv[0] == "serve" else "--out"
    status, err = cli([a.replace("{}", path) for a in argv])
    assert status == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert f"{flag}: " in last and reason in last and path[:40] in last, last


def test_a_device_as_the_new_scenario_file_is_refused(cli):
    status, err = cli(["optimize", "small.toml", "--type", "market", "--add", "1", "--out", "/dev/null"])
    assert status == 2 and "Traceback" not in err
    assert "--out: cannot write to /dev/null: it is a device, not a file" in err, err


# --------------------------------------------------------------------------- a Dask scheduler's address


@pytest.mark.parametrize("command", ["batch exp.toml", "calibrate calib.toml"])
@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("abc", "argument --scheduler: must be a scheduler's address, tcp://HOST:PORT"),
        ("ftp://127.0.0.1:8786", "argument --scheduler: must be a scheduler's address"),
        ("tcp://127.0.0.1:0", "the PORT of tcp://HOST:PORT must be a port number from 1 to 65,535"),
        ("tcp://127.0.0.1:99999999", "the PORT of tcp://HOST:PORT must be a port number from 1 to 65,535"),
        (f"tcp://127.0.0.1:{HUGE}", "must be a scheduler's address"),
        # nothing listens on port 1: main waited 30 s for Dask, then a traceback, the folder made
        ("tcp://127.0.0.1:1", "--scheduler: cannot reach 'tcp://127.0.0.1:1' (Connection refused)"),
        # a host name of 64 characters: UnicodeError from the IDNA codec, not an OSError
        (f"tcp://{'h' * 64}:8786", "--scheduler: cannot reach 'tcp://hhhh"),
    ],
    ids=["words", "scheme", "port 0", "port 1e8", "huge", "unreachable", "long host"],
)
def test_a_scheduler_that_cannot_be_used_is_refused_before_anything_is_written(cli, command, address, words):
    status, err = cli([*command.split(), "--scheduler", address, "--out", "new_out"])
    assert status == 2, err
    assert "Traceback" not in err and len(err) < 2000
    assert words in err, err
    assert not os.path.exists("new_out")


@pytest.mark.parametrize("host", ["h" * 64, "...", "no.such.host.invalid"])
def test_serve_refuses_a_host_it_cannot_resolve(cli, host):
    status, err = cli(["serve", "small.toml", "--host", host])
    assert status == 2 and "Traceback" not in err
    assert "--host: cannot resolve" in err, err


# --------------------------------------------------------------------------- bench and a real shell


def test_bench_refuses_bad_numbers_in_its_own_options(capsys):
    from experiments.benchmarks.harness import main as bench_main

    for argv, words in (
        (["--repeat", HUGE], "argument --repeat: must be a number of runs from 1 to 100"),
        (["--repeat", "0"], "argument --repeat: must be a number of runs from 1 to 100"),
        (["--case", "demo:fast:1e9"], "DAYS must be days, a whole number from 1 to 366"),
        (["--case", f"demo:fast:{HUGE}"], "DAYS must be days, a whole number from 1 to 366"),
        (["--case", "/dev/zero:fast"], "SCENARIO cannot read '/dev/zero': it is a device"),
        (["--access", "/dev/zero"], "argument --access: cannot read '/dev/zero'"),
    ):
        with pytest.raises(SystemExit) as exc:
            bench_main(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 2 and "Traceback" not in err
        assert words in err, err
        assert len(err) < 2000


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "--days", "1000000000"], "argument --days: must be days, a whole number from 1 to 366"),
        (["run", "/dev/zero"], "argument scenario: cannot read '/dev/zero': it is a device, not a file"),
        (["optimize", "demo", "--type", "market", "--add", HUGE], "argument --add: must be a number of sites"),
        (["bench", "--case", "demo:fast:abc"], "DAYS must be days, a whole number from 1 to 366"),
    ],
    ids=["days", "device", "huge", "bench"],
)
def test_the_same_through_a_real_command(place, argv, words):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cwd = Path(__file__).resolve().parents[1] if argv[0] == "bench" else place
    before = snapshot(place)
    proc = subprocess.run(
        [sys.executable, "-m", "model.cli", *argv], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert words in proc.stderr, proc.stderr
    assert snapshot(place) == before
