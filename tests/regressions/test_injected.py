"""Each fault of `faults.FAULTS`, injected through the real code into a cpu rerun of its notebook, makes nbval fail
with a "differs" line: the published numbers are checked closely enough to catch it (`make regressions`). The rerun
stops at the first cell that differs (pytest -x): a key table checked where it is made (`rerun.compare_early`)
spares the rest of the notebook."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from faults import FAULTS
from nbval_order import seconds

ROOT = Path(__file__).resolve().parents[2]


# longest notebook first: with `make regressions`' work stealing, no long rerun starts last
@pytest.mark.parametrize("name", sorted(FAULTS, key=lambda name: (-seconds(ROOT / FAULTS[name].notebook), name)))
def test_injected_regression_makes_nbval_fail(name, tmp_path):
    fault = FAULTS[name]
    env = {**os.environ, "REPLICATE_FAULT": name, "REPLICATE_RESULTS_ROOT": str(tmp_path),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--sanitize-with", ".nbval-sanitize.cfg",
                          "-p", "no:cacheprovider", "-q", "-x", fault.notebook], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=1200)
    assert run.returncode != 0, f"{fault.what}: nbval passed\n{run.stdout[-2000:]}"
    assert "differs" in run.stdout, run.stdout[-2000:]
