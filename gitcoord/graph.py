"""The task dependency graph: cycles, order, waves, critical path, schedule, readiness.

Pure functions over plain data (`Node`, `Agent`), so the planner is tested and
benchmarked without a store; the CLI builds `Node`s from `tasks/*.yaml`.

Timing semantics of the dependency kinds (used by every estimate here):

* ``hard`` and ``contract``: B may start when A *finishes* (finish -> start). In real
  life a contract dependency is released when A's contract is approved, which usually
  happens before A finishes; for an estimate, A's finish is the safe bound.
* ``info``: B may start when A *starts* (start -> start). A task that becomes startable
  at the instant another starts is schedulable at that same instant.

Tasks whose status is ``merged`` or ``cancelled`` are done at t=0: they are not
scheduled and dependencies on them are satisfied. Dependencies on ids that are not in
the node list ("dangling") are ignored by the estimates (the plan warns about them) and
are never satisfied for readiness. A missing estimate counts as ``DEFAULT_ESTIMATE``
hours (the plan says so in its warnings).

Every public function takes either a sequence of nodes or a `Graph` built once from
them; build the `Graph` yourself when calling several functions on a big task set.
"""

from __future__ import annotations

import heapq
import itertools
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitcoord.errors import UsageError

DEP_KINDS = ("hard", "contract", "info")
DEFAULT_ESTIMATE = 1.0
DONE_STATUSES = frozenset({"merged", "cancelled"})
OPEN_STATUSES = frozenset({"planned", "ready"})
STARTED_STATUSES = frozenset({"in_progress", "blocked", "ready_to_merge", "merged"})
IN_FLIGHT_STATUSES = frozenset({"in_progress", "blocked", "ready_to_merge"})


@dataclass(frozen=True)
class Node:
    """One task as the planner sees it. ``estimate`` is in hours; None means unknown."""

    id: str
    estimate: float | None = None
    priority: int = 0
    role: str | None = None
    agent: str | None = None
    status: str = "planned"
    depends_on: tuple[tuple[str, str], ...] = ()
    title: str | None = None

    @property
    def hours(self) -> float:
        return DEFAULT_ESTIMATE if self.estimate is None else float(self.estimate)


@dataclass(frozen=True)
class Agent:
    """A worker. Empty ``roles`` means the agent takes tasks of any role."""

    name: str
    roles: tuple[str, ...] = ()

    def can_take(self, node: Node) -> bool:
        if node.agent is not None:
            return node.agent == self.name
        return not self.roles or node.role is None or node.role in self.roles


class Graph:
    """Nodes indexed once: known dependencies (deduplicated), dependents, dangling ids.

    A task listing the same dependency twice keeps the strongest kind: finish->start
    (``hard``/``contract``) beats start->start (``info``).
    """

    def __init__(self, nodes: Iterable[Node]):
        self.nodes: list[Node] = list(nodes)
        self.by_id: dict[str, Node] = {}
        for node in self.nodes:
            if node.id in self.by_id:
                raise UsageError(f"task {node.id!r} appears twice in the plan; task ids must be unique")
            if node.estimate is not None and node.estimate < 0:
                raise UsageError(f"task {node.id!r}: estimate {node.estimate} is negative; use hours >= 0")
            self.by_id[node.id] = node
        self.deps: dict[str, list[tuple[str, str]]] = {}
        self.dependents: dict[str, list[tuple[str, str]]] = {n.id: [] for n in self.nodes}
        self.dangling: list[tuple[str, str]] = []
        by_id, deps, dependents = self.by_id, self.deps, self.dependents  # locals: 10,000 tasks go through here
        for node in self.nodes:
            kinds: dict[str, str] = {}
            for dep_id, kind in node.depends_on:
                if kind not in DEP_KINDS:
                    raise UsageError(
                        f"task {node.id!r}: dependency on {dep_id!r} has kind {kind!r}; "
                        f"use one of {', '.join(DEP_KINDS)}"
                    )
                if dep_id not in by_id:
                    self.dangling.append((node.id, dep_id))
                    continue
                if kinds.get(dep_id, "info") == "info":
                    kinds[dep_id] = kind
            node_id = node.id
            deps[node_id] = list(kinds.items())
            for dep_id, kind in kinds.items():
                dependents[dep_id].append((node_id, kind))
        self._topo: list[str] | None = None
        self._tail: dict[str, float] | None = None
        self._pending: list[str] | None = None
        self.hours: dict[str, float] = {n.id: n.hours for n in self.nodes}  # read ~4 times a task

    def topo(self) -> list[str]:
        """Topological order in input order (cached); UsageError naming a cycle."""
        if self._topo is None:
            self._topo = topological_order(self)
        return self._topo


