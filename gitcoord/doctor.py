"""Anti-pattern findings over the task graph: what makes parallel work go wrong."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from gitcoord import graph
from gitcoord.tasks import View, load_tasks, to_nodes


WITNESS_LIMIT = 100


def finding(level: str, rule: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"level": level, "rule": rule, "message": message, **extra}


def diagnose(view: View, tasks: Mapping[str, Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Every finding, errors first. Error level: cycles, dangling dependencies, shared file hell."""
    tasks = tasks if tasks is not None else load_tasks(view)
    config = view.config
    active = {tid: t for tid, t in tasks.items() if t["status"] not in ("merged", "cancelled")}
    nodes = to_nodes(tasks.values())
    g = graph.Graph(nodes)
    out: list[dict[str, Any]] = []

    cycle = graph.find_cycle(g)
    if cycle:
        out.append(finding("error", "cycle", f"dependency cycle: {' -> '.join(cycle)}; remove one of these "
                                             "dependencies (`gitcoord task edit ID --depends-on ...`)", tasks=cycle))
    for task_id, dep in g.dangling:
        out.append(finding("error", "dangling-dependency", f"{task_id} depends on unknown task {dep}; add it or "
                                                           "drop the dependency", tasks=[task_id, dep]))

    # Shared file hell: overlapping ownership with no dependency path that orders the two tasks.
    from gitcoord.ownership import find_overlaps, overlap_witness

    groups = {tid: list(t.get("owns") or ()) for tid, t in active.items() if t.get("owns")}
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for a, b, pa, pb in find_overlaps(groups):
        key = (a, b) if a < b else (b, a)
        pairs.setdefault(key, []).append((pa, pb) if a < b else (pb, pa))
    if pairs and not cycle:
        reach_cache: dict[str, set[str]] = {}

        def ancestors(task_id: str) -> set[str]:
            if task_id not in reach_cache:
                reach_cache[task_id] = graph.ancestors(g, task_id)
            return reach_cache[task_id]

        shown_examples = 0
        for (a, b), patterns in sorted(pairs.items()):
            if a in ancestors(b) or b in ancestors(a):
                continue
            shown = "; ".join(f"{pa} ~ {pb}" for pa, pb in patterns[:3])
            example = None
            if shown_examples < WITNESS_LIMIT:  # an example path costs an automaton search: the first ones suffice
                example = overlap_witness(patterns[0][0], patterns[0][1])
                shown_examples += 1
            out.append(finding(
                "error", "shared-file-hell",
                f"{a} and {b} both own overlapping paths ({shown}{', e.g. ' + example if example else ''}) with no "
                f"dependency between them; split the paths, or add a dependency (`gitcoord task edit {b} "
                f"--depends-on {a}`)", tasks=[a, b], paths=[p for pair in patterns for p in pair]))

    for task_id, task in sorted(active.items()):
        for dep in task.get("depends_on") or ():
            other = tasks.get(dep["task"])
            if dep["kind"] == "contract" and other is not None and not other.get("provides"):
                out.append(finding("warning", "contract-without-contract",
                                   f"{task_id} depends on {dep['task']} by contract, but {dep['task']} provides no "
                                   f"contract; add `provides:` to {dep['task']} or make the dependency hard",
                                   tasks=[task_id, dep["task"]]))
        if not task.get("owns"):
            out.append(finding("warning", "no-owned-paths", f"{task_id} owns no paths: its changes cannot be "
                                                             "checked; add --owns patterns", tasks=[task_id]))
        if task.get("estimate") is None:
            out.append(finding("warning", "no-estimate", f"{task_id} has no estimate: plans assume "
                                                          f"{graph.DEFAULT_ESTIMATE:g} h", tasks=[task_id]))

    limit = int(config["policies"].get("max_agents_per_feature") or 5)
    agents_by_feature: dict[str, set[str]] = {}
    for task in active.values():
        if task.get("agent") and task.get("feature"):
            agents_by_feature.setdefault(task["feature"], set()).add(task["agent"])
    for feature, agents in sorted(agents_by_feature.items()):
        if len(agents) > limit:
            out.append(finding("warning", "over-parallelization",
                               f"feature {feature} has {len(agents)} agents (limit {limit}): coordination cost "
                               "grows faster than throughput; merge tasks or stage the work",
                               feature=feature, agents=sorted(agents)))
    from gitcoord.heartbeat import silent_tasks, status_command

    for silent in silent_tasks(view):
        out.append(finding("warning", "silent-agent",
                           f"{silent['task']} is in progress but {silent['agent']} has said nothing about it for "
                           f"{silent['silent_hours']:g} h (policies.heartbeat {silent['heartbeat_hours']:g} h); "
                           f"{silent['agent']} reports with `{status_command(silent)}`",
                           tasks=[silent["task"]], agent=silent["agent"], last_heard=silent["last_heard"]))
    order = {"error": 0, "warning": 1, "info": 2}
    out.sort(key=lambda f: order.get(f["level"], 3))
    return out


def summary(findings: list[dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(f["level"] for f in findings))
