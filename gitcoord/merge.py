"""Batch merges of ready-to-merge tasks, wired to the coordination branch.

The engine (``merge_engine``) lands branches on git alone; this module picks the tasks,
orders them by dependency (ties: priority, longest remaining critical path, id), predicts
conflicts with the owners of the files, waits for a readiness threshold, and records the run
(``merges/<run-id>.json``), marks merged tasks, releases their locks and emits events. With
``push``, the target and the coordination branch go to the remote in one atomic push.

In remote mode the truth is the remote's: task branches and the base are fetched from it (a
branch that is only local to some clone is "push it from the agent's clone"), and ``--push``
builds on the remote's base tip, so a checked-out local base in an integrator's clone is left
alone (``git pull`` brings it up to date). A branch with no commits beyond its base is left out
(``empty``) unless ``allow_empty``: nothing that did not land is ever marked merged.
"""

from __future__ import annotations

import os
import shlex
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import pygit2

from gitcoord import gitutil, graph, merge_engine, tasks, timeutil
from gitcoord.errors import NotFound, RaceError, UsageError, Violation
from gitcoord.store import Snapshot, Store, Txn

MERGE_DIR = "merges"
DONE = ("merged", "cancelled")


@dataclass
class Target:
    """Where a batch lands: ``ref`` as the team names it (refs/heads/main), ``work_ref`` the local
    ref holding its tip (the remote-tracking ref in remote mode), and the branch tips fetched."""

    ref: str
    work_ref: str
    remote: str | None = None
    tips: dict[str, str] | None = None  # branch → tip on the remote; None: look in local refs

    @property
    def branch(self) -> str:
        return self.ref[len("refs/heads/"):] if self.ref.startswith("refs/heads/") else self.ref


def resolve_target(view: Snapshot, repo: pygit2.Repository, *, into: str | None, remote: str | None,
                   online: bool = True) -> Target:
    """The target and, in remote mode, the remote's base and ready task branches fetched in one go."""
    ref = target_ref(view, into)
    if not remote:
        if repo.references.get(ref) is None:
            raise NotFound(f"merge target {ref} does not exist (pass --into REF)")
        return Target(ref, ref)
    if not ref.startswith("refs/heads/"):
        raise UsageError(f"--into {into}: in remote mode the target is a branch on '{remote}' (e.g. main)")
    target = Target(ref, f"refs/remotes/{remote}/{ref[len('refs/heads/'):]}", remote)
    if online:
        wanted = [target.branch] + [t["branch"] for t in tasks.load_tasks(view).values()
                                    if t["status"] == "ready_to_merge" and t.get("branch")]
        found = gitutil.remote_branches(repo, remote, wanted)
        if target.branch not in found:
            raise NotFound(f"merge target {target.branch} does not exist on '{remote}' (pass --into BRANCH)")
        target.tips = found
    elif repo.references.get(target.work_ref) is None:
        raise NotFound(f"merge target {target.branch}: never fetched from '{remote}' and offline")
    return target


@dataclass
class Selection:
    """What a batch would take: items in order, and what stays out and why."""

    into: str
    items: list[merge_engine.MergeItem]
    excluded: list[dict[str, Any]] = field(default_factory=list)
    not_ready: list[dict[str, Any]] = field(default_factory=list)
    ready_share: float = 1.0
    feature: str | None = None


def target_ref(view: Snapshot, into: str | None) -> str:
    name = into or view.config["base"]
    return name if name.startswith("refs/") else f"refs/heads/{name}"


def _branch_tip(repo: pygit2.Repository, branch: str, target: Target | None) -> str | None:
    if target is not None and target.tips is not None:
        return target.tips.get(branch)  # fetched: the remote's copy is the one that was declared done
    remote = target.remote if target is not None else None
    for ref in (*([f"refs/remotes/{remote}/{branch}"] if remote else []), f"refs/heads/{branch}"):
        obj = repo.references.get(ref)
        if obj is not None:
            return str(obj.resolve().target)
    return None


def _missing_branch(branch: str | None, task_id: str, target: Target | None) -> str:
    if not branch:
        return f"no branch recorded for {task_id} (it was never started): nothing to land"
    if target is not None and target.remote:
        return (f"branch {branch} is not on '{target.remote}': push it from the agent's clone "
                f"(`git push -u {target.remote} {branch}`)")
    return f"branch {branch} is not in this repository: nothing to land (it lives in the agent's clone)"


