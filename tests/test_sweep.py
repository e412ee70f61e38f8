import pandas as pd
import pytest

from replicate import results, sweep


def test_atomic_write_roundtrip(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": [0.5, 0.25]})
    path = results.write_table(df, tmp_path / "sub" / "t.csv")
    pd.testing.assert_frame_equal(results.read_table(path), df)
    assert [p.name for p in path.parent.iterdir()] == ["t.csv"]  # no temp file left behind
    assert results.read_table(tmp_path / "absent.csv").empty


def test_sweep_resumes_after_interruption(tmp_path):
    path = tmp_path / "sweep.csv"
    calls = []
    points = [{"lr": lr, "seed": s} for lr in (0.1, 0.2, 0.4) for s in (0, 1)]

    def fn(p):
        calls.append((p["lr"], p["seed"]))
        if len(calls) == 4:
            raise KeyboardInterrupt  # Ctrl-C during the fourth point
        return {"loss": p["lr"] * 10 + p["seed"]}

    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(points, fn, path, progress=False)
    assert len(results.read_table(path)) == 3  # the three finished points were saved

    calls.clear()
    table = sweep.run_sweep(points, lambda p: {"loss": p["lr"] * 10 + p["seed"]} if not calls.append(1) else None,
                            path, progress=False)
    assert len(calls) == 3  # only the unfinished points ran
    assert len(table) == 6 and table.duplicated(["lr", "seed"]).sum() == 0
    assert sorted(table["loss"]) == sorted(p["lr"] * 10 + p["seed"] for p in points)


def test_sweep_rows_from_dataframes_and_duplicate_points(tmp_path):
    out = sweep.run_sweep([{"w": 1}, {"w": 2}], lambda p: pd.DataFrame({"step": [0, 1], "x": [p["w"], 2 * p["w"]]}),
                          None, progress=False)
    assert list(out.columns) == ["step", "x", "w"] and len(out) == 4
    with pytest.raises(ValueError, match="not unique"):
        sweep.run_sweep([{"w": 1}, {"w": 1}], lambda p: {}, None, progress=False)
