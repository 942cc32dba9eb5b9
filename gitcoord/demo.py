"""`gitcoord demo`: a shopping-cart feature built end to end by `gitcoord run` and scripted agents.

Everything in it is real. A bare remote is served by ``git daemon`` on 127.0.0.1 (a file remote
when the daemon cannot start); the lead's clone plans the feature contract-first and installs the
hooks; then `gitcoord run` — the guide's manager — assigns ready tasks to alice, bob, carol and
dave by role, priority and critical path, and starts one small real program per task in the
task's own worktree (``demo_assets/agent.py``). Those programs write files, commit (the hooks
judge every commit), post the guide's messages and coordinate through gitcoord: the cart-api
contract is approved and its four consumers start at once; a breaking change to it is caught;
the UI builds on the contract's mock; a config hotspot is shared through a lock, denied and then
granted in turn; a commit outside its task's paths is refused; two branches conflict in the
changelog, the manager sends the conflict back and the agent resolves it; batch merges land in
dependency order with the merge test run; metrics and the HTML report close the run. Real time
throughout, seconds rather than hours.

The library never prints: narration goes through ``say(line)``; the result is a structured
transcript (``DemoResult``).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from gitcoord.errors import GitcoordError, UsageError

ASSETS = Path(__file__).resolve().parent / "demo_assets"
PROJECT = ASSETS / "project"
AGENT_PROGRAM = ASSETS / "agent.py"
FEATURE = "cart"
CONTRACT = "cart-api"
SPEC = "api/cart-api.yaml"
SHARED = "src/shared/config.py"
CHANGELOG = "CHANGELOG.md"
SEED_FILES = ("README.md", CHANGELOG, "src/__init__.py", "src/shared/__init__.py", SHARED)
TASK_FILES = {
    "DESIGN": [SPEC],
    "API": ["src/api/__init__.py", "src/api/cart.py"],
    "UI": ["src/ui/cart.js"],
    "ANALYTICS": ["src/analytics/__init__.py", "src/analytics/cart_events.py"],
    "TESTS": ["tests/check_cart_contract.py"],
    "INTEGRATION": ["src/integration/__init__.py", "src/integration/checkout_flow.py"],
}
CONFLICTING = ("API", "UI")  # both add a line at the top of the changelog
AGENTS = ("alice", "bob", "carol", "dave")
MERGE_TEST = "python3 -m compileall -q src tests"
# Variables that would change who acts or where: the demo sets its own.
_SCRUB_ENV = ("GITCOORD_AGENT", "GITCOORD_REMOTE", "GITCOORD_BRANCH", "GITCOORD_NOW", "GITCOORD_SKIP",
              "GITCOORD_OFFLINE", "GITCOORD_TEST_PAUSE", "GITCOORD_INTERNAL", "GITCOORD_BIN", "GITCOORD_TASK",
              "GITCOORD_FEATURE", "GITCOORD_BRIEF", "GITCOORD_ATTEMPT", "GIT_DIR", "GIT_WORK_TREE",
              "GIT_INDEX_FILE", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
              "GIT_COMMITTER_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")


class DemoFailed(GitcoordError):
    """A step of the demo did not do what the story needs (exit 1, with the command's output)."""

    exit_code = 1


@dataclass
class Step:
    """One narrated line: seconds since the demo began, who, what happened and why."""

    at: float
    agent: str
    text: str
    kind: str = "info"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class DemoResult:
    directory: str
    remote_url: str
    transport: str
    seconds: float
    exit_code: int
    steps: list[Step]
    dispatches: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    rejections: list[dict[str, Any]]
    merges: list[dict[str, Any]]
    hook_rejections: list[dict[str, Any]]
    breaking_changes: list[dict[str, Any]]
    lock_denials: list[dict[str, Any]]
    plan: dict[str, Any]
    plan_vs_actual: list[dict[str, Any]]
    metrics: dict[str, Any]
    finished: dict[str, Any]
    files: dict[str, str]
    remote_main_files: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Call:
    argv: list[str]
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.out) if self.out.strip() else None
        except ValueError:
            return None


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB_ENV}
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["GIT_TERMINAL_PROMPT"] = "0"
    if not any(ch.isspace() for ch in sys.executable):
        env["GITCOORD_BIN"] = f"{sys.executable} -m gitcoord"  # hooks run this very gitcoord
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GitDaemon:
    """``git daemon`` serving ``base`` on 127.0.0.1 with push enabled; always stopped by ``stop``."""

    def __init__(self, base: Path):
        self.base = base
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 5.0) -> str:
        self.port = _free_port()
        self.proc = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", f"--base-path={self.base}",
             "--listen=127.0.0.1", f"--port={self.port}", "--informative-errors", str(self.base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_base_env())
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return f"git://127.0.0.1:{self.port}"
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    detail = (self.proc.stderr.read() or b"").decode(errors="replace")[:200] \
                        if self.proc.poll() is not None and self.proc.stderr else "timed out"
                    self.stop()
                    raise DemoFailed(f"git daemon did not start on 127.0.0.1:{self.port}: {detail.strip()}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None


# --------------------------------------------------------------------------- the demo


class _Session:
    """The demo's directory, environment, narration and transcript."""

    def __init__(self, root: Path, say: Callable[[str], None]):
        self.root = root
        self.say_fn = say
        self.began = time.monotonic()
        self.env = _base_env()
        self.steps: list[Step] = []

    def seconds(self) -> float:
        return time.monotonic() - self.began

    def say(self, agent: str, text: str, kind: str = "info", data: dict[str, Any] | None = None) -> None:
        at = round(self.seconds(), 1)
        self.steps.append(Step(at, agent, text, kind, dict(data or {})))
        first, *rest = text.splitlines() or [""]
        self.say_fn(f"[{at:5.1f}s] {agent:<6} {first}")
        for line in rest:
            self.say_fn(f"                 | {line}")

    def run(self, argv: list[str], cwd: Path, *, who: str = "lead", ok: tuple[int, ...] = (0,),
            timeout: float = 120) -> Call:
        try:
            proc = subprocess.run(argv, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DemoFailed(f"{who}: `{_show(argv)}` took longer than {timeout:g}s") from None
        call = Call(argv, proc.returncode, proc.stdout, proc.stderr)
        if call.code not in ok:
            detail = " ".join((call.err or call.out).split())[:400] or f"exit {call.code}"
            raise DemoFailed(f"{who}: `{_show(argv)}` exited {call.code}: {detail}")
        return call

    def gitcoord(self, clone: Path, *args: str, ok: tuple[int, ...] = (0,)) -> Call:
        return self.run([sys.executable, "-m", "gitcoord", "-C", str(clone), *args], clone, ok=ok)

    def git(self, cwd: Path, *args: str, ok: tuple[int, ...] = (0,)) -> Call:
        return self.run(["git", *args], cwd, ok=ok)


def _show(argv: list[str]) -> str:
    parts = ["gitcoord" if a == sys.executable else a for a in argv]
    if parts[:3] == ["gitcoord", "-m", "gitcoord"]:
        parts = ["gitcoord", *parts[3:]]
    return " ".join(parts)


def _setup(demo: _Session, use_daemon: bool) -> tuple[str, str, GitDaemon | None, Path]:
    """The shop's first commit on a bare remote (served by git daemon when it starts), and the lead's clone."""
    root = demo.root
    seed = root / "seed"
    seed.mkdir(parents=True)
    demo.git(seed, "init", "-q", "-b", "main")
    for rel in SEED_FILES:
        target = seed / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROJECT / rel, target)
    demo.git(seed, "add", "-A")
    demo.git(seed, "-c", "user.name=lead", "-c", "user.email=lead@demo.invalid", "commit", "-q", "-m",
             "demo shop: initial layout")
    served = root / "remote"
    bare = served / "shop.git"
    demo.git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    demo.git(seed, "push", "-q", str(bare), "main")
    shutil.rmtree(seed)
    daemon = None
    url = str(bare)
    transport = "file"
    if use_daemon:
        daemon = GitDaemon(served)
        try:
            url = daemon.start() + "/shop.git"
            transport = "git-daemon"
        except DemoFailed as exc:
            demo.say("lead", f"{exc}; falling back to a file remote ({bare})")
            daemon = None
    lead = root / "lead"
    demo.git(root, "clone", "-q", url, str(lead))
    for key, value in (("user.name", "lead"), ("user.email", "lead@demo.invalid"), ("gitcoord.agent", "lead"),
                       ("gitcoord.remote", "origin")):
        demo.git(lead, "config", key, value)
    return url, transport, daemon, lead


def _repoint_remotes(demo: _Session) -> None:
    """With the daemon gone, point the lead's origin at the bare repository so the clone keeps working."""
    bare = demo.root / "remote" / "shop.git"
    lead = demo.root / "lead"
    if (lead / ".git").is_dir():
        subprocess.run(["git", "-C", str(lead), "remote", "set-url", "origin", str(bare)], env=demo.env,
                       capture_output=True, check=False)


def _narrate(demo: _Session, event: dict[str, Any]) -> None:
    """One line per manager event worth telling (ticks and progress lines are not)."""
    kind = event.get("event")
    if kind == "dispatch":
        demo.say("lead", f"`run` assigns {event['task']} to {event['agent']} (task_assignment message and claim in one "
                         f"compare-and-swap; attempt {event['attempt']})", kind="dispatch")
    elif kind == "launched":
        demo.say(event["agent"], f"starts on {event['task']}: agent process {event['pid']} in its own worktree "
                                 f"{_short(demo, event['worktree'])}", kind="launched")
    elif kind == "done":
        demo.say("lead", f"{event['task']} ({event['agent']}): exit 0 with commits; branch pushed, task ready to merge",
                 kind="done")
    elif kind == "failed":
        demo.say("lead", f"{event['task']} ({event['outcome']}): {event['reason'][:300]}", kind="failed")
    elif kind == "merging":
        demo.say("lead", f"batch integration: {', '.join(event.get('tasks') or [])} ready to merge "
                         f"({round(100 * (event.get('ready_share') or 0))} % of the feature); `merge run` with "
                         f"the test `{MERGE_TEST}`", kind="merging")
    elif kind == "merged":
        skipped = ", ".join(f"{s['task']} ({s['reason']})" for s in event.get("skipped") or [])
        demo.say("lead", f"merged {' -> '.join(event.get('merged') or []) or 'nothing'} into main (dependencies first), "
                         "tested, pushed with the coordination branch in one atomic push"
                 + (f"; left out: {skipped}" if skipped else ""), kind="merged")
    elif kind == "merge_retry":
        demo.say("lead", f"merge run will try again on the next pass: {event.get('reason')}", kind="merge-retry")
    elif kind == "rejected":
        demo.say("lead", f"CONFLICT: {event['task']} conflicts with main in {', '.join(event.get('files') or [])}; "
                         f"sent back to {event['agent']} as a coordination request, the task is reopened",
                 kind="conflict", data={"task": event["task"], "files": event.get("files")})


def _short(demo: _Session, path: str) -> str:
    try:
        return str(Path(path).relative_to(demo.root))
    except ValueError:
        return path


class _Story:
    """The lines the agent programs append to the story file, told in time order with the manager's events."""

    def __init__(self, demo: _Session, path: Path):
        self.demo = demo
        self.path = path
        self.offset = 0
        self.pending: list[dict[str, Any]] = []

    def _read(self) -> None:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        self.offset += end
        for raw in data[:end].splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict):
                self.pending.append(line)

    def tell_until(self, moment: float | None) -> None:
        """Narrate the story lines written before ``moment`` (epoch seconds; None: all of them)."""
        self._read()
        self.pending.sort(key=lambda line: float(line.get("at") or 0))
        while self.pending and (moment is None or float(self.pending[0].get("at") or 0) <= moment):
            line = self.pending.pop(0)
            self.demo.say(str(line.get("agent")), str(line.get("text")), kind=str(line.get("kind") or "info"),
                          data={**(line.get("data") or {}), "task": line.get("task"), "attempt": line.get("attempt")})


