"""CLI start-up benchmark: help and usage errors, each in a fresh interpreter.

    python -m bench.cli [--runs 15]

Runs `python -m api.cli ARGS` --runs times for each case and prints the median, min and
max wall time. Target: <= 0.3 s for each (measured ~0.05 s; 0.5-0.8 s before the commands
imported the stores' libraries in their bodies). tests/test_cli_startup.py checks the cause
(no store library imported), never the time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = (["--help"], ["query", "--help"], ["query", "casualties", "--help"],
         ["query", "casualties", "--by", "nope"], ["import", "acled", "--help"], ["nosuch"])
TARGET_S = 0.3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    worst = 0.0
    for args in CASES:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        worst = max(worst, median)
        print(f"{' '.join(args):32} median {median:.3f} s  min {min(times):.3f}  "
              f"max {max(times):.3f}")
    print(f"slowest median {worst:.3f} s (target <= {TARGET_S} s): "
          + ("ok" if worst <= TARGET_S else "OVER"))


if __name__ == "__main__":
    main()
