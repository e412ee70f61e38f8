import os

import pandas as pd
import pytest

from replicate import results, sweep, sweep_file


def test_atomic_write_roundtrip(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": [0.5, 0.25]})
    path = results.write_table(df, tmp_path / "sub" / "t.csv")
    pd.testing.assert_frame_equal(results.read_table(path), df)
    assert [p.name for p in path.parent.iterdir()] == ["t.csv"]  # no temp file left behind
    assert results.read_table(tmp_path / "absent.csv").empty


def test_sweep_resumes_after_interruption(tmp_path):
    path = tmp_path / "sweep.jsonl"
    calls = []
    points = [{"lr": lr, "seed": s} for lr in (0.1, 0.2, 0.4) for s in (0, 1)]

    def fn(p):
        calls.append((p["lr"], p["seed"]))
        if len(calls) == 4:
            raise KeyboardInterrupt  # Ctrl-C during the fourth point
        return {"loss": p["lr"] * 10 + p["seed"]}

    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(points, fn, path, progress=False)
    assert len(sweep_file.read_table(path)) == 3  # the three finished points were saved

    calls.clear()
    table = sweep.run_sweep(points, fn, path, progress=False)
    assert len(calls) == 3  # only the unfinished points ran
    assert len(table) == 6 and table.duplicated(["lr", "seed"]).sum() == 0
    assert sorted(table["loss"]) == sorted(p["lr"] * 10 + p["seed"] for p in points)


def test_an_edited_point_function_or_another_thread_count_recomputes(tmp_path, monkeypatch):
    """The sweep file's identity covers the point function's source and torch's thread count: a finished sweep
    is not resumed by an edited function (seed + 1), nor under another thread count."""
    path = tmp_path / "sweep.jsonl"
    points = [{"seed": s} for s in range(4)]
    sweep.run_sweep(points, lambda p: {"x": p["seed"]}, path, progress=False)
    calls = []
    edited = sweep.run_sweep(points, lambda p: {"x": p["seed"] + 1} if not calls.append(1) else None, path,
                             progress=False)
    assert len(calls) == 4 and list(edited["x"]) == [1, 2, 3, 4]
    assert len(sweep_file.read_table(path)) == 4  # the stale rows are gone from the file, not kept beside
    monkeypatch.setattr(sweep.torch, "get_num_threads", lambda: 7)
    calls.clear()
    sweep.run_sweep(points, lambda p: {"x": p["seed"] + 1} if not calls.append(1) else None, path, progress=False)
    assert len(calls) == 4


def test_sweep_rows_from_dataframes_and_duplicate_points(tmp_path):
    out = sweep.run_sweep([{"w": 1}, {"w": 2}], lambda p: pd.DataFrame({"step": [0, 1], "x": [p["w"], 2 * p["w"]]}),
                          None, progress=False)
    assert list(out.columns) == ["step", "x", "w"] and len(out) == 4
    with pytest.raises(ValueError, match="not unique"):
        sweep.run_sweep([{"w": 1}, {"w": 1}], lambda p: {}, None, progress=False)


# --- identity: config, base seed, data content, library code ----------------------------------------------------

def test_sweep_path_covers_config_seed_data_and_code(tmp_path, monkeypatch):
    import numpy as np
    import torch

    X = torch.arange(6.0).reshape(3, 2)
    data = (X, {"y": np.array([1, 2, 3]), "meta": pd.DataFrame({"a": [1, 2]})}, ["mnist1d", 40])
    base = sweep.sweep_path(tmp_path, "s", {"lr": 0.1}, seed=0, data=data)
    assert base == sweep.sweep_path(tmp_path, "s", {"lr": 0.1}, seed=0, data=(X.clone(), *data[1:]))  # same content
    assert base.name.startswith("s.") and base.name.endswith(".sweep.jsonl")
    changed = [
        sweep.sweep_path(tmp_path, "s", {"lr": 0.2}, seed=0, data=data),
        sweep.sweep_path(tmp_path, "s", {"lr": 0.1}, seed=1, data=data),
        sweep.sweep_path(tmp_path, "s", {"lr": 0.1}, seed=0, data=(X + 1e-6, *data[1:])),
        sweep.sweep_path(tmp_path, "s", {"lr": 0.1}, seed=0, data=(X.double(), *data[1:])),
        sweep.sweep_path(tmp_path, "s", {"lr": 0.1}, seed=0, data=(X, {**data[1], "y": np.array([1, 2, 4])}, data[2])),
        sweep.sweep_path(tmp_path, "s", {"lr": 0.1}, seed=0, data=(X, data[1], ["mnist1d", 41])),
        sweep.sweep_path(tmp_path, "s", {"lr": 0.1}, seed=0, data=None),
    ]
    monkeypatch.setattr(sweep, "code_digest", lambda: "another version of src/replicate")
    changed.append(sweep.sweep_path(tmp_path, "s", {"lr": 0.1}, seed=0, data=data))
    assert len({base, *changed}) == len(changed) + 1
    with pytest.raises(TypeError, match="cannot be fingerprinted"):
        sweep.sweep_path(tmp_path, "s", {}, seed=0, data=object())
    with pytest.raises(TypeError):
        sweep.sweep_path(tmp_path, "s", {}, seed=1.5)


def test_code_digest_is_the_package_source():
    assert sweep.code_digest() == sweep.code_digest() and len(sweep.code_digest()) == 64


# --- keys and values that survive the round trip through the file ---------------------------------------------------

def test_keys_survive_the_round_trip(tmp_path):
    path = tmp_path / "s.jsonl"
    points = [{"lr": 1, "tag": "007", "opt": None}, {"lr": 0.5, "tag": "7", "opt": "sgd"},
              {"lr": 2, "tag": "007", "opt": "adam"}]
    calls = []

    def fn(p):
        calls.append(p)
        return {"y": float(p["lr"]) * 2}

    first = sweep.run_sweep(points, fn, path, progress=False)
    assert len(calls) == 3
    second = sweep.run_sweep(points, fn, path, progress=False)
    assert len(calls) == 3  # nothing recomputed
    pd.testing.assert_frame_equal(second, first)
    assert len(second) == 3 and second["tag"].tolist() == ["007", "7", "007"]
    assert second["opt"].tolist() == [None, "sgd", "adam"] and second["lr"].tolist() == [1, 0.5, 2]
    assert "sweep_key" not in second and "sweep_key" in sweep_file.read_table(path)


def test_result_values_read_back_with_their_types(tmp_path):
    """A resumed point is the frame its function returned: strings stay strings ("007", "NA"), float32 stays
    float32, None stays None (a CSV read gave 7, NaN and float64)."""
    import numpy as np

    calls = []

    def fn(p):
        calls.append(p["i"])
        if p["i"] == 0:
            return {"code": "007", "na": "NA", "empty": "", "none": None, "f32": np.float32(0.1), "n": 3, "ok": True,
                    "x": float("nan"), "big": 2**53 + 1}
        return pd.DataFrame({"code": ["007", "NA"], "f32": np.array([0.1, np.inf], dtype=np.float32),
                             "n": np.array([1, 2], dtype=np.int32), "when": pd.to_datetime(["2026-12-03", None])})

    points = [{"i": 0}, {"i": 1}]
    fresh = sweep.run_sweep(points, fn, None, progress=False)
    sweep.run_sweep(points, fn, tmp_path / "s.jsonl", progress=False)
    calls.clear()
    resumed = sweep.run_sweep(points, fn, tmp_path / "s.jsonl", progress=False)
    pd.testing.assert_frame_equal(resumed, fresh)
    assert calls == []  # read back, not recomputed
    assert resumed["code"].tolist() == ["007", "007", "NA"] and resumed.loc[0, "na"] == "NA"
    assert resumed.loc[0, "big"] == 2**53 + 1
    stored = sweep_file.read(tmp_path / "s.jsonl")[0]
    one = next(f for f in stored.values() if len(f) == 2)
    assert one["f32"].dtype == np.float32 and one["n"].dtype == np.int32 and one["f32"].tolist()[0] == np.float32(0.1)
    with pytest.raises(TypeError, match="cannot be stored"):
        sweep.run_sweep([{"i": 0}], lambda p: {"z": 1j}, tmp_path / "t.jsonl", progress=False)


def test_points_are_appended_and_a_torn_last_line_is_dropped(tmp_path):
    """A finished point costs one appended line (the bytes before it are untouched); a kill mid-append tears at most
    the last line, which the next run drops (that point runs again) and cuts from the file."""
    path = tmp_path / "s.jsonl"
    points = [{"i": i} for i in range(4)]
    calls = []

    def fn(p):
        calls.append(p["i"])
        return {"y": p["i"]}

    sweep.run_sweep(points[:3], fn, path, progress=False)
    before = path.read_bytes()
    sweep.run_sweep(points, fn, path, progress=False)
    after = path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 4
    path.write_bytes(after[:-7])  # the fourth point's line, torn
    calls.clear()
    table = sweep.run_sweep(points, fn, path, progress=False)
    assert calls == [3] and table["y"].tolist() == [0, 1, 2, 3] and path.read_bytes() == after
    path.write_bytes(b"not json\n" + after)
    with pytest.raises(ValueError, match=r"s.jsonl:1 is not a sweep record"):
        sweep.run_sweep(points, fn, path, progress=False)


# --- failures recorded, retried alone -------------------------------------------------------------------------------

@pytest.mark.parametrize("frames", [False, True])
def test_failed_points_are_recorded_then_retried_alone(tmp_path, frames):
    path = tmp_path / "s.jsonl"
    calls = []

    def make(broken):
        def fn(p):
            calls.append(p["i"])
            if p["i"] in broken:
                raise RuntimeError(f"point {p['i']} diverged\nsecond line")
            return pd.DataFrame({"step": [0, 1], "y": [p["i"], p["i"]]}) if frames else {"y": p["i"]}
        return fn

    points = [{"i": i} for i in range(4)]
    table = sweep.run_sweep(points, make({1, 2}), path, progress=False, on_error="record")
    rows = 2 if frames else 1
    assert len(table) == 2 * rows + 2 and list(dict.fromkeys(table["i"])) == [0, 1, 2, 3]
    errors = table.set_index("i")["error"]
    assert errors.loc[1] == "RuntimeError: point 1 diverged second line" and errors.loc[[0, 3]].isna().all()
    calls.clear()
    table = sweep.run_sweep(points, make({2}), path, progress=False, on_error="record")
    assert sorted(calls) == [1, 2]  # only the failed points ran again
    assert table.groupby("i").size().tolist() == [rows, rows, 1, rows]  # point 1's error row replaced
    calls.clear()
    table = sweep.run_sweep(points, make(set()), path, progress=False, on_error="record")
    assert calls == [2] and table["error"].isna().all() and len(table) == 4 * rows
    assert "error" not in sweep_file.read_table(path)  # every error line replaced by its retry
    with pytest.raises(RuntimeError, match="point 0"):
        sweep.run_sweep([{"i": 0}], make({0}), None, progress=False)  # on_error="raise" (the default) raises
    with pytest.raises(ValueError, match="on_error"):
        sweep.run_sweep(points, make(set()), None, progress=False, on_error="ignore")


def test_error_column_only_with_record(tmp_path):
    assert "error" not in sweep.run_sweep([{"i": 1}], lambda p: {"y": 1}, None, progress=False)
    assert "error" in sweep.run_sweep([{"i": 1}], lambda p: {"y": 1}, None, progress=False, on_error="record")


# --- one writer ----------------------------------------------------------------------------------------------------

HOLD = """
import sys, time
from replicate import sweep
with sweep.writer_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_live_writer_is_refused_and_a_dead_ones_lock_taken_over(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "s.jsonl"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(sweep.SweepLocked) as err:
            sweep.run_sweep([{"i": 1}], lambda p: {"y": 1}, path, progress=False)
        assert f"being written by process {holder.pid}@" in str(err.value) and "\n" not in str(err.value)
    finally:
        holder.kill()  # SIGKILL: its lock file stays, naming a dead pid
        holder.wait(10)
    assert path.with_name("s.jsonl.lock").exists()
    table = sweep.run_sweep([{"i": 1}], lambda p: {"y": 1}, path, progress=False)
    assert len(table) == 1 and not path.with_name("s.jsonl.lock").exists()


@pytest.mark.parametrize("owner, taken", [
    ("{ppid}@{host} {start}", False),  # a live process, the one that took the lock: refused
    ("{ppid}@{host} 98765432109", True),  # its pid now names a process started at another time: taken over
    ("{ppid}@{host}", False),  # no start recorded (cannot tell): refused
    ("{ppid}@another-host {start}", False),  # another host's process (cannot look): refused
    ("", False), ("garbage", False),
])
def test_a_lock_is_taken_over_only_when_its_owner_is_provably_gone(tmp_path, owner, taken):
    """A lock names its process and when it started, so a pid reused by another process does not hold the sweep
    forever; whatever cannot be proved gone is refused with one line naming the file to remove."""
    import socket

    ppid = os.getppid()
    start = results.process_start(ppid)
    assert start is not None and start != "98765432109"
    path = tmp_path / "s.jsonl"
    lock = path.with_name("s.jsonl.lock")
    lock.write_text(owner.format(ppid=ppid, host=socket.gethostname(), start=start) + "\n")
    if taken:
        assert len(sweep.run_sweep([{"i": 1}], lambda p: {"y": 1}, path, progress=False)) == 1
        assert not lock.exists()
    else:
        with pytest.raises(sweep.SweepLocked) as err:
            sweep.run_sweep([{"i": 1}], lambda p: {"y": 1}, path, progress=False)
        assert f"remove {lock.resolve()}" in str(err.value) and "\n" not in str(err.value)


# --- kills leave no litter; modes follow the umask ----------------------------------------------------------------

WRITER = """
import sys
import os

import pandas as pd
from replicate import sweep
big = pd.DataFrame({"step": range(20000), "x": 0.5})
sweep.run_sweep([{"i": i} for i in range(200)], lambda p: big, sys.argv[1], progress=False)
"""


def test_kills_leave_no_temp_files_and_lose_only_points_in_flight(tmp_path):
    """SIGKILL and SIGTERM while the writer appends large points (most of its time is spent writing): a line torn by
    the kill is dropped, the points before it kept."""
    import signal
    import subprocess
    import sys
    import time

    path, lock = tmp_path / "s.jsonl", tmp_path / "s.jsonl.lock"
    litter = []
    for sig, delay in ((signal.SIGKILL, 0.6), (signal.SIGTERM, 0.9), (signal.SIGKILL, 1.3)):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
        deadline = time.time() + 120
        while time.time() < deadline and not (lock.exists() and lock.read_text().startswith(f"{writer.pid}@")):
            time.sleep(0.05)  # until it holds the lock, i.e. is about to write (imports take seconds under load)
        time.sleep(delay)
        writer.send_signal(sig)
        writer.wait(30)
        litter += [p.name for p in tmp_path.glob(".*.tmp")]
    before = len(sweep_file.read_table(path))
    table = sweep.run_sweep([{"i": i} for i in range(3)], lambda p: pd.DataFrame({"step": range(20000), "x": 0.5}),
                            path, progress=False)  # the next run cleans up
    assert len(table) == 3 * 20000 and before >= 20000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.jsonl"], litter  # no temp file, no lock
    on_disk = sweep_file.read_table(path)
    assert on_disk.groupby("i").size().eq(20000).all()  # every point recorded whole, once


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_results_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = results.write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
        sweep.run_sweep([{"i": 1}], lambda p: {"y": 1}, tmp_path / "s.jsonl", progress=False)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "s.jsonl").stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("out, message", [({"error": 0.1}, "column named 'error'"),
                                          (pd.DataFrame({"x": []}), "returned an empty table")])
def test_a_result_that_could_not_resume_is_refused_with_one_line(tmp_path, out, message):
    with pytest.raises(ValueError, match=message) as err:
        sweep.run_sweep([{"i": 1}], lambda p: out, tmp_path / "s.jsonl", progress=False)
    assert "\n" not in str(err.value) and not (tmp_path / "s.jsonl").exists()
