"""The manager loop behind `gitcoord run` (see the package docstring)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pygit2

from gitcoord import branches, gitutil, graph, heartbeat, merge, messages, tasks, timeutil, worktrees
from gitcoord.errors import Conflict, GitcoordError, RaceError, RemoteError, UsageError, Violation
from gitcoord.manager import brief, state
from gitcoord.store import Snapshot, Store, Txn

OPEN = ("planned", "ready", "in_progress", "blocked", "ready_to_merge")
FEEDBACK_REASONS = ("conflict", "test-failed")
MAX_TEXT = 4500
MERGE_ATTEMPTS = 5  # consecutive failed merge pushes before a remote failure ends the run  # a coordination request's current_state holds at most 5000 characters


def pick_agents(config: dict[str, Any], manager: str, count: int | None,
                names: tuple[str, ...] = ()) -> list[graph.Agent]:
    """The agents this runner drives: the declared ones but the manager itself (``names`` picks some, so
    two runners can split a team), else ``count`` role-less agents named after the manager (unique per
    runner)."""
    declared = [graph.Agent(a["name"], tuple(a.get("roles") or ())) for a in config.get("agents") or []
                if a["name"] != manager]  # the runner's own name manages; it takes no tasks
    if names:
        from gitcoord.identity import check_agent_name

        for name in names:
            check_agent_name(name, source="--use-agent")
        if declared:
            unknown = [n for n in names if n not in {a.name for a in declared}]
            if unknown:
                raise UsageError(f"--use-agent {unknown[0]}: not a declared agent "
                                 f"(declared: {', '.join(a.name for a in declared)})")
            return [a for a in declared if a.name in names]
        return [graph.Agent(n) for n in names]
    if declared:
        return declared[:count] if count else declared
    return [graph.Agent(f"{manager}-{i}") for i in range(1, (count or 2) + 1)]


@dataclass
class Proc:
    """One agent process on this host: started here, or adopted after a restart (pid only)."""

    task: str
    agent: str
    attempt: int
    run_dir: Path
    popen: subprocess.Popen | None = None
    started: float = field(default_factory=time.monotonic)

    def pid(self) -> int | None:
        """The supervisor's pid; for an adopted one only while that pid is still our supervisor (after a
        reboot the number may belong to an unrelated process, which must never be waited on or killed)."""
        if self.popen is not None:
            return self.popen.pid
        try:
            pid = int((self.run_dir / "pid").read_text())
        except (OSError, ValueError):
            return None
        return pid if _is_supervisor(pid, self.run_dir) else None

    def poll(self) -> int | None:
        """The exit code once ended; -1 when the process is gone without one (lost with its host)."""
        if self.popen is not None:
            code = self.popen.poll()
            if code is None:
                return None
        exit_file = self.run_dir / "exit"
        if exit_file.exists():
            try:
                return int(exit_file.read_text())
            except ValueError:
                return -1
        if self.popen is not None:
            return self.popen.returncode
        pid = self.pid()
        if pid is not None and _alive(pid):
            return None
        return -1

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except (ProcessLookupError, PermissionError):
                return
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                if self.popen is not None and self.popen.poll() is not None:
                    return
                if self.popen is None and not _alive(pid):
                    return
                time.sleep(0.05)


def _is_supervisor(pid: int, run_dir: Path) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: trust the pid file
        return _alive(pid)
    return b"gitcoord.manager.supervise" in argv and os.fsencode(str(run_dir)) in argv


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our own child not yet reaped) is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


@dataclass
class Outcome:
    merged: bool
    left_out: list[dict[str, Any]]
    runs: list[str]
    metrics: dict[str, Any] | None = None
    report: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"merged": self.merged, "left_out": self.left_out, "merge_runs": self.runs,
                "metrics": self.metrics, "report": self.report}


class Manager:
    """Drives one feature (or every task) to merged with real agent processes."""

    def __init__(self, repo: pygit2.Repository, *, manager: str, agents: list[graph.Agent], agent_cmd: str | None,
                 feature: str | None = None, retries: int = 2, remote: str | None = None, poll: float = 1.0,
                 keep_worktrees: bool = False, on_event: Callable[[dict[str, Any]], None] | None = None,
                 report_path: str | None = None, allow_checked_out: bool = False,
                 commands: dict[str, str] | None = None):
        if agent_cmd is not None and not agent_cmd.strip():
            raise UsageError("--agent-cmd: empty command")
        self.repo = repo
        self.manager = manager
        self.agents = {a.name: a for a in agents}
        if not self.agents:
            raise UsageError("no agents to run: declare agents in gitcoord.yaml or pass --agents N")
        self.commands = {name: (commands or {}).get(name) or agent_cmd for name in self.agents}
        missing = [name for name, cmd in self.commands.items() if not cmd]
        if missing:
            raise UsageError(f"--agent-cmd is required: agent {missing[0]} has no `command` in gitcoord.yaml")
        self.feature = feature
        self.retries = retries
        self.remote = remote
        self.poll = poll
        self.keep_worktrees = keep_worktrees
        self.on_event = on_event or (lambda _e: None)
        self.report_path = report_path
        self.allow_checked_out = allow_checked_out
        self.store = Store(repo, remote=remote, agent=manager)
        self.host = socket.gethostname()
        self.running: dict[str, Proc] = {}
        self.merge_runs: list[str] = []
        self._merge_key: tuple | None = None
        self._merge_failures = 0
        self._last_tip: str | None = None
        self._last_change = time.monotonic()
        self.run_root = Path(gitutil.cache_dir(repo)) / "run"

    # ------------------------------------------------------------------ helpers
    def emit(self, kind: str, **data: Any) -> None:
        self.on_event({"event": kind, "at": timeutil.now_iso(), **data})

    def view(self, fetch: bool = False) -> tuple[Snapshot, dict[str, dict[str, Any]], dict[str, state.TaskState]]:
        snap = self.store.require(self.store.snapshot(fetch=fetch and bool(self.remote)))
        return snap, tasks.load_tasks(snap), state.read(snap)

    def in_scope(self, task: dict[str, Any]) -> bool:
        return self.feature is None or task.get("feature") == self.feature

    def _as(self, txn: Txn, agent: str, fn: Callable[[], Any]) -> Any:
        """Do part of a transaction in the worker's name (a claim and its lifecycle are the worker's)."""
        saved = txn.agent
        txn.agent = agent
        try:
            return fn()
        finally:
            txn.agent = saved

    def _run_dir(self, task: str, attempt: int) -> Path:
        return self.run_root / f"{task}.{attempt}"

    # ------------------------------------------------------------------ claiming and launching
    def _claim_op(self, task_id: str, agent: str, attempt: int, *, fresh: bool):
        def op(txn: Txn) -> dict[str, Any]:
            all_tasks = tasks.load_tasks(txn)
            task = tasks.get_task(txn, task_id)
            holder = task.get("agent")
            if fresh:
                if task["status"] not in ("planned", "ready") or holder not in (None, agent):
                    raise Conflict(f"task {task_id} was taken ({task['status']}, {holder})")
                if tasks.unmet_dependencies(txn, task, all_tasks):
                    raise Conflict(f"task {task_id} is no longer ready")
                done = state.read(txn.base).get(task_id)
                if done and done.attempts >= attempt:
                    raise Conflict(f"task {task_id} attempt {attempt} was already dispatched")
            elif task["status"] not in ("blocked", "ready_to_merge") or holder != agent:
                raise Conflict(f"task {task_id} changed meanwhile ({task['status']}, {holder})")
            branch = task.get("branch") or tasks.branch_name_for(txn, {**task, "agent": agent})
            messages.append(txn, messages.assignment_message(task_id, to=agent, branch=branch,
                                                             priority=task.get("priority"), start_immediately=True))
            self._as(txn, agent, lambda: tasks.apply_transition(
                txn, task_id, "in_progress", reason=None if fresh else f"run: attempt {attempt}"))
            txn.add_event(state.DISPATCH, task=task_id, to=agent,
                          summary=f"{task_id} dispatched to {agent} (attempt {attempt})",
                          data={"agent": agent, "attempt": attempt, "runner": self.manager, "host": self.host})
            txn.describe("run.dispatch", f"run: {task_id} -> {agent} (attempt {attempt})", task=task_id)
            return tasks.get_task(txn, task_id)
        return op

    def dispatch(self, task_id: str, agent: str, attempt: int, *, fresh: bool) -> bool:
        try:
            task = self.store.transact(self._claim_op(task_id, agent, attempt, fresh=fresh)).value
        except Conflict as exc:
            self.emit("skipped", task=task_id, agent=agent, reason=exc.message)
            return False
        self.emit("dispatch", task=task_id, agent=agent, attempt=attempt)
        self.launch(task, agent, attempt)
        return True

    def launch(self, task: dict[str, Any], agent: str, attempt: int) -> None:
        task_id, branch = task["id"], task["branch"]
        snap = self.store.snapshot(fetch=False)
        env = {"GITCOORD_TASK": task_id, "GITCOORD_AGENT": agent, "GITCOORD_FEATURE": task.get("feature") or ""}
        run_dir = self._run_dir(task_id, attempt)
        try:
            if self.repo.references.get(f"refs/heads/{branch}") is None:
                start = branches.resolve_start_point(self.repo, snap.config["base"], self.remote,
                                                     fetch=bool(self.remote), task_branch=branch)
                branches.ensure_branch(self.repo, branch, start.commit)
            made = worktrees.create(self.repo, task_id, branch, agent,
                                    setup=list((snap.config.get("worktree") or {}).get("setup") or []), env=env)
        except GitcoordError as exc:
            self.fail(task_id, agent, attempt, "setup-failed", f"worktree: {exc.message}")
            return
        if not made.setup_ok:
            self.fail(task_id, agent, attempt, "setup-failed",
                      f"worktree setup failed: {made.setup[-1]['command']} (output in {made.setup_log})")
            return
        brief_path = brief.write(run_dir / "brief.md",
                                 brief.render(snap, task, agent=agent, attempt=attempt, worktree=made.path,
                                              branch=branch, store_branch=self.store.branch))
        full_env = dict(os.environ, **env, GITCOORD_BRIEF=str(brief_path), GITCOORD_ATTEMPT=str(attempt))
        full_env.pop("GITCOORD_INTERNAL", None)
        if self.remote:
            full_env["GITCOORD_REMOTE"] = self.remote
        for stale in ("exit", "pid"):
            (run_dir / stale).unlink(missing_ok=True)
        log = open(run_dir / "agent.log", "ab")
        try:
            popen = subprocess.Popen([sys.executable, "-m", "gitcoord.manager.supervise", str(run_dir),
                                      self.commands[agent]], cwd=made.path, env=full_env, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        self.running[task_id] = Proc(task_id, agent, attempt, run_dir, popen)
        # Told when it starts, not after the record lands (on a busy remote that can take seconds).
        self.emit("launched", task=task_id, agent=agent, attempt=attempt, pid=popen.pid, worktree=made.path,
                  brief=str(brief_path), log=str(run_dir / "agent.log"))
        self.store.transact(lambda txn: self._launched(txn, task_id, agent, attempt, run_dir, made.path, popen.pid))

    def _launched(self, txn: Txn, task_id: str, agent: str, attempt: int, run_dir: Path, path: str, pid: int) -> None:
        txn.add_event(state.LAUNCHED, task=task_id, summary=f"{agent} runs {task_id} in {path}",
                      data={"agent": agent, "attempt": attempt, "host": self.host, "pid": pid,
                            "run_dir": str(run_dir), "worktree": path})
        txn.describe("run.launched", f"run: {task_id} launched (attempt {attempt})", task=task_id)

    # ------------------------------------------------------------------ outcomes
    def finished(self, proc: Proc, code: int) -> None:
        snap, all_tasks, _st = self.view()
        task = all_tasks.get(proc.task)
        if task is None or task.get("agent") != proc.agent or task["status"] not in ("in_progress", "ready_to_merge"):
            self._record_exit(proc.task, proc.agent, proc.attempt, code, "abandoned")
            return
        if code != 0:
            tail = _tail(proc.run_dir / "agent.log")
            self.fail(proc.task, proc.agent, proc.attempt, "crashed",
                      f"agent exited with code {code}" + (f"; last output: {tail}" if tail else ""), code)
            return
        try:
            branches.check_done(self.repo, proc.task, task.get("branch"), snap.config["base"], self.remote,
                                fetch=bool(self.remote), push=bool(self.remote), as_agent=proc.agent)
        except Violation as exc:
            self.fail(proc.task, proc.agent, proc.attempt, "no-commits", f"agent exited 0 but {exc.message}", code)
            return

        def op(txn: Txn) -> None:
            current = tasks.get_task(txn, proc.task)
            if current["status"] == "in_progress":
                self._as(txn, proc.agent, lambda: tasks.apply_transition(txn, proc.task, "ready_to_merge"))
            self._exit_event(txn, proc.task, proc.agent, proc.attempt, code, "done")
        self.store.transact(op)
        self.emit("done", task=proc.task, agent=proc.agent, attempt=proc.attempt)

    def _exit_event(self, txn: Txn, task_id: str, agent: str, attempt: int, code: int | None, outcome: str) -> None:
        txn.add_event(state.EXITED, task=task_id, summary=f"{task_id} attempt {attempt}: {outcome}",
                      data={"agent": agent, "attempt": attempt, "exit_code": code, "outcome": outcome})
        txn.describe("run.exit", f"run: {task_id} attempt {attempt} {outcome}", task=task_id)

    def _record_exit(self, task_id: str, agent: str, attempt: int, code: int | None, outcome: str) -> None:
        self.store.transact(lambda txn: self._exit_event(txn, task_id, agent, attempt, code, outcome))

    def fail(self, task_id: str, agent: str, attempt: int, outcome: str, reason: str, code: int | None = None) -> None:
        """Block the task with the reason and tell the agent (a blocker naming it); retried later if allowed."""
        reason = _clean(reason)[:900]

        def op(txn: Txn) -> None:
            task = tasks.get_task(txn, task_id)
            if task["status"] == "in_progress" and task.get("agent") == agent:
                self._as(txn, agent, lambda: tasks.apply_transition(txn, task_id, "blocked", reason=f"run: {reason}"))
            messages.append(txn, messages.blocker_message(
                task_id, description=reason, severity="high", blocking_agent=agent, can_proceed=False,
                impact=f"attempt {attempt} of {self.retries + 1}"))
            self._exit_event(txn, task_id, agent, attempt, code, outcome)
        self.store.transact(op)
        self.emit("failed", task=task_id, agent=agent, attempt=attempt, outcome=outcome, reason=reason)

    # ------------------------------------------------------------------ one pass
    def reap(self) -> bool:
        changed = False
        for task_id, proc in list(self.running.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.running[task_id]
            self.finished(proc, code)
            changed = True
        return changed

    def silence(self, snap: Snapshot) -> bool:
        changed = False
        for silent in heartbeat.silent_tasks(snap):
            proc = self.running.get(silent["task"])
            if proc is None or silent["agent"] != proc.agent:
                continue
            proc.stop()
            del self.running[proc.task]
            limit = heartbeat.heartbeat_seconds(snap.config)
            self.fail(proc.task, proc.agent, proc.attempt, "silent",
                      f"agent silent since {silent['last_heard']} (policies.heartbeat {limit:g}s): stopped")
            changed = True
        return changed

    def adopt(self) -> None:
        """After a restart: watch this host's agent processes that are still running, take the exit codes of
        those that ended meanwhile, and launch a dispatch that never got its process."""
        _snap, all_tasks, st = self.view(fetch=True)
        for task_id, task in all_tasks.items():
            last = st.get(task_id).last if task_id in st else None
            if not self.in_scope(task) or task["status"] != "in_progress" or task.get("agent") not in self.agents \
                    or last is None or last.outcome is not None or last.agent != task["agent"] \
                    or last.host != self.host or task_id in self.running:
                continue
            run_dir = self._run_dir(task_id, last.attempt)
            if (run_dir / "pid").exists() or (run_dir / "exit").exists():
                self.running[task_id] = Proc(task_id, last.agent, last.attempt, run_dir)
                self.emit("adopted", task=task_id, agent=last.agent, attempt=last.attempt)
            else:
                self.emit("relaunch", task=task_id, agent=last.agent, attempt=last.attempt)
                self.launch(task, last.agent, last.attempt)

    def redispatch(self, all_tasks: dict[str, dict[str, Any]], st: dict[str, state.TaskState]) -> bool:
        """Our blocked tasks (crash, silence) and rejected ones (conflict, failing test) go back to their agent."""
        changed = False
        for task_id, task in all_tasks.items():
            agent = task.get("agent")
            ts = st.get(task_id)
            if not self.in_scope(task) or agent not in self.agents or ts is None or ts.last is None \
                    or task_id in self.running or self._busy(agent):
                continue
            last = ts.last
            again = (task["status"] == "blocked" and last.outcome not in (None, "done", "abandoned")
                     and (task.get("blocked_reason") or "").startswith("run: ")) or \
                    (task["status"] == "ready_to_merge" and any(r.get("attempt") == last.attempt
                                                                 for r in ts.rejections))
            if not again:
                continue
            if ts.attempts > self.retries:
                self._give_up(task_id, task, ts)
                continue
            changed |= self.dispatch(task_id, agent, ts.attempts + 1, fresh=False)
        return changed

    def _give_up(self, task_id: str, task: dict[str, Any], ts: state.TaskState) -> None:
        if task["status"] != "ready_to_merge":
            return  # already blocked with its reason
        reason = f"run: merge rejected after {ts.attempts} attempt(s)"

        def op(txn: Txn) -> None:
            current = tasks.get_task(txn, task_id)
            if current["status"] != "ready_to_merge":
                return
            self._as(txn, task["agent"], lambda: (tasks.apply_transition(txn, task_id, "in_progress"),
                                                   tasks.apply_transition(txn, task_id, "blocked", reason=reason)))
        self.store.transact(op)
        self.emit("gave_up", task=task_id, agent=task["agent"], reason=reason)

    def _busy(self, agent: str) -> bool:
        return any(p.agent == agent for p in self.running.values())

    def assign(self, snap: Snapshot, all_tasks: dict[str, dict[str, Any]]) -> bool:
        changed = False
        ready = [t for t in tasks.ready_ids(snap, all_tasks)
                 if self.in_scope(all_tasks[t]) and all_tasks[t]["status"] in ("planned", "ready")]
        taken: set[str] = set()
        for name, agent in self.agents.items():
            if self._busy(name):
                continue
            for task_id in ready:
                task = all_tasks[task_id]
                if task_id in taken or task.get("agent") not in (None, name):
                    continue
                if task.get("agent") is None and not agent.can_take(tasks.to_node(task)):
                    continue
                taken.add(task_id)
                if self.dispatch(task_id, name, 1, fresh=True):
                    changed = True
                    break
        return changed

    def integrate(self, snap: Snapshot, all_tasks: dict[str, dict[str, Any]], st: dict[str, state.TaskState]) -> bool:
        scope = [t for t in all_tasks.values() if self.in_scope(t)]
        ready = sorted((t["id"], t.get("done_at") or "") for t in scope if t["status"] == "ready_to_merge")
        if not ready or tuple(ready) == self._merge_key:
            return False
        sel = merge.select(snap, self.repo, feature=self.feature, remote=self.remote)
        threshold = float(snap.config["merge"].get("threshold") or 0.0)
        if sel.ready_share + 1e-9 < threshold and self.running:
            return False
        self._merge_key = tuple(ready)
        cfg = snap.config["merge"]
        self.emit("merging", tasks=[t for t, _ in ready], ready_share=round(sel.ready_share, 3))
        try:
            record = merge.run(self.store, self.repo, feature=self.feature, test_cmd=cfg.get("test"),
                               mode=cfg.get("mode") or "skip", push=bool(self.remote),
                               allow_checked_out=self.allow_checked_out,
                               progress=lambda line: self.emit("merge_progress", line=line))
        except (RaceError, Conflict, RemoteError) as exc:
            # Another runner landed first (an atomic push whose lease failed is reported as rejected):
            # look again on the next pass; a remote that keeps failing ends the run (exit 3).
            self._merge_failures += 1
            if isinstance(exc, RemoteError) and self._merge_failures > MERGE_ATTEMPTS:
                raise
            self._merge_key = None
            self.emit("merge_retry", reason=exc.message)
            return False
        self._merge_failures = 0
        if record.get("run"):
            self.merge_runs.append(record["run"])
        self.emit("merged", run=record.get("run"), merged=record.get("merged", []),
                  skipped=[{"task": s["task"], "reason": s["reason"]} for s in record.get("skipped", [])])
        self._route_failures(record, st)
        if record.get("merged") and not self.keep_worktrees:
            done = worktrees.prune(self.repo, tasks.load_tasks(self.store.snapshot(fetch=False)),
                                   only=set(record["merged"]))
            for kept in done["kept"]:
                self.emit("worktree_kept", task=kept["task"], path=kept["path"], reason=kept["reason"])
        return bool(record.get("run"))

    def _route_failures(self, record: dict[str, Any], st: dict[str, state.TaskState]) -> None:
        """A conflict or a failing test goes back to the task's agent as a coordination request."""
        snap = self.store.snapshot(fetch=False)
        for skipped in record.get("skipped", []):
            if skipped.get("reason") not in FEEDBACK_REASONS:
                continue
            task_id = skipped["task"]
            task = tasks.load_tasks(snap).get(task_id)
            ts = st.get(task_id)
            if task is None or not task.get("agent") or task["status"] != "ready_to_merge":
                continue
            attempt = ts.last.attempt if ts and ts.last else 0
            if skipped["reason"] == "conflict":
                files = list(skipped.get("files") or [])
                ask = (f"merge run {record['run']}: branch {task.get('branch')} conflicts with "
                       f"{record['into']} in {', '.join(files) or 'some files'}. Bring the base into your branch, "
                       "resolve, commit; the task is reopened for you.")
                detail = "\n".join(files) or (skipped.get("detail") or "")
            else:
                output = next((t.get("output_tail") for t in reversed(record.get("tests") or [])
                               if not t.get("passed") and task_id in (t.get("tasks") or [])), None)
                ask = (f"merge run {record['run']}: the test command failed with branch {task.get('branch')} merged. "
                       "Fix it on your branch and commit; the task is reopened for you.")
                detail = output or skipped.get("detail") or ""
                files = []
            detail = _clean(detail)[-MAX_TEXT:]

            def op(txn: Txn, task_id=task_id, agent=task["agent"], ask=ask, detail=detail, files=files,
                   reason=skipped["reason"], attempt=attempt) -> None:
                messages.append(txn, messages.request_message(
                    to=agent, regarding=task_id, task=task_id, request=ask, urgency="high",
                    current_state=detail or None))
                txn.add_event(state.REJECTED, task=task_id, to=agent, summary=f"{task_id}: {reason} in merge",
                              data={"agent": agent, "attempt": attempt, "run": record["run"], "reason": reason,
                                    "files": files})
                txn.describe("run.rejected", f"run: {task_id} {reason}", task=task_id)
            self.store.transact(op)
            self.emit("rejected", task=task_id, agent=task["agent"], reason=skipped["reason"], files=files)

    # ------------------------------------------------------------------ the loop
    def progress_rows(self, st: dict[str, state.TaskState]) -> list[dict[str, Any]]:
        rows = []
        for name in self.agents:
            proc = next((p for p in self.running.values() if p.agent == name), None)
            ts = st.get(proc.task) if proc else None
            rows.append({"agent": name, "task": proc.task if proc else None,
                         "attempt": proc.attempt if proc else None,
                         "progress": ts.progress if ts else None, "current": ts.current if ts else None,
                         "elapsed": round(time.monotonic() - proc.started, 1) if proc else None})
        return rows

    def run(self, *, max_idle: float | None = None) -> Outcome:
        """Until every task in scope is merged or cancelled, or nothing can move any more."""
        self.adopt()
        while True:
            changed = self.reap()
            snap, all_tasks, st = self.view(fetch=True)
            if snap.commit != self._last_tip:
                self._last_tip, self._last_change = snap.commit, time.monotonic()
            changed |= self.silence(snap)
            changed |= self.redispatch(all_tasks, st)
            if changed:
                snap, all_tasks, st = self.view()
            changed |= self.assign(snap, all_tasks)
            changed |= self.integrate(snap, all_tasks, st)
            if changed:
                snap, all_tasks, st = self.view()
            scope = [t for t in all_tasks.values() if self.in_scope(t)]
            self.emit("tick", agents=self.progress_rows(st),
                      counts={s: sum(1 for t in scope if t["status"] == s) for s in tasks.STATUSES})
            if all(t["status"] in ("merged", "cancelled") for t in scope):
                return self.finish(snap, scope)
            if not self.running and not changed and self._stuck(snap, scope, st, max_idle):
                return self.finish(snap, scope)
            time.sleep(self.poll)

    def _stuck(self, snap: Snapshot, scope: list[dict[str, Any]], st: dict[str, state.TaskState],
               max_idle: float | None) -> bool:
        """Nothing of ours runs or can start: stop unless other agents still work (and the branch still moves)."""
        others = [t for t in scope if t["status"] in ("in_progress", "ready_to_merge", "blocked")
                  and t.get("agent") not in self.agents]
        mergeable = [t for t in scope if t["status"] == "ready_to_merge"]
        if not others and not (mergeable and self._merge_key is None):
            return True
        limit = max_idle if max_idle is not None else heartbeat.heartbeat_seconds(snap.config)
        return time.monotonic() - self._last_change > limit

    def finish(self, snap: Snapshot, scope: list[dict[str, Any]]) -> Outcome:
        from gitcoord import metrics
        from gitcoord import report as rp

        left = [{"task": t["id"], "status": t["status"], "agent": t.get("agent"),
                 "reason": t.get("blocked_reason")} for t in scope if t["status"] not in ("merged", "cancelled")]
        figures = metrics.from_snapshot(snap, feature=self.feature)
        path = Path(self.report_path) if self.report_path else self.run_root / "report.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        state_doc, figs = rp.collect(snap, feature=self.feature, branch=self.store.branch)
        path.write_text(rp.report_html(state_doc, figs, title="gitcoord run" + (f": {self.feature}" if self.feature
                                                                                 else ""),
                                       generated_at=timeutil.now_iso()), encoding="utf-8")
        outcome = Outcome(merged=not left, left_out=left, runs=self.merge_runs, metrics=figures, report=str(path))
        self.emit("finished", merged=outcome.merged, left_out=left, report=str(path),
                  speedup=figures.get("speedup"), efficiency=figures.get("efficiency"))
        return outcome


def _clean(text: str) -> str:
    """Terminal escapes and control characters out: messages refuse them (they could fool a reader)."""
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    return "".join(ch if ch in "\n\t" or (ord(ch) >= 0x20 and ord(ch) != 0x7F and not 0x80 <= ord(ch) < 0xA0)
                   else "?" for ch in text)


def _tail(path: Path, chars: int = 600) -> str:
    try:
        data = path.read_bytes()[-chars:]
    except OSError:
        return ""
    return _clean(data.decode(errors="replace")).strip()
