"""The server's guard: what a push may do to the coordination branch, the base and task branches.

Client hooks are a courtesy; this runs in ``pre-receive`` and is the boundary (DESIGN §3, trust
model). It reads only what the push needs: the changed files of each pushed coordination commit,
the configuration and the few tasks a ref names, never the whole store, so one bad file can
neither get in nor wedge later pushes.

Coordination branch: fast-forward only, never deleted; only gitcoord's own entity paths, each a
regular file, small, parseable and schema-valid; every change a legal lifecycle transition by an
agent entitled to it. The acting agent of a commit is its ``Gitcoord-Agent:`` trailer —
self-asserted, unless ``identity.mode`` in gitcoord.yaml is ``pusher`` (the forge's authenticated
user, from an environment variable the server sets) or ``signed`` (SSH-signed commits checked
against agents' keys; see ``signing``).

Maintainers: agents with the ``maintainer`` role in gitcoord.yaml, plus names the server itself
lists (``git config --add gitcoord.maintainer NAME``), which a push cannot change. While neither
names one, maintainer-only changes are open to every agent (a project bootstrapping itself).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import pygit2

from gitcoord.identity import is_agent_name

ZERO = "0" * 40
MAINTAINER = "maintainer"
PUSHER_VARS = ("GL_USERNAME", "GITEA_PUSHER_NAME", "REMOTE_USER")
EXTRA_FILE_BYTES = 1 << 20  # contract snapshots (contracts/<name>/<version>.<ext>)
MAX_PUSHED_COMMITS = 10_000

# Every path gitcoord writes on its branch; anything else is refused.
_ENTITY_PATHS = [
    (re.compile(r"^gitcoord\.yaml$"), "config"),
    (re.compile(r"^tasks/[A-Za-z0-9][A-Za-z0-9._-]{0,63}\.yaml$"), "task"),
    (re.compile(r"^contracts/[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}\.yaml$"), "contract"),
    (re.compile(r"^contracts/[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}/[A-Za-z0-9][A-Za-z0-9._+-]{0,127}\.(yaml|yml|json)$"),
     "snapshot"),
    (re.compile(r"^locks/[A-Za-z0-9][A-Za-z0-9._-]{0,63}\.json$"), "lock"),
    (re.compile(r"^events/\d{4}-\d{2}-\d{2}/[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.json$"), "event"),
    (re.compile(r"^merges/[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.json$"), "merge"),
    (re.compile(r"^inbox/[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}\.json$"), "inbox"),
]
_PLANNING = ("planned", "ready")
_HELD = ("in_progress", "blocked", "ready_to_merge")
_BOOKKEEPING = {"status", "history", "updated_at", "started_at", "done_at", "merged_at", "blocked_reason",
                "branch", "agent"}


def entity_kind(path: str) -> str | None:
    for pattern, kind in _ENTITY_PATHS:
        if pattern.match(path):
            return kind
    return None


def commit_agent(commit: pygit2.Commit) -> str | None:
    """The ``Gitcoord-Agent:`` trailer of a commit (the last one), if it passes the agent-name rule."""
    from gitcoord.errors import UsageError
    from gitcoord.identity import check_agent_name

    found = None
    for line in commit.message.splitlines():
        if line.startswith("Gitcoord-Agent:"):
            found = line[len("Gitcoord-Agent:"):].strip()
    if not found:
        return None
    try:
        return check_agent_name(found, "Gitcoord-Agent trailer")
    except UsageError:
        return None


def commit_op(commit: pygit2.Commit) -> str | None:
    for line in commit.message.splitlines():
        if line.startswith("Gitcoord-Op:"):
            return line[len("Gitcoord-Op:"):].strip()
    return None


# --------------------------------------------------------------------------- reading only what is needed


class Unreadable(Exception):
    """A pushed entity file gitcoord cannot accept (too big, not UTF-8, malformed, schema-invalid)."""


def read_entity(repo: pygit2.Repository, path: str, oid: pygit2.Oid | str) -> Any:
    """Parse one entity blob, checking its size before reading it; raise Unreadable with one line."""
    from gitcoord.errors import GitcoordError
    from gitcoord.store import MAX_ENTITY_BYTES, parse_bytes

    kind, size = repo.odb.read_header(oid)
    if size > MAX_ENTITY_BYTES:
        raise Unreadable(f"{path}: {size} bytes; entity files are limited to {MAX_ENTITY_BYTES}")
    data = repo[oid].data
    try:
        obj = parse_bytes(path, data)
        schema_kind = entity_kind(path)
        if schema_kind not in (None, "snapshot"):
            from gitcoord import schemas

            schemas.validate(schema_kind, obj, path=path)
    except GitcoordError as exc:
        raise Unreadable(str(exc).splitlines()[0][:300]) from None
    except RecursionError:
        raise Unreadable(f"{path}: nested too deeply") from None
    return obj


def _tree_entry(tree: pygit2.Tree | None, path: str) -> pygit2.Object | None:
    if tree is None:
        return None
    try:
        return tree[path]
    except KeyError:
        return None


def config_at(repo: pygit2.Repository, commit: str | None) -> dict[str, Any] | None:
    """gitcoord.yaml at a coordination commit; None when absent or unreadable (a repair must stay possible)."""
    if not commit or commit == ZERO:
        return None
    try:
        entry = _tree_entry(repo[commit].peel(pygit2.Tree), "gitcoord.yaml")
        if entry is None:
            return None
        obj = read_entity(repo, "gitcoord.yaml", entry.id)
    except (Unreadable, KeyError, ValueError, pygit2.GitError):
        return None
    return obj if isinstance(obj, dict) else None


def load_at(repo: pygit2.Repository, commit: str | None, path: str) -> Any:
    """One entity at a coordination commit (None when absent or unreadable)."""
    if not commit or commit == ZERO:
        return None
    try:
        entry = _tree_entry(repo[commit].peel(pygit2.Tree), path)
        return read_entity(repo, path, entry.id) if entry is not None else None
    except (Unreadable, KeyError, ValueError, pygit2.GitError):
        return None


# --------------------------------------------------------------------------- who is acting


@dataclass
class Authority:
    """Who may do what, from the configuration before the push and the server's own settings."""

    config: dict[str, Any]
    server_maintainers: set[str] = field(default_factory=set)
    pusher: str | None = None  # the forge-authenticated agent, in identity mode "pusher"
    verify: Callable[[pygit2.Commit], str | None] | None = None  # signed mode: the verified signer
    claims: dict[str, tuple[str, str]] = field(default_factory=dict)  # the server's claim refs (claims.py)
    claim_tips: tuple[tuple[str, str], ...] = ()

    def view(self, repo: pygit2.Repository, commit: str | None) -> Any:
        """The state at coordination ``commit`` with the server's claims laid over it."""
        from gitcoord.store import Snapshot

        view = Snapshot(repo, commit)
        view.claim_tips, view._claims = self.claim_tips, dict(self.claims)
        return view

    @property
    def maintainers(self) -> set[str]:
        names = set(self.server_maintainers)
        for agent in self.config.get("agents") or []:
            if isinstance(agent, dict) and MAINTAINER in (agent.get("roles") or []) and agent.get("name"):
                names.add(agent["name"])
        return names

    def is_maintainer(self, agent: str | None) -> bool:
        """May ``agent`` make maintainer-only changes? Everyone may while nobody is named (bootstrap)."""
        names = self.maintainers
        return not names or (agent is not None and agent in names)

    def overrides(self, agent: str | None) -> bool:
        """May ``agent`` act on other agents' claims and locks? Only a named maintainer, ever."""
        return agent is not None and agent in self.maintainers

    @property
    def mode(self) -> str:
        return ((self.config.get("identity") or {}).get("mode")) or "none"

    def actor(self, commit: pygit2.Commit) -> tuple[str | None, str | None]:
        """(agent, problem): who made a pushed commit, or why that cannot be accepted."""
        asserted = commit_agent(commit)
        if self.mode == "signed" and self.verify is not None:
            signer = self.verify(commit)
            if signer is None:
                return None, (f"commit {str(commit.id)[:10]} is not signed by a known agent key "
                              f"(identity.mode: signed)")
            if asserted and asserted != signer:
                return None, f"commit {str(commit.id)[:10]} says it is by {asserted} but is signed by {signer}"
            return signer, None
        if self.mode == "pusher":
            if self.pusher is None:
                return None, "the server gave no pusher identity (identity.mode: pusher)"
            if asserted and asserted != self.pusher and not self.is_maintainer(self.pusher):
                return None, (f"commit {str(commit.id)[:10]} says it is by {asserted}, but {self.pusher} "
                              f"is pushing it")
            return asserted or self.pusher, None
        return asserted, None

    def push_agent(self) -> str | None:
        """The verified pusher of the whole push (pusher mode only)."""
        return self.pusher if self.mode == "pusher" else None