def _graph(nodes: Sequence[Node] | Graph) -> Graph:
    return nodes if isinstance(nodes, Graph) else Graph(nodes)


# --------------------------------------------------------------------------- structure


def find_cycle(nodes: Sequence[Node] | Graph) -> list[str] | None:
    """A dependency cycle in execution order (each task depends on the one before it),
    first id repeated at the end; None when the graph is acyclic. All kinds count:
    every kind orders merges."""
    g = _graph(nodes)
    state: dict[str, int] = dict.fromkeys(g.by_id, 0)  # 0 new, 1 on the DFS path, 2 done
    for root in g.by_id:
        if state[root]:
            continue
        state[root] = 1
        path = [root]
        position = {root: 0}
        stack = [(root, iter(g.dependents[root]))]
        while stack:
            node, successors = stack[-1]
            for nxt, _kind in successors:
                seen = state[nxt]
                if seen == 0:
                    state[nxt] = 1
                    position[nxt] = len(path)
                    path.append(nxt)
                    stack.append((nxt, iter(g.dependents[nxt])))
                    break
                if seen == 1:
                    return path[position[nxt]:] + [nxt]
            else:
                stack.pop()
                state[node] = 2
                path.pop()
                del position[node]
    return None


def cycle_error(cycle: list[str]) -> UsageError:
    return UsageError(
        f"dependency cycle: {' -> '.join(cycle)} (each task depends on the one before it); "
        "remove one of these dependencies",
        data={"cycle": cycle},
    )


def dangling(nodes: Sequence[Node] | Graph) -> list[tuple[str, str]]:
    """``(task id, unknown dependency id)`` pairs, in input order."""
    return list(_graph(nodes).dangling)


