"""Benchmark ownership matching and overlap detection against the targets of issue 4.

    python3 bench/ownership.py

1. find_overlaps over 2,000 owners x 5 realistic patterns      target <= 2 s
2. OwnershipIndex: 300 tasks x 5 patterns, 20,000 paths         target well under 100 ms
   (build and match reported separately; side by side with the naive "every compiled
   pattern's regex on every path" loop the index replaces, and checked to agree with it)
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gitcoord.ownership import OwnershipIndex, compile_pattern, find_overlaps  # noqa: E402

EXTENSIONS = ["py", "ts", "tsx", "go", "md", "json", "yaml", "rs", "sql", "proto"]


def owner_patterns(rng: random.Random, owners: int) -> dict[str, list[str]]:
    """Patterns like real task `owns` lists: a module tree, its tests, docs, a shared-ish file."""
    groups: dict[str, list[str]] = {}
    for number in range(owners):
        area = rng.choice(["services", "libs", "apps", "packages"])
        module = f"m{number:04d}"
        patterns = [
            f"{area}/{module}/",
            f"tests/{area}/{module}/**/test_*.py",
            f"docs/{module}.md",
            f"/proto/{module}/*.proto",
        ]
        roll = rng.random()
        if roll < 0.01:
            patterns.append("*.lock")  # a few owners claim something global: real overlaps
        elif roll < 0.05:
            other = f"m{rng.randrange(owners):04d}"
            patterns.append(f"{rng.choice(['services', 'libs'])}/{other}/api/*.{rng.choice(EXTENSIONS)}")
        elif roll < 0.10:
            patterns.append(f"config/{module}*.yaml")
        else:
            patterns.append(f"scripts/{module}/*.sh")
        groups[f"task-{number:04d}"] = patterns
    return groups


def repository_paths(rng: random.Random, groups: dict[str, list[str]], count: int) -> list[str]:
    paths = []
    modules = [patterns[0].rstrip("/") for patterns in groups.values()]
    while len(paths) < count:
        kind = rng.random()
        ext = rng.choice(EXTENSIONS)
        if kind < 0.7:
            base = rng.choice(modules)
            depth = rng.randrange(0, 3)
            middle = "/".join(f"d{rng.randrange(6)}" for _ in range(depth))
            paths.append(f"{base}/{middle + '/' if middle else ''}f{rng.randrange(200)}.{ext}")
        elif kind < 0.85:
            module = rng.choice(modules)
            paths.append(f"tests/{module}/sub{rng.randrange(3)}/test_{rng.randrange(50)}.py")
        else:
            paths.append(f"misc/x{rng.randrange(40)}/y{rng.randrange(500)}.{ext}")
    return paths


def timed(function, repeat: int = 9) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def report(label: str, value_ms: float, target_ms: float) -> bool:
    ok = value_ms <= target_ms
    print(f"{label:<58} {value_ms:9.1f} ms   target <= {target_ms:.0f} ms   {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> int:
    rng = random.Random(4)
    results = []
    print(f"load average before the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (medians below)")

    groups = owner_patterns(rng, 2000)
    from gitcoord import ownership

    def overlaps_cold():
        ownership._compile_cached.cache_clear()
        ownership._OVERLAP_MEMO.clear()
        ownership._MATCHERS.clear()
        return find_overlaps(groups)

    seconds, overlaps = timed(overlaps_cold, repeat=3)
    print(f"find_overlaps: {sum(map(len, groups.values()))} patterns, {len(overlaps)} overlapping pairs found")
    results.append(report("find_overlaps, 2,000 owners x 5 patterns (cold caches)", seconds * 1000, 2000))

    tasks = dict(list(owner_patterns(random.Random(7), 300).items()))
    entries = [(pattern, task) for task, patterns in tasks.items() for pattern in patterns]
    paths = repository_paths(random.Random(9), tasks, 20_000)

    def build():
        ownership._compile_cached.cache_clear()
        ownership._MATCHERS.clear()
        return OwnershipIndex(entries)

    build_seconds, index = timed(build)
    match_seconds, owned = timed(lambda: index.owners_many(paths))
    results.append(report("OwnershipIndex build, 300 tasks x 5 patterns", build_seconds * 1000, 100))
    results.append(report("OwnershipIndex.owners_many, 20,000 paths", match_seconds * 1000, 100))

    compiled = [(compile_pattern(pattern), task) for pattern, task in entries]

    def naive():
        out = {}
        for path in paths:
            names: list[str] = []
            for pattern, task in compiled:
                if pattern._fullmatch(path) and task not in names:
                    names.append(task)
            out[path] = names
        return out

    naive_seconds, expected = timed(naive, repeat=1)
    agree = expected == owned
    print(
        f"{'reference: every regex on every path (naive loop)':<58} {naive_seconds * 1000:9.1f} ms   "
        f"index is {naive_seconds / match_seconds:.0f}x faster; results agree: {agree}"
    )
    owned_count = sum(1 for names in owned.values() if names)
    print(f"owned paths: {owned_count} of {len(paths)}")
    results.append(agree)
    print("ALL PASS" if all(results) else "SOME FAIL")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