def server_maintainers(repo: pygit2.Repository) -> set[str]:
    """``git config --add gitcoord.maintainer NAME [KEY…]`` on the server: names a push cannot change."""
    names: set[str] = set()
    try:
        for value in repo.config.get_multivar("gitcoord.maintainer"):
            name = value.split()[0] if value.split() else ""
            if is_agent_name(name):
                names.add(name)
    except (KeyError, pygit2.GitError):
        pass
    return names


def pusher_agent(config: dict[str, Any], environ: dict[str, str] | None = None) -> str | None:
    """The forge's authenticated user, mapped to an agent (``identity.pushers``; else the same name)."""
    env = os.environ if environ is None else environ
    identity = config.get("identity") or {}
    variables = [identity["pusher_env"]] if identity.get("pusher_env") else list(PUSHER_VARS)
    for var in variables:
        user = env.get(var)
        if user:
            mapped = (identity.get("pushers") or {}).get(user, user)
            return mapped if is_agent_name(mapped) else None
    return None


def authority(repo: pygit2.Repository, coord_tip: str | None) -> Authority:
    config = config_at(repo, coord_tip) or {}
    auth = Authority(config, server_maintainers(repo))
    if auth.mode == "pusher":
        auth.pusher = pusher_agent(config)
    elif auth.mode == "signed":
        from gitcoord import signing

        auth.verify = signing.verifier(repo, config)
    return auth


