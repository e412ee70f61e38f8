"""Sweeps on a Dask LocalCluster (2 worker processes, loopback): same table as in-process, survives a killed
worker, resumes after the coordinator stopped."""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_points import slow_point, train_point

from replicate import sweep, sweep_file

distributed = pytest.importorskip("distributed")

LOOPBACK_HTTP = {"dashboard_address": "127.0.0.1:0"}  # the scheduler's HTTP server, even without a dashboard
POINTS = [{"lr": lr, "seed": s} for lr in (0.05, 0.1, 0.2) for s in (0, 1)]


def starts(marks: Path) -> list[tuple[int, int]]:
    return [tuple(int(x) for x in f.name.split("-")[1:]) for f in marks.iterdir()]


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, scheduler_kwargs=LOOPBACK_HTTP) as cluster, \
            distributed.Client(cluster, set_as_default=False) as c:  # as the CLI's: no default client to lean on
        yield c


def test_point_seed_is_stable():
    assert sweep.point_seed({"lr": 0.1, "seed": 0}) == sweep.point_seed({"seed": 0, "lr": 0.1})
    assert sweep.point_seed({"lr": 0.1, "seed": 0}) == 381728643  # no per-process hash randomisation
    assert sweep.point_seed({"lr": 0.1, "seed": 0}, 1) != sweep.point_seed({"lr": 0.1, "seed": 0})
    assert sweep.point_seed({"lr": 0.1, "seed": 0, "tag": "x"}, key=["lr", "seed"]) == \
        sweep.point_seed({"lr": 0.1, "seed": 0})


def test_executor_from(client):
    assert sweep.executor_from(None, None) is None and sweep.executor_from("local", "tcp://x:1") is None
    with pytest.raises(ValueError, match="scheduler"):
        sweep.executor_from("dask", None)
    with pytest.raises(ValueError, match="executor"):
        sweep.executor_from("slurm", None)
    with pytest.raises(ValueError, match="executor"):
        sweep.run_sweep([{"i": 1}], dict, None, executor="dask")
    with sweep.executor_from("dask", client.scheduler.address) as c:
        assert sorted(c.run(os.getpid)) == sorted(client.run(os.getpid))


def test_the_clis_executor_runs_a_sweep_without_a_default_client(client, tmp_path):
    """`--executor dask --scheduler ADDRESS` reaches run_sweep as executor_from's client (not the default one) or
    as the address itself: both ran into "No clients found" before the sweep made its client current."""
    local = sweep.run_sweep(POINTS, train_point, None, progress=False)
    with sweep.executor_from("dask", client.scheduler.address) as c:
        pd.testing.assert_frame_equal(sweep.run_sweep(POINTS, train_point, tmp_path / "a.jsonl", progress=False,
                                                      executor=c), local)
    pd.testing.assert_frame_equal(sweep.run_sweep(POINTS, train_point, tmp_path / "b.jsonl", progress=False,
                                                  executor=client.scheduler.address), local)


def test_dask_gives_the_in_process_table(client, tmp_path):
    local = sweep.run_sweep(POINTS, train_point, tmp_path / "local.jsonl", progress=False)
    dask = sweep.run_sweep(POINTS, train_point, tmp_path / "dask.jsonl", progress=False, executor=client)
    pd.testing.assert_frame_equal(dask, local)  # same rows, same numbers, same order
    assert len(local) == 20 * len(POINTS)
    # by address, points given in another order: each point's numbers do not depend on worker or order
    shuffled = sweep.run_sweep(POINTS[::-1], train_point, None, progress=False, executor=client.scheduler.address)
    by_key = ["lr", "seed", "step"]
    pd.testing.assert_frame_equal(shuffled.sort_values(by_key, ignore_index=True),
                                  local.sort_values(by_key, ignore_index=True))
    on_disk = sweep_file.read_table(tmp_path / "dask.jsonl")  # written in completion order, same content
    in_process = sweep_file.read_table(tmp_path / "local.jsonl")
    pd.testing.assert_frame_equal(on_disk.sort_values(by_key, ignore_index=True),
                                  in_process.sort_values(by_key, ignore_index=True))


def test_worker_error_propagates_and_finished_points_are_kept(client, tmp_path):
    path = tmp_path / "sweep.jsonl"
    fn = functools.partial(slow_point, marks=str(tmp_path), seconds=0.0)
    with pytest.raises(ValueError, match="bad point"):
        sweep.run_sweep([{"i": i} for i in (1, 2, 3, -1)], fn, path, progress=False, executor=client)
    assert set(sweep_file.read_table(path)["i"]) <= {1, 2, 3}