def is_empty(repo: pygit2.Repository, tip: str, base: str) -> bool:
    """True when ``tip`` holds no commits beyond ``base``'s own line: it is ``base`` or a commit on
    its first-parent history (a branch cut from the base and never committed to). A branch
    merged earlier is not empty: its commits reach the base through a merge's second parent."""
    tip_oid, base_oid = pygit2.Oid(hex=tip), pygit2.Oid(hex=base)
    if tip_oid == base_oid:
        return True
    if gitutil.merge_base_oid(repo, base_oid, tip_oid) != tip_oid:  # the tip is not in the base's history (libgit2's
        return False                                     # descendant_of answers the same ~10x slower)
    walker = repo.walk(base_oid, pygit2.enums.SortMode.TOPOLOGICAL)
    walker.simplify_first_parent()
    for parent in repo[tip_oid].parent_ids:
        walker.hide(parent)  # stops the walk where the base's line passes below the tip
    return any(commit.id == tip_oid for commit in walker)


def select(view: Snapshot, repo: pygit2.Repository, *, feature: str | None = None, into: str | None = None,
           remote: str | None = None, target: Target | None = None, allow_empty: bool = False) -> Selection:
    """The ready_to_merge tasks (of ``feature``) in dependency order, and what is left out.

    With ``target`` (resolved), branch tips come from it and empty branches are left out."""
    all_tasks = tasks.load_tasks(view)
    scope = [t for t in all_tasks.values() if feature is None or t.get("feature") == feature]
    if feature is not None and not scope:
        raise UsageError(f"--feature {feature}: no tasks in that feature")
    nodes = tasks.to_nodes(all_tasks.values())
    tail = graph.remaining_path(nodes)
    candidates = {t["id"]: t for t in scope if t["status"] == "ready_to_merge"}
    excluded: list[dict[str, Any]] = []
    # A consumer started against a contract version that a breaking approval replaced waits
    # until its holder acknowledges the new one (`contract ack`) or its contract test passes.
    stale_consumers: dict[str, list[dict[str, Any]]] = {}
    if view.files("contracts", ".yaml"):  # no contract registered: nothing to wait for (and no import)
        from gitcoord.contracts.registry import unacknowledged_consumers

        stale_consumers = unacknowledged_consumers(view, all_tasks)
    for task_id, stale in stale_consumers.items():
        if candidates.pop(task_id, None) is not None:
            names = ", ".join(f"{s['contract']} {s['version']}" for s in stale)
            excluded.append({"task": task_id, "reason": "contract-changed", "files": [], "caused_by": None,
                             "contracts": stale,
                             "detail": f"started against an older version of {names} (breaking); its holder runs "
                                       + " / ".join(f"`gitcoord contract ack {s['contract']} --task {task_id}`"
                                                    for s in stale)})
    # A task never lands before its dependencies: one whose dependency is neither merged nor in
    # this batch stays out, and so does everything that depends on it.
    changed = True
    while changed:
        changed = False
        for task_id, task in list(candidates.items()):
            for dep in task.get("depends_on") or ():
                other = all_tasks.get(dep["task"])
                if other is None or other["status"] in DONE or dep["task"] in candidates:
                    continue
                excluded.append({"task": task_id, "reason": "dependency-not-ready", "files": [],
                                 "caused_by": dep["task"],
                                 "detail": f"depends on {dep['task']} ({dep['kind']}), which is {other['status']}"})
                del candidates[task_id]
                changed = True
                break
    items_by_id: dict[str, merge_engine.MergeItem] = {}
    base_tip = None
    if target is not None:
        base_tip = str(repo.references[target.work_ref].resolve().target)
    elif remote is not None:
        target = Target(target_ref(view, into), target_ref(view, into), remote)
    for task_id, task in candidates.items():
        branch = task.get("branch")
        tip = _branch_tip(repo, branch, target) if branch else None
        if tip is None:
            excluded.append({"task": task_id, "reason": "no-branch", "files": [], "caused_by": None,
                             "detail": _missing_branch(branch, task_id, target)})
            continue
        if base_tip is not None and not allow_empty and is_empty(repo, tip, base_tip):
            name = target.branch if target is not None else "the target"
            excluded.append({"task": task_id, "reason": "empty", "files": [], "caused_by": None,
                             "detail": f"branch {branch} has no commits beyond {name}: nothing to land "
                                       "(commit and push the work, or `gitcoord merge run --allow-empty"
                                       + (" --push" if target is not None and target.remote else "")
                                       + "` marks it merged as it is)"})
            continue
        deps = frozenset(d["task"] for d in task.get("depends_on") or () if d["task"] in candidates)
        items_by_id[task_id] = merge_engine.MergeItem(task_id, tip, branch, deps)
    # Drop dependents of anything excluded for a missing branch.
    gone = {e["task"] for e in excluded}
    for task_id in graph.topological_order([n for n in nodes if n.id in items_by_id]):
        item = items_by_id[task_id]
        blocker = next((d for d in item.depends_on if d in gone), None)
        if blocker:
            excluded.append({"task": task_id, "reason": "dependency-skipped", "files": [], "caused_by": blocker,
                             "detail": f"needs {blocker}, which cannot land"})
            gone.add(task_id)
    order = graph.topological_order(
        [n for n in nodes if n.id in items_by_id and n.id not in gone],
        key=lambda n: (-n.priority, -tail.get(n.id, 0.0), n.id))
    open_tasks = [t for t in scope if t["status"] not in ("cancelled",)]
    landed_or_ready = [t for t in open_tasks if t["status"] in ("ready_to_merge", "merged")]
    share = len(landed_or_ready) / len(open_tasks) if open_tasks else 1.0
    not_ready = [{"task": t["id"], "status": t["status"], "agent": t.get("agent")}
                 for t in scope if t["status"] not in ("ready_to_merge", "merged", "cancelled")]
    return Selection(target_ref(view, into), [items_by_id[i] for i in order], excluded, not_ready, share, feature)