# --------------------------------------------------------------------------- the coordination branch


def _now() -> datetime:
    from gitcoord import timeutil

    return timeutil.now()


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _expired(entry: dict[str, Any], lock: dict[str, Any], now: datetime) -> bool:
    until = _time(entry.get("expires_at") or lock.get("expires_at"))
    return until is not None and until <= now


def _queue_entry_live(entry: dict[str, Any], now: datetime) -> bool:
    until, lease = _time(entry.get("until")), _time(entry.get("lease_until"))
    return (until is None or until > now) and (lease is None or lease > now)


@dataclass
class _Change:
    path: str
    kind: str
    old: Any
    new: Any  # None when deleted


def guard_coordination(repo: pygit2.Repository, old: str, new: str, auth: Authority, *,
                       now: datetime | None = None) -> list[str]:
    """Problems with moving the coordination branch from ``old`` to ``new`` (empty: accept)."""
    now = now or _now()
    if new == ZERO:
        return ["deleting the coordination branch is not allowed (it would switch the server hook off)"]
    if old != ZERO and not repo.descendant_of(new, old) and new != old:
        return ["only fast-forward updates are allowed on the coordination branch (a rewind would undo "
                "others' claims and locks); fetch, rebuild your change on the current tip and push again"]
    # Judge each step of the first-parent chain from the current tip to the pushed one: every
    # change to the state shows in some step, whatever other parents a merge brings along (a
    # merge with an orphan "clean" tree as first parent would otherwise drop others' locks).
    chain, problem = _first_parent_chain(
        repo, old, new, kind="coordination",
        unrelated="the pushed coordination history does not extend the current tip along first parents")
    if problem:
        return [problem]
    for commit in chain:
        problems = _guard_commit(repo, commit, auth, now)
        if problems:
            return problems  # one refused commit refuses the push; its first problems are enough
    return []


def _first_parent_chain(repo: pygit2.Repository, old: str, new: str, *, kind: str,
                        unrelated: str) -> tuple[list[pygit2.Commit], str | None]:
    """The pushed commits from ``old`` (exclusive) to ``new`` along first parents, oldest first, or
    why they cannot be judged: too many (``kind`` names them), or not extending ``old`` (``unrelated``)."""
    chain: list[pygit2.Commit] = []
    commit = repo[new].peel(pygit2.Commit)
    while str(commit.id) != old:
        chain.append(commit)
        if len(chain) > MAX_PUSHED_COMMITS:
            return [], f"more than {MAX_PUSHED_COMMITS} {kind} commits in one push; push in parts"
        if not commit.parents:
            if old == ZERO:
                break
            return [], unrelated
        commit = commit.parents[0]
    chain.reverse()
    return chain, None


def guard_agent_events(repo: pygit2.Repository, owner: str, old: str, new: str, auth: Authority) -> list[str]:
    """Problems with moving ``owner``'s own event log (``refs/gitcoord/agents/<owner>``) from ``old``
    to ``new`` (empty: accept). The trust rule of ``inbox/<agent>.json``: only its agent writes it;
    and the rule of events on the branch: append-only event files, each written as that agent."""
    if not is_agent_name(owner):
        return [f"{owner!r} is not a valid agent name, so it has no event log"]
    if new == ZERO:
        return [f"deleting {owner}'s event log is not allowed (events are append-only)"]
    if old != ZERO and new != old and not repo.descendant_of(new, old):
        return [f"only fast-forward updates are allowed on {owner}'s event log (events are append-only)"]
    chain, problem = _first_parent_chain(
        repo, old, new, kind="event",
        unrelated=f"the pushed history does not extend {owner}'s event log along first parents")
    if problem:
        return [problem]
    for commit in chain:
        sha = str(commit.id)[:10]
        agent, problem = auth.actor(commit)
        if problem:
            return [problem]
        if agent != owner:
            return [f"commit {sha} is by {agent or 'nobody (no Gitcoord-Agent trailer)'}: only {owner} "
                    f"appends to {owner}'s event log"]
        parent = commit.parents[0] if commit.parents else None
        old_tree = parent.tree if parent is not None else repo[repo.TreeBuilder().write()]
        for delta in old_tree.diff_to_tree(commit.tree).deltas:
            path = delta.new_file.path or delta.old_file.path
            if entity_kind(path) != "event":
                return [f"{path}: an agent's event log holds event files only (commit {sha})"]
            if delta.status != pygit2.enums.DeltaStatus.ADDED:
                return [f"{path}: event records are append-only (commit {sha})"]
            if delta.new_file.mode != pygit2.GIT_FILEMODE_BLOB:
                return [f"{path}: must be a regular file (mode {delta.new_file.mode:o}) (commit {sha})"]
            try:
                event = read_entity(repo, path, delta.new_file.id)
            except Unreadable as exc:
                return [f"{exc} (commit {sha})"]
            if event.get("agent") != owner:
                return [f"{path}: written as {event.get('agent')!r} in {owner}'s event log (commit {sha})"]
    return []


