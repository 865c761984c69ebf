"""Run every benchmark and print one table: ``python -m benchmarks.run``.

Each figure is the median of ``--repeat`` runs (5 by default: these machines are noisy) and,
where a peer exists, a ratio against that peer measured in the same process and run.
``--scale 0.01`` runs everything at 1% size: that is what the test suite's smoke run does.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time

from .common import Figure

MODULES = ["throughput", "journal", "recording", "dag", "workers", "schedule", "snapshot",
           "cascade", "sql", "cli", "clients", "history", "endpoint", "timeline"]


def format_table(figures: list[Figure]) -> str:
    header = ("figure", "asl", "peer", "peer value", "ratio", "target", "met")
    rows = [header]
    for f in figures:
        ratio = f.ratio
        rows.append((
            f.name,
            f"{f.value:.3g} {f.unit}",
            f.peer,
            "" if f.peer_value is None else f"{f.peer_value:.3g} {f.unit}",
            "" if ratio is None else f"{ratio:.2f}x",
            f.target,
            "" if f.met is None else ("yes" if f.met else "NO"),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="size factor (1 = full)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--only", nargs="*", choices=MODULES, help="run only these")
    args = parser.parse_args(argv)
    figures: list[Figure] = []
    started = time.perf_counter()
    for name in args.only or MODULES:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        t = time.perf_counter()
        figures.extend(module.run(scale=args.scale, repeat=args.repeat))
        print(f"# {name}: {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    print(f"Python {platform.python_version()}, {platform.machine()}, "
          f"scale {args.scale}, median of {args.repeat}, "
          f"{time.perf_counter() - started:.0f} s in all")
    print(format_table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
