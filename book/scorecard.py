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
# Every row below is read from a chapter's results file (`book/<chapter>/results/<notebook>.claims.csv`), which
# that notebook wrote when it ran; nothing here is typed in. Chapters without results files are listed as such.

# %% tags=["parameters"]
book_dir = "."  # the folder holding the chapters

# %%
from pathlib import Path

import pandas as pd

from replicate import scorecard

table = scorecard.collect(Path(book_dir))
missing = scorecard.chapters_without_results(Path(book_dir))

# %%
# NBVAL_CHECK_OUTPUT
print(scorecard.summary(table).to_string())
print("chapters without results yet:", ", ".join(missing) if missing else "none")

# %% [markdown]
# Every claim, with a link to the claims cell of the notebook that measured it.

# %%
from IPython.display import HTML

columns = ["source", "claim", "verdict", "ours", "paper", "tolerance", "scale"]
HTML(scorecard.with_links(table)[columns].to_html(escape=False, index=False))

# %% [markdown]
# ## The environment that produced these numbers
#
# Recorded by each notebook when it wrote its claims (versions, processor, torch threads, device); the wall time is
# that of the stored execution of the notebook.

# %%
scorecard.environments(Path(book_dir))
