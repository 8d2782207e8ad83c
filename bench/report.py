"""Merge the --json files of several `bench.run` runs into one table (medians over all runs).

python3 -m bench.report results/sqlite-1.json results/sqlite-2.json
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from bench.run import Fanout, Intake, SizeResult, table


def load(paths: list[Path]) -> tuple[list[SizeResult], list[Intake]]:
    sizes: dict[int, SizeResult] = {}
    intakes: list[Intake] = []
    for path in paths:
        data = json.loads(path.read_text())
        for size in data["sizes"]:
            merged = sizes.setdefault(size["members"], SizeResult(size["members"], 0.0))
            merged.runs += [Fanout(**run) for run in size["runs"]]
            merged.peak_rss_mib = max(merged.peak_rss_mib, size["peak_rss_mib"])
            setattr(merged, "_imports", getattr(merged, "_imports", []) + [size["import_s"]])
        intakes += [Intake(**intake) for intake in data["intake"]]
    for merged in sizes.values():
        merged.import_s = statistics.median(getattr(merged, "_imports"))
    return [sizes[n] for n in sorted(sizes)], intakes


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    sizes, intakes = load([Path(p) for p in argv])
    print(table(sizes, intakes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
