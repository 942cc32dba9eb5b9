"""`gitcoord demo`: a shopping-cart feature built by four simulated agents, end to end.

What it shows is real: a bare remote served by ``git daemon`` on 127.0.0.1 (a file remote
when the daemon cannot start), one clone per agent, every action a real ``python -m
gitcoord`` or ``git`` process, the hooks installed in every clone. The agents run at the
same time (one thread each, driving processes); a few hand-offs (who waits for whom) are
scripted with events so that every run tells the same story: a lost claim race, the
contract approved and mocked, a lock denied then granted, a commit rejected by the
ownership hook, a breaking contract change caught and fixed, two batch merges in
dependency order.

Time is compressed: a simulated clock (``GITCOORD_NOW``, pinned per command) advances one
hour per ``seconds_per_hour`` real seconds while at least one agent is working, so the
timeline reads in hours. gitcoord computes every metric from the timestamps it recorded.

The library never prints: narration goes through ``say(line)``; the result is a
structured transcript (``DemoResult``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from gitcoord.errors import GitcoordError, UsageError

ASSETS = Path(__file__).resolve().parent / "demo_assets"
PROJECT = ASSETS / "project"
FEATURE = "cart"
CONTRACT = "cart-api"
SPEC = "api/cart-api.yaml"
SHARED = "src/shared/config.py"
SEED_FILES = ("README.md", "src/__init__.py", "src/shared/__init__.py", SHARED)
TASK_FILES = {
    "DESIGN": [SPEC],
    "API": ["src/api/__init__.py", "src/api/cart.py"],
    "UI": ["src/ui/cart.js"],
    "ANALYTICS": ["src/analytics/__init__.py", "src/analytics/cart_events.py"],
    "TESTS": ["tests/check_cart_contract.py"],
    "INTEGRATION": ["src/integration/__init__.py", "src/integration/checkout_flow.py"],
}
AGENTS = ("alice", "bob", "carol", "dave")
MERGE_TEST = "python3 -m compileall -q src tests"
# Variables that would change who acts or where: the demo sets its own.
_SCRUB_ENV = ("GITCOORD_AGENT", "GITCOORD_REMOTE", "GITCOORD_BRANCH", "GITCOORD_NOW", "GITCOORD_SKIP",
              "GITCOORD_OFFLINE", "GITCOORD_TEST_PAUSE", "GITCOORD_INTERNAL", "GITCOORD_BIN", "GIT_DIR",
              "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
              "GIT_COMMITTER_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")


class DemoFailed(GitcoordError):
    """A step of the demo did not do what the story needs (exit 1, with the command's output)."""

    exit_code = 1


@dataclass
class Step:
    """One narrated line: simulated time, who, what happened and why."""

    at: str
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
    seconds_per_hour: float
    steps: list[Step]
    claims: list[dict[str, Any]]
    hook_rejections: list[dict[str, Any]]
    breaking_changes: list[dict[str, Any]]
    lock_denials: list[dict[str, Any]]
    merges: list[dict[str, Any]]
    plan: dict[str, Any]
    plan_vs_actual: list[dict[str, Any]]
    metrics: dict[str, Any]
    files: dict[str, str]
    remote_main_files: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- the simulated clock


class SimClock:
    """Simulated time for the demo, a small discrete-event clock.

    It advances one hour per ``seconds_per_hour`` real seconds, but only while some agent is
    working and no gitcoord or git command is running: commands take no simulated time (on
    2 cores they would otherwise swamp the compressed hours), waiting for another agent takes
    exactly as long as that agent works. ``work(h)`` returns once the clock has moved ``h``.
    """

    def __init__(self, start: datetime, seconds_per_hour: float):
        self.start = start
        self.seconds_per_hour = seconds_per_hour
        self._cond = threading.Condition()
        self._hours = 0.0
        self._last = time.monotonic()
        self._workers = 0
        self._commands = 0

    def _advance(self) -> None:
        now = time.monotonic()
        if self._workers and not self._commands:
            self._hours += (now - self._last) / self.seconds_per_hour
        self._last = now

    def hours(self) -> float:
        with self._cond:
            self._advance()
            return self._hours

    def now(self) -> datetime:
        return self.start + timedelta(hours=self.hours())

    def iso(self) -> str:
        from gitcoord import timeutil

        return timeutil.iso(self.now())

    def hhmm(self) -> str:
        return self.now().strftime("%H:%M")

    @contextlib.contextmanager
    def command(self):
        """A command in flight: the clock stands still meanwhile."""
        with self._cond:
            self._advance()
            self._commands += 1
        try:
            yield
        finally:
            with self._cond:
                self._advance()
                self._commands -= 1

    def work(self, hours: float, stop: threading.Event) -> None:
        """Spend ``hours`` of simulated work."""
        with self._cond:
            self._advance()
            target = self._hours + hours
            self._workers += 1
        try:
            while True:
                with self._cond:
                    self._advance()
                    remaining = target - self._hours
                if remaining <= 1e-9:
                    return
                if stop.wait(min(max(remaining * self.seconds_per_hour, 0.002), 0.05)):
                    raise DemoFailed("demo aborted: another agent failed")
        finally:
            with self._cond:
                self._advance()
                self._workers -= 1


# --------------------------------------------------------------------------- processes


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

    def error_message(self) -> str:
        """The one-line message of a failed gitcoord command (JSON error, else stderr)."""
        data = self.json
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            return str(data["error"].get("message", ""))
        lines = [ln for ln in (self.err or self.out).splitlines() if ln.strip()]
        return " ".join(lines)


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


class _Demo:
    def __init__(self, root: Path, say: Callable[[str], None], seconds_per_hour: float):
        self.root = root
        self.say_fn = say
        start = datetime.now(timezone.utc).replace(hour=9, minute=0, second=0, microsecond=0)
        self.clock = SimClock(start, seconds_per_hour)
        self.env = _base_env()
        self.steps: list[Step] = []
        self.claims: list[dict[str, Any]] = []
        self.hook_rejections: list[dict[str, Any]] = []
        self.breaking: list[dict[str, Any]] = []
        self.lock_denials: list[dict[str, Any]] = []
        self.merges: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.stop = threading.Event()
        self.events = {name: threading.Event() for name in (
            "approved", "bob_locked", "carol_denied", "batch_merged")}
        self.done = {task: threading.Event() for task in TASK_FILES}
        self.race = threading.Barrier(2)
        self.processes: list[subprocess.Popen] = []
        self.first_error: tuple[str, BaseException] | None = None

    # -- narration
    def say(self, agent: str, text: str, kind: str = "info", **data: Any) -> None:
        with self._lock:
            self.steps.append(Step(self.clock.iso(), agent, text, kind, data))
            self.say_fn(f"[{self.clock.hhmm()}] {agent:<6} {text}")

    # -- processes
    def run(self, argv: list[str], cwd: Path, *, who: str, ok: tuple[int, ...] = (0,), timeout: float = 120,
            stdin: str | None = None, pause_clock: bool = True) -> Call:
        if self.stop.is_set():
            raise DemoFailed("demo aborted: another agent failed")
        env = dict(self.env)
        env["GITCOORD_NOW"] = self.clock.iso()
        env.update({"GIT_AUTHOR_NAME": who, "GIT_AUTHOR_EMAIL": f"{who}@demo.invalid",
                    "GIT_COMMITTER_NAME": who, "GIT_COMMITTER_EMAIL": f"{who}@demo.invalid"})
        try:
            with (self.clock.command() if pause_clock else contextlib.nullcontext()):
                proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                                      input=stdin)
        except subprocess.TimeoutExpired:
            raise DemoFailed(f"{who}: `{_show(argv)}` took longer than {timeout:g}s") from None
        call = Call(argv, proc.returncode, proc.stdout, proc.stderr)
        if call.code not in ok:
            detail = call.error_message() or f"exit {call.code}"
            raise DemoFailed(f"{who}: `{_show(argv)}` exited {call.code}: {detail[:400]}")
        return call

    def gitcoord(self, clone: Path, *args: str, who: str, ok: tuple[int, ...] = (0,), timeout: float = 120,
                 pause_clock: bool = True) -> Call:
        return self.run([sys.executable, "-m", "gitcoord", "-C", str(clone), *args], clone, who=who, ok=ok,
                        timeout=timeout, pause_clock=pause_clock)

    def git(self, cwd: Path, *args: str, who: str, ok: tuple[int, ...] = (0,)) -> Call:
        return self.run(["git", *args], cwd, who=who, ok=ok)


