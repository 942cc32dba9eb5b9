"""The small parent of one agent process: records its pid and, when it ends, its exit code in
files next to each other, so a runner restarted after a crash (or a SIGKILL) can tell a
still-running agent from a finished or a lost one without having started it itself.

Run as ``python -m gitcoord.manager.supervise RUN_DIR COMMAND`` with cwd = the worktree.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    run_dir, command = Path(argv[0]), argv[1]
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(run_dir / "pid", str(os.getpid()))
    child = subprocess.Popen(["/bin/sh", "-c", command])

    def forward(signum, _frame):  # the runner stops a silent agent: pass it on, then record it
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = child.wait()
    write_atomic(run_dir / "exit", str(code))
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
