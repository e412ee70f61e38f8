# Two commands for a fresh machine (Python >= 3.10, no GPU): `make book` and `make test`.
# Both create .venv and install the pinned versions (constraints.txt) of the library and all its extras first.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS ?= constraints.txt
# Offline data: use the folder beside the checkout when it is there, unless REPLICATE_DATA is set.
export REPLICATE_DATA ?= $(if $(wildcard ../shared/data/mnist),$(abspath ../shared/data),)
# One torch thread: the printed numbers depend on the reduction order, and 2 threads on 2 cores were 5-18x slower.
export REPLICATE_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION = 1
# chapters first, then the pages that read their published results (claims-registry, scorecard)
NOTEBOOKS := $(shell find book -mindepth 2 -name '*.py' -not -path '*/_build/*' | sort) $(sort $(wildcard book/*.py))

.PHONY: book test unit nbval nbval-plain nbval-kernels nbval-portable regressions browser notebooks sync clean

# torch's CPU build (no multi-GB CUDA wheel) unless told otherwise, e.g. TORCH_INDEX=https://download.pytorch.org/whl/cu126;
# TORCH_INDEX= (empty) takes torch from the ordinary index. Only torch itself is looked up there (--no-deps; its
# dependencies come with the next step); an unreachable index costs a few retries, then is skipped.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
$(BIN)/.installed: pyproject.toml $(CONSTRAINTS) benchmarks/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --no-deps -c $(CONSTRAINTS) $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) torch
	$(BIN)/pip install -q -c $(CONSTRAINTS) -e ".[all]"
	# test-only oracles and benchmark peers (curvlinops, PyHessian, hessian-eigenthings), without their deps: torch stays pinned
	$(BIN)/pip install -q --no-deps -r benchmarks/requirements.txt
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $@

## make book: the HTML book in _build/html, from the executed notebooks (a clean build, warnings are errors)
book: $(BIN)/.installed
	rm -rf _build
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "open _build/html/index.html"

## make test: unit tests, every notebook at smoke and its paper dry run, nbval at the stored parameters, injected
## regressions that must fail nbval, the book
test: $(BIN)/.installed unit nbval regressions book browser

unit: $(BIN)/.installed
	$(BIN)/python -m pytest tests --ignore=tests/browser --ignore=tests/regressions -n 2 --dist worksteal -q

NBVAL_WORKERS ?= 2
## re-execute every notebook at its stored parameters into a fresh scratch folder (never a sweep cache from an
## earlier run, never into book/) and compare the checked outputs with the stored ones. A cell may run 2 h: the
## longest (eta-star's sweep, ~11 min here) ran past nbval's default 2000 s under nbval-portable on a busy machine
NBVAL = scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && REPLICATE_RESULTS_ROOT="$$scratch" \
	$(BIN)/python -m pytest --nbval-lax --nbval-cell-timeout=7200 --sanitize-with .nbval-sanitize.cfg -n $(NBVAL_WORKERS) --dist loadscope --no-loadscope-reorder -q -p no:cacheprovider $$($(BIN)/python tests/nbval_order.py)
## make nbval: that, under another float path than the publishing machine's, whatever CPU runs it, at no measurable
## cost (tests/floatpath: torch's default ATen kernels, whose random normals and log-softmax round differently, and
## every .sum added in two parts split at an odd index): a published number that does not reproduce here is
## float-path noise its rerun tolerance does not cover. make nbval-plain: the machine's own path
nbval: $(BIN)/.installed
	@echo "nbval: re-executing $(words $(NOTEBOOKS)) notebooks at their stored parameters, on a reordered float path"
	export PYTHONPATH=$(CURDIR)/tests/floatpath ATEN_CPU_CAPABILITY=default && $(NBVAL)
nbval-plain: $(BIN)/.installed
	$(NBVAL)

## make nbval-kernels: nbval under torch's default (non-vectorised) kernels and MKL's compatible GEMM, one thread:
## every matmul and reduction rounds differently from the publishing machine, whatever the CPU (its vectorised
## kernels and MKL's dispatch are not used). 1.1x (sharpness-at-init, uv-model) to 2-4x (thresholds: MKL's
## compatible GEMM alone 2.2x) the time of nbval, so not part of `make test`
nbval-kernels: $(BIN)/.installed
	export ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE && $(NBVAL)

## make regressions: each plausible regression of tests/regressions/faults.py, injected into a cpu rerun of its
## notebook, must make nbval fail
regressions: $(BIN)/.installed
	$(BIN)/python -m pytest tests/regressions -n 2 --dist worksteal -q -p no:cacheprovider

## make nbval-portable: the same under another floating-point path (2 threads, torch's default kernels, MKL's
## compatible GEMM), the stand-in for another CPU: a verdict that flips here sits on an edge for its noise.
## One notebook at a time: its 2 threads fill 2 cores.
nbval-portable: NBVAL_WORKERS = 1
nbval-portable: $(BIN)/.installed
	export REPLICATE_THREADS=2 OMP_NUM_THREADS=2 ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE && $(NBVAL)

## make browser: the built book in headless Chromium (pages, figures, internal links); screenshots in _build/browser
browser: $(BIN)/.installed
	.ci/install-browser
	$(BIN)/python -m pytest tests/browser --confcutdir=tests/browser -q

## make notebooks: execute every notebook at its stored parameters (cpu) into its .ipynb, publishing its results
## into book/<chapter>/results (REPLICATE_PUBLISH=1: the only writer of published results)
notebooks: $(BIN)/.installed
	rm -f book/*/results/*.sweep.*
	for nb in $(NOTEBOOKS); do \
	  $(BIN)/jupytext --to ipynb -q "$$nb" && \
	  (cd "$$(dirname "$$nb")" && REPLICATE_PUBLISH=1 REPLICATE_PROGRESS=0 $(abspath $(BIN))/papermill --no-progress-bar "$$(basename "$${nb%.py}").ipynb" "$$(basename "$${nb%.py}").ipynb" 2>&1 | grep -v WARNING) || exit 1; \
	done

## make sync: regenerate each .ipynb's cells from its text twin, keeping outputs
sync: $(BIN)/.installed
	$(BIN)/jupytext --sync $(NOTEBOOKS)

clean:
	rm -rf _build runs