def guard_claim(repo: pygit2.Repository, task_id: str, old: str, new: str, auth: Authority,
                coord_tip: str | None, coord_pushed: bool) -> list[str]:
    """Problems with moving task ``task_id``'s claim ref from ``old`` to ``new`` (empty: accept).

    A claim is the claiming agent's own legal move of the task, as the coordination branch holds
    it at ``coord_tip`` (after this push), from planned/ready to in_progress; a claim still laid
    over the branch is never replaced. A seal comes with a coordination write in the same push."""
    from gitcoord import claims

    path = f"tasks/{task_id}.yaml"
    if new == ZERO:
        return [f"claim refs are never deleted (task {task_id})"]
    try:
        commit = repo[new].peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return [f"the claim of task {task_id} is not a commit"]
    sha = str(commit.id)[:10]
    agent, problems = _commit_actor(auth, commit, "claims")
    if agent is None:
        return problems
    tree = repo[coord_tip].peel(pygit2.Tree) if coord_tip else None
    entry = _tree_entry(tree, path)
    current = str(entry.id) if entry is not None else None
    if old != ZERO:
        held = claims.read_overlay(repo, [(task_id, old)]).get(path)
        if held is not None and held[0] == current:
            holder = commit_agent(repo[old].peel(pygit2.Commit)) or "another agent"
            return [f"task {task_id} is already claimed by {holder}; fetch and pick another with `gitcoord next`"]
    op = commit_op(commit)
    if op == claims.SEAL_OP:
        if not coord_pushed and not auth.overrides(agent):
            return [f"a seal of task {task_id} comes with the coordination write that changes the task"]
        return []
    if op != claims.CLAIM_OP:
        return [f"commit {sha}: a claim ref holds claims ({claims.CLAIM_OP}) and seals ({claims.SEAL_OP}) only"]
    overlay = claims.read_overlay(repo, [(task_id, new)]).get(path)
    if overlay is None or len(commit.tree) != 1 or len(commit.tree["tasks"].peel(pygit2.Tree)) != 1:
        return [f"commit {sha}: a claim holds tasks/{task_id}.yaml alone, with its Gitcoord-Claim-Base"]
    if overlay[0] != current:
        return [f"the claim of task {task_id} was made on a state that moved on; fetch and claim again"]
    try:
        before = read_entity(repo, path, pygit2.Oid(hex=overlay[0]))
        after = read_entity(repo, path, pygit2.Oid(hex=overlay[1]))
    except Unreadable as exc:
        return [f"{exc} (commit {sha})"]
    if before.get("status") not in claims.CLAIMABLE or after.get("status") != "in_progress" \
            or after.get("agent") != agent:
        return [f"{path}: a claim moves a planned or ready task to in_progress by the claiming agent "
                f"(commit {sha}, by {agent})"]
    found = _judge_task(_Change(path, "task", before, after), agent, auth.is_maintainer(agent),
                        auth.overrides(agent), False)
    return [f"{p} (commit {sha}, by {agent})" for p in found]


def _commit_actor(auth: Authority, commit: pygit2.Commit, changes: str) -> tuple[str | None, list[str]]:
    """Who made a pushed commit, or (None, the problem) when that cannot be accepted."""
    agent, problem = auth.actor(commit)
    if problem:
        return None, [problem]
    if agent is None:
        return None, [f"commit {str(commit.id)[:10]} has no valid Gitcoord-Agent trailer: {changes} are made "
                      "with gitcoord"]
    return agent, []


def _guard_commit(repo: pygit2.Repository, commit: pygit2.Commit, auth: Authority, now: datetime) -> list[str]:
    sha = str(commit.id)[:10]
    agent, refused = _commit_actor(auth, commit, "coordination changes")
    if agent is None:
        return refused
    parent = commit.parents[0] if commit.parents else None
    old_tree = parent.tree if parent is not None else repo[repo.TreeBuilder().write()]
    diff = old_tree.diff_to_tree(commit.tree)
    changes: list[_Change] = []
    problems: list[str] = []
    for delta in diff.deltas:
        path = delta.new_file.path or delta.old_file.path
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            return [f"commit {sha}: a file name is not UTF-8"]
        kind = entity_kind(path)
        if kind is None:
            problems.append(f"{path}: not a gitcoord entity path (commit {sha})")
            continue
        added = delta.status != pygit2.enums.DeltaStatus.DELETED
        if added and delta.new_file.mode != pygit2.GIT_FILEMODE_BLOB:
            problems.append(f"{path}: must be a regular file (mode {delta.new_file.mode:o}) (commit {sha})")
            continue
        existed = delta.status != pygit2.enums.DeltaStatus.ADDED
        old_id = delta.old_file.id
        claim = auth.claims.get(path) if kind == "task" and existed else None
        if claim is not None and str(old_id) == claim[0]:
            old_id = pygit2.Oid(hex=claim[1])  # claimed meanwhile: the change is judged against the claim
        try:
            before = (path if kind == "snapshot" else read_entity(repo, path, old_id)) \
                if existed else None
        except Unreadable:
            before = None  # repairing a bad file is allowed; its old content cannot be judged
        try:
            if not added:
                after = None
            elif kind == "snapshot":
                _snapshot_ok(repo, path, delta.new_file.id)
                after = path
            else:
                after = read_entity(repo, path, delta.new_file.id)
        except Unreadable as exc:
            problems.append(f"{exc} (commit {sha})")
            continue
        changes.append(_Change(path, kind, before, after))
    if problems:
        return problems
    found = _judge(repo, changes, agent, auth, now, commit)
    if not found and not auth.overrides(agent):
        found = _judge_new_holds(repo, changes, agent, commit, now, auth)
    who = f"; maintainers: {', '.join(sorted(auth.maintainers))}" if auth.maintainers else ""
    return [f"{p} (commit {sha}, by {agent}{who if 'maintainer' in p else ''})" for p in found]


