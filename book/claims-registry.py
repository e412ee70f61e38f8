# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # How claims are judged
#
# Every verdict in this book comes from two things written down separately: a **claim**, declared in the library
# before any run (one registry per chapter, rendered in full below), and a **measurement**, which a notebook's run
# produces. A notebook never types a tolerance or a verdict; it measures and hands its numbers to the registry.
#
# **A claim** states what the paper says and where it says it, the quantity we measure to test it, and a
# tolerance: an interval $[\ell, h]$ (one end may be infinite) inside which our number counts as agreeing with the
# paper. Each tolerance has a source, *paper* (the paper's own number or bound) or *ours* (our choice, when the
# paper gives a trend without a number), and a reason. The tolerance is fixed before the number is seen; when one
# was changed later, the chapter's history below says when and why.
#
# **A measurement** is a value with an interval around it: a bootstrap over seeds (resampling seeds within each
# configuration for fitted exponents), a Wilson interval for a fraction of runs, or a point for a deterministic
# computation. It also records how many seeds or networks it rests on.
#
# **Power and false-pass.** A verdict is worth what its test can tell apart, so every row declares two controls
# beside its tolerance: the value its quantity has *if the paper is right* (the positive control) and its value
# under a named *rival* the row must tell apart from the paper — the rival exponent, the mechanism removed, a
# learning rate off by ×2. After the run, the measurement is redrawn 400 times around each, with the noise our
# run actually has (its bootstrap distribution over seeds or networks, its binomial count, or a simulation of the
# paper's law with our seed spread and grid where a shift would be wrong), and each redraw is judged by the same
# rule. **Power** is the share of redraws around the paper's value that read *reproduced*; **false-pass** the share
# around the rival's value that do. A row whose power is below 0.8 or whose false-pass is above 0.1 cannot
# decide at this scale: it reads **underpowered**, shown with both numbers and the design (how many times the
# seeds or networks) that would decide it — never *reproduced* or *not reproduced*.
#
# **The verdict** then compares the interval $[a, b]$ with the tolerance, not the single value:
#
# | the interval $[a, b]$ | verdict |
# |---|---|
# | was not measured, or a precondition failed | *not testable at this scale* |
# | comes from a test with power < 0.8 or false-pass > 0.1 | *underpowered* (with the design that would decide) |
# | lies inside $[\ell, h]$ | *reproduced* |
# | lies inside a looser band stated beside the tolerance, with its reason | *partly* |
# | does not meet $[\ell, h]$ at all | *not reproduced* |
# | straddles an edge of $[\ell, h]$ | *inconclusive*: more seeds would decide |
#
# **Preconditions** are claims about our own run rather than about the paper: that the network we train is in the
# regime the paper describes (for example, that it fits its training set). They are judged and calibrated the
# same way and read *met*, *unclear*, *not met*, *underpowered* or *not measured* (or *not testable at this scale*
# when it needs another precondition that is not met); a claim that needs one is judged only when it is *met*.
# Otherwise the claim reads *not testable at this scale*, and the table shows the precondition's own number, so a
# reader sees why. **Diagnostics** are rows implied by another row or by the run's own definition (a converged
# run necessarily ends below the stability edge): they are shown with their numbers, never judged or counted.
#
# **Reruns.** When CI re-executes a notebook, its last cell compares the fresh numbers with the published ones
# under declared numeric tolerances — each claim's value within its published 95 % half-width, the same verdict
# unless the published row sits on an edge, and each key result table (for example λ1 of every network) within a
# relative tolerance — and prints *agrees* or *differs* with the numbers; that line is what the tests check.
#
# Every claim can fail: for each one, the test suite feeds its measuring function a result the paper rules out
# and checks that it does not read *reproduced*, and each chapter injects its named rival through the real code.
#
# The [scorecard](scorecard.ipynb) collects the verdicts that the published runs produced.

# %% tags=["remove-input"]
from IPython.display import HTML

from pathlib import Path

from replicate import registry, scorecard

registries = registry.every()
published = scorecard.collect(Path("."))

# %% [markdown]
# ## Every declared claim, by chapter
#
# Each entry gives the claim's id (the chapters' claims tables link here), whether it is a claim or a
# precondition, the notebook that measures it, the paper's statement and where it stands, what we measure, the
# tolerance with its source and reason, the looser *partly* band where one is stated, the printed resolution and
# the preconditions it needs.

# %% tags=["remove-input"]
HTML(scorecard.registry_html(registries, published))

# %% tags=["remove-input"]
# NBVAL_CHECK_OUTPUT
print(scorecard.registry_counts(registries))
