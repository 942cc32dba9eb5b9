"""Benchmark: `gitcoord demo` end to end as a process (`gitcoord run` and four scripted agents over a git daemon).

Target (README): well under a minute on a 2-core machine — PASS at <= 60 s. The reference is
the same machine starting a bare `python -c pass` (interpreter start) for scale.
Run: python3 bench/demo.py [RUNS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 60.0


def run_once() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITCOORD_")}
        env.update({"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "PYTHONPATH": str(ROOT)})
        began = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "gitcoord", "--json", "demo", str(Path(tmp) / "shop")],
                              capture_output=True, text=True, env=env, cwd=tmp, timeout=600)
        elapsed = time.monotonic() - began
        if proc.returncode != 0:
            sys.exit(f"demo failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return elapsed


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    interpreter = time.monotonic() - began
    times = [run_once() for _ in range(runs)]
    median = statistics.median(times)
    verdict = "PASS" if median <= TARGET_SECONDS else "FAIL"
    print(f"gitcoord demo (median of {runs}): {median:.1f} s   target <= {TARGET_SECONDS:.0f} s   {verdict}")
    print(f"reference: python -c pass {interpreter * 1000:.0f} ms")


if __name__ == "__main__":
    main()