def topological_order(nodes: Sequence[Node] | Graph, key: Callable[[Node], Any] | None = None) -> list[str]:
    """Every task after all its dependencies. Stable: among tasks free to go next, the
    smallest ``key(node)`` first, else the earliest in the input. Dangling ids ignored."""
    g = _graph(nodes)
    if key is None:
        return _input_order_topo(g)
    index = {n.id: i for i, n in enumerate(g.nodes)}
    waiting = {n.id: len(g.deps[n.id]) for n in g.nodes}

    def entry(node_id: str) -> tuple:
        node = g.by_id[node_id]
        return (key(node), index[node_id], node_id)

    heap = [entry(nid) for nid, count in waiting.items() if count == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        node_id = heapq.heappop(heap)[-1]
        order.append(node_id)
        for dependent, _kind in g.dependents[node_id]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(heap, entry(dependent))
    if len(order) < len(g.nodes):
        raise cycle_error(find_cycle(g) or [])
    return order


def _input_order_topo(g: Graph) -> list[str]:
    """``topological_order`` without a key: the heap holds input positions (plain ints) rather
    than ``(position, id)`` tuples; same order."""
    ids = [n.id for n in g.nodes]
    index = {nid: i for i, nid in enumerate(ids)}
    deps, dependents = g.deps, g.dependents
    waiting = [len(deps[nid]) for nid in ids]
    heap = [i for i, count in enumerate(waiting) if count == 0]  # ascending: a heap already
    order: list[str] = []
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        node_id = ids[pop(heap)]
        order.append(node_id)
        for dependent, _kind in dependents[node_id]:
            i = index[dependent]
            waiting[i] -= 1
            if waiting[i] == 0:
                push(heap, i)
    if len(order) < len(ids):
        raise cycle_error(find_cycle(g) or [])
    return order


def descendants(nodes: Sequence[Node] | Graph, task_ids: str | Iterable[str]) -> set[str]:
    """Tasks that depend, directly or not, on any of ``task_ids`` (those excluded)."""
    g = _graph(nodes)
    return _reach(g.dependents, task_ids)


def ancestors(nodes: Sequence[Node] | Graph, task_ids: str | Iterable[str]) -> set[str]:
    """Tasks that any of ``task_ids`` depends on, directly or not (those excluded)."""
    g = _graph(nodes)
    return _reach(g.deps, task_ids)


def _reach(edges: dict[str, list[tuple[str, str]]], task_ids: str | Iterable[str]) -> set[str]:
    starts = [task_ids] if isinstance(task_ids, str) else list(task_ids)
    for task_id in starts:
        if task_id not in edges:
            raise UsageError(f"unknown task {task_id!r}")
    seen: set[str] = set()
    todo = list(starts)
    while todo:
        for nxt, _kind in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen - set(starts)


# --------------------------------------------------------------------------- timing


def _pending(g: Graph, done_statuses: frozenset[str] = DONE_STATUSES) -> list[str]:
    """Ids still to do, in topological order (for the usual done statuses, one list per graph:
    a plan asks four times; callers only read it)."""
    if done_statuses != DONE_STATUSES:
        return [nid for nid in g.topo() if g.by_id[nid].status not in done_statuses]
    if g._pending is None:
        g._pending = [nid for nid in g.topo() if g.by_id[nid].status not in done_statuses]
    return g._pending


def waves(nodes: Sequence[Node] | Graph) -> list[list[str]]:
    """Level sets of the tasks still to do: wave k can start once waves < k are done.

    A ``hard``/``contract`` dependent goes at least one wave after its dependency; an
    ``info`` dependent may start with its dependency, so it goes in the SAME wave (at
    the earliest) — it is never placed before it. Ids sorted within a wave."""
    g = _graph(nodes)
    level: dict[str, int] = {}
    for nid in _pending(g):
        lvl = 0
        for dep_id, kind in g.deps[nid]:
            if dep_id in level:
                after = level[dep_id] if kind == "info" else level[dep_id] + 1
                if after > lvl:  # max() as a comparison: ~30,000 edges go through here
                    lvl = after
        level[nid] = lvl
    result: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for nid, lvl in level.items():
        result[lvl].append(nid)
    for wave in result:
        wave.sort()
    return result


def _earliest(g: Graph) -> tuple[list[str], dict[str, float], dict[str, float]]:
    """Earliest start/finish of every pending task with unlimited agents."""
    pending = _pending(g)
    start: dict[str, float] = {}
    finish: dict[str, float] = {}
    for nid in pending:
        t = 0.0
        for dep_id, kind in g.deps[nid]:
            if dep_id in finish:
                held = start[dep_id] if kind == "info" else finish[dep_id]
                if held > t:
                    t = held
        start[nid] = t
        finish[nid] = t + g.hours[nid]
    return pending, start, finish


def critical_path(nodes: Sequence[Node] | Graph) -> tuple[list[str], float]:
    """The chain of tasks that fixes the earliest possible end (unlimited agents), and
    that end in hours. Each task in the chain is held back by the one before it
    (finished it for hard/contract, started with it for info)."""
    g = _graph(nodes)
    pending, start, finish = _earliest(g)
    if not pending:
        return [], 0.0
    end = min(pending, key=lambda nid: (-finish[nid], nid))
    path = [end]
    current = end
    while True:
        binding = [
            dep_id
            for dep_id, kind in g.deps[current]
            if dep_id in finish and (start[dep_id] if kind == "info" else finish[dep_id]) == start[current]
        ]
        if not binding:
            break
        current = min(binding, key=lambda nid: (-finish[nid], nid))
        path.append(current)
    path.reverse()
    return path, finish[end]


def remaining_path(nodes: Sequence[Node] | Graph) -> dict[str, float]:
    """For each task still to do: hours from its start to the end of the longest chain
    of tasks waiting on it, its own estimate included (the list-scheduling priority)."""
    g = _graph(nodes)
    if g._tail is None:  # schedule and ready_set both rank by it: computed once per graph
        g._tail = _tail_for(g, _pending(g))
    return g._tail


# --------------------------------------------------------------------------- schedule


@dataclass(frozen=True)
class Schedule:
    """A list schedule. ``agents`` are the agents that got at least one task."""

    entries: list[dict]
    makespan_hours: float
    sequential_hours: float
    speedup: float
    efficiency: float
    agents: list[str]
    agents_available: int | None
    warnings: list[str] = field(default_factory=list)


class _Pool:
    """The agents of one schedule and which of them may take which task."""

    def __init__(self, g: Graph, pending: list[str], agents: int | Sequence[Agent] | None):
        nodes = [g.by_id[nid] for nid in pending]
        self.warnings: list[str] = []
        named = sorted({n.agent for n in nodes if n.agent})
        self.unlimited = agents is None
        if agents is None:
            self.agents = [Agent(name) for name in named]
            self.available: int | None = None
        elif isinstance(agents, int) and not isinstance(agents, bool):
            if agents < 1:
                raise UsageError(f"--agents {agents}: need at least 1 agent")
            if len(named) > agents:
                raise UsageError(
                    f"--agents {agents}: the tasks are assigned to {len(named)} different agents "
                    f"({', '.join(named)}); use --agents {len(named)} or more"
                )
            self.agents = [Agent(name) for name in named]
            self.agents += [Agent(name) for name in self._anonymous_names(agents - len(named))]
            self.available = agents
        else:
            self.agents = list(agents)
            if not self.agents:
                raise UsageError("no agents to schedule with; declare agents or pass a number of agents")
            seen: set[str] = set()
            for agent in self.agents:
                if agent.name in seen:
                    raise UsageError(f"agent {agent.name!r} is declared twice")
                seen.add(agent.name)
            self.available = len(self.agents)
        self.index = {a.name: i for i, a in enumerate(self.agents)}
        fixed = {n.agent for n in nodes if n.agent}
        # Prefer the least flexible free agent so versatile ones stay free for others.
        self.rank = [
            (a.name in fixed, 0 if a.roles else 1, len(a.roles), i) for i, a in enumerate(self.agents)
        ]
        self.free = [True] * len(self.agents)
        self._anon_free: list[int] = []  # unlimited mode: heap of free anonymous indices
        self._anon_names = self._anonymous_names(None)
        self.class_of: dict[str, tuple] = {}
        self.eligible: dict[tuple, list[int]] = {}
        anyone = ("anyone",)
        for node in nodes:
            self.class_of[node.id] = anyone if self.unlimited and node.agent is None else self._classify(node)

    def _anonymous_names(self, count: int | None) -> Iterable[str]:
        taken = {a.name for a in getattr(self, "agents", [])}
        names = (f"agent-{k}" for k in itertools.count(1))
        names = (n for n in names if n not in taken)
        return names if count is None else list(itertools.islice(names, count))

    def _classify(self, node: Node) -> tuple:
        if node.agent is not None:
            if node.agent not in self.index:
                declared = ", ".join(a.name for a in self.agents)
                raise UsageError(
                    f"task {node.id!r} is assigned to agent {node.agent!r}, which is not declared "
                    f"(agents: {declared}); declare it or change the task's agent"
                )
            agent = self.agents[self.index[node.agent]]
            if agent.roles and node.role is not None and node.role not in agent.roles:
                self.warnings.append(
                    f"task {node.id} (role {node.role}) is assigned to agent {agent.name}, "
                    f"whose roles are {', '.join(agent.roles)}; scheduled on {agent.name} anyway"
                )
            key: tuple = ("agent", self.index[node.agent])
            self.eligible.setdefault(key, [self.index[node.agent]])
            return key
        if self.unlimited:
            return ("anyone",)
        members = tuple(i for i, a in enumerate(self.agents) if a.can_take(node))
        if not members:
            roles = sorted({r for a in self.agents for r in a.roles})
            raise UsageError(
                f"task {node.id!r} has role {node.role!r} but no agent takes it "
                f"(agent roles: {', '.join(roles) or 'none'}); add the role to an agent or change the task"
            )
        if members not in self.eligible:
            self.eligible[members] = sorted(members, key=lambda i: self.rank[i])
        return members

    def has_free(self, cls: tuple) -> bool:
        if cls == ("anyone",):
            return True
        return any(self.free[i] for i in self.eligible[cls])

    def take(self, cls: tuple) -> int:
        if cls == ("anyone",):
            if self._anon_free:
                return heapq.heappop(self._anon_free)
            self.agents.append(Agent(next(self._anon_names)))
            self.free.append(False)
            return len(self.agents) - 1
        for i in self.eligible[cls]:
            if self.free[i]:
                self.free[i] = False
                return i
        raise AssertionError("take() without a free agent")

    def release(self, i: int, cls: tuple) -> None:
        if cls == ("anyone",):
            heapq.heappush(self._anon_free, i)
        else:
            self.free[i] = True


def schedule(
    nodes: Sequence[Node] | Graph,
    agents: int | Sequence[Agent] | None = None,
    *,
    done_statuses: frozenset[str] = DONE_STATUSES,
) -> Schedule:
    """List scheduling with critical-path priority, event by event.

    ``agents``: a number of interchangeable agents (agents named by tasks are among
    them), declared `Agent`s (roles restrict what each takes), or None for as many as
    can work at once. Ready tasks go by: already in flight (in_progress/blocked/
    ready_to_merge) first, then priority (higher first), then longest remaining path,
    then id; each to the least flexible free agent that may take it."""
    g = _graph(nodes)
    pending = _pending(g, done_statuses)
    pool = _Pool(g, pending, agents)
    tail = remaining_path(g) if done_statuses == DONE_STATUSES else _tail_for(g, pending)
    # dependencies still to do: all of a task's known ones but those done (few: counted from their side)
    waiting = {nid: len(g.deps[nid]) for nid in pending}
    for node in g.nodes:
        if node.status in done_statuses:
            for dependent, _kind in g.dependents[node.id]:
                if dependent in waiting:
                    waiting[dependent] -= 1

    ready: dict[tuple, list[tuple]] = {}
    # locals: 10,000 tasks go through the loop below
    push, pop = heapq.heappush, heapq.heappop
    by_id, class_of, hours, dependents = g.by_id, pool.class_of, g.hours, g.dependents
    has_free, take, release = pool.has_free, pool.take, pool.release

    def make_ready(nid: str) -> None:
        node = by_id[nid]
        key = (0 if node.status in IN_FLIGHT_STATUSES else 1, -node.priority, -tail[nid], nid)
        heap = ready.get(class_of[nid])
        if heap is None:
            ready[class_of[nid]] = [key]
        else:
            push(heap, key)

    for nid in pending:
        if waiting[nid] == 0:
            make_ready(nid)

    entries: list[dict] = []
    events: list[tuple[float, int, str, int]] = []
    sequence = itertools.count()
    now = 0.0
    while True:
        while True:  # start everything that can start now, best first
            best_cls = None
            best_key = None
            for cls, heap in ready.items():
                if heap and (best_key is None or heap[0] < best_key) and has_free(cls):
                    best_cls, best_key = cls, heap[0]
            if best_cls is None:
                break
            heap = ready[best_cls]
            nid = pop(heap)[-1]
            if not heap:
                del ready[best_cls]
            agent_index = take(best_cls)
            finish = now + hours[nid]
            entries.append({"task": nid, "agent": agent_index, "start_hours": now, "finish_hours": finish})
            push(events, (finish, next(sequence), nid, agent_index))
            for dependent, kind in dependents[nid]:
                if kind == "info" and dependent in waiting:
                    waiting[dependent] -= 1
                    if waiting[dependent] == 0:
                        make_ready(dependent)
        if not events:
            break
        now = events[0][0]
        while events and events[0][0] == now:
            _t, _s, nid, agent_index = pop(events)
            release(agent_index, class_of[nid])
            for dependent, kind in dependents[nid]:
                if kind != "info" and dependent in waiting:
                    waiting[dependent] -= 1
                    if waiting[dependent] == 0:
                        make_ready(dependent)
    if len(entries) != len(pending):  # cannot happen on a DAG; guard against silent loss
        raise UsageError(f"scheduled {len(entries)} of {len(pending)} tasks; the dependency graph is inconsistent")

    used = sorted({e["agent"] for e in entries})
    names = [pool.agents[i].name for i in used]
    for entry in entries:
        entry["agent"] = pool.agents[entry["agent"]].name
    entries.sort(key=operator.itemgetter("start_hours", "finish_hours", "task"))
    makespan = max((e["finish_hours"] for e in entries), default=0.0)
    sequential = sum(g.hours[nid] for nid in pending)
    speedup = sequential / makespan if makespan > 0 else 1.0
    efficiency = speedup / len(used) if used else 1.0
    return Schedule(entries, makespan, sequential, speedup, efficiency, names, pool.available, pool.warnings)


def _tail_for(g: Graph, pending: list[str]) -> dict[str, float]:
    """`remaining_path` over an explicit pending set (custom done statuses)."""
    is_pending = set(pending)
    tail: dict[str, float] = {}
    for nid in reversed(pending):
        own = g.hours[nid]
        best = own
        for dependent, kind in g.dependents[nid]:
            if dependent in is_pending:
                chain = tail[dependent] if kind == "info" else own + tail[dependent]
                if chain > best:
                    best = chain
        tail[nid] = best
    return tail


# --------------------------------------------------------------------------- readiness


def _satisfied(
    dep: Node, kind: str, hard_requires: str, contract_ready: Callable[[str], bool] | None
) -> bool:
    if dep.status == "cancelled":
        return True  # a cancelled dependency will never land; it must not block forever
    if kind == "hard":
        return dep.status == "merged" or (hard_requires == "done" and dep.status == "ready_to_merge")
    if kind == "contract":
        if contract_ready is not None:
            return contract_ready(dep.id)
        return dep.status in ("ready_to_merge", "merged")
    return dep.status in STARTED_STATUSES


def ready_set(
    nodes: Sequence[Node] | Graph,
    *,
    hard_requires: str = "merged",
    contract_ready: Callable[[str], bool] | None = None,
) -> list[str]:
    """Tasks in status planned/ready whose dependencies are satisfied, best first.

    ``hard``: the dependency is merged (``hard_requires="done"``: or ready_to_merge);
    ``contract``: ``contract_ready(dep_id)`` if given, else the dependency is
    ready_to_merge or merged; ``info``: the dependency has started. A cancelled
    dependency is satisfied; an unknown one never is. Order: priority, then longest
    remaining path, then id."""
    if hard_requires not in ("merged", "done"):
        raise UsageError(f"hard_requires={hard_requires!r}: use 'merged' or 'done'")
    g = _graph(nodes)
    unknown = {task for task, _dep in g.dangling}
    found = []
    by_id, deps = g.by_id, g.deps
    for n in g.nodes:
        if n.status in OPEN_STATUSES and n.id not in unknown:
            for d, k in deps[n.id]:
                if not _satisfied(by_id[d], k, hard_requires, contract_ready):
                    break
            else:
                found.append(n)
    if not found:
        return []
    tail = remaining_path(g)
    found.sort(key=lambda n: (-n.priority, -tail[n.id], n.id))
    return [n.id for n in found]


def next_task(
    nodes: Sequence[Node] | Graph,
    agent: Agent | None = None,
    role: str | None = None,
    *,
    hard_requires: str = "merged",
    contract_ready: Callable[[str], bool] | None = None,
) -> str | None:
    """Work stealing: the best ready task this agent may take, or None.

    Candidates are ready tasks that are unassigned or assigned to ``agent``; the agent's
    roles restrict them, and ``role`` (acting as that role) keeps tasks of that role or
    of no role. Best = priority, then longest remaining path, then id."""
    g = _graph(nodes)
    for nid in ready_set(g, hard_requires=hard_requires, contract_ready=contract_ready):
        node = g.by_id[nid]
        if node.agent is not None and (agent is None or node.agent != agent.name):
            continue
        if agent is not None and node.agent is None and not agent.can_take(node):
            continue
        if role is not None and node.role not in (role, None):
            continue
        return nid
    return None


# --------------------------------------------------------------------------- plan


def plan(
    nodes: Sequence[Node] | Graph,
    agents: int | Sequence[Agent] | None = None,
    *,
    hard_requires: str = "merged",
    contract_ready: Callable[[str], bool] | None = None,
) -> dict:
    """Everything `gitcoord plan` reports, as JSON-ready data (hours rounded to 1e-6).

    Raises UsageError naming the cycle when the dependencies are cyclic."""
    g = _graph(nodes)
    g.topo()  # raises the error naming the cycle when there is one
    warnings = [
        f"task {task} depends on unknown task {dep}; ignored in the estimate, and {task} is never ready"
        for task, dep in g.dangling
    ]
    pending = _pending(g)
    unestimated = [nid for nid in pending if g.by_id[nid].estimate is None]
    if unestimated:
        shown = ", ".join(unestimated[:10]) + (f" and {len(unestimated) - 10} more" if len(unestimated) > 10 else "")
        warnings.append(f"{len(unestimated)} task(s) have no estimate; assumed {DEFAULT_ESTIMATE:g} h each: {shown}")
    sched = schedule(g, agents)
    warnings.extend(sched.warnings)
    path, path_hours = critical_path(g)
    return {
        "tasks": len(pending),
        "makespan_hours": _round(sched.makespan_hours),
        "sequential_hours": _round(sched.sequential_hours),
        "speedup": _round(sched.speedup),
        "efficiency": _round(sched.efficiency),
        "agents": len(sched.agents),
        "agents_available": sched.agents_available,
        "agent_names": sched.agents,
        "critical_path": path,
        "critical_path_hours": _round(path_hours),
        "waves": waves(g),
        "schedule": _rounded_entries(sched.entries),
        "ready": ready_set(g, hard_requires=hard_requires, contract_ready=contract_ready),
        "unestimated": unestimated,
        "warnings": warnings,
    }


def _round(value: float) -> float:
    return round(value, 6)


def _rounded_entries(entries: list[dict]) -> list[dict]:
    """The schedule's entries with their hours rounded, in place (the schedule is this plan's own)."""
    for e in entries:
        e["start_hours"], e["finish_hours"] = round(e["start_hours"], 6), round(e["finish_hours"], 6)
    return entries