def _show(argv: list[str]) -> str:
    parts = ["gitcoord" if a == sys.executable else a for a in argv]
    if parts[:3] == ["gitcoord", "-m", "gitcoord"]:
        parts = ["gitcoord", *parts[3:]]
    return " ".join(parts)


def _hook_checks_contracts() -> bool:
    import gitcoord.contracts as contracts_pkg

    return getattr(contracts_pkg, "check_changed", None) is not None


class _Agent:
    """One simulated agent: its clone, its identity, and the moves it knows."""

    def __init__(self, demo: _Demo, name: str, clone: Path):
        self.demo = demo
        self.name = name
        self.clone = clone
        self.error: BaseException | None = None

    def say(self, text: str, kind: str = "info", **data: Any) -> None:
        self.demo.say(self.name, text, kind, **data)

    def gc(self, *args: str, ok: tuple[int, ...] = (0,), timeout: float = 120, pause_clock: bool = True) -> Call:
        return self.demo.gitcoord(self.clone, *args, who=self.name, ok=ok, timeout=timeout, pause_clock=pause_clock)

    def git(self, *args: str, ok: tuple[int, ...] = (0,)) -> Call:
        return self.demo.git(self.clone, *args, who=self.name, ok=ok)

    def work(self, hours: float) -> None:
        self.demo.clock.work(hours, self.demo.stop)

    def wait(self, event: threading.Event, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not event.wait(0.05):
            if self.demo.stop.is_set():
                raise DemoFailed("demo aborted: another agent failed")
            if time.monotonic() > deadline:
                raise DemoFailed(f"{self.name}: gave up waiting for {what} after {timeout:g}s")

    def write_asset(self, rel: str, source: Path | None = None) -> None:
        target = self.clone / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source or PROJECT / rel, target)

    def edit(self, rel: str, after_line: str, new_line: str) -> None:
        path = self.clone / rel
        lines = path.read_text().splitlines(keepends=True)
        index = next(i for i, line in enumerate(lines) if line.rstrip("\n") == after_line)
        lines.insert(index + 1, new_line + "\n")
        path.write_text("".join(lines))

    def commit(self, paths: list[str], message: str, ok: tuple[int, ...] = (0,)) -> Call:
        self.git("add", "--", *paths)
        return self.git("commit", "-q", "-m", message, ok=ok)

    # -- composite moves
    def start(self, task: str, *, from_rev: str | None = None) -> str:
        call = self.gc("--json", "task", "start", task, *(["--from", from_rev] if from_rev else []))
        branch = call.json["branch"]
        self.git("switch", "-q", branch)
        return branch

    def finish(self, task: str, branch: str, summary: str) -> None:
        files = TASK_FILES[task]
        self.gc("msg", "complete", task, "--summary", summary, *[a for f in files for a in ("--deliverable", f)],
                "--tests", "passed=3,failed=0")
        self.git("push", "-q", "origin", branch)
        self.gc("task", "done", task)
        self.say(f"pushed {branch} and marked {task} done (ready to merge); `msg complete` tells its dependents")
        self.demo.done[task].set()

    def contract(self, *args: str, ok: tuple[int, ...] = (0,)) -> Call:
        return self.gc("--json", "contract", *args, ok=ok)

    def approved_spec(self) -> Path:
        """The latest approved snapshot of the contract, from the coordination branch on the remote.

        A consumer has no copy of the spec in its work tree (it lives on the provider's branch), so
        it mocks the approved snapshot; kept inside .git so it is never committed.
        """
        record = self.contract("show", CONTRACT).json or {}
        approved = record.get("approved") or []
        if not approved:
            raise DemoFailed(f"{self.name}: contract {CONTRACT} has no approved version yet")
        self.git("fetch", "-q", "origin", "gitcoord")
        data = self.git("show", f"FETCH_HEAD:{approved[-1]['snapshot']}").out
        target = self.clone / ".git" / "gitcoord-demo" / f"{CONTRACT}-{approved[-1]['version']}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(data)
        return target

    def call_mock(self) -> dict[str, Any]:
        """Start the contract mock, call it like a client would, stop it."""
        spec = self.approved_spec()
        argv = [sys.executable, "-m", "gitcoord", "-C", str(self.clone), "contract", "mock", str(spec),
                "--host", "127.0.0.1", "--port", "0"]
        env = dict(self.demo.env)
        env["GITCOORD_NOW"] = self.demo.clock.iso()
        proc = subprocess.Popen(argv, cwd=self.clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        with self.demo._lock:
            self.demo.processes.append(proc)
        try:
            url = _read_url(proc, timeout=30)
            with urllib.request.urlopen(f"{url}/carts/c-1001", timeout=10) as response:
                cart = json.loads(response.read())
            request = urllib.request.Request(f"{url}/carts/c-1001/items", method="POST",
                                             data=json.dumps({"sku": "TEA-42", "quantity": 2}).encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                added = json.loads(response.read())
            return {"url": url, "cart": cart, "added": added}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _read_url(proc: subprocess.Popen, timeout: float) -> str:
    """The mock prints its URL once it listens; wait for that line."""
    found: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            for word in line.split():
                if word.startswith("http://"):
                    found.append(word.rstrip(".,"))
                    return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(timeout)
    if not found:
        err = ""
        if proc.poll() is not None and proc.stderr is not None:
            err = proc.stderr.read()[:300]
        raise DemoFailed(f"the contract mock did not print its URL within {timeout:g}s {err.strip()}")
    return found[0]


# --------------------------------------------------------------------------- the agents' scripts


def _alice(a: _Agent) -> None:
    demo = a.demo
    branch = a.start("DESIGN")
    a.say(f"claims DESIGN with `task start` (branch {branch}); she writes the cart-api OpenAPI spec first")
    a.work(0.6)
    a.write_asset(SPEC)
    a.commit([SPEC], "cart-api 1.0.0: carts, items, totals")
    a.contract("add", CONTRACT, "--spec", SPEC)
    a.say(f"registers contract {CONTRACT} ({SPEC}); `contract validate` checks it is valid OpenAPI")
    a.contract("validate", CONTRACT)
    approved = a.contract("approve", CONTRACT).json or {}
    ready = approved.get("ready") or []
    a.say(f"approves {CONTRACT} {approved.get('version')}: {', '.join(ready) or 'its consumers'} become ready NOW — "
          "contract-first: consumers start against the approved spec, not when DESIGN is finished",
          kind="contract-approved", version=approved.get("version"), ready=ready)
    demo.events["approved"].set()
    a.gc("msg", "status", "DESIGN", "--progress", "50", "--done", "cart-api 1.0.0 approved",
         "--current", "v1.1: explicit cents", "--eta", "1h")
    a.work(0.6)
    # The breaking change: rename `total` to `total_cents`.
    a.write_asset(SPEC, ASSETS / "cart-api.v1.1-breaking.yaml")
    diff = a.contract("diff", CONTRACT, ok=(0, 1))
    if diff.code != 1:
        raise DemoFailed(f"alice: renaming a required response property was not reported as breaking "
                         f"(contract diff exited {diff.code})")
    changes = [c for c in (diff.json or {}).get("changes", []) if c.get("level") == "error"]
    listed = "; ".join(f"{c.get('id')} at {c.get('path')}" for c in changes)
    a.say(f"renames `total` to `total_cents` in the spec: `contract diff` exits 1 — BREAKING for the consumers "
          f"already building on 1.0.0 ({listed})", kind="breaking-caught", exit_code=diff.code, changes=changes,
          how="contract diff")
    record = {"contract": CONTRACT, "agent": "alice", "exit_code": diff.code, "changes": changes,
              "caught_by": ["contract diff"]}
    if _hook_checks_contracts():
        a.git("add", SPEC)
        rejected = a.git("commit", "-q", "-m", "cart-api: rename total", ok=(0, 1))
        if rejected.code == 0:
            raise DemoFailed("alice: the pre-commit hook let a breaking contract change through")
        a.say(f"tries to commit it anyway: the pre-commit hook blocks the breaking spec change too:\n"
              f"{_indent(_first_lines(rejected.err, 3))}", kind="breaking-hook", message=_first_lines(rejected.err))
        record["caught_by"].append("pre-commit hook")
        record["hook_message"] = _first_lines(rejected.err)
    demo.breaking.append(record)
    a.write_asset(SPEC, ASSETS / "cart-api.v1.1.yaml")
    fixed = a.contract("diff", CONTRACT)
    a.say(f"fixes it the compatible way — keeps `total`, adds `total_cents`: `contract diff` exits 0 "
          f"({len((fixed.json or {}).get('changes', []))} non-breaking change)", kind="breaking-fixed")
    a.commit([SPEC], "cart-api 1.1.0: add total_cents (total stays)")
    again = a.contract("approve", CONTRACT).json or {}
    a.say(f"approves {CONTRACT} {again.get('version')} (a minor bump: nothing breaks for consumers)")
    a.work(0.7)
    a.finish("DESIGN", branch, "cart-api 1.1.0 approved; mock available")
    _race_for_tests(a)
    _integrate(a)


def _bob(a: _Agent) -> None:
    demo = a.demo
    a.wait(demo.events["approved"], "the cart-api contract")
    branch = a.start("API")
    a.say(f"starts API on {branch}, implementing the approved contract")
    lock = a.gc("--json", "lock", "acquire", SHARED, "--reason", "API timeout setting", "--ttl", "12h",
                "--task", "API").json
    a.say(f"takes an exclusive lock on {SHARED} (a shared hotspot) — lock {lock['id']}", kind="lock-granted")
    demo.events["bob_locked"].set()
    a.edit(SHARED, 'API_PREFIX = "/v1"', "API_TIMEOUT_SECONDS = 5")
    a.commit([SHARED], "config: API timeout")
    a.work(1.0)
    for rel in TASK_FILES["API"]:
        a.write_asset(rel)
    helper = "src/ui/api-client.js"
    (a.clone / helper).parent.mkdir(parents=True, exist_ok=True)
    (a.clone / helper).write_text("// a fetch helper bob thought the UI could use\n")
    rejected = a.commit([*TASK_FILES["API"], helper], "cart API + a UI helper", ok=(0, 1))
    if rejected.code == 0:
        raise DemoFailed("bob: the pre-commit hook accepted a path owned by the UI task")
    message = _first_lines(rejected.err)
    a.say(f"commits {helper} with his API code: the pre-commit hook REJECTS it — {helper} is owned by task UI "
          f"(carol); this is the ownership boundary at work:\n{_indent(message)}", kind="hook-rejected",
          message=message)
    demo.hook_rejections.append({"agent": "bob", "path": helper, "owner_task": "UI", "owner_agent": "carol",
                                 "message": message})
    a.git("rm", "-q", "--cached", helper)
    (a.clone / helper).unlink()
    a.commit(TASK_FILES["API"], "cart API: carts and items, in memory")
    a.gc("msg", "request", "--to", "carol", "--regarding", "UI", "--request",
         "could the UI share a fetch helper for the cart API? I kept out of src/ui/", "--urgency", "low")
    a.say("drops the file and asks carol with `msg request` instead (it lands in her inbox)")
    a.wait(demo.events["carol_denied"], "carol's lock request")
    a.gc("lock", "release", SHARED)
    a.say(f"releases {SHARED}: carol, queued for it, gets it next")
    a.gc("msg", "status", "API", "--progress", "60", "--done", "carts", "--done", "items", "--current", "totals")
    a.work(3.6)
    a.finish("API", branch, "cart API implemented against cart-api 1.1.0")


def _carol(a: _Agent) -> None:
    demo = a.demo
    a.wait(demo.events["approved"], "the cart-api contract")
    branch = a.start("UI")
    mock = a.call_mock()
    cart = mock["cart"]
    a.say(f"starts UI and builds against the contract MOCK ({mock['url']}): GET /carts/c-1001 -> "
          f"{len(cart.get('items', []))} item(s), total {cart.get('total')} {cart.get('currency')} — "
          "no need to wait for the real API", kind="mock", url=mock["url"], response=cart)
    a.work(0.6)
    a.write_asset("src/ui/cart.js")
    a.commit(["src/ui/cart.js"], "cart page against the cart-api mock")
    a.wait(demo.events["bob_locked"], "bob's lock")
    denied = a.gc("--json", "lock", "acquire", SHARED, "--reason", "UI page size", "--task", "UI", ok=(1,))
    message = denied.error_message()
    holders = [h.get("agent") for h in ((denied.json or {}).get("error") or {}).get("holders", [])]
    a.say(f"asks for {SHARED}: DENIED (exit 1) — held by {', '.join(holders) or '?'}; she queues with --wait:\n"
          f"{_indent(message)}", kind="lock-denied", holders=holders, message=message)
    demo.lock_denials.append({"agent": "carol", "resource": SHARED, "holders": holders, "message": message})
    demo.events["carol_denied"].set()
    granted = a.gc("--json", "lock", "acquire", SHARED, "--reason", "UI page size", "--task", "UI",
                   "--wait", "30m", timeout=180, pause_clock=False).json
    a.say(f"gets {SHARED} after bob released it (lock {granted['id']}), first in the queue", kind="lock-granted")
    a.edit(SHARED, 'UI_THEME = "light"', "UI_PAGE_SIZE = 20")
    a.commit([SHARED], "config: UI page size")
    a.gc("lock", "release", SHARED)
    a.gc("msg", "status", "UI", "--progress", "50", "--done", "cart page", "--current", "checkout button")
    a.work(2.8)
    a.finish("UI", branch, "cart page built on the mock; totals from cart-api")


def _dave(a: _Agent) -> None:
    demo = a.demo
    a.wait(demo.events["approved"], "the cart-api contract")
    branch = a.start("ANALYTICS")
    mock = a.call_mock()
    a.say(f"starts ANALYTICS and reads the mock's cart ({mock['url']}) to shape his events", kind="mock",
          url=mock["url"])
    a.work(0.8)
    for rel in TASK_FILES["ANALYTICS"]:
        a.write_asset(rel)
    a.commit(TASK_FILES["ANALYTICS"], "cart analytics events")
    a.gc("msg", "status", "ANALYTICS", "--progress", "70", "--done", "cart_viewed")
    a.work(0.9)
    a.finish("ANALYTICS", branch, "cart_viewed event from cart-api responses")
    _race_for_tests(a)


def _race_for_tests(a: _Agent) -> None:
    """alice and dave are both free and both qa: they try to claim TESTS at the same instant."""
    demo = a.demo
    offer = a.gc("--json", "next").json or {}
    offered = offer.get("task")
    offered_id = offered.get("id") if isinstance(offered, dict) else offered
    a.say(f"is free; `gitcoord next` offers {offered_id or 'nothing'} ({offer.get('reason') or 'best ready task'})",
          offered=offered_id)
    try:
        demo.race.wait(timeout=120)
    except threading.BrokenBarrierError:
        raise DemoFailed(f"{a.name}: the other racer never showed up") from None
    claim = a.gc("--json", "task", "start", "TESTS", ok=(0, 1))
    if claim.code == 0:
        with demo._lock:
            demo.claims.append({"task": "TESTS", "agent": a.name, "won": True})
        a.say("WINS the claim on TESTS (exactly one agent can: the claim is a compare-and-swap on the "
              "coordination branch)", kind="claim-won")
        branch = claim.json["branch"]
        a.git("switch", "-q", branch)
        a.work(1.0)
        a.write_asset("tests/check_cart_contract.py")
        a.commit(["tests/check_cart_contract.py"], "contract checks for the cart API")
        a.gc("msg", "status", "TESTS", "--progress", "50", "--done", "required fields")
        a.work(1.6)
        a.finish("TESTS", branch, "contract checks for cart-api")
    else:
        message = claim.error_message()
        with demo._lock:
            demo.claims.append({"task": "TESTS", "agent": a.name, "won": False, "message": message})
        a.say(f"LOSES the race for TESTS: {message}", kind="claim-lost", message=message)
        nxt = a.gc("--json", "next").json or {}
        a.say(f"asks `gitcoord next` again: {nxt.get('task') or 'nothing left for ' + a.name} "
              f"({nxt.get('reason') or 'work stealing'})")


def _integrate(a: _Agent) -> None:
    """alice is also the integrator: one batch merge, then INTEGRATION, then the last merge."""
    demo = a.demo
    for task in ("API", "UI", "ANALYTICS", "TESTS"):
        a.wait(demo.done[task], f"task {task}", timeout=180)
    _merge(a, "first batch: the contract and the four tasks built on it")
    demo.events["batch_merged"].set()
    a.git("fetch", "-q", "origin")
    branch = a.start("INTEGRATION", from_rev="origin/main")
    a.say(f"INTEGRATION is ready now that its hard dependencies are merged: she starts it on {branch}")
    a.work(0.8)
    for rel in TASK_FILES["INTEGRATION"]:
        a.write_asset(rel)
    a.commit(TASK_FILES["INTEGRATION"], "checkout flow end to end")
    a.work(0.8)
    a.finish("INTEGRATION", branch, "checkout end to end")
    _merge(a, "last batch: INTEGRATION")


def _merge(a: _Agent, what: str) -> None:
    demo = a.demo
    a.git("fetch", "-q", "origin")
    plan = a.gc("--json", "merge", "plan").json or {}
    order = [item.get("task") if isinstance(item, dict) else item for item in plan.get("order") or []]
    a.say(f"`merge plan` ({what}): order {' -> '.join(map(str, order)) or '?'} (dependencies first), "
          f"predicted conflicts: {len(plan.get('conflicts') or [])}")
    run = a.gc("--json", "merge", "run", "--push", "--test", MERGE_TEST, ok=(0, 1)).json or {}
    demo.merges.append(run)
    skipped = run.get("skipped") or []
    a.say(f"`merge run --push`: merged {', '.join(run.get('merged') or []) or 'nothing'} into main in dependency "
          f"order, tested the result ({MERGE_TEST}), pushed main and the coordination branch atomically"
          + (f"; left out: {', '.join(s.get('task', '?') for s in skipped)}" if skipped else ""),
          kind="merged", merged=run.get("merged"), run=run.get("run"))
    if skipped:
        raise DemoFailed(f"merge run left tasks out: {json.dumps(skipped)[:400]}")


def _indent(text: str) -> str:
    return "\n".join("         | " + line for line in text.splitlines())


def _first_lines(text: str, limit: int = 6) -> str:
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    return "\n".join(lines[:limit])


# --------------------------------------------------------------------------- setup and wrap-up


def _setup(demo: _Demo, use_daemon: bool) -> tuple[str, str, GitDaemon | None, Path]:
    root = demo.root
    seed = root / "seed"
    seed.mkdir(parents=True)
    demo.git(seed, "init", "-q", "-b", "main", who="lead")
    for rel in SEED_FILES:
        target = seed / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROJECT / rel, target)
    demo.git(seed, "add", "-A", who="lead")
    demo.git(seed, "commit", "-q", "-m", "demo shop: initial layout", who="lead")
    served = root / "remote"
    bare = served / "shop.git"
    demo.git(root, "init", "-q", "--bare", "-b", "main", str(bare), who="lead")
    demo.git(seed, "push", "-q", str(bare), "main", who="lead")
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
    demo.git(root, "clone", "-q", url, str(lead), who="lead")
    return url, transport, daemon, lead


def _clone(demo: _Demo, url: str, name: str) -> Path:
    dest = demo.root / "clones" / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    demo.git(demo.root, "clone", "-q", url, str(dest), who=name)
    for key, value in (("user.name", name), ("user.email", f"{name}@demo.invalid"), ("gitcoord.agent", name),
                       ("gitcoord.remote", "origin")):
        demo.git(dest, "config", key, value, who=name)
    return dest


def _plan_vs_actual(metrics: dict[str, Any], plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Per task: the plan's estimate and slot (``plan --agents 4``) beside what gitcoord measured."""
    runs = {t.get("id"): t for t in metrics.get("tasks") or []}
    slots = {s.get("task"): s for s in plan.get("schedule") or []}
    rows = []
    for row in metrics.get("plan_vs_actual") or []:
        run = runs.get(row.get("task"), {})
        slot = slots.get(row.get("task"), {})
        rows.append({"task": row.get("task"), "agent": run.get("agent"), "planned_agent": slot.get("agent"),
                     "estimate_hours": row.get("estimate_hours"), "actual_hours": row.get("actual_hours"),
                     "planned_start_hours": slot.get("start_hours"), "planned_finish_hours": slot.get("finish_hours"),
                     "start_hours": run.get("start_hours"), "finish_hours": run.get("finish_hours")})
    return sorted(rows, key=lambda r: (r["start_hours"] is None, r["start_hours"] or 0, r["task"] or ""))


def _plan_vs_actual_text(rows: list[dict[str, Any]]) -> str:
    lines = ["task         agent  estimate  actual   planned slot   actual slot (h from the first start)"]
    for row in rows:
        lines.append(f"{row['task']:<12} {str(row['agent'] or '-'):<6} {_h(row['estimate_hours']):>8}  "
                     f"{_h(row['actual_hours']):>6}   {_span(row, 'planned_start_hours', 'planned_finish_hours'):<13}  "
                     f"{_span(row, 'start_hours', 'finish_hours')}")
    return "\n".join(lines)


def _span(row: dict[str, Any], start: str, finish: str) -> str:
    if row.get(start) is None or row.get(finish) is None:
        return "-"
    return f"{row[start]:.1f} -> {row[finish]:.1f}"


def _h(value: Any) -> str:
    return f"{value:.1f}h" if isinstance(value, (int, float)) else "-"


def run_demo(directory: str | Path | None = None, *, say: Callable[[str], None] = lambda line: None,
             use_daemon: bool = True, seconds_per_hour: float = 1.0, report: bool = True) -> DemoResult:
    """Build the demo project in ``directory`` (a new temp dir when None) and run the four agents.

    Raises UsageError when ``directory`` exists and is not empty, DemoFailed when a step does not
    go the way the story needs (with the failing command's message).
    """
    began = time.monotonic()
    if directory is None:
        root = Path(tempfile.mkdtemp(prefix="gitcoord-demo-"))
    else:
        root = Path(directory).resolve()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise UsageError(f"{root}: demo directory must be new or empty (pick another DIR)")
        root.mkdir(parents=True, exist_ok=True)
    if seconds_per_hour <= 0:
        raise UsageError(f"seconds_per_hour {seconds_per_hour!r}: must be positive")
    demo = _Demo(root, say, seconds_per_hour)
    demo.say("lead", f"building the demo in {root} (simulated clock: 1 h of work = {seconds_per_hour:g} s; "
                     "durations are compressed, every figure is computed by gitcoord)")
    daemon: GitDaemon | None = None
    try:
        url, transport, daemon, lead = _setup(demo, use_daemon)
        demo.say("lead", f"bare remote {url} ({'served by git daemon on 127.0.0.1' if daemon else 'file remote'}); "
                         f"lead clone in {lead}")
        demo.git(lead, "config", "gitcoord.agent", "lead", who="lead")
        demo.gitcoord(lead, "init", "--remote", "origin", who="lead")
        agents_yaml = (ASSETS / "agents.yaml").read_text()
        demo.gitcoord(lead, "config", "set", "agents", agents_yaml, who="lead")
        demo.say("lead", "`gitcoord init --remote origin`: the coordination branch lives on the remote; "
                         "4 agents declared with roles (alice architect+qa, bob backend, carol frontend, dave data+qa)")
        demo.gitcoord(lead, "task", "import", str(ASSETS / "plan.yaml"), who="lead")
        demo.say("lead", "`task import plan.yaml`: DESIGN provides cart-api; API, UI, ANALYTICS, TESTS depend on it "
                         "by contract; INTEGRATION depends hard on those four")
        plan_text = demo.gitcoord(lead, "plan", "--agents", "4", who="lead").out
        plan = demo.gitcoord(lead, "--json", "plan", "--agents", "4", who="lead").json or {}
        plan_svg = root / "plan.svg"
        demo.gitcoord(lead, "plan", "--agents", "4", "--format", "gantt-svg", "-o", str(plan_svg), who="lead")
        demo.say("lead", f"`plan --agents 4` (saved as {plan_svg}):\n{plan_text.rstrip()}", kind="plan",
                 makespan_hours=plan.get("makespan_hours"), speedup=plan.get("speedup"))
        agents: list[_Agent] = []
        for name in AGENTS:
            clone = _clone(demo, url, name)
            demo.gitcoord(clone, "hooks", "install", who=name)
            agents.append(_Agent(demo, name, clone))
        demo.say("lead", f"4 clones in {root / 'clones'}, hooks installed in each (pre-commit, commit-msg, "
                         "pre-push): ownership and locks are enforced on every commit and push")
        scripts = {"alice": _alice, "bob": _bob, "carol": _carol, "dave": _dave}
        threads = [threading.Thread(target=_guard, args=(scripts[a.name], a), name=f"demo-{a.name}") for a in agents]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if demo.first_error is not None:
            name, first = demo.first_error
            if isinstance(first, GitcoordError):
                raise first
            raise DemoFailed(f"{name}: {type(first).__name__}: {first}") from first
        return _wrap_up(demo, lead, url, transport, plan, plan_svg, began, report)
    finally:
        demo.stop.set()
        for proc in demo.processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
        if daemon is not None:
            daemon.stop()
            _repoint_remotes(demo)


def _repoint_remotes(demo: _Demo) -> None:
    """With the daemon gone, point every clone's origin at the bare repository so they keep working."""
    bare = demo.root / "remote" / "shop.git"
    for clone in [demo.root / "lead", *sorted((demo.root / "clones").glob("*"))]:
        if (clone / ".git").is_dir():
            subprocess.run(["git", "-C", str(clone), "remote", "set-url", "origin", str(bare)], env=demo.env,
                           capture_output=True, check=False)


def _guard(script: Callable[[_Agent], None], agent: _Agent) -> None:
    try:
        script(agent)
    except BaseException as exc:  # noqa: BLE001 — reported by run_demo after join
        agent.error = exc
        with agent.demo._lock:
            if agent.demo.first_error is None:
                agent.demo.first_error = (agent.name, exc)
        agent.demo.stop.set()
        agent.demo.race.abort()


def _wrap_up(demo: _Demo, lead: Path, url: str, transport: str, plan: dict[str, Any], plan_svg: Path,
             began: float, report: bool) -> DemoResult:
    root = demo.root
    demo.git(lead, "pull", "-q", "--ff-only", "origin", "main", who="lead")
    files = demo.git(lead, "ls-tree", "-r", "--name-only", "origin/main", who="lead").out.split()
    missing = [f for task_files in TASK_FILES.values() for f in task_files if f not in files]
    if missing:
        raise DemoFailed(f"remote main lacks {', '.join(missing)} after the merges")
    metrics = demo.gitcoord(lead, "--json", "metrics", "--feature", FEATURE, who="lead").json or {}
    rows = _plan_vs_actual(metrics, plan)
    demo.say("lead", "plan versus actual (simulated hours, measured by gitcoord from the task history):\n"
             + _plan_vs_actual_text(rows), kind="plan-vs-actual")
    metrics_text = demo.gitcoord(lead, "metrics", "--feature", FEATURE, who="lead").out.rstrip()
    demo.say("lead", f"`gitcoord metrics`:\n{metrics_text}", kind="metrics")
    out_files = {"plan_svg": str(plan_svg)}
    if report:
        html = root / "report.html"
        svg = root / "timeline.svg"
        demo.gitcoord(lead, "report", "--html", str(html), "--feature", FEATURE, "--title", "gitcoord demo: cart",
                      who="lead")
        demo.gitcoord(lead, "timeline", "--svg", str(svg), "--feature", FEATURE, who="lead")
        out_files.update({"report_html": str(html), "timeline_svg": str(svg)})
        demo.say("lead", f"wrote {html} (graph, plan vs actual Gantt, locks, contracts, metrics) and {svg}")
    seconds = time.monotonic() - began
    demo.say("lead", f"done in {seconds:.1f} s real time; remote main has every task's files "
                     f"({len(files)} files). Look around: cd {lead} && gitcoord state"
                     + (" (the daemon stops with the demo: the clones' origin is switched to remote/shop.git)"
                        if transport == "git-daemon" else ""))
    return DemoResult(directory=str(root), remote_url=url, transport=transport, seconds=round(seconds, 2),
                      seconds_per_hour=demo.clock.seconds_per_hour, steps=demo.steps, claims=demo.claims,
                      hook_rejections=demo.hook_rejections, breaking_changes=demo.breaking,
                      lock_denials=demo.lock_denials, merges=demo.merges, plan=plan, plan_vs_actual=rows,
                      metrics=metrics, files=out_files, remote_main_files=sorted(files))
