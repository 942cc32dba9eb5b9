"""Property tests of the planner on random DAGs (hypothesis)."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from gitcoord.graph import Agent, Node, critical_path, find_cycle, remaining_path, schedule, topological_order, waves

EPS = 1e-9
ROLES = ("backend", "frontend", "qa")


@st.composite
def dags(draw, max_tasks: int = 14, roles: bool = False, statuses: bool = False):
    """Random DAG: dependencies only point to earlier tasks, ids shuffled against order."""
    count = draw(st.integers(1, max_tasks))
    names = draw(st.permutations([f"t{i:02d}" for i in range(count)]))
    nodes = []
    for i in range(count):
        deps = draw(st.lists(st.integers(0, max(i - 1, 0)), max_size=min(i, 3), unique=True)) if i else []
        kinds = [draw(st.sampled_from(("hard", "contract", "info"))) for _ in deps]
        nodes.append(
            Node(
                names[i],
                estimate=draw(st.sampled_from((0.5, 1.0, 1.5, 2.0, 3.0, 5.0))),
                priority=draw(st.integers(0, 2)),
                role=draw(st.sampled_from(ROLES)) if roles else None,
                status=draw(st.sampled_from(("planned", "planned", "merged", "in_progress"))) if statuses else "planned",
                depends_on=tuple((names[d], k) for d, k in zip(deps, kinds)),
            )
        )
    order = draw(st.permutations(range(count)))
    return [nodes[i] for i in order]


def check_schedule(nodes: list[Node], result, limit: int | None) -> dict[str, dict]:
    pending = {x.id: x for x in nodes if x.status not in ("merged", "cancelled")}
    by_task = {e["task"]: e for e in result.entries}
    # each task still to do scheduled exactly once, for its estimate
    assert Counter(e["task"] for e in result.entries) == Counter(list(pending))
    for task_id, entry in by_task.items():
        assert abs(entry["finish_hours"] - entry["start_hours"] - pending[task_id].hours) < EPS
        assert entry["start_hours"] >= 0
    # every dependency respected by kind
    for task_id, entry in by_task.items():
        for dep_id, kind in pending[task_id].depends_on:
            if dep_id not in by_task:
                continue
            bound = by_task[dep_id]["start_hours"] if kind == "info" else by_task[dep_id]["finish_hours"]
            assert entry["start_hours"] >= bound - EPS, (task_id, dep_id, kind)
    # an agent does one task at a time, and never more than `limit` run at once
    by_agent: dict[str, list] = {}
    for e in result.entries:
        by_agent.setdefault(e["agent"], []).append((e["start_hours"], e["finish_hours"]))
    for spans in by_agent.values():
        spans.sort()
        for (_s1, f1), (s2, _f2) in zip(spans, spans[1:]):
            assert s2 >= f1 - EPS
    instants = {e["start_hours"] for e in result.entries}
    for t in instants:
        running = sum(1 for e in result.entries if e["start_hours"] <= t < e["finish_hours"])
        if limit is not None:
            assert running <= limit
    if limit is not None:
        assert len(result.agents) <= limit
    makespan = max((e["finish_hours"] for e in result.entries), default=0.0)
    assert abs(result.makespan_hours - makespan) < EPS
    return by_task


@settings(max_examples=150, deadline=None)
@given(dags(), st.integers(1, 4))
def test_schedule_respects_dependencies_and_bounds(nodes, agents):
    result = schedule(nodes, agents)
    by_task = check_schedule(nodes, result, agents)
    _path, length = critical_path(nodes)
    assert result.makespan_hours >= length - EPS
    assert result.makespan_hours >= result.sequential_hours / agents - EPS
    assert result.sequential_hours == sum(x.hours for x in nodes)
    # list scheduling is greedy: while a task waits after being released, every agent is busy
    for task_id, entry in by_task.items():
        node = next(x for x in nodes if x.id == task_id)
        released = max(
            [by_task[d]["start_hours"] if k == "info" else by_task[d]["finish_hours"] for d, k in node.depends_on]
            + [0.0]
        )
        if entry["start_hours"] > released + EPS:
            busy = sum(1 for e in result.entries if e["start_hours"] <= released < e["finish_hours"])
            assert busy == agents, (task_id, released, entry["start_hours"])


@settings(max_examples=150, deadline=None)
@given(dags(statuses=True))
def test_unlimited_agents_schedule_like_as_many_interchangeable_agents_as_tasks(nodes):
    """Unlimited agents and N >= tasks interchangeable agents: each task goes to the smallest free
    agent when it is released, so the two schedules are the same."""
    unlimited = schedule(nodes)
    counted = schedule(nodes, max(len(nodes), 1))
    assert unlimited.entries == counted.entries
    assert (unlimited.agents, unlimited.makespan_hours, unlimited.speedup) == \
        (counted.agents, counted.makespan_hours, counted.speedup)
    assert unlimited.agents_available is None and counted.agents_available == max(len(nodes), 1)


@settings(max_examples=100, deadline=None)
@given(dags(statuses=True))
def test_unlimited_agents_meet_the_critical_path_exactly(nodes):
    result = schedule(nodes)
    check_schedule(nodes, result, None)
    path, length = critical_path(nodes)
    assert abs(result.makespan_hours - length) < EPS
    tail = remaining_path(nodes)
    assert abs(max(tail.values(), default=0.0) - length) < EPS
    # the path is a real chain of dependencies
    by_id = {x.id: x for x in nodes}
    for before, after in zip(path, path[1:]):
        assert before in dict(by_id[after].depends_on)


@settings(max_examples=100, deadline=None)
@given(dags(roles=True), st.data())
def test_role_restricted_agents_only_take_their_roles(nodes, data):
    agents = [Agent("generalist")] if data.draw(st.booleans()) else []
    for role in ROLES:
        agents.append(Agent(f"{role}-dev", (role,)))
    agents = data.draw(st.permutations(agents))
    result = schedule(nodes, agents)
    check_schedule(nodes, result, len(agents))
    allowed = {a.name: a for a in agents}
    roles = {x.id: x.role for x in nodes}
    for entry in result.entries:
        agent = allowed[entry["agent"]]
        assert not agent.roles or roles[entry["task"]] in agent.roles


@settings(max_examples=100, deadline=None)
@given(dags())
def test_order_and_waves_agree_with_dependencies(nodes):
    assert find_cycle(nodes) is None
    position = {task_id: i for i, task_id in enumerate(topological_order(nodes))}
    wave_of = {task_id: k for k, wave in enumerate(waves(nodes)) for task_id in wave}
    assert set(position) == set(wave_of) == {x.id for x in nodes}
    for node in nodes:
        for dep_id, kind in node.depends_on:
            assert position[dep_id] < position[node.id]
            assert wave_of[node.id] >= wave_of[dep_id] + (0 if kind == "info" else 1)
        # each task is as early as its dependencies allow
        lowest = max([wave_of[d] + (0 if k == "info" else 1) for d, k in node.depends_on] + [0])
        assert wave_of[node.id] == lowest


@settings(max_examples=60, deadline=None)
@given(dags(), st.integers(0, 13), st.integers(0, 13))
def test_an_added_back_edge_is_found_as_a_cycle(nodes, a, b):
    order = topological_order(nodes)
    if len(order) < 2:
        return
    early, late = sorted((a % len(order), b % len(order)))
    if early == late:
        return
    first, last = order[early], order[late]
    if last not in _reachable_dependents(nodes, first):
        return  # no path first -> last, so the extra edge would not close a cycle
    patched = [
        Node(x.id, x.estimate, depends_on=x.depends_on + ((last, "hard"),)) if x.id == first else x for x in nodes
    ]
    cycle = find_cycle(patched)
    assert cycle is not None and cycle[0] == cycle[-1]
    by_id = {x.id: x for x in patched}
    for before, after in zip(cycle, cycle[1:]):
        assert before in dict(by_id[after].depends_on)


def _reachable_dependents(nodes: list[Node], start: str) -> set[str]:
    dependents: dict[str, list[str]] = {}
    for x in nodes:
        for dep_id, _kind in x.depends_on:
            dependents.setdefault(dep_id, []).append(x.id)
    seen, todo = set(), [start]
    while todo:
        for nxt in dependents.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