def _judge_new_holds(repo: pygit2.Repository, changes: list[_Change], agent: str, commit: pygit2.Commit,
                     now: datetime, auth: Authority) -> list[str]:
    """A hold the agent gives itself must be one the client would have granted: not its own answer to
    its own request, not on paths another agent's active task owns, not against another live hold."""
    taken = [c for c in changes if c.kind == "lock" and isinstance(c.new, dict)
             and agent in _holders(c.new) and agent not in _holders(c.old)]
    if not taken:
        return []
    from gitcoord import locks, timeutil
    from gitcoord.store import Snapshot

    view = auth.view(repo, str(commit.id))
    out: list[str] = []
    for c in taken:
        lock = c.new
        if any(e.get("agent") == agent and e.get("needs") for e in _queue(c.old)):
            needs = next(e["needs"] for e in _queue(c.old) if e.get("agent") == agent and e.get("needs"))
            out.append(f"{c.path}: only {needs.get('agent')} grants {agent}'s request {lock.get('id')}")
            continue
        mine = {**lock, "holders": [_holders(lock)[agent]]}
        other = locks.conflicting_lock(view, mine, exclude_path=c.path, now=timeutil.iso(now))
        if other is not None:
            holders = ", ".join(h.get("agent", "?") for h in other.get("holders") or [])
            out.append(f"{c.path}: {lock.get('type')} lock on {lock.get('resource')} conflicts with lock "
                       f"{other.get('id')} held by {holders}")
            continue
        if c.old is None or lock.get("resource") != (c.old or {}).get("resource"):
            owners = locks._owning_tasks(view, agent, lock.get("resource", ""), lock.get("type", ""),
                                         _holders(lock)[agent].get("task"))
            if owners:
                o = owners[0]
                out.append(f"{c.path}: {lock.get('resource')} is owned by task {o.get('id')} of {o.get('agent')}; "
                           f"a lock on it is requested with `gitcoord lock acquire` and granted by {o.get('agent')}")
    return out


def _snapshot_ok(repo: pygit2.Repository, path: str, oid: pygit2.Oid) -> None:
    _kind, size = repo.odb.read_header(oid)
    if size > EXTRA_FILE_BYTES:
        raise Unreadable(f"{path}: {size} bytes; contract snapshots are limited to {EXTRA_FILE_BYTES}")
    try:
        repo[oid].data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable(f"{path}: not UTF-8") from None


def _judge(repo: pygit2.Repository, changes: list[_Change], agent: str, auth: Authority, now: datetime,
           commit: pygit2.Commit) -> list[str]:
    maint = auth.is_maintainer(agent)  # maintainer-only changes (open to all while nobody is named)
    override = auth.overrides(agent)  # acting on others' claims and locks: a named maintainer only
    broken = {c.new.get("data", {}).get("lock") for c in changes
              if c.kind == "event" and c.old is None and isinstance(c.new, dict) and c.new.get("type") == "lock.broken"}
    finished = {c.new["id"] for c in changes if c.kind == "task" and isinstance(c.new, dict)
                and c.new.get("status") in ("merged", "cancelled")}
    landing = any(c.kind == "merge" and c.old is None and c.new is not None for c in changes)
    out: list[str] = []
    for c in changes:
        if c.kind == "config":
            if c.new is None:
                out.append("gitcoord.yaml: the configuration cannot be deleted")
            elif c.old is not None and not maint and not _declares_only_self(c.old, c.new, agent):
                out.append("gitcoord.yaml: only a maintainer changes the configuration")
        elif c.kind == "task":
            out.extend(_branch_names_task(c, auth) or _judge_task(c, agent, maint, override, landing))
        elif c.kind == "lock":
            out.extend(_judge_lock(c, agent, override, now, broken, finished))
        elif c.kind in ("event", "merge"):
            if c.old is not None or c.new is None:
                out.append(f"{c.path}: {c.kind} records are append-only")
            elif c.new.get("agent") != agent and not (c.kind == "event" and override):
                # A named maintainer may record events for an agent (`gitcoord run` claims and reports for
                # the agents it drives); the commit still names who wrote them.
                out.append(f"{c.path}: written as {c.new.get('agent')!r}, but the commit is by {agent} "
                           "(only a named maintainer, such as the one running `gitcoord run`, writes events "
                           "for another agent)")
        elif c.kind == "inbox":
            # what an agent has read is its own business: only it (or a named maintainer) writes it
            owner = c.path[len("inbox/"):-len(".json")]
            if owner != agent and not override:
                out.append(f"{c.path}: only {owner} marks {owner}'s inbox items read, not {agent}")
            elif c.new is not None and c.new.get("agent") != owner:
                out.append(f"{c.path}: records the inbox of {c.new.get('agent')!r}, not of {owner}")
        elif c.kind == "snapshot":
            if c.new is None or c.old is not None:
                out.append(f"{c.path}: approved contract snapshots never change")
        elif c.kind == "contract":
            if c.new is None:
                if not maint:
                    out.append(f"{c.path}: only a maintainer removes a contract")
            elif c.old is not None and not override:
                out.extend(_judge_contract(repo, c, agent, commit))
    return out


