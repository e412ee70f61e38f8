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
# **The verdict** compares the interval $[a, b]$ with the tolerance, not the single value:
#
# | the interval $[a, b]$ | verdict |
# |---|---|
# | lies inside $[\ell, h]$ | *reproduced* |
# | lies inside a looser band stated beside the tolerance, with its reason | *partly* |
# | does not meet $[\ell, h]$ at all | *not reproduced* |
# | straddles an edge of $[\ell, h]$ | *inconclusive*: more seeds would decide |
# | was not measured, or a precondition failed | *not testable at this scale* |
#
# **Preconditions** are claims about our own run rather than about the paper: that the network we train is in the
# regime the paper describes (for example, that it fits its training set). They are judged the same way and read
# *met*, *unclear*, *not met* or *not measured* (or *not testable at this scale* when it needs another precondition
# that is not met); a claim that needs one is judged only when it is *met*. Otherwise
# the claim reads *not testable at this scale*, and the table shows the precondition's own number, so a
# reader sees why.
#
# **Resolution.** Each claim also declares the step its number is printed at, coarser than the spread between
# seeds. The printed value is what the book's tests compare when they re-execute a notebook, and a step
# coarser than the noise keeps that comparison from failing on another processor's rounding.
#
# Every claim can fail: for each one, the test suite feeds its measuring function a result the paper rules out
# and checks that it reads *not reproduced*, one on an edge that reads *inconclusive*, and one with a failed
# precondition that reads *not testable at this scale*.
#
# The [scorecard](scorecard.ipynb) collects the verdicts that the published runs produced.

# %% tags=["remove-input"]
from IPython.display import HTML

from replicate import registry, scorecard

registries = registry.every()

# %% [markdown]
# ## Every declared claim, by chapter
#
# Each entry gives the claim's id (the chapters' claims tables link here), whether it is a claim or a
# precondition, the notebook that measures it, the paper's statement and where it stands, what we measure, the
# tolerance with its source and reason, the looser *partly* band where one is stated, the printed resolution and
# the preconditions it needs.

# %% tags=["remove-input"]
HTML(scorecard.registry_html(registries))

# %% tags=["remove-input"]
# NBVAL_CHECK_OUTPUT
print(scorecard.registry_counts(registries))
