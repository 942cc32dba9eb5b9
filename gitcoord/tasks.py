"""Task manifests (``tasks/<ID>.yaml``) and their lifecycle.

Status lifecycle: ``planned → ready → in_progress ⇄ blocked → ready_to_merge → merged``
(plus ``cancelled``). ``ready`` is derived from the dependencies and written back in the
same transaction as whatever changed it, so the files always say what can start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Union

from gitcoord import graph, timeutil
from gitcoord.errors import AlreadyExists, Conflict, NotFound, UsageError
from gitcoord.store import Snapshot, Store, Txn

View = Union[Snapshot, Txn]

TASK_DIR = "tasks"
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
STATUSES = ("planned", "ready", "in_progress", "blocked", "ready_to_merge", "merged", "cancelled")
DEP_KINDS = graph.DEP_KINDS

# Transitions a user (or an agent) may ask for; planned⇄ready also happen automatically.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "planned": ("in_progress", "cancelled"),
    "ready": ("in_progress", "cancelled"),
    "in_progress": ("blocked", "ready_to_merge", "cancelled"),
    "blocked": ("in_progress", "cancelled"),
    "ready_to_merge": ("merged", "in_progress", "cancelled"),
    "merged": (),
    "cancelled": (),
}
EVENT_FOR = {"in_progress": "task.started", "blocked": "task.blocked", "ready_to_merge": "task.done",
             "merged": "task.merged", "cancelled": "task.cancelled"}
TASK_FIELDS = ("id", "title", "description", "feature", "role", "agent", "estimate", "priority", "depends_on",
               "owns", "provides", "consumes", "status", "branch", "blocked_reason", "created_at", "updated_at",
               "started_at", "done_at", "merged_at", "history")


def task_path(task_id: str) -> str:
    check_id(task_id)
    return f"{TASK_DIR}/{task_id}.yaml"


def check_id(task_id: str, *, what: str = "task id") -> str:
    if not isinstance(task_id, str) or not ID_RE.match(task_id):
        raise UsageError(f"{what} {task_id!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a "
                         "letter or digit")
    return task_id


# --------------------------------------------------------------------------- reading


def load_tasks(view: View) -> dict[str, dict[str, Any]]:
    """All tasks by id, sorted by id."""
    out = {}
    for path, task in view.load_dir(TASK_DIR, ".yaml").items():
        expected = path[len(TASK_DIR) + 1:-len(".yaml")]
        if task.get("id") != expected:
            from gitcoord.errors import InvalidFile

            raise InvalidFile(path, f"id {task.get('id')!r} does not match the file name", pointer="/id")
        out[expected] = task
    return out


def get_task(view: View, task_id: str) -> dict[str, Any]:
    task = view.load(task_path(task_id))
    if task is None:
        raise NotFound(f"unknown task {task_id!r} (see `gitcoord task list`)")
    return task


def to_node(task: Mapping[str, Any]) -> graph.Node:
    return graph.Node(
        id=task["id"], estimate=task.get("estimate"), priority=int(task.get("priority") or 0),
        role=task.get("role"), agent=task.get("agent"), status=task["status"],
        depends_on=tuple((d["task"], d["kind"]) for d in task.get("depends_on") or ()), title=task.get("title"))


def to_nodes(tasks: Iterable[Mapping[str, Any]]) -> list[graph.Node]:
    return [to_node(t) for t in tasks]


def contract_ready_fn(view: View, tasks: Mapping[str, Mapping[str, Any]]):
    """A `contract` dependency is met when every contract the dependency provides is approved.

    A dependency that provides no registered contract falls back to its status
    (ready_to_merge or merged), as before the contract registry existed.
    """
    def ready(dep_id: str) -> bool:
        dep = tasks.get(dep_id)
        if dep is None:
            return False
        names = dep.get("provides") or []
        records = [view.load(f"contracts/{n}.yaml") for n in names if _safe_name(n)]
        records = [r for r in records if r is not None]
        if not records:
            return dep["status"] in ("ready_to_merge", "merged")
        return all(r.get("approved") and r.get("status") in ("approved", "deprecated") for r in records)
    return ready


def plan_for(view: Snapshot, *, feature: str | None = None,
             agents: int | None = None) -> tuple[list[graph.Node], dict[str, Any]]:
    """The planner's nodes and ``graph.plan`` for the tasks (of ``feature``) and the team."""
    all_tasks = load_tasks(view)
    selected = filter_tasks(all_tasks.values(), feature=feature)
    if feature and not selected:
        raise UsageError(f"--feature {feature}: no tasks in that feature")
    nodes = to_nodes(selected)
    config = view.config
    declared = [graph.Agent(a["name"], tuple(a.get("roles") or ())) for a in config.get("agents") or []]
    team: int | list[graph.Agent] | None = declared[:agents] if declared and agents else (declared or agents)
    result = graph.plan(nodes, team, hard_requires=config["policies"]["hard_requires"],
                        contract_ready=contract_ready_fn(view, all_tasks))
    return nodes, result