# What a contract's owner decides; the consumers list (and bookkeeping) stays open to everyone.
_CONTRACT_OWNED = ("spec", "kind", "owner", "provided_by", "approved", "status", "version", "sunset", "deprecated_at")


def _judge_contract(repo: pygit2.Repository, c: _Change, agent: str, commit: pygit2.Commit) -> list[str]:
    """Approvals are history: appended only, each in its approver's own name. The spec, kind, status
    and approvals of a contract change only by its owner or the agent of its providing task (a named
    maintainer may do anything); a contract that names neither stays open to all."""
    old, new = c.old, c.new
    name = new.get("name") or c.path
    before, after = list(old.get("approved") or []), list(new.get("approved") or [])
    if after[:len(before)] != before:
        return [f"{c.path}: the approved versions of contract {name} are history: append a new version "
                "(`gitcoord contract approve`), never rewrite one"]
    for entry in after[len(before):]:
        if isinstance(entry, dict) and entry.get("approved_by") not in (None, agent):
            return [f"{c.path}: approval of {name} {entry.get('version')} recorded as "
                    f"{entry.get('approved_by')!r}, but the commit is by {agent}"]
    changed = sorted(k for k in _CONTRACT_OWNED if old.get(k) != new.get(k))
    if not changed:
        return []
    deciders = {old.get("owner")} | {_task_agent(repo, commit, old.get("provided_by"))}
    deciders.discard(None)
    if not deciders or agent in deciders:
        return []
    ask = shlex.quote(f"please change {', '.join(changed)} of contract {name}")
    return [f"{c.path}: contract {name} is decided by {' or '.join(sorted(deciders))}; only they (or a "
            f"maintainer) change its {', '.join(changed)}; ask: gitcoord msg request --to {sorted(deciders)[0]} "
            f"--regarding {name} --request {ask}"]


def _task_agent(repo: pygit2.Repository, commit: pygit2.Commit, task_id: Any) -> str | None:
    """The agent holding ``task_id`` as of ``commit`` (None when unknown or unreadable)."""
    if not isinstance(task_id, str) or not task_id:
        return None
    path = f"tasks/{task_id}.yaml"
    try:
        task = read_entity(repo, path, commit.tree[path].id)
    except (KeyError, Unreadable):
        return None
    agent = task.get("agent") if isinstance(task, dict) else None
    return agent if isinstance(agent, str) else None


def _declares_only_self(old: dict[str, Any], new: dict[str, Any], agent: str) -> bool:
    """``config add-agent``: a newcomer may declare itself (no roles that grant power, no key)."""
    if {k: v for k, v in old.items() if k != "agents"} != {k: v for k, v in new.items() if k != "agents"}:
        return False
    before = [a for a in old.get("agents") or []]
    after = [a for a in new.get("agents") or []]
    if after[:len(before)] != before or len(after) != len(before) + 1:
        return False
    entry = after[-1]
    return (isinstance(entry, dict) and entry.get("name") == agent and not entry.get("signing_key")
            and MAINTAINER not in (entry.get("roles") or []))


def _branch_names_task(c: _Change, auth: Authority) -> list[str]:
    """A branch recorded on a task must be that task's branch by the template: a task that records
    another task's branch name would make its holder the holder of that branch."""
    new, old = c.new, c.old or {}
    branch = new.get("branch") if isinstance(new, dict) else None
    if not branch or branch == old.get("branch"):
        return []
    from gitcoord.branches import parse_branch
    from gitcoord.errors import UsageError
    from gitcoord.store import DEFAULT_CONFIG

    template = auth.config.get("branch_template") or DEFAULT_CONFIG["branch_template"]
    try:
        fields = parse_branch(branch, template) or {}
    except UsageError:
        fields = {}
    if str(fields.get("task") or "").lower() != str(new.get("id") or "").lower():
        return [f"{c.path}: branch {branch} does not name task {new.get('id')} by the template {template}"]
    return []


