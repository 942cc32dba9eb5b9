"""Benchmark: `gitcoord.graph.plan()` on 10,000 tasks and 30,000 dependencies.

Target (issue 3): <= 1 s for the library call. Run: python3 bench/plan.py
The reference is the target itself; also reported: the same plan with 8 interchangeable
agents and with 8 role-restricted agents, and the share of each step.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gitcoord import graph  # noqa: E402
from gitcoord.graph import Agent, Node  # noqa: E402

TASKS = 10_000
DEPS = 30_000
TARGET_SECONDS = 1.0
ROLES = ("backend", "frontend", "infra", "qa")


def random_dag(tasks: int, deps: int, seed: int = 7) -> list[Node]:
    """Each dependency goes from a task to one of the 200 before it (a realistic, deep DAG)."""
    rng = random.Random(seed)
    edges: dict[int, dict[int, str]] = {i: {} for i in range(tasks)}
    count = 0
    while count < deps:
        b = rng.randrange(1, tasks)
        a = rng.randrange(max(0, b - 200), b)
        if a not in edges[b]:
            edges[b][a] = rng.choice(("hard", "hard", "contract", "info"))
            count += 1
    statuses = ("planned",) * 8 + ("merged", "in_progress")
    return [
        Node(
            id=f"T{i:05d}",
            estimate=rng.choice((0.5, 1, 2, 3, 5, 8, None)),
            priority=rng.choice((0, 0, 0, 1, 2)),
            role=rng.choice(ROLES),
            status=rng.choice(statuses) if i < tasks // 10 else "planned",
            depends_on=tuple((f"T{a:05d}", kind) for a, kind in edges[i].items()),
        )
        for i in range(tasks)
    ]


def best_of(runs: int, fn) -> tuple[float, object]:
    best = float("inf")
    result = None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> int:
    nodes = random_dag(TASKS, DEPS)
    ok = True
    print(f"plan() on {TASKS:,} tasks / {DEPS:,} dependencies (best of 3)")
    cases = [
        ("unlimited agents", None),
        ("8 agents", 8),
        ("8 role agents", [Agent(f"a{i}", (ROLES[i % 4],)) for i in range(8)]),
    ]
    for label, agents in cases:
        seconds, result = best_of(3, lambda: graph.plan(nodes, agents))
        verdict = "PASS" if seconds <= TARGET_SECONDS else "FAIL"
        ok &= seconds <= TARGET_SECONDS
        print(
            f"  {label:<18} {seconds:6.3f} s   target <= {TARGET_SECONDS:.1f} s   {verdict}"
            f"   (makespan {result['makespan_hours']:.1f} h, critical path {result['critical_path_hours']:.1f} h,"
            f" {result['agents']} agents, speedup {result['speedup']:.2f})"
        )
    g = graph.Graph(nodes)
    steps = [
        ("Graph index", lambda: graph.Graph(nodes)),
        ("find_cycle", lambda: graph.find_cycle(g)),
        ("topological_order", lambda: graph.topological_order(g)),
        ("waves", lambda: graph.waves(g)),
        ("critical_path", lambda: graph.critical_path(g)),
        ("ready_set", lambda: graph.ready_set(g)),
        ("schedule(8)", lambda: graph.schedule(g, 8)),
    ]
    print("  steps (informational):")
    for label, fn in steps:
        seconds, _ = best_of(3, fn)
        print(f"    {label:<18} {seconds * 1000:7.1f} ms")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