def _owner_index(view: Snapshot):
    from gitcoord.ownership import OwnershipIndex

    entries = [(p, t["id"]) for t in tasks.load_tasks(view).values() for p in t.get("owns") or ()]
    return OwnershipIndex(entries)


def plan(view: Snapshot, repo: pygit2.Repository, *, feature: str | None = None, into: str | None = None,
         remote: str | None = None, threshold: float | None = None, test_cmd: str | None = None,
         online: bool = True, allow_empty: bool = False, target: Target | None = None) -> dict[str, Any]:
    """The merge order, the predicted conflict matrix (with file owners) and the readiness status.

    In remote mode (``online``) the base and the task branches are fetched first: the plan is
    what ``merge run --push`` would do on the remote."""
    target = target or resolve_target(view, repo, into=into, remote=remote, online=online)
    ref = target.work_ref
    sel = select(view, repo, feature=feature, into=into, remote=remote, target=target, allow_empty=allow_empty)
    from gitcoord.check import exclude_foreign_changes

    exclude_foreign_changes(view, repo, ref, sel)  # the plan shows what `merge run` would leave out
    report = merge_engine.predict_conflicts(repo, ref, sel.items) if sel.items else None
    owners = _owner_index(view)
    conflicts = []
    for c in report.conflicts if report else []:
        conflicts.append({**c.to_dict(), "owners": {f: owners.owners(f) for f in c.files}})
    limit = threshold if threshold is not None else float(view.config.get("merge", {}).get("threshold") or 0)
    return {
        "into": target.ref,
        "remote": target.remote,
        "target": str(repo.references[ref].target),
        "feature": feature,
        "order": [{"task": i.task, "branch": i.branch, "commit": i.commit, "depends_on": sorted(i.depends_on)}
                  for i in sel.items],
        "conflicts": conflicts,
        "clean": report.clean if report else True,
        "blocked": report.blocked if report else {},
        "excluded": sel.excluded,
        "not_ready": sel.not_ready,
        "ready_share": round(sel.ready_share, 4),
        "threshold": limit,
        "threshold_met": sel.ready_share + 1e-9 >= limit,
        "expected_test_runs": merge_engine.dry_run_estimate(sel.items, test_cmd),
    }


def new_run_id(now: str) -> str:
    return now.replace("-", "").replace(":", "").split(".")[0] + "-" + uuid.uuid4().hex[:6]