def _judge_task(c: _Change, agent: str, maint: bool, override: bool, landing: bool) -> list[str]:
    old, new = c.old, c.new
    if new is None:
        return [] if maint else [f"{c.path}: only a maintainer deletes a task"]
    if old is None:
        if new.get("status") in _PLANNING or maint:
            return []
        return [f"{c.path}: a new task starts as planned or ready; only a maintainer creates one "
                f"{new.get('status')}"]
    if override:
        return []
    from gitcoord.tasks import TRANSITIONS

    s0, s1 = old.get("status"), new.get("status")
    holder = old.get("agent")
    if s0 != s1:
        if s0 in _PLANNING and s1 in _PLANNING:
            pass  # readiness is refreshed by whoever writes
        elif s1 not in TRANSITIONS.get(s0, ()):
            return [f"{c.path}: {s0} -> {s1} is not a legal transition"]
        elif s1 == "merged":
            if not landing:
                return [f"{c.path}: a task becomes merged only with a merge run record"]
        elif s1 == "in_progress" and s0 in _PLANNING:
            if new.get("agent") != agent:
                return [f"{c.path}: a claim is made by the claiming agent ({new.get('agent')} != {agent})"]
            if holder and holder != agent:
                return [f"{c.path}: task {new.get('id')} is assigned to {holder}; only a maintainer reassigns it"]
        elif holder and holder != agent:
            return [f"{c.path}: task {new.get('id')} is held by {holder}; only they (or a maintainer) change it"]
    elif new.get("agent") != holder and s0 not in _PLANNING:
        return [f"{c.path}: only a maintainer reassigns task {new.get('id')} (held by {holder})"]
    if old.get("branch") and new.get("branch") != old.get("branch"):
        return [f"{c.path}: the branch of task {new.get('id')} is {old.get('branch')}; only a maintainer changes it"]
    changed = {k for k in set(old) | set(new) if old.get(k) != new.get(k)} - _BOOKKEEPING
    if not changed:
        return []
    if changed & {"owns", "depends_on"} and (s0 in _HELD or s1 in _HELD) and not maint:
        return [f"{c.path}: {'/'.join(sorted(changed & {'owns', 'depends_on'}))} of task {new.get('id')} "
                f"({s0}) change only by a maintainer"]
    if s0 in _PLANNING or not holder or holder == agent:
        return []  # planning: anyone edits a task nobody holds yet
    return [f"{c.path}: task {new.get('id')} is held by {holder}; only they (or a maintainer) edit it"]


