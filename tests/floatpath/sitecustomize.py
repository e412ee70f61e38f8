"""On PYTHONPATH (`make test`'s nbval), Python imports this at start-up in every process, the notebook kernels
included: the reordered float path of `reordered.py` is installed before any notebook code runs."""

import reordered

reordered.install()