def _epoch(iso: Any) -> float:
    from gitcoord import timeutil

    try:
        return timeutil.parse_time(str(iso)).timestamp()
    except GitcoordError:
        return time.time()


def _manager(demo: _Session, lead: Path, report_path: Path | None) -> tuple[int, str, list[dict[str, Any]]]:
    """Run `gitcoord run` on the feature as a process; narrate its NDJSON events and the agents' story."""
    story_path = demo.root / "story.ndjson"
    env = dict(demo.env, DEMO_ASSETS=str(ASSETS), DEMO_TASK_FILES=json.dumps(TASK_FILES),
               DEMO_STORY=str(story_path))
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(AGENT_PROGRAM))}"
    argv = [sys.executable, "-m", "gitcoord", "-C", str(lead), "--json", "run", "--feature", FEATURE,
            "--agent-cmd", cmd, "--poll", "0.3"] + (["--report", str(report_path)] if report_path else [])
    demo.say("lead", f"`gitcoord run --feature {FEATURE} --agent-cmd 'python agent.py'`: the manager takes over; "
                     "each agent program gets its brief, worktree and identity from it")
    story = _Story(demo, story_path)
    proc = subprocess.Popen(argv, cwd=lead, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events: list[dict[str, Any]] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                event = json.loads(line) if line.strip() else None
            except ValueError:
                event = None
            if not isinstance(event, dict):
                continue
            story.tell_until(_epoch(event.get("at")))
            events.append(event)
            _narrate(demo, event)
        stderr = proc.stderr.read() if proc.stderr else ""
        code = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    story.tell_until(None)
    return code, stderr, events


def _plan_vs_actual(metrics: dict[str, Any], plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Per task: the plan's estimate and slot (``plan --agents 4``, hours) beside what gitcoord measured."""
    runs = {t.get("id"): t for t in metrics.get("tasks") or []}
    slots = {s.get("task"): s for s in plan.get("schedule") or []}
    rows = []
    for row in metrics.get("plan_vs_actual") or []:
        run = runs.get(row.get("task"), {})
        slot = slots.get(row.get("task"), {})
        actual = row.get("actual_hours")
        rows.append({"task": row.get("task"), "agent": run.get("agent"), "planned_agent": slot.get("agent"),
                     "estimate_hours": row.get("estimate_hours"), "actual_hours": actual,
                     "actual_seconds": round(actual * 3600, 1) if isinstance(actual, (int, float)) else None,
                     "planned_start_hours": slot.get("start_hours"), "planned_finish_hours": slot.get("finish_hours"),
                     "start_hours": run.get("start_hours"), "finish_hours": run.get("finish_hours")})
    return sorted(rows, key=lambda r: (r["start_hours"] is None, r["start_hours"] or 0, r["task"] or ""))


def _plan_vs_actual_text(rows: list[dict[str, Any]]) -> str:
    lines = ["task         agent  estimate  planned slot (h)   actual  actual slot (s from the first start)"]
    for row in rows:
        planned = _span(row, "planned_start_hours", "planned_finish_hours", 1)
        actual = _span(row, "start_hours", "finish_hours", 3600)
        seconds = f"{row['actual_seconds']:.1f}s" if row.get("actual_seconds") is not None else "-"
        estimate = f"{row['estimate_hours']:.1f}h" if isinstance(row.get("estimate_hours"), (int, float)) else "-"
        lines.append(f"{row['task']:<12} {str(row['agent'] or '-'):<6} {estimate:>8}  {planned:<17}  "
                     f"{seconds:>7}  {actual}")
    return "\n".join(lines)


def _span(row: dict[str, Any], start: str, finish: str, scale: float) -> str:
    if row.get(start) is None or row.get(finish) is None:
        return "-"
    return f"{row[start] * scale:.1f} -> {row[finish] * scale:.1f}"


def run_demo(directory: str | Path | None = None, *, say: Callable[[str], None] = lambda line: None,
             use_daemon: bool = True, report: bool = True) -> DemoResult:
    """Build the demo project in ``directory`` (a new temp dir when None) and let `gitcoord run` build it.

    Raises UsageError when ``directory`` exists and is not empty, DemoFailed when a step does not
    go the way the story needs (with the failing command's message).
    """
    if directory is None:
        root = Path(tempfile.mkdtemp(prefix="gitcoord-demo-"))
    else:
        root = Path(directory).resolve()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise UsageError(f"{root}: demo directory must be new or empty (pick another DIR)")
        root.mkdir(parents=True, exist_ok=True)
    demo = _Session(root, say)
    demo.say("lead", f"building the demo in {root}: real agent processes, real time, every figure computed by "
                     "gitcoord")
    daemon: GitDaemon | None = None
    try:
        url, transport, daemon, lead = _setup(demo, use_daemon)
        demo.say("lead", f"bare remote {url} ({'served by git daemon on 127.0.0.1' if daemon else 'file remote'}); "
                         f"lead clone in {_short(demo, str(lead))}")
        demo.gitcoord(lead, "init", "--remote", "origin")
        demo.gitcoord(lead, "config", "set", "agents", (ASSETS / "agents.yaml").read_text())
        demo.gitcoord(lead, "config", "set", "merge.test", MERGE_TEST)
        demo.gitcoord(lead, "config", "set", "merge.threshold", "0.8")  # the guide's batch: merge at 80 % ready
        demo.gitcoord(lead, "config", "set", "policies.heartbeat", "60s")
        demo.gitcoord(lead, "hooks", "install")
        demo.gitcoord(root / "remote" / "shop.git", "hooks", "install", "--server")
        demo.say("lead", "`gitcoord init --remote origin`: the coordination branch lives on the remote; agents "
                         "alice (architect, qa), bob (backend), carol (frontend), dave (data, qa) declared; hooks "
                         "installed (every task worktree shares them): ownership, locks and contracts are checked "
                         "on each commit; the server guard on the remote refuses what they would, hooks or not, and "
                         "lets only lead, a maintainer, act for the agents it runs")
        demo.gitcoord(lead, "task", "import", str(ASSETS / "plan.yaml"))
        plan_text = demo.gitcoord(lead, "plan", "--agents", "4").out
        plan = demo.gitcoord(lead, "--json", "plan", "--agents", "4").json or {}
        files: dict[str, str] = {}
        if report:
            plan_svg = root / "plan.svg"
            demo.gitcoord(lead, "plan", "--agents", "4", "--format", "gantt-svg", "-o", str(plan_svg))
            files["plan_svg"] = str(plan_svg)
        demo.say("lead", "`task import plan.yaml`: DESIGN provides cart-api; API, UI, ANALYTICS and TESTS depend "
                         "on it by contract (they start once it is approved); INTEGRATION needs them merged. "
                         f"`plan --agents 4`:\n{plan_text.rstrip()}", kind="plan",
                 data={"makespan_hours": plan.get("makespan_hours"), "speedup": plan.get("speedup")})
        report_path = root / "report.html" if report else None
        code, stderr, events = _manager(demo, lead, report_path)
        finished = next((e for e in reversed(events) if e.get("event") == "finished"), {})
        if code != 0:
            left = "; ".join(f"{t.get('task')} {t.get('status')} ({t.get('reason') or '-'})"
                             for t in finished.get("left_out") or [])
            raise DemoFailed(f"`gitcoord run` exited {code}: {left or ' '.join(stderr.split())[-400:]}")
        return _wrap_up(demo, lead, url, transport, plan, events, finished, files, report_path, code)
    finally:
        if daemon is not None:
            daemon.stop()
            _repoint_remotes(demo)


def _story(demo: _Session, kind: str) -> list[dict[str, Any]]:
    return [{"agent": s.agent, **s.data} for s in demo.steps if s.kind == kind]


def _wrap_up(demo: _Session, lead: Path, url: str, transport: str, plan: dict[str, Any],
             events: list[dict[str, Any]], finished: dict[str, Any], files: dict[str, str],
             report_path: Path | None, code: int) -> DemoResult:
    root = demo.root
    demo.git(lead, "pull", "-q", "--ff-only", "origin", "main")
    main_files = demo.git(lead, "ls-tree", "-r", "--name-only", "origin/main").out.split()
    missing = [f for task_files in TASK_FILES.values() for f in task_files if f not in main_files]
    if missing:
        raise DemoFailed(f"remote main lacks {', '.join(missing)} after the run")
    metrics = demo.gitcoord(lead, "--json", "metrics", "--feature", FEATURE).json or {}
    rows = _plan_vs_actual(metrics, plan)
    demo.say("lead", "plan versus actual (the plan in estimated hours; the scripted agents take seconds, "
                     "measured by gitcoord from the task history):\n" + _plan_vs_actual_text(rows),
             kind="plan-vs-actual")
    metrics_text = demo.gitcoord(lead, "metrics", "--feature", FEATURE).out.rstrip()
    demo.say("lead", f"`gitcoord metrics`:\n{metrics_text}", kind="metrics")
    if report_path is not None:
        svg = root / "timeline.svg"
        demo.gitcoord(lead, "timeline", "--svg", str(svg), "--feature", FEATURE)
        files.update({"report_html": str(report_path), "timeline_svg": str(svg)})
        demo.say("lead", f"`run` wrote {_short(demo, str(report_path))} (graph, plan vs actual, locks, contracts, "
                         f"metrics); `timeline --svg` wrote {_short(demo, str(svg))}")
    seconds = round(demo.seconds(), 2)
    demo.say("lead", f"done in {seconds:.1f} s: remote main has every task's files ({len(main_files)} files). "
                     f"Look around: cd {shlex.quote(str(lead))} && gitcoord state && gitcoord log --type msg"
             + (" (the daemon stops with the demo: the lead's origin now points at remote/shop.git)"
                if transport == "git-daemon" else ""))

    def picked(kind: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{k: e.get(k) for k in keys} for e in events if e.get("event") == kind]

    return DemoResult(
        directory=str(root), remote_url=url, transport=transport, seconds=seconds, exit_code=code, steps=demo.steps,
        dispatches=picked("dispatch", ("task", "agent", "attempt")),
        failures=picked("failed", ("task", "agent", "attempt", "outcome", "reason")),
        rejections=picked("rejected", ("task", "agent", "reason", "files")),
        merges=picked("merged", ("run", "merged", "skipped")),
        hook_rejections=_story(demo, "hook-rejected"),
        breaking_changes=_story(demo, "breaking-caught"),
        lock_denials=_story(demo, "lock-denied"),
        plan=plan, plan_vs_actual=rows, metrics=metrics, finished=finished, files=files,
        remote_main_files=sorted(main_files))
