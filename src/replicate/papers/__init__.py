"""One module per paper: what only that paper needs."""
