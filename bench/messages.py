"""Benchmark: the message protocol at scale, and the MCP server's round trip.

* `msg post` of one guide message as a process (target <= 1.5 s: an agent posts it every few minutes);
* `inbox` (routing, moot items, read state, heartbeat) over N message events, warm entity cache
  (target <= 1 s for 5,000 events);
* one MCP tool call (`next`, then `inbox`) through the SDK's stdio client against a running
  `gitcoord mcp` (target median <= 0.25 s: agents call it in their inner loop).

Run: python3 bench/messages.py [EVENTS]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def setup(root: Path, events: int) -> Path:
    import pygit2

    from gitcoord import messages
    from gitcoord.init import init_store
    from gitcoord.store import Store
    from gitcoord.tasks import add_task, transition

    repo = root / "work"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("bench\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    store = Store(pygit2.Repository(str(repo)), agent="bob")
    init_store(store)
    add_task(store, {"id": "API-1", "title": "api", "agent": "bob", "owns": ["src/api/"]})
    add_task(store, {"id": "UI-1", "title": "ui", "agent": "alice", "owns": ["src/ui/"], "depends_on": ["API-1"]})
    transition(store, "API-1", "in_progress")

    def flood(txn) -> None:
        for n in range(events):
            kind = n % 3
            if kind == 0:
                msg = messages.request_message(to="bob", regarding="API-1", request=f"question {n}", urgency="medium")
            elif kind == 1:
                msg = messages.status_message("API-1", progress=n % 100, current=f"step {n}")
            else:
                msg = messages.blocker_message("UI-1", description=f"waiting {n}", severity="low",
                                               blocking_agent="bob", workaround="mock")
            messages.append(txn, msg)

    store.transact(flood)
    return repo


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n")
        os.environ.update({"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "PYTHONPATH": str(ROOT)})
        for key in [k for k in os.environ if k.startswith("GITCOORD_")]:
            del os.environ[key]
        repo = setup(Path(tmp), events)

        message = {"type": "status_update", "task_id": "API-1", "progress": 50, "current_item": "bench"}
        began = time.monotonic()
        subprocess.run([sys.executable, "-m", "gitcoord", "--agent", "bob", "msg", "post", "-"], cwd=repo,
                       input=json.dumps(message), text=True, check=True, capture_output=True)
        post = time.monotonic() - began
        print(f"msg post (one process): {post:.2f} s   target <= 1.5 s   {'PASS' if post <= 1.5 else 'FAIL'}")

        import pygit2

        from gitcoord.inbox import inbox
        from gitcoord.store import Store

        store = Store(pygit2.Repository(str(repo)), agent="bob")
        inbox(store.snapshot(), "bob")  # fill the entity cache
        times = []
        for _ in range(3):
            began = time.monotonic()
            entries = inbox(store.snapshot(), "bob")
            times.append(time.monotonic() - began)
        warm = statistics.median(times)
        print(f"inbox over {events} events ({len(entries)} items, warm): {warm:.2f} s   target <= 1 s   "
              f"{'PASS' if warm <= 1.0 else 'FAIL'}")
        mcp_round_trip(repo)


def mcp_round_trip(repo: Path) -> None:
    try:
        import anyio
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client
    except ImportError:
        print("mcp round trip: skipped (pip install 'gitcoord[mcp]')")
        return
    params = StdioServerParameters(command=sys.executable, args=["-m", "gitcoord", "mcp", "--agent", "alice"],
                                   cwd=str(repo), env=dict(os.environ))

    async def run() -> list[float]:
        times = []
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                for tool in ("next", "inbox") * 10:
                    began = time.monotonic()
                    result = await session.call_tool(tool, {})
                    times.append(time.monotonic() - began)
                    assert not result.is_error, result.content
        return times

    times = anyio.run(run)
    median = statistics.median(times)
    print(f"mcp tool call (next/inbox, median of {len(times)}): {median * 1000:.0f} ms   target <= 250 ms   "
          f"{'PASS' if median <= 0.25 else 'FAIL'}")


if __name__ == "__main__":
    main()