def _record_op(run_id: str, record: dict[str, Any], merged: list[str], skipped: list[dict[str, Any]]):
    def op(txn: Txn) -> dict[str, Any]:
        record["finished_at"] = txn.now
        record.pop("released_locks", None)  # set by an earlier attempt: a re-run must write the same record
        released: list[str] = []
        kept: list[str] = []
        all_tasks = tasks.load_tasks(txn)  # once: 50 transitions must not reload every task 50 times
        for task_id in merged:
            current = all_tasks.get(task_id)
            if current is None or current["status"] == "merged":
                continue
            if "merged" not in tasks.TRANSITIONS[current["status"]]:
                # Reopened (or cancelled) while the batch was built: its commits have landed, but the
                # record must not fail once the target has moved; the task keeps its status, and
                # its later commits land with a later run.
                kept.append(task_id)
                txn.add_event("merge.status_kept", task=task_id,
                              summary=f"landed by batch merge {run_id} while {current['status']}; status kept",
                              data={"run": run_id, "status": current["status"]})
                continue
            result = tasks.apply_transition(txn, task_id, "merged", reason=f"batch merge {run_id}", force=True,
                                            tasks=all_tasks, refresh=False)
            released += result.get("_released_locks", [])
        if merged:
            tasks.refresh_readiness(txn, all_tasks)
        record["status_kept"] = kept
        txn.put(f"{MERGE_DIR}/{run_id}.json", record)
        for entry in skipped:
            txn.add_event("merge.skipped", task=entry["task"], summary=entry.get("detail") or entry["reason"],
                          data={"run": run_id, "reason": entry["reason"], "files": entry.get("files") or [],
                                "caused_by": entry.get("caused_by")})
        txn.add_event("merge.completed", summary=f"{len(merged)} merged, {len(skipped)} left out",
                      data={"run": run_id, "into": record["into"], "merged": merged,
                            "skipped": [s["task"] for s in skipped], "before": record["before"],
                            "after": record["after"], "test_runs": record.get("test_runs", 0)})
        txn.describe("merge.run", f"batch merge {run_id}: {len(merged)} merged, {len(skipped)} left out")
        record["released_locks"] = released
        return record
    return op


def wait_for_threshold(store: Store, repo: pygit2.Repository, *, feature: str | None, threshold: float,
                       wait: float, remote: str | None, poll: float = 2.0,
                       progress: Callable[[str], None] | None = None) -> Snapshot:
    """Poll the store (fetching in remote mode) until ``threshold`` of the feature is ready."""
    deadline = time.monotonic() + wait
    while True:
        view = store.snapshot(fetch=bool(store.remote))
        share = select(view, repo, feature=feature, remote=remote).ready_share
        if share + 1e-9 >= threshold:
            return view
        if time.monotonic() >= deadline:
            raise Violation(f"only {share:.0%} of {'feature ' + feature if feature else 'the tasks'} is ready to merge "
                            f"(threshold {threshold:.0%}); nothing merged",
                            data={"ready_share": share, "threshold": threshold})
        if progress:
            progress(f"waiting: {share:.0%} ready, need {threshold:.0%}")
        time.sleep(min(poll, max(0.05, deadline - time.monotonic())))