def cached_plan(view: Snapshot, *, feature: str | None = None, agents: int | None = None) -> dict[str, Any]:
    """``plan_for(...)[1]``, remembered by what it depends on: the ids of the tasks and contracts
    trees and of gitcoord.yaml (git names content, so a hit is never stale). A warm
    ``plan --json`` on 10,000 tasks then skips loading every task and scheduling them."""
    def oid(path: str) -> str:
        entry = view._entry(path)
        return str(entry.id) if entry is not None else "-"

    key = (PLAN_CACHE_VERSION, oid(TASK_DIR), oid("contracts"), oid("gitcoord.yaml"), view.claims_key, feature, agents)
    return view.remembered("plan", key, lambda: plan_for(view, feature=feature, agents=agents)[1])


PLAN_CACHE_VERSION = 1  # bump when graph.plan's output changes shape


def _safe_name(name: str) -> bool:
    return bool(NAME_RE.match(name or ""))


def ready_ids(view: View, tasks: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """Tasks whose dependencies are met by kind (planned or ready), best first."""
    tasks = tasks if tasks is not None else load_tasks(view)
    return graph.ready_set(to_nodes(tasks.values()), hard_requires=view.config["policies"]["hard_requires"],
                           contract_ready=contract_ready_fn(view, tasks))


def unmet_dependencies(view: View, task: Mapping[str, Any], tasks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Human-readable reasons why ``task`` cannot start yet (empty when it can)."""
    hard_requires = view.config["policies"]["hard_requires"]
    contract_ready = contract_ready_fn(view, tasks)
    reasons = []
    for dep in task.get("depends_on") or ():
        other = tasks.get(dep["task"])
        if other is None:
            reasons.append(f"{dep['task']} (unknown task)")
            continue
        status = other["status"]
        if status == "cancelled":
            continue
        if dep["kind"] == "hard":
            ok = status == "merged" or (hard_requires == "done" and status == "ready_to_merge")
            need = "merged" if hard_requires == "merged" else "done"
        elif dep["kind"] == "contract":
            ok = contract_ready(dep["task"])
            need = "its contract approved"
        else:
            ok = status in graph.STARTED_STATUSES
            need = "started"
        if not ok:
            reasons.append(f"{dep['task']} ({dep['kind']}: needs {need}, is {status})")
    return reasons


def active_tasks_of(view: View, agent: str) -> list[dict[str, Any]]:
    """Tasks this agent is working on (in progress or blocked)."""
    return [t for t in load_tasks(view).values()
            if t.get("agent") == agent and t["status"] in ("in_progress", "blocked")]


def next_for(view: View, agent: str, role: str | None = None, *, command: str = "gitcoord") -> dict[str, Any]:
    """The best ready task for ``agent`` (work stealing): ``{agent, task, in_progress, details, command}``,
    or with ``task`` None a ``reason``; ``command`` is how the printed hint starts."""
    all_tasks = load_tasks(view)
    declared = {a["name"]: graph.Agent(a["name"], tuple(a.get("roles") or ()))
                for a in view.config.get("agents") or []}
    me = declared.get(agent, graph.Agent(agent))
    best = graph.next_task(to_nodes(all_tasks.values()), me, role,
                           hard_requires=view.config["policies"]["hard_requires"],
                           contract_ready=contract_ready_fn(view, all_tasks))
    current = [t["id"] for t in all_tasks.values() if t.get("agent") == agent and t["status"] == "in_progress"]
    data: dict[str, Any] = {"agent": agent, "task": best, "in_progress": current}
    if best:
        data["details"] = all_tasks[best]
        data["command"] = f"{command} task start {best}"
    else:
        waiting = [t for t in all_tasks.values() if t["status"] in ("planned", "ready")]
        data["reason"] = ("no open tasks left" if not waiting else
                          f"{len(waiting)} task(s) still wait for dependencies; see `gitcoord plan`")
    return data


def task_for_branch(view: View, branch: str | None) -> dict[str, Any] | None:
    """The task a branch belongs to: recorded on the task, else parsed with the template."""
    from gitcoord.branches import find_task_for_branch

    return find_task_for_branch(load_tasks(view), branch, view.config["branch_template"])


def dependents_of(tasks: Mapping[str, Mapping[str, Any]], task_id: str) -> list[str]:
    return sorted(t["id"] for t in tasks.values() if any(d["task"] == task_id for d in t.get("depends_on") or ()))


# --------------------------------------------------------------------------- building tasks


def parse_dependency(text: str | Mapping[str, Any], *, where: str = "--depends-on") -> dict[str, str]:
    """``ID`` / ``ID:kind`` / ``{task, kind}`` → ``{task, kind}`` (kind defaults to hard)."""
    if isinstance(text, Mapping):
        task_id, kind = text.get("task"), text.get("kind", "hard")
        unknown = set(text) - {"task", "kind"}
        if unknown:
            raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (use task, kind)")
    elif isinstance(text, str):
        task_id, _, kind = text.partition(":")
        kind = kind or "hard"
    else:
        raise UsageError(f"{where}: {text!r} is not a task id or {{task, kind}}")
    check_id(str(task_id), what=f"{where} task")
    if kind not in DEP_KINDS:
        raise UsageError(f"{where} {task_id}: kind {kind!r} unknown (use {', '.join(DEP_KINDS)})")
    return {"task": str(task_id), "kind": kind}


def build_task(spec: Mapping[str, Any], *, feature: str | None = None, where: str = "task",
               now: str) -> dict[str, Any]:
    """Normalise a task definition (from flags or a plan file) into a manifest; UsageError on bad input."""
    from gitcoord.paths import validate_pattern

    allowed = {"id", "title", "description", "feature", "role", "agent", "estimate", "priority", "depends_on",
               "owns", "provides", "consumes"}
    unknown = set(spec) - allowed
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(allowed))})")
    task_id = check_id(str(spec.get("id") or ""), what=f"{where} id")
    title = spec.get("title")
    if not isinstance(title, str) or not title.strip():
        raise UsageError(f"{where} {task_id}: title is required")
    task: dict[str, Any] = {"id": task_id, "title": title.strip()}
    if spec.get("description"):
        task["description"] = str(spec["description"])
    feat = spec.get("feature", feature)
    for key, value in (("feature", feat), ("role", spec.get("role"))):
        if value is not None:
            if not isinstance(value, str) or not NAME_RE.match(value):
                raise UsageError(f"{where} {task_id}: {key} {value!r} must be a simple name (letters, digits, ._-)")
            task[key] = value
    if spec.get("agent") is not None:
        from gitcoord.identity import check_agent_name

        task["agent"] = check_agent_name(str(spec["agent"]), f"{where} {task_id}: agent")
    if spec.get("estimate") is not None:
        task["estimate"] = round(timeutil.hours(spec["estimate"], what=f"{where} {task_id} estimate"), 6)
    if spec.get("priority") is not None:
        try:
            task["priority"] = int(spec["priority"])
        except (TypeError, ValueError, OverflowError):
            raise UsageError(f"{where} {task_id}: priority {spec['priority']!r} must be an integer") from None
    deps = spec.get("depends_on") or []
    if not isinstance(deps, list):
        raise UsageError(f"{where} {task_id}: depends_on must be a list")
    seen: dict[str, dict[str, str]] = {}
    for dep in deps:
        parsed = parse_dependency(dep, where=f"{where} {task_id} depends_on")
        if parsed["task"] == task_id:
            raise UsageError(f"{where} {task_id}: a task cannot depend on itself")
        seen[parsed["task"]] = parsed
    task["depends_on"] = list(seen.values())
    for key in ("owns", "provides", "consumes"):
        values = spec.get(key) or []
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            raise UsageError(f"{where} {task_id}: {key} must be a list")
        if key == "owns":
            values = [validate_pattern(str(v)) for v in values]
        else:
            for v in values:
                if not isinstance(v, str) or not NAME_RE.match(v):
                    raise UsageError(f"{where} {task_id}: {key} {v!r} must be a contract name (letters, digits, ._-)")
        task[key] = list(dict.fromkeys(values))
    task["status"] = "planned"
    task["created_at"] = now
    task["updated_at"] = now
    return task


def _check_graph(tasks: Mapping[str, Mapping[str, Any]], changed: Iterable[str], where: str) -> None:
    """Dependencies of the changed tasks exist, and the whole graph stays acyclic."""
    for task_id in changed:
        for dep in tasks[task_id].get("depends_on") or ():
            if dep["task"] not in tasks:
                raise UsageError(f"{where}: task {task_id} depends on unknown task {dep['task']!r}")
    cycle = graph.find_cycle(to_nodes(tasks.values()))
    if cycle:
        raise UsageError(f"{where}: dependency cycle {' -> '.join(cycle)}")


def refresh_readiness(txn: Txn, tasks: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Write ``planned → ready`` (and back) for every task whose dependencies changed state."""
    tasks = tasks if tasks is not None else load_tasks(txn)
    ready = set(ready_ids(txn, tasks))
    changed = []
    for task_id, task in tasks.items():
        if task["status"] == "planned" and task_id in ready:
            new = "ready"
        elif task["status"] == "ready" and task_id not in ready:
            new = "planned"
        else:
            continue
        _set_status(task, new, txn.now, txn.agent)
        txn.put(task_path(task_id), task)
        changed.append(task_id)
    return changed


def _set_status(task: dict[str, Any], status: str, now: str, agent: str, reason: str | None = None) -> None:
    task["status"] = status
    task["updated_at"] = now
    entry = {"status": status, "at": now, "agent": agent}
    if reason:
        entry["reason"] = reason
    task.setdefault("history", []).append(entry)


# --------------------------------------------------------------------------- operations


def add_task(store: Store, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Create one task (create-if-absent: a second add of the same id is refused)."""
    def op(txn: Txn) -> dict[str, Any]:
        _require_init(txn)
        task = build_task(spec, where="task", now=txn.now)
        if txn.has(task_path(task["id"])):
            raise AlreadyExists(f"task {task['id']} already exists (see `gitcoord task show {task['id']}`)")
        tasks = load_tasks(txn)
        tasks[task["id"]] = task
        _check_graph(tasks, [task["id"]], "task add")
        txn.put(task_path(task["id"]), task)
        txn.add_event("task.created", task=task["id"], summary=task["title"])
        refresh_readiness(txn, tasks)
        txn.describe("task.add", f"add {task['id']}: {task['title']}", task=task["id"])
        return txn.load(task_path(task["id"]))
    return store.transact(op).value


def load_plan_file(path: str) -> dict[str, Any]:
    from gitcoord.store import parse_bytes

    try:
        with open(path, "rb") as fh:
            data = fh.read(8 * 1024 * 1024 + 1)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read plan file: {exc.strerror}") from None
    if len(data) > 8 * 1024 * 1024:
        raise UsageError(f"{path}: plan file is larger than 8 MiB")
    doc = parse_bytes(path if path.endswith((".json", ".yaml", ".yml")) else path + ".yaml", data)
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: a plan is a mapping with `feature:` and `tasks:`")
    return doc


def import_plan(store: Store, doc: Mapping[str, Any], *, source: str = "plan", update: bool = False) -> dict[str, Any]:
    """Add (or with update=True, redefine) every task of a plan file, all or nothing."""
    unknown = set(doc) - {"feature", "tasks", "contracts"}
    if unknown:
        raise UsageError(f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))} (use feature, tasks)")
    feature = doc.get("feature")
    entries = doc.get("tasks")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{source}: `tasks:` must be a non-empty list")

    def op(txn: Txn) -> dict[str, Any]:
        _require_init(txn)
        tasks = load_tasks(txn)
        new_ids: list[str] = []
        updated: list[str] = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise UsageError(f"{source}: tasks[{index}] must be a mapping")
            task = build_task(entry, feature=feature, where=f"{source}: tasks[{index}]", now=txn.now)
            if task["id"] in new_ids or task["id"] in updated:
                raise UsageError(f"{source}: task {task['id']} is defined twice")
            old = tasks.get(task["id"])
            if old is not None:
                if not update:
                    raise AlreadyExists(f"{source}: task {task['id']} already exists (use --update to redefine)")
                for keep in ("status", "branch", "created_at", "started_at", "done_at", "merged_at", "history",
                             "blocked_reason"):
                    if keep in old:
                        task[keep] = old[keep]
                if "agent" not in task and old.get("agent") and old["status"] not in ("planned", "ready"):
                    task["agent"] = old["agent"]  # a started task stays claimed by whoever started it
                updated.append(task["id"])
            else:
                new_ids.append(task["id"])
            tasks[task["id"]] = task
        _check_graph(tasks, new_ids + updated, source)
        for task_id in new_ids + updated:
            txn.put(task_path(task_id), tasks[task_id])
        txn.add_event("task.imported", summary=f"{len(new_ids)} added, {len(updated)} updated",
                      data={"feature": feature, "added": new_ids, "updated": updated})
        refresh_readiness(txn, tasks)
        txn.describe("task.import", f"import {len(new_ids)} task(s)" + (f" for {feature}" if feature else ""))
        return {"feature": feature, "added": new_ids, "updated": updated}
    return store.transact(op).value


def edit_task(store: Store, task_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change definition fields of a task (not its status)."""
    def op(txn: Txn) -> dict[str, Any]:
        old = get_task(txn, task_id)
        spec = {k: old.get(k) for k in ("id", "title", "description", "feature", "role", "agent", "estimate",
                                        "priority", "depends_on", "owns", "provides", "consumes") if old.get(k) is not None}
        for key, value in changes.items():
            if value is None or key in ("add_owns", "remove_owns"):
                continue
            spec[key] = None if value == "" else value
        owns = list(spec.get("owns") or [])
        missing = [p for p in changes.get("remove_owns") or [] if p not in owns]
        if missing:
            raise UsageError(f"task edit {task_id} --remove-owns {missing[0]}: not in its owns "
                             f"({', '.join(owns) or 'none'})")
        owns = [p for p in owns if p not in (changes.get("remove_owns") or [])]
        owns += [p for p in changes.get("add_owns") or [] if p not in owns]
        if "add_owns" in changes or "remove_owns" in changes:
            spec["owns"] = owns
        spec = {k: v for k, v in spec.items() if v is not None}
        task = build_task(spec, where="task edit", now=txn.now)
        for keep in ("status", "branch", "created_at", "started_at", "done_at", "merged_at", "history",
                     "blocked_reason"):
            if keep in old:
                task[keep] = old[keep]
        tasks = load_tasks(txn)
        tasks[task_id] = task
        _check_graph(tasks, [task_id], "task edit")
        txn.put(task_path(task_id), task)
        txn.add_event("task.updated", task=task_id, data={"fields": sorted(k for k, v in changes.items() if v is not None)})
        refresh_readiness(txn, tasks)
        txn.describe("task.edit", f"edit {task_id}", task=task_id)
        return txn.load(task_path(task_id))
    return store.transact(op).value


def transition(store: Store, task_id: str, target: str, *, reason: str | None = None,
               force: bool = False, branch: str | None = None) -> dict[str, Any]:
    """Move a task to ``target`` if the lifecycle allows it; see TRANSITIONS."""
    def op(txn: Txn) -> dict[str, Any]:
        return apply_transition(txn, task_id, target, reason=reason, force=force, branch=branch)
    return store.transact(op).value


def apply_transition(txn: Txn, task_id: str, target: str, *, reason: str | None = None, force: bool = False,
                     branch: str | None = None, tasks: dict[str, dict[str, Any]] | None = None,
                     refresh: bool = True) -> dict[str, Any]:
    """The transition inside an existing transaction (merge runs use it for `merged`).

    A caller making many transitions in one transaction (a batch merge) passes the ``tasks`` it
    loaded once (kept up to date here) and ``refresh=False``, then calls ``refresh_readiness``
    once: loading and checking every task per transition made a 50-task batch quadratic."""
    if target not in STATUSES:
        raise UsageError(f"unknown status {target!r} (use {', '.join(STATUSES)})")
    tasks = tasks if tasks is not None else load_tasks(txn)
    task = tasks.get(task_id)
    if task is None:
        raise NotFound(f"unknown task {task_id!r} (see `gitcoord task list`)")
    current = task["status"]
    me = txn.agent
    if target == "in_progress" and current == "in_progress":
        if task.get("agent") == me:
            return {**task, "_unchanged": True}
        raise Conflict(f"task {task_id} is already in progress, held by {task.get('agent')} since "
                       f"{task.get('started_at')}; pick another with `gitcoord next`",
                       data={"task": task_id, "holder": task.get("agent"), "since": task.get("started_at")})
    if target == "ready_to_merge" == current and task.get("agent") == me:
        return {**task, "_unchanged": True}  # done again after fixing the branch: still ready to merge
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(TRANSITIONS[current]) or "none (final)"
        raise UsageError(f"task {task_id}: cannot go from {current} to {target} (allowed from {current}: {allowed})")
    if target == "in_progress":
        owner = task.get("agent")
        if current in ("planned", "ready"):
            if owner and owner != me and not force:
                raise Conflict(f"task {task_id} is assigned to {owner}; ask them, or use --force to take it over",
                               data={"task": task_id, "holder": owner})
            waiting = unmet_dependencies(txn, task, tasks)
            if waiting and not force:
                raise UsageError(f"task {task_id} is not ready: waiting for {'; '.join(waiting)} "
                                 "(use --force to start anyway)")
            task["agent"] = me
            task["started_at"] = task.get("started_at") or txn.now
            if not task.get("branch"):
                task["branch"] = branch or branch_name_for(txn, task)
        elif owner and owner != me and not force:
            raise Conflict(f"task {task_id} is held by {owner}; only they can resume it (or use --force)",
                           data={"task": task_id, "holder": owner})
        task.pop("blocked_reason", None)
    elif current in ("in_progress", "blocked", "ready_to_merge") and target != "merged" and task.get("agent") \
            and task.get("agent") != me and not force:
        raise Conflict(f"task {task_id} is held by {task['agent']}; only they can change it (or use --force)",
                       data={"task": task_id, "holder": task["agent"]})
    if target == "blocked":
        if not reason:
            raise UsageError(f"task {task_id}: blocking needs --reason")
        task["blocked_reason"] = reason
    if target == "ready_to_merge":
        task["done_at"] = txn.now
    if target == "merged":
        task["merged_at"] = txn.now
    _set_status(task, target, txn.now, me, reason)
    txn.put(task_path(task_id), task)
    event = EVENT_FOR.get(target, "task.updated")
    if current == "blocked" and target == "in_progress":
        event = "task.unblocked"
    txn.add_event(event, task=task_id, summary=reason, data={"from": current, "to": target})
    released: list[str] = []
    if target in ("merged", "cancelled"):
        released = _release_locks(txn, task_id)
    if refresh and dependents_of(tasks, task_id):  # only a dependent's readiness can change
        refresh_readiness(txn, tasks)
    txn.describe(f"task.{target}", f"{task_id}: {current} -> {target}" + (f" ({reason})" if reason else ""),
                 task=task_id)
    result = txn.load(task_path(task_id))
    if released:
        result["_released_locks"] = released
    return result


def assign(txn: Txn, task_id: str, agent: str) -> dict[str, Any] | None:
    """Give an unstarted task to ``agent`` (a manager's task_assignment); the change made, or None.

    A task someone else already works on is not taken away (Conflict); a finished one cannot be assigned.
    """
    task = get_task(txn, task_id)
    status, holder = task["status"], task.get("agent")
    if holder == agent:
        return None
    if status in ("merged", "cancelled"):
        raise UsageError(f"task {task_id} is {status}: it cannot be assigned")
    if status not in ("planned", "ready"):
        raise Conflict(f"task {task_id} is {status}, held by {holder}: it cannot be reassigned to {agent}",
                       data={"task": task_id, "holder": holder})
    task["agent"] = agent
    task["updated_at"] = txn.now
    task.setdefault("history", []).append({"status": status, "at": txn.now, "agent": txn.agent,
                                           "reason": f"assigned to {agent}"})
    txn.put(task_path(task_id), task)
    return {"task": task_id, "agent": {"from": holder, "to": agent}}


def branch_name_for(view: View, task: Mapping[str, Any]) -> str:
    from gitcoord.branches import render_branch

    return render_branch(view.config["branch_template"], task=task["id"], feature=task.get("feature"),
                         role=task.get("role"), agent=task.get("agent"))


def _release_locks(txn: Txn, task_id: str) -> list[str]:
    try:
        from gitcoord import locks
    except ImportError:  # the locks module is optional for the task lifecycle
        return []
    return locks.release_task_locks(txn, task_id)


def _require_init(txn: Txn) -> None:
    if not txn.base.exists and not txn.changes:
        raise UsageError("no coordination branch yet: run `gitcoord init` first")


def filter_tasks(tasks: Iterable[Mapping[str, Any]], *, feature: str | None = None, status: str | None = None,
                 ids: set[str] | None = None) -> list[Mapping[str, Any]]:
    if status is not None and status not in STATUSES:
        raise UsageError(f"--status {status!r}: use one of {', '.join(STATUSES)}")
    return [t for t in tasks if (feature is None or t.get("feature") == feature)
            and (status is None or t["status"] == status) and (ids is None or t["id"] in ids)]