def test_killed_worker_sweep_completes_once_per_point(client, tmp_path):
    marks, path = tmp_path / "marks", tmp_path / "sweep.jsonl"
    marks.mkdir()
    points = [{"i": i} for i in range(10)]
    killed: list[int] = []

    def kill_first_busy_worker():
        while not (busy := [pid for _, pid in starts(marks) if pid != os.getpid()]):
            time.sleep(0.01)
        os.kill(busy[0], signal.SIGKILL)  # mid-task: the point it was running is lost with it
        killed.append(busy[0])

    killer = threading.Thread(target=kill_first_busy_worker, daemon=True)
    killer.start()
    table = sweep.run_sweep(points, functools.partial(slow_point, marks=str(marks), seconds=0.3), path,
                            progress=False, executor=client)
    killer.join(timeout=5)
    assert killed and killed[0] not in client.run(os.getpid).values()  # the nanny started a fresh worker
    calls = starts(marks)
    assert len(calls) > len(points)  # the killed worker's point ran again elsewhere ...
    assert list(table["i"]) == list(range(10)) and list(table["y"]) == [i * i for i in range(10)]
    on_disk = sweep_file.read_table(path)  # ... and is recorded once
    assert sorted(on_disk["i"]) == list(range(10)) and not on_disk["i"].duplicated().any()


def test_coordinator_stopped_then_rerun_skips_finished_points(client, tmp_path, monkeypatch):
    path = tmp_path / "sweep.jsonl"
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    points = [{"i": i} for i in range(8)]
    saved = []

    def write_then_stop(p, key, rows):  # Ctrl-C in the coordinator right after its third point is saved
        append(p, key, rows)
        saved.append(1)
        if len(saved) == 3:
            raise KeyboardInterrupt

    append = sweep_file.append
    monkeypatch.setattr(sweep_file, "append", write_then_stop)
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(points, functools.partial(slow_point, marks=str(first), seconds=0.2), path,
                        progress=False, executor=client)
    monkeypatch.undo()
    finished = set(sweep_file.read_table(path)["i"])
    assert len(finished) == 3

    table = sweep.run_sweep(points, functools.partial(slow_point, marks=str(second), seconds=0.2), path,
                            progress=False, executor=client)
    assert sorted(i for i, _ in starts(second)) == sorted(set(range(8)) - finished)  # only unfinished points ran
    assert list(table["i"]) == list(range(8)) and list(table["y"]) == [i * i for i in range(8)]
    assert len(sweep_file.read_table(path)) == 8


def test_failed_points_recorded_on_dask_like_in_process(client, tmp_path):
    fn = functools.partial(slow_point, marks=str(tmp_path), seconds=0.0)
    points = [{"i": i} for i in (1, -1, 2)]
    dask = sweep.run_sweep(points, fn, tmp_path / "d.jsonl", progress=False, executor=client, on_error="record")
    local = sweep.run_sweep(points, fn, tmp_path / "l.jsonl", progress=False, on_error="record")
    pd.testing.assert_frame_equal(dask, local)
    assert dask["error"].tolist()[1] == "ValueError: bad point" and dask["error"].isna().tolist() == [True, False, True]


@pytest.fixture(scope="module")
def silent_listener():
    """A TCP port that accepts connections and never says anything (a hung or foreign service)."""
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture(scope="module")
def http_server():
    """An HTTP server: it answers a Dask client's handshake with "HTTP/1.1 400", read by Dask as a 3-EiB length."""
    from http.server import HTTPServer, SimpleHTTPRequestHandler

    server = HTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("address, message", [("notaurl", "must be an address"), ("tcp://127.0.0.1:9", "cannot reach"),
                                              ("silent", "sent no Dask handshake"), ("http", "sent no Dask handshake")])
def test_bad_scheduler_addresses_fail_fast_with_one_line(address, message, request, monkeypatch):
    from replicate import executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 2)
    if address in ("silent", "http"):
        address = request.getfixturevalue({"silent": "silent_listener", "http": "http_server"}[address])
    started = time.time()
    with pytest.raises(ValueError, match=message) as err:
        sweep.executor_from("dask", address)
    assert time.time() - started < 15 and "\n" not in str(err.value)
