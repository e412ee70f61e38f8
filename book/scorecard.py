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
# # Replication scorecard
#
# Every verdict on this page was computed by a chapter's notebook when it ran and published with its results
# (`book/<chapter>/results/<notebook>.claims.csv`, beside a provenance record of what produced it); nothing here is
# typed in or recomputed. How a verdict follows from a measured interval and a declared tolerance is explained in
# [How claims are judged](claims-registry.ipynb), with every tolerance and its reason.

# %% tags=["parameters", "remove-input"]
book_dir = "."  # the folder holding the chapters

# %% tags=["remove-input"]
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import HTML

from replicate import plots, registry, scorecard

plots.style()
table = scorecard.collect(Path(book_dir))
counts = scorecard.summary(table)
scale = scorecard.book_scale(table)

# %% tags=["remove-cell"]
from myst_nb import glue

total = counts.sum()
glue("scorecard-total", " · ".join(f"{n} {v}" for v, n in total.items() if n) or "no claims published yet",
     display=False)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(scorecard.summary_text(counts))
print("chapters without results yet:", ", ".join(scorecard.chapters_without_results(Path(book_dir))) or "none")

# %% [markdown]
# ## Verdicts per chapter
#
# Claims only (preconditions are checks on our own runs and diagnostics are implied rows, both shown on each
# notebook's claims table), at the scale the book's notebooks were executed at. *Underpowered* counts the claims
# whose test could not tell the paper from its named rival at this scale (power below 0.8 or false-pass above
# 0.1): they are neither reproduced nor refuted, and each one's table row says what design would decide it.

# %% tags=["remove-input"]
HTML(scorecard.summary_html(counts))

# %% [markdown]
# ## Each claim against its tolerance

# %% tags=["remove-input"]
fig = scorecard.forest(table, titles={r.chapter: r.title for r in registry.every()})
plt.show()

# %% [markdown]
# **Figure 1.** Our measurement of each claim (dot: value; bar: its interval over seeds or networks) against the
# claim's tolerance (grey band), coloured by verdict: green reproduced, light green partly, ochre inconclusive,
# red not reproduced, grey not testable at this scale ("n/a": nothing was measured). Each claim is drawn in units
# of its own tolerance: a two-sided band runs from the lower edge (0) to the upper edge (1); a one-sided band
# starts at its one edge, and the distance from it is scaled to the interval, so only the side of the edge is to
# be read off. The numbers themselves are in the table.

# %% [markdown]
# ## Every claim
#
# Grouped by the notebook that measured them (a link to its claims table, where the preconditions on our own runs
# stand too), one line per claim: its id (a link to what is measured, its tolerance and the reason; hovering
# shows the quantity), the tolerance, and at each scale whose runs were published the verdict and our value with
# its interval, the book's own scale first. † marks a claim not testable because a precondition was not met
# (hovering names it, with its number).

# %% tags=["remove-input"]
HTML(scorecard.table_html(table))

# %% [markdown]
# ## What produced these numbers
#
# From each notebook's provenance record: the wall time of its run at each scale, device and torch threads,
# versions, the commit (marked dirty when the tree had uncommitted changes) and the parameters overridden.

# %% tags=["remove-input"]
HTML(scorecard.environments_html(scorecard.environments(Path(book_dir))))
