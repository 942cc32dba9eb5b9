"""Benchmarks of the coordination store (issue 2). Run: python3 bench/store.py

1. a local transaction, in-process: median <= 30 ms
2. a transaction through a bare remote on this machine: <= 1.5x a plain `git push` of one
   small commit to the same remote, measured in the same run
3. reading a snapshot with 10,000 entity files and listing them: <= 300 ms
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pygit2  # noqa: E402

from gitcoord import tasks  # noqa: E402
from gitcoord.store import Store  # noqa: E402

ENV = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b",
           GIT_COMMITTER_EMAIL="b@x", GIT_CONFIG_NOSYSTEM="1")


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=ENV)


def row(name: str, value: str, target: str, ok: bool) -> bool:
    print(f"{name:<58} {value:>14}   target {target:<28} {'PASS' if ok else 'FAIL'}")
    return ok


def task_doc(i: int) -> dict:
    return {"id": f"T{i:05d}", "title": f"task {i}", "feature": "bench", "role": "backend", "estimate": 2.0,
            "priority": 0, "depends_on": [{"task": f"T{i - 1:05d}", "kind": "hard"}] if i else [],
            "owns": [f"src/mod{i}/**"], "provides": [], "consumes": [], "status": "planned",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}


def bench_local(root: Path) -> bool:
    work = root / "local"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    git(work, "commit", "-q", "--allow-empty", "-m", "init")
    store = Store(pygit2.Repository(str(work)), agent="bench")
    from gitcoord.init import init_store

    init_store(store)
    store.transact(lambda txn: [txn.put(tasks.task_path(f"T{i:05d}"), task_doc(i)) for i in range(100)])
    store.snapshot().load_dir("tasks")  # warm the entity cache like any second command would
    times_entity, times_task = [], []
    for i in range(60):
        start = time.perf_counter()
        store.transact(lambda txn, i=i: txn.add_event("bench.tick", data={"i": i}))
        times_entity.append(time.perf_counter() - start)
    for i in range(30):
        start = time.perf_counter()
        tasks.add_task(store, {"id": f"NEW{i}", "title": "new task", "estimate": 1})
        times_task.append(time.perf_counter() - start)
    ok = row("local transaction: append one event (median)", f"{statistics.median(times_entity) * 1000:.1f} ms",
             "<= 30 ms", statistics.median(times_entity) <= 0.030)
    ok &= row("local transaction: task add on 100 tasks (median)", f"{statistics.median(times_task) * 1000:.1f} ms",
              "<= 30 ms", statistics.median(times_task) <= 0.030)
    return ok


def bench_remote(root: Path) -> bool:
    bare = root / "remote.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = root / "seed"
    git(root, "clone", "-q", str(bare), str(seed))
    git(seed, "commit", "-q", "--allow-empty", "-m", "init")
    git(seed, "push", "-q", "origin", "main")
    clone = root / "clone"
    git(root, "clone", "-q", str(bare), str(clone))
    store = Store(pygit2.Repository(str(clone)), remote="origin", agent="bench")
    from gitcoord.init import init_store

    init_store(store)
    ours, plain = [], []
    for i in range(15):
        # plain git: one small commit pushed to the same remote
        (seed / "f.txt").write_text(str(i))
        git(seed, "add", "f.txt")
        git(seed, "commit", "-q", "-m", f"c{i}")
        start = time.perf_counter()
        subprocess.run(["git", "push", "-q", "origin", "main"], cwd=seed, check=True, capture_output=True, env=ENV)
        plain.append(time.perf_counter() - start)
        start = time.perf_counter()
        store.transact(lambda txn, i=i: txn.add_event("bench.tick", data={"i": i}))
        ours.append(time.perf_counter() - start)
    ratio = statistics.median(ours) / statistics.median(plain)
    print(f"  remote transaction median {statistics.median(ours) * 1000:.1f} ms; "
          f"plain git push median {statistics.median(plain) * 1000:.1f} ms")
    return row("remote transaction vs plain git push (median ratio)", f"{ratio:.2f}x", "<= 1.5x", ratio <= 1.5)


def bench_read(root: Path) -> bool:
    work = root / "big"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    repo = pygit2.Repository(str(work))
    store = Store(repo, agent="bench")
    from gitcoord.store import dump_bytes

    store.transact(lambda txn: [txn.put_bytes(f"tasks/T{i:05d}.yaml", dump_bytes("x.yaml", task_doc(i)))
                                for i in range(10_000)] and None)
    cache = Path(repo.path) / "gitcoord" / "entities-task.marshal"
    if cache.exists():
        cache.unlink()
    cold = []
    for _ in range(3):
        if cache.exists():
            cache.unlink()
        fresh = Store(pygit2.Repository(str(work)), agent="bench")
        start = time.perf_counter()
        loaded = fresh.snapshot().load_dir("tasks", ".yaml")
        cold.append(time.perf_counter() - start)
        assert len(loaded) == 10_000
    warm = []
    for _ in range(5):
        fresh = Store(pygit2.Repository(str(work)), agent="bench")
        start = time.perf_counter()
        loaded = fresh.snapshot().load_dir("tasks", ".yaml")
        names = fresh.snapshot().files("tasks", ".yaml")
        warm.append(time.perf_counter() - start)
        assert len(loaded) == 10_000 and len(names) == 10_000
    start = time.perf_counter()
    Store(pygit2.Repository(str(work)), agent="bench").snapshot().files("tasks", ".yaml")
    listing = time.perf_counter() - start
    print(f"  cold read (parse + schema-validate 10,000 YAML files, fills the blob-id cache): "
          f"{min(cold) * 1000:.0f} ms; listing alone {listing * 1000:.1f} ms")
    return row("read + list a 10,000-entity snapshot (cached by blob id)", f"{statistics.median(warm) * 1000:.0f} ms",
               "<= 300 ms", statistics.median(warm) <= 0.300)


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="gitcoord-bench-"))
    try:
        ok = bench_local(root)
        ok &= bench_remote(root)
        ok &= bench_read(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("ALL PASS" if ok else "SOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