def run(store: Store, repo: pygit2.Repository, *, feature: str | None = None, into: str | None = None,
        test_cmd: str | None = None, mode: str = "skip", threshold: float | None = None, wait: float | None = None,
        dry_run: bool = False, push: bool = False, allow_checked_out: bool = False, allow_empty: bool = False,
        online: bool = True, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Merge every ready task in dependency order and record the run; see the module docstring.

    Returns the record; ``run`` is None (and nothing is written) when there was nothing to merge."""
    if mode not in merge_engine.MODES:
        raise UsageError(f"--mode {mode!r}: use one of {', '.join(merge_engine.MODES)}")
    if push and not store.remote:
        raise UsageError("--push needs a remote: pass --remote NAME or `git config gitcoord.remote NAME`")
    remote = store.remote
    if remote and not push and not dry_run:
        # Landing on a local branch would mark tasks merged for the whole team while the remote's
        # base lacks their work.
        raise UsageError(f"in remote mode a merge lands on '{remote}': add --push "
                         "(or --dry-run to see what would land)")
    if push and not online:
        raise UsageError("merge run --push needs the remote, and GITCOORD_OFFLINE=1 is set")
    view = store.require(store.snapshot(fetch=bool(remote) and online))
    if threshold is not None and not 0 <= threshold <= 1:
        raise UsageError(f"--threshold {threshold}: use a share between 0 and 1 (e.g. 0.8)")
    if threshold is not None:
        if wait:
            view = wait_for_threshold(store, repo, feature=feature, threshold=threshold, wait=wait, remote=remote,
                                      progress=progress)
        else:
            share = select(view, repo, feature=feature, remote=remote).ready_share
            if share + 1e-9 < threshold:
                raise Violation(f"only {share:.0%} ready to merge (threshold {threshold:.0%}); nothing merged — "
                                "add --wait D to wait for it", data={"ready_share": share, "threshold": threshold})
    target = resolve_target(view, repo, into=into, remote=remote, online=online)
    if dry_run:
        data = plan(view, repo, feature=feature, into=into, remote=remote, threshold=threshold, test_cmd=test_cmd,
                    online=online, allow_empty=allow_empty, target=target)
        data["dry_run"] = True
        return data
    sel = select(view, repo, feature=feature, into=into, remote=remote, target=target, allow_empty=allow_empty)
    if sel.items:
        from gitcoord.check import exclude_foreign_changes

        exclude_foreign_changes(view, repo, target.work_ref, sel)  # net change of each branch, before anything lands
    ref = target.ref
    if not sel.items:
        # Nothing to merge: no record, no events (issue 14); what stays out is still reported.
        return {"run": None, "into": ref, "remote": remote, "before": str(repo.references[target.work_ref].target),
                "after": None, "mode": mode, "feature": feature, "order": [], "merged": [],
                "skipped": sel.excluded, "conflicts": [], "tested": False, "test_runs": 0, "tests": [],
                "target_failed": False, "commits": {}, "pushed": False, "written": False}
    if progress:
        progress(f"merging {len(sel.items)} task(s) into {ref}: {', '.join(i.task for i in sel.items)}")
    if not push and not allow_checked_out:
        where = merge_engine.checked_out_refs(repo).get(target.work_ref)
        if where is not None:
            raise UsageError(f"refusing to move {target.work_ref}: it is checked out in the worktree at {where}; "
                             "merge into another ref, switch that worktree away, or allow it explicitly")
    run_id = new_run_id(timeutil.now_iso())
    started = timeutil.now_iso()
    # The result is built without landing: the target moves together with the record, below.
    result = merge_engine.run_batch(repo, target.work_ref, sel.items, mode=mode, test_cmd=test_cmd,
                                    land=False, allow_checked_out=allow_checked_out, progress=progress,
                                    message=lambda item: _message(item, view))
    skipped = sel.excluded + result.skipped
    record = {"run": run_id, "into": ref, "remote": remote, "before": result.before, "after": None, "mode": mode,
              "feature": feature, "order": [i.task for i in sel.items], "merged": result.merged,
              "skipped": skipped, "conflicts": [c.to_dict() for c in result.conflicts],
              "tested": result.tested, "test_runs": result.test_runs,
              "tests": [t.to_dict() for t in result.tests], "target_failed": result.target_failed,
              "commits": result.commits, "agent": store.agent, "started_at": started, "pushed": False}
    if push and result.result and result.result != result.before:
        record["after"] = result.result
        record["pushed"] = True
        _push_together(store, repo, target, result.before, result.result,
                       _record_op(run_id, record, result.merged, skipped), progress=progress)
        record["local"] = _update_local_base(repo, target, result.before, result.result,
                                             allow_checked_out=allow_checked_out)
    else:
        # Land and record in one ref transaction: the target and the coordination branch move
        # together or not at all (a crash in between can no longer land work nobody recorded).
        landing = bool(result.result) and result.result != result.before
        record["after"] = result.result if landing else (result.before if result.merged else None)
        if landing and progress:
            progress(f"landing {len(result.merged)} task(s) on {ref}")
        also = ((target.work_ref, result.before, result.result),) if landing else ()
        store.transact(_record_op(run_id, record, result.merged, skipped), also=also)
    return {**record, "run": run_id, "written": True}


def _update_local_base(repo: pygit2.Repository, target: Target, before: str, after: str, *,
                       allow_checked_out: bool) -> dict[str, Any]:
    """After a push: fast-forward the local base unless a worktree has it checked out (then say
    which command brings it up to date); never rewinds or rewrites it."""
    name = target.branch
    local_ref = f"refs/heads/{name}"
    info: dict[str, Any] = {"branch": name, "updated": False, "hint": None}
    local = repo.references.get(local_ref)
    if local is None:
        return info
    current = str(local.target)
    if current == after:
        info["updated"] = True
        return info
    where = merge_engine.checked_out_refs(repo).get(local_ref)
    fast_forward = repo.descendant_of(after, current)
    if fast_forward and (where is None or allow_checked_out):
        try:
            with repo.transaction() as tx:
                tx.lock_ref(local_ref)
                if str(repo.references[local_ref].target) == current:
                    tx.set_target(local_ref, pygit2.Oid(hex=after), message="gitcoord merge: fast-forward")
                    info["updated"] = True
        except pygit2.GitError:
            pass
        if info["updated"]:
            return info
    if where is None:
        info["note"] = f"local {name} has commits that are not on {target.remote}/{name}; left as it is"
        return info
    # Diverged: say how to reconcile, or git (2.33+) refuses to guess.
    pull = f"pull {'' if fast_forward else '--no-rebase '}{target.remote} {name}"
    if os.path.realpath(where) == os.path.realpath(repo.workdir or ""):
        pull = f"git {pull}"
    else:
        pull = f"git -C {shlex.quote(where)} {pull}"
    info["hint"] = pull
    return info


def _message(item: merge_engine.MergeItem, view: Snapshot) -> str:
    task = view.load(tasks.task_path(item.task)) or {}
    title = task.get("title") or item.task
    what = f"branch '{item.branch}'" if item.branch else f"commit {item.commit[:12]}"
    return f"Merge {what}: {title}\n\nBatch merge by gitcoord in dependency order.\n\nTask: {item.task}"


def _push_together(store: Store, repo: pygit2.Repository, target: Target, before: str, after: str,
                   record_op: Callable[[Txn], Any], *, progress: Callable[[str], None] | None) -> None:
    """One atomic push of the target and the coordination branch, each with its own lease.

    The target is the remote's branch (built on its fetched tip): no local branch moves here.
    The coordination branch moves often; when only its lease fails, the record is rebuilt on the
    new tip and pushed again. When the target moved, nothing changes anywhere (exit 3).
    """
    assert store.remote and store.tracking_ref
    for attempt in range(store.retries):
        coord_tip = store.fetch()
        txn = Txn(store.view(coord_tip), store.agent)
        record_op(txn)
        coord_commit = store._commit(txn, [coord_tip] if coord_tip else [])
        seals = store.seals_for(txn.base, txn.changes)  # dependents made ready: no claim is undone
        if progress:
            progress(f"pushing {target.ref} and {store.ref} to {store.remote} atomically")
        try:
            merge_engine.land_result(repo, target.work_ref, before, after, land=True, push_remote=store.remote,
                                     extra_push_refs=[(store.ref, coord_commit, coord_tip), *seals],
                                     push_ref=target.ref)
        except RaceError:
            local = repo.references.get(target.work_ref)
            if local is None or str(local.target) != before:
                raise RaceError(f"{target.work_ref} moved locally during the merge (a fetch?); nothing was pushed "
                                "or changed, run the merge again") from None
            remote_target = _remote_value(repo, store.remote, target.ref)
            if remote_target != before:
                raise RaceError(f"{target.ref} moved on '{store.remote}' during the merge "
                                f"({before[:10]} -> {str(remote_target)[:10]}); nothing was changed, "
                                "run the merge again") from None
            continue  # only the coordination branch moved: rebuild the record on its new tip
        repo.references.create(store.tracking_ref, coord_commit, force=True)
        for ref, seal, _expected in seals:
            repo.references.create(ref, seal, force=True)
        store._advance_local(coord_commit)
        return
    raise RaceError(f"coordination branch on '{store.remote}' kept moving; the merge was not landed")


def _remote_value(repo: pygit2.Repository, remote: str, ref: str) -> str | None:
    from gitcoord import gitutil

    proc = gitutil.run_git(repo, "ls-remote", remote, ref, check=False)
    line = proc.stdout.decode().split("\n")[0]
    return line.split("\t")[0] if line.strip() else None


def load_run(view: Snapshot, run_id: str) -> dict[str, Any]:
    """A merge record by id or unique prefix."""
    names = [p[len(MERGE_DIR) + 1:-len(".json")] for p in view.files(MERGE_DIR, ".json")]
    matches = [n for n in names if n == run_id] or [n for n in names if n.startswith(run_id)]
    if not run_id or len(matches) != 1:
        hint = "no such merge run" if not matches else f"ambiguous: {', '.join(matches[:5])}"
        raise NotFound(f"merge run {run_id!r}: {hint} (see `gitcoord merge list`)")
    return view.load(f"{MERGE_DIR}/{matches[0]}.json")


def list_runs(view: Snapshot) -> list[dict[str, Any]]:
    return list(view.load_dir(MERGE_DIR, ".json").values())
