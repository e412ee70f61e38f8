"""Injected regressions (tests/regressions/test_injected.py): on PYTHONPATH, Python imports this file at start-up in
every process, the notebook's kernel included; $REPLICATE_FAULT names the fault to inject through the real code."""

import os

from faults import FAULTS

if os.environ.get("REPLICATE_FAULT"):
    FAULTS[os.environ["REPLICATE_FAULT"]].inject()
