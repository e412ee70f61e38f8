"""The book's notebooks for nbval, longest published cpu run first (from each provenance record), so that with
two workers no long notebook starts last and leaves one core idle (with `--dist loadscope --no-loadscope-reorder`:
xdist otherwise hands out the notebooks with the most cells first). Usage: python tests/nbval_order.py [book]"""

import json
import sys
from pathlib import Path


def seconds(nb: Path) -> float:
    record = nb.parent / "results" / f"{nb.stem}.provenance.json"
    return json.loads(record.read_text()).get("wall_time_s", 0.0) if record.exists() else 0.0


if __name__ == "__main__":
    book = Path(sys.argv[1] if len(sys.argv) > 1 else "book")
    notebooks = [nb for nb in book.rglob("*.ipynb") if not {"_build", "results", ".ipynb_checkpoints"} & set(nb.parts)]
    print("\n".join(str(nb) for nb in sorted(notebooks, key=lambda nb: (-seconds(nb), str(nb)))))