def _holders(lock: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(lock, dict):
        return {}
    return {h.get("agent"): h for h in lock.get("holders") or [] if isinstance(h, dict)}


def _queue(lock: Any) -> list[dict[str, Any]]:
    return [e for e in (lock.get("queue") or []) if isinstance(e, dict)] if isinstance(lock, dict) else []


def _judge_lock(c: _Change, agent: str, override: bool, now: datetime, broken: set[Any],
                finished: set[str]) -> list[str]:
    old, new = c.old or {}, c.new or {}
    lock_id = (new or old).get("id") or c.path
    before, after = _holders(c.old), _holders(c.new)
    out: list[str] = []
    q0, q1 = _queue(c.old), _queue(c.new)
    asked_of_me = {e.get("agent") for e in q0 if (e.get("needs") or {}).get("agent") == agent}  # lock requests
    for name, entry in after.items():
        if name not in before and name != agent and name not in asked_of_me:
            out.append(f"{c.path}: {agent} cannot make {name} a holder of lock {lock_id}")
        elif name in before and name != agent and entry != before[name] and not override:
            out.append(f"{c.path}: only {name} renews or changes their hold on lock {lock_id}")
    for name, entry in before.items():
        if name in after or name == agent or override:
            continue
        task = entry.get("task") if "task" in entry else old.get("task")
        if _expired(entry, old, now) or lock_id in broken or (task and task in finished):
            continue
        out.append(f"{c.path}: {name}'s lock {lock_id} is not {agent}'s to release; "
                   f"an audited `gitcoord lock break {lock_id} --reason ...` can")
    for entry in q1:
        if entry not in q0 and entry.get("agent") != agent:
            out.append(f"{c.path}: {agent} cannot queue {entry.get('agent')} for lock {lock_id}")
    for entry in q0:
        if entry in q1 or entry.get("agent") == agent or override or lock_id in broken \
                or (entry.get("needs") or {}).get("agent") == agent:  # the owner answers a request
            continue
        if _queue_entry_live(entry, now) and not any(e.get("agent") == entry.get("agent") for e in q1):
            out.append(f"{c.path}: {agent} cannot drop {entry.get('agent')} from the queue of lock {lock_id}")
    others = [n for n in before if n != agent and n in after]
    if before and others and (old.get("resource") != new.get("resource")) and not override:
        out.append(f"{c.path}: the resource of lock {lock_id} changes only with its holders")
    return out


# --------------------------------------------------------------------------- the base branch


def landing_record(repo: pygit2.Repository, old: str, new: str) -> list[dict[str, Any]]:
    """Merge-run records added by a push of the coordination branch (``old`` → ``new``)."""
    if new == ZERO:
        return []
    walker = repo.walk(new, pygit2.enums.SortMode.TOPOLOGICAL)
    if old != ZERO:
        walker.hide(old)
    records = []
    for commit in walker:
        if commit_op(commit) != "merge.run":
            continue
        parent = commit.parents[0].tree if commit.parents else repo[repo.TreeBuilder().write()]
        for delta in parent.diff_to_tree(commit.tree).deltas:
            path = delta.new_file.path
            if entity_kind(path) == "merge" and delta.status == pygit2.enums.DeltaStatus.ADDED:
                try:
                    record = read_entity(repo, path, delta.new_file.id)
                except Unreadable:
                    continue
                if isinstance(record, dict):
                    records.append(record)
    return records


def _landing_problems(repo: pygit2.Repository, ref: str, old: str, new: str, record: dict[str, Any],
                      coord_before: str, auth: Authority) -> list[str]:
    """A landing may change only paths of the tasks it merged (or paths no task owns): a merge record
    written by hand cannot carry someone else's files onto the base."""
    from gitcoord.owners import load_tasks, ownership_view
    from gitcoord.store import Snapshot

    merged = set(record.get("merged") or [])
    before = repo[old].peel(pygit2.Tree) if old != ZERO else repo[repo.TreeBuilder().write()]
    paths = [d.new_file.path or d.old_file.path for d in before.diff_to_tree(repo[new].peel(pygit2.Tree)).deltas]
    if not paths:
        return []
    view = auth.view(repo, coord_before if coord_before != ZERO else None)
    own = ownership_view(view, load_tasks(view), paths)
    owners = own.task_owners_many(paths)
    foreign = [(p, owners[p]) for p in paths if owners[p] and not merged.intersection(owners[p])]
    if not foreign:
        return []
    path, tasks = foreign[0]
    return [f"{ref}: the landing changes {path}, owned by task {', '.join(tasks)}, which it does not merge "
            f"({len(foreign)} such path(s))"]


def guard_base(repo: pygit2.Repository, ref: str, old: str, new: str, auth: Authority,
               coord_update: tuple[str, str] | None) -> list[str]:
    """``policies.server_base: check``: the base moves only by a merge-run landing recorded in the
    same atomic push, or by a maintainer (whose identity is verified in pusher or signed mode)."""
    if ((auth.config.get("policies") or {}).get("server_base") or "allow") != "check":
        return []
    if new == ZERO:
        return [f"{ref}: the base branch cannot be deleted"]
    if coord_update is not None:
        for record in landing_record(repo, *coord_update):
            if record.get("into") == ref and record.get("after") == new and record.get("before") == old:
                return _landing_problems(repo, ref, old, new, record, coord_update[0], auth)
    tip = repo[new].peel(pygit2.Commit)
    who, problem = auth.actor(tip)
    if problem is None and auth.overrides(who):
        return []
    return [f"{ref} moves only by `gitcoord merge run --push` (the landing recorded in the same atomic push) "
            f"or by a maintainer (policies.server_base: check)"]


# --------------------------------------------------------------------------- task branches


def guard_task_branch(repo: pygit2.Repository, branch: str, old: str, new: str, task: dict[str, Any] | None,
                      auth: Authority, commits: list[pygit2.Commit]) -> list[str]:
    """A task branch is written only by its task's holder (and maintainers): no commits asserted by
    someone else, no rewind or deletion by anyone else, no second branch name for another's task."""
    if task is None:
        return []
    holder = task.get("agent")
    task_id = task.get("id")
    pusher = auth.push_agent()
    if auth.mode == "pusher" and pusher is None:
        return ["the server gave no pusher identity (identity.mode: pusher)"]

    def entitled(name: str | None) -> bool:
        return name is not None and (not holder or name == holder or (bool(auth.maintainers) and
                                                                      name in auth.maintainers))

    recorded = task.get("branch")
    if recorded and recorded != branch and not (pusher and entitled(pusher)):
        return [f"branch {branch} maps to task {task_id}, whose branch is {recorded} (held by {holder}); "
                f"push to that branch, or work on your own task"]
    if new == ZERO:
        if task.get("status") in ("merged", "cancelled") or (pusher and entitled(pusher)):
            return []
        return [f"deleting {branch} is not allowed: task {task_id} is {task.get('status')} and held by {holder}"
                + ("" if pusher else " (identity is unverified here, so nobody deletes it before the task ends)")]
    asserted: list[str | None] = []
    for commit in commits:
        if auth.mode == "signed" and auth.verify is not None:
            who = auth.verify(commit)  # signed mode: every new commit carries a known agent's signature
            problem = None if who else (f"commit {str(commit.id)[:10]} is not signed by a known agent key "
                                        f"(identity.mode: signed; git config commit.gpgsign true)")
        elif auth.mode == "pusher":
            who, problem = auth.actor(commit)
        else:
            who, problem = commit_agent(commit), None
        if problem:
            return [problem]
        asserted.append(who)
        if who is not None and not entitled(who):
            return [f"commit {str(commit.id)[:10]} is by {who}, but {branch} belongs to task {task_id} "
                    f"held by {holder}"]
    if old != ZERO and new != old and not repo.descendant_of(new, old):
        by_holder = bool(asserted) and all(entitled(a) for a in asserted)
        if not (pusher and entitled(pusher)) and not (auth.mode != "pusher" and by_holder):  # noqa: SIM102
            return [f"non-fast-forward update of {branch} (task {task_id}, held by {holder}) refused: it would "
                    f"drop commits; only the holder rewrites it (push a revert instead)"]
    return []
