"""A scripted agent for `gitcoord demo`: a small real program that `gitcoord run` starts in its task's worktree.

It does what an agent does, with real git and gitcoord processes and nothing simulated: reads its
brief, writes its task's files, commits (the hooks judge every commit), posts the guide's messages,
and coordinates through gitcoord — the designer publishes the cart-api contract (and is stopped when
she tries to break it), the UI builds against the contract's mock, bob and carol share a config file
through a lock, bob's commit outside his paths is refused. API and UI both add a line at the top of
the changelog, so the second of them to merge conflicts; the manager sends the conflict back and the
agent, started again, brings the base in and keeps both lines.

Each notable moment is appended as one JSON line to ``$DEMO_STORY`` for the demo's narration.
Exits non-zero with one line on stderr when a step does not do what the story needs (the manager
then reports the task as crashed, with that line).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

TASK = os.environ["GITCOORD_TASK"]
AGENT = os.environ["GITCOORD_AGENT"]
ATTEMPT = int(os.environ.get("GITCOORD_ATTEMPT") or 1)
BRIEF = Path(os.environ["GITCOORD_BRIEF"]).read_text(encoding="utf-8")
ASSETS = Path(os.environ["DEMO_ASSETS"])
PROJECT = ASSETS / "project"
FILES: list[str] = json.loads(os.environ["DEMO_TASK_FILES"])[TASK]
STORY = os.environ["DEMO_STORY"]
CONTRACT = "cart-api"
SPEC = "api/cart-api.yaml"
SHARED = "src/shared/config.py"
CHANGELOG = "CHANGELOG.md"
CHANGELOG_ENTRY = {"API": "- Cart API: carts and items (bob)", "UI": "- Cart page in the web client (carol)"}
WAIT_SECONDS = 90.0


# --------------------------------------------------------------------------- processes


def run(argv: list[str], ok: tuple[int, ...] = (0,), stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, input=stdin, text=True, capture_output=True)
    if proc.returncode not in ok:
        shown = " ".join("gitcoord" if a == sys.executable else a for a in argv if a != "-m")
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        sys.exit(f"{TASK}: `{shown[:200]}` exited {proc.returncode}: {' | '.join(detail[:4])[:600]}")
    return proc


def gitcoord(*args: str, ok: tuple[int, ...] = (0,), stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "gitcoord", *args], ok, stdin)


def gitcoord_json(*args: str, ok: tuple[int, ...] = (0,)) -> tuple[int, Any]:
    proc = gitcoord("--json", *args, ok=ok)
    try:
        return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else None
    except ValueError:
        sys.exit(f"{TASK}: `gitcoord --json {' '.join(args)}` printed no JSON: {proc.stdout[:200]!r}")


def git(*args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    return run(["git", *args], ok)


def tell(kind: str, text: str, **data: Any) -> None:
    """One line of the story; a single append, so the agents' lines never interleave."""
    line = json.dumps({"at": time.time(), "agent": AGENT, "task": TASK, "attempt": ATTEMPT, "kind": kind,
                       "text": text, "data": data}) + "\n"
    fd = os.open(STORY, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def first_lines(text: str, limit: int = 4) -> str:
    return "\n".join([ln.rstrip() for ln in text.splitlines() if ln.strip()][:limit])


def wait_for(what: str, probe: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            sys.exit(f"{TASK}: gave up waiting for {what} after {timeout:g}s")
        time.sleep(0.3)


# --------------------------------------------------------------------------- the moves


def post(doc: dict[str, Any]) -> None:
    gitcoord("msg", "post", "-", stdin=json.dumps(doc))


def status(progress: int, current: str, done: tuple[str, ...] = ()) -> None:
    post({"type": "status_update", "task_id": TASK, "status": "in_progress", "progress": progress,
          "completed_items": list(done), "current_item": current})


def complete(summary: str) -> None:
    post({"type": "task_complete", "task_id": TASK, "summary": summary, "deliverables": FILES,
          "test_results": {"passed": 3, "failed": 0}})


def copy(rel: str, source: Path | None = None) -> None:
    target = Path(rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source or PROJECT / rel, target)


def insert_after(rel: str, anchor: str, new_line: str) -> None:
    path = Path(rel)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next((i for i, line in enumerate(lines) if line.rstrip("\n") == anchor), None)
    if index is None:
        sys.exit(f"{TASK}: {rel} has no line {anchor!r}")
    lines.insert(index + 1, new_line + "\n")
    path.write_text("".join(lines), encoding="utf-8")


def commit(paths: list[str], message: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    git("add", "--", *paths)
    return git("commit", "-q", "-m", message, ok=ok)


def lock_on(resource: str) -> dict[str, Any] | None:
    _code, listed = gitcoord_json("lock", "list")
    rows = listed.get("locks", []) if isinstance(listed, dict) else listed or []
    return next((lock for lock in rows if str(lock.get("resource", "")).lstrip("./") == resource), None)


def holders(lock: dict[str, Any] | None) -> list[str]:
    return [h.get("agent") for h in (lock or {}).get("holders") or []]


def waiters(lock: dict[str, Any] | None) -> list[str]:
    return [w.get("agent") for w in (lock or {}).get("queue") or []]


def add_changelog_entry() -> None:
    insert_after(CHANGELOG, "## Unreleased", CHANGELOG_ENTRY[TASK])


def work_already_committed() -> bool:
    """Started again after a failure that was not ours (a crash, a refused push): the work is on the branch."""
    if ATTEMPT == 1 or "conflicts with" in BRIEF:
        return False
    return int(git("rev-list", "--count", "origin/main..HEAD").stdout.strip() or 0) > 0


def bring_base_in() -> bool:
    """Attempt 2 after a merge conflict: merge the base, keep both sides of the changelog, commit."""
    if "conflicts with" not in BRIEF:
        return False
    git("fetch", "-q", "origin", "main")
    merged = git("merge", "-q", "--no-edit", "FETCH_HEAD", ok=(0, 1))
    conflicted = git("diff", "--name-only", "--diff-filter=U").stdout.split()
    if merged.returncode == 1:
        if conflicted != [CHANGELOG]:
            sys.exit(f"{TASK}: unexpected conflicts in {', '.join(conflicted) or '?'}")
        text = Path(CHANGELOG).read_text(encoding="utf-8")
        kept = [ln for ln in text.splitlines(keepends=True) if not ln.startswith(("<<<<<<<", "=======", ">>>>>>>"))]
        Path(CHANGELOG).write_text("".join(kept), encoding="utf-8")
        git("add", CHANGELOG)
        git("commit", "-q", "--no-edit")
    tell("resolved", f"reads the request in its brief, merges main into its branch and resolves {CHANGELOG} by "
                     "keeping both entries (one commit); the task goes back to ready-to-merge", files=conflicted)
    status(90, "merged main, kept both changelog entries", done=("conflict resolved",))
    return True


# --------------------------------------------------------------------------- the tasks


def design() -> None:
    status(10, "writing the cart-api OpenAPI spec")
    copy(SPEC)
    commit([SPEC], "cart-api 1.0.0: carts, items, totals")
    gitcoord("contract", "add", CONTRACT, "--spec", SPEC)
    gitcoord("contract", "validate", CONTRACT)
    _code, approved = gitcoord_json("contract", "approve", CONTRACT)
    ready = (approved or {}).get("ready") or []
    tell("contract-approved", f"publishes {CONTRACT} ({SPEC}), valid OpenAPI, and approves "
                              f"{(approved or {}).get('version')}: contract-first, its consumers "
                              f"{', '.join(ready) or '(API, UI, ANALYTICS, TESTS)'} can start NOW, not when "
                              "DESIGN is merged", version=(approved or {}).get("version"), ready=ready)
    status(50, "v1.1: prices in cents", done=("cart-api 1.0.0 approved",))
    # The breaking change: rename `total` to `total_cents` in a spec others already build on.
    copy(SPEC, ASSETS / "cart-api.v1.1-breaking.yaml")
    code, diff = gitcoord_json("contract", "diff", CONTRACT, ok=(0, 1))
    if code != 1:
        sys.exit(f"{TASK}: renaming a required response property was not reported as breaking (exit {code})")
    changes = [c for c in (diff or {}).get("changes", []) if c.get("level") == "error"]
    listed = "; ".join(f"{c.get('id')} at {c.get('path')}" for c in changes)
    git("add", SPEC)
    attempt = git("commit", "-q", "-m", "cart-api: rename total", ok=(0, 1))
    if attempt.returncode == 0:
        sys.exit(f"{TASK}: the pre-commit hook let a breaking contract change through")
    hook = first_lines(attempt.stderr, 3)
    if "contract-breaking" not in attempt.stderr:
        sys.exit(f"{TASK}: the pre-commit hook refused the commit for another reason: {hook}")
    tell("breaking-caught", f"renames `total` to `total_cents`: `contract diff` exits 1, BREAKING for consumers "
                            f"already building on 1.0.0 ({listed}); the pre-commit hook refuses the commit too",
         exit_code=code, changes=changes, caught_by=["contract diff", "pre-commit hook"], hook_message=hook)
    copy(SPEC, ASSETS / "cart-api.v1.1.yaml")
    gitcoord("contract", "diff", CONTRACT)
    commit([SPEC], "cart-api 1.1.0: add total_cents (total stays)")
    _code, again = gitcoord_json("contract", "approve", CONTRACT)
    tell("breaking-fixed", f"fixes it compatibly (keeps `total`, adds `total_cents`): `contract diff` exits 0; "
                           f"approves {(again or {}).get('version')}, a minor version", version=(again or {}).get("version"))
    complete("cart-api 1.1.0 approved; mock available")


def api() -> None:
    if bring_base_in():
        complete("cart API, with main merged in")
        return
    status(10, "implementing the approved contract")
    _code, taken = gitcoord_json("lock", "acquire", SHARED, "--reason", "API timeout setting", "--ttl", "1h",
                                 "--task", TASK)
    tell("lock-granted", f"takes an exclusive lock on {SHARED}, a hotspot every part of the shop edits "
                         f"(lock {(taken or {}).get('id')})")
    insert_after(SHARED, 'API_PREFIX = "/v1"', "API_TIMEOUT_SECONDS = 5")
    commit([SHARED], "config: API timeout")
    for rel in FILES:
        copy(rel)
    helper = "src/ui/api-client.js"
    Path(helper).parent.mkdir(parents=True, exist_ok=True)
    Path(helper).write_text("// a fetch helper bob thought the UI could use\n", encoding="utf-8")
    refused = commit([*FILES, helper], "cart API + a UI helper", ok=(0, 1))
    if refused.returncode == 0:
        sys.exit(f"{TASK}: the pre-commit hook accepted {helper}, a path another task owns")
    message = first_lines(refused.stderr)
    why = next((ln.split("outside-ownership:", 1)[1].strip() for ln in message.splitlines()
                if "outside-ownership:" in ln), message)
    tell("hook-rejected", f"commits {helper} with the API code: the pre-commit hook REJECTS it ({why}); bob keeps "
                          "to his own paths and asks carol instead (`msg request`)", path=helper, message=message)
    git("rm", "-q", "--cached", helper)
    Path(helper).unlink()
    commit(FILES, "cart API: carts and items, in memory")
    gitcoord("msg", "request", "--to", "carol", "--regarding", "UI", "--request",
             "could the UI share a fetch helper for the cart API? I kept out of src/ui/", "--urgency", "low")
    add_changelog_entry()
    commit([CHANGELOG], "changelog: cart API")
    git("push", "-q", "-u", "origin", "HEAD")  # lock, edit, commit, push, release: the edit is out first
    status(70, "pushed; handing the config lock on", done=("carts", "items"))
    queued = wait_for(f"someone queued for {SHARED}", lambda: waiters(lock_on(SHARED)), timeout=30) \
        if lock_on(SHARED) else []
    gitcoord("lock", "release", SHARED)
    tell("lock-released", f"pushes his branch, then releases {SHARED} (lock, edit, commit, push, release); "
                          f"{', '.join(queued) or 'nobody'} queued for it gets it next")
    complete("cart API implemented against cart-api")


def ui() -> None:
    if bring_base_in():
        complete("cart page, with main merged in")
        return
    status(10, "building the cart page against the contract mock")
    mock = call_mock()
    cart = mock["cart"]
    tell("mock", f"builds against the contract MOCK ({mock['url']}): GET /carts/c-1001 -> "
                 f"{len(cart.get('items', []))} item(s), total {cart.get('total')} {cart.get('currency')}; "
                 "no need to wait for the real API", url=mock["url"], response=cart)
    copy("src/ui/cart.js")
    commit(["src/ui/cart.js"], "cart page against the cart-api mock")
    held = wait_for(f"the lock on {SHARED}", lambda: holders(lock_on(SHARED)), timeout=60)
    code, denied = gitcoord_json("lock", "acquire", SHARED, "--reason", "UI page size", "--task", TASK, ok=(0, 1))
    if code == 0:
        sys.exit(f"{TASK}: {SHARED} was granted while {', '.join(held)} held it exclusively")
    error = (denied or {}).get("error") or {}
    who = [h.get("agent") for h in error.get("holders") or []]
    tell("lock-denied", f"asks for {SHARED}: DENIED (exit 1), {error.get('message', '')}; she queues with --wait",
         holders=who, message=error.get("message", ""))
    _code, granted = gitcoord_json("lock", "acquire", SHARED, "--reason", "UI page size", "--task", TASK,
                                   "--wait", "2m")
    tell("lock-granted", f"gets {SHARED} once bob released it, first in the queue (lock {(granted or {}).get('id')})")
    insert_after(SHARED, 'UI_THEME = "light"', "UI_PAGE_SIZE = 20")
    commit([SHARED], "config: UI page size")
    git("push", "-q", "-u", "origin", "HEAD")
    gitcoord("lock", "release", SHARED)
    add_changelog_entry()
    commit([CHANGELOG], "changelog: cart page")
    complete("cart page built on the mock")


def call_mock() -> dict[str, Any]:
    """Serve the approved contract, call it as the web client would, stop it."""
    proc = subprocess.Popen([sys.executable, "-m", "gitcoord", "contract", "mock", CONTRACT, "--approved",
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = next((w for w in proc.stdout.readline().split() if w.startswith("http://")), None)
        if url is None:
            sys.exit(f"{TASK}: the contract mock printed no URL: {(proc.stderr.read() if proc.stderr else '')[:300]}")
        with urllib.request.urlopen(f"{url}/carts/c-1001", timeout=20) as response:
            cart = json.loads(response.read())
        return {"url": url, "cart": cart}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def plain(summary: str) -> None:
    """ANALYTICS, TESTS, INTEGRATION: write the task's files, report progress, commit, complete."""
    status(20, f"writing {', '.join(FILES)}")
    for rel in FILES:
        copy(rel)
    commit(FILES, f"{TASK}: {summary}")
    status(90, "committed", done=tuple(FILES))
    complete(summary)


MOVES: dict[str, Callable[[], None]] = {
    "DESIGN": design,
    "API": api,
    "UI": ui,
    "ANALYTICS": lambda: plain("cart_viewed events from cart-api responses"),
    "TESTS": lambda: plain("contract checks for cart-api"),
    "INTEGRATION": lambda: plain("checkout end to end"),
}

if __name__ == "__main__":
    for key in ("GIT_AUTHOR", "GIT_COMMITTER"):  # commits are the agent's, whoever started the program
        os.environ[f"{key}_NAME"], os.environ[f"{key}_EMAIL"] = AGENT, f"{AGENT}@demo.invalid"
    if work_already_committed():
        tell("resumed", f"attempt {ATTEMPT}: the work is already committed on the branch; reports it complete")
        complete(f"{TASK}: work committed in an earlier attempt")
    else:
        MOVES[TASK]()
