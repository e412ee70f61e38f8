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
runs_dir = "../runs"  # where `replicate run` writes runs at other scales (runs/<scale>/<chapter>/)

# %%
from pathlib import Path

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
# ## Ours at each scale run
#
# When chapters were also run at other scales with `replicate run` (on this machine: the folder `runs/`), their
# numbers and verdicts stand here beside the book's; tolerances may differ by scale, so rows are matched on them.

# %%
runs = scorecard.collect(Path(runs_dir), "*/*/*.claims.csv") if Path(runs_dir).exists() else table.iloc[:0]
print(f"claims files from other runs: {len(runs)} rows" if len(runs) else f"no runs under {runs_dir}")
scorecard.at_each_scale(table, runs)

# %% [markdown]
# ## The environment that produced these numbers
#
# Recorded by each notebook when it wrote its claims (versions, processor, torch threads, device); the wall time is
# that of the stored execution of the notebook.

# %%
scorecard.environments(Path(book_dir))
