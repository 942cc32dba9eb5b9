"""Git hooks: installing the shims, and what each hook does when git runs it.

The shims in the top-level ``hooks/`` folder are tiny POSIX sh scripts that run a hook that
was already installed (kept as ``<name>.gitcoord-orig``) first, then ``gitcoord hook run
<name>``. Everything else lives here:

- ``pre-commit``  — staged paths against the acting task's ownership, others' locks, the
  unowned policy (branch-name problems are warnings here);
- ``commit-msg``  — adds a ``Task: <ID>`` trailer when the branch names a task;
- ``pre-push``    — per pushed ref: the branch name, and every commit being pushed;
- ``pre-receive`` — the server's version of pre-push, keyed on the pushed branch's task; it
  reads the coordination branch from its own repository and ignores GITCOORD_SKIP.

Fail closed: when the store cannot be read, a client or server hook blocks with one line,
unless ``policies.on_error: allow``. ``GITCOORD_SKIP=1`` lets a client hook through and
records a ``hook.skipped`` event; ``GITCOORD_INTERNAL=1`` (gitcoord's own git calls) makes the
client hooks do nothing. The library never prints: ``run_hook`` returns the exit code and the
lines to show.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from gitcoord.errors import UsageError

CLIENT_HOOKS = ("pre-commit", "commit-msg", "pre-push")
SERVER_HOOKS = ("pre-receive",)
ALL_HOOKS = CLIENT_HOOKS + SERVER_HOOKS
ORIG_SUFFIX = ".gitcoord-orig"
SHIM_MARKER = "gitcoord hook shim"
_PYTHON_PLACEHOLDER = "@GITCOORD_PYTHON@"
ZERO = "0" * 40


# --------------------------------------------------------------------------- install / uninstall


def shim_dir() -> Path:
    """The shipped shims: ``gitcoord/_hooks`` in a wheel, ``hooks/`` beside the package in a checkout."""
    pkg = Path(__file__).resolve().parent
    for candidate in (pkg / "_hooks", pkg.parent / "hooks"):
        if (candidate / "pre-commit").is_file():
            return candidate
    raise UsageError("gitcoord's hook shims are missing from the installation (expected gitcoord/_hooks)")


def hooks_dir(repo: Any) -> Path:
    """Where git looks for hooks: ``core.hooksPath`` (relative to the work tree, or to the git dir in a
    bare repository), else the common dir's ``hooks`` (shared by all linked worktrees)."""
    from gitcoord import gitutil

    configured = gitutil.git_config_get(repo, "core.hooksPath")
    if configured:
        path = Path(os.path.expanduser(configured))
        if not path.is_absolute():
            base = Path(repo.workdir) if repo.workdir else gitutil.common_dir(repo)
            if repo.workdir and Path(repo.path).resolve() != (Path(repo.workdir) / ".git").resolve():
                # a linked worktree: hooks run from its own top level, which shares the config
                base = Path(repo.workdir)
            path = base / path
        return path
    return gitutil.common_dir(repo) / "hooks"


SERVER_SHIM_MARKER = "gitcoord server hook shim"


def is_shim(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(400)
    except OSError:
        return False
    return SHIM_MARKER.encode() in head or SERVER_SHIM_MARKER.encode() in head


@dataclass
class HookAction:
    hook: str
    path: str
    action: str  # installed | updated | chained | removed | restored | absent

    def to_dict(self) -> dict[str, str]:
        return {"hook": self.hook, "path": self.path, "action": self.action}


def _check_names(names: list[str] | None, server: bool, bare: bool) -> list[str]:
    if not names:
        if bare and not server:
            raise UsageError("this is a bare repository: client hooks never run here; use `hooks install --server`")
        return list(SERVER_HOOKS if server else CLIENT_HOOKS)
    for name in names:
        if name not in ALL_HOOKS:
            raise UsageError(f"--hook {name!r}: unknown hook (choose from {', '.join(ALL_HOOKS)})")
    return list(dict.fromkeys(names))


def install(repo: Any, names: list[str] | None = None, *, server: bool = False,
            python: str | None = None) -> list[HookAction]:
    """Write the shims; an existing foreign hook is renamed to ``<name>.gitcoord-orig`` and chained.

    Idempotent: a shim already there is rewritten in place (picks up a newer shim).
    """
    selected = _check_names(names, server, repo.is_bare)
    directory = hooks_dir(repo)
    directory.mkdir(parents=True, exist_ok=True)
    source = shim_dir()
    interpreter = python or sys.executable or "python3"
    actions = []
    for name in selected:
        target = directory / name
        orig = directory / (name + ORIG_SUFFIX)
        action = "installed"
        if target.exists() or target.is_symlink():
            if is_shim(target):
                action = "updated"
            elif orig.exists() or orig.is_symlink():
                raise UsageError(f"{target}: a hook is there and {orig.name} exists too; "
                                 f"merge them by hand, then rerun `gitcoord hooks install`")
            else:
                os.replace(target, orig)
                action = "chained"
        text = (source / name).read_text().replace(_PYTHON_PLACEHOLDER, interpreter.replace("'", ""))
        tmp = directory / f".{name}.gitcoord-tmp"
        tmp.write_text(text)
        tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRUSR)
        os.replace(tmp, target)
        actions.append(HookAction(name, str(target), action))
    return actions


def uninstall(repo: Any, names: list[str] | None = None) -> list[HookAction]:
    """Remove the shims and put back the hooks they were chaining."""
    selected = list(ALL_HOOKS) if not names else _check_names(names, True, repo.is_bare)
    directory = hooks_dir(repo)
    actions = []
    for name in selected:
        target = directory / name
        orig = directory / (name + ORIG_SUFFIX)
        if not is_shim(target):
            continue  # not ours (or absent): leave it alone
        target.unlink()
        if orig.exists() or orig.is_symlink():
            os.replace(orig, target)
            actions.append(HookAction(name, str(target), "restored"))
        else:
            actions.append(HookAction(name, str(target), "removed"))
    return actions


def status(repo: Any) -> list[dict[str, Any]]:
    directory = hooks_dir(repo)
    return [{"hook": name, "path": str(directory / name), "installed": is_shim(directory / name),
             "chained": (directory / (name + ORIG_SUFFIX)).exists()} for name in ALL_HOOKS]


def identity_status(repo: Any) -> dict[str, Any]:
    """How the server hook knows who pushes: ``identity.mode`` from gitcoord.yaml, and whether that
    makes identity verified (signed commits with agents' keys, or the forge's pusher variable)."""
    from gitcoord import guard

    tip = None
    try:
        from gitcoord.store import Store

        tip = Store(repo).local_tip()
    except Exception:  # noqa: BLE001 — no coordination branch, or an odd one: report unverified
        tip = None
    config = guard.config_at(repo, tip) or {}
    auth = guard.Authority(config, guard.server_maintainers(repo))
    mode = auth.mode
    keyed = [a.get("name") for a in config.get("agents") or [] if isinstance(a, dict) and a.get("signing_key")]
    if mode == "signed":
        verified, note = bool(keyed), (f"SSH-signed coordination commits, checked against the keys of "
                                        f"{len(keyed)} agent(s)" if keyed else
                                        "identity.mode is signed but no agent has a signing_key: nothing verifies")
    elif mode == "pusher":
        var = (config.get("identity") or {}).get("pusher_env") or "/".join(guard.PUSHER_VARS)
        verified, note = True, f"the forge's authenticated pusher ({var}) mapped to agents"
    else:
        verified, note = False, ("identity is unverified: agents name themselves (Gitcoord-Agent trailers); "
                                 "verify it with `gitcoord config set identity.mode pusher` (or signed)")
    return {"mode": mode, "verified": verified, "note": note,
            "maintainers": sorted(auth.maintainers)}


# --------------------------------------------------------------------------- running


@dataclass
class HookOutcome:
    code: int
    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def run_hook(name: str, args: list[str], stdin: str = "", cwd: str | None = None) -> HookOutcome:
    """Run hook ``name`` as git would; never raises for store problems (fails closed instead)."""
    if name not in ALL_HOOKS:
        raise UsageError(f"hook {name!r}: unknown (gitcoord runs {', '.join(ALL_HOOKS)})")
    server = name in SERVER_HOOKS
    if not server and os.environ.get("GITCOORD_INTERNAL") == "1":
        return HookOutcome(0)
    from gitcoord import gitutil

    repo = gitutil.open_repo(cwd)
    if server:
        _add_quarantine(repo)
    runner = {"pre-commit": _pre_commit, "commit-msg": _commit_msg, "pre-push": _pre_push,
              "pre-receive": _pre_receive}[name]
    return runner(repo, args, stdin)


def _add_quarantine(repo: Any) -> None:
    """In pre-receive, pushed objects sit in a quarantine directory until the hook accepts them."""
    quarantine = os.environ.get("GIT_QUARANTINE_PATH") or os.environ.get("GIT_OBJECT_DIRECTORY")
    if quarantine and os.path.isdir(quarantine):
        repo.odb.add_disk_alternate(os.path.abspath(quarantine))


class _StoreProblem(Exception):
    def __init__(self, reason: str, allow: bool):
        super().__init__(reason)
        self.reason = reason
        self.allow = allow


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _open_store(repo: Any, *, remote: str | None = None, fetch: bool = False) -> tuple[Any, Any, list[str]]:
    """(store, snapshot, warnings); a snapshot that does not exist means gitcoord is not set up here."""
    from gitcoord.store import Store

    warnings: list[str] = []
    store = Store(repo, remote=remote)
    try:
        snap = store.snapshot(fetch=fetch)
    except Exception as exc:  # noqa: BLE001 — offline: fall back to what we have locally
        if not remote:
            raise
        warnings.append(f"gitcoord: could not fetch the coordination branch from '{remote}' "
                        f"({_one_line(exc)}); checking against the local copy")
        store = Store(repo, remote=None)
        snap = store.snapshot()
    return store, snap, warnings


def _on_error_allows(snap: Any) -> bool:
    try:
        return (snap.config.get("policies") or {}).get("on_error") == "allow"
    except Exception:  # noqa: BLE001 — an unreadable config cannot allow anything
        return False


class _PathRejected(Exception):
    """A changed path gitcoord refuses to reason about (backslash, line break…): not a store problem."""


def _reject_odd_paths(paths: Any) -> None:
    """Raise _PathRejected for the first path the check engine would refuse.

    Such a path must block the hook even under ``policies.on_error: allow``: otherwise adding
    one oddly named file would let every other path of the change through unchecked.
    """
    from gitcoord.paths import checkout_refusal, normalize_repo_path

    for path in paths:
        if checkout_refusal(path):
            continue  # the check engine reports it under the "path" rule
        try:
            normalize_repo_path(path)
        except UsageError as exc:
            raise _PathRejected(_one_line(exc)) from None


def _blocked(name: str, exc: BaseException, snap: Any) -> HookOutcome:
    if isinstance(exc, MemoryError):
        raise exc  # the memory ceiling: never "cannot read the store", which on_error: allow would let through
    if isinstance(exc, _PathRejected):
        return HookOutcome(1, [f"gitcoord {name}: blocked: {exc} (rename the file)"])

    reason = _one_line(exc)
    if snap is not None and _on_error_allows(snap):
        return HookOutcome(0, [f"gitcoord {name}: warning: cannot read the coordination store ({reason}); "
                               f"allowed by policies.on_error: allow"])
    escape = "" if name in SERVER_HOOKS else "; GITCOORD_SKIP=1 skips once (audited)"
    return HookOutcome(1, [f"gitcoord {name}: blocked: cannot read the coordination store: {reason} "
                           f"(fix it, or set policies.on_error: allow{escape})"])


def _agent(repo: Any, snap: Any, config: dict[str, Any] | None = None) -> str:
    from gitcoord.identity import resolve_agent

    config = config if config is not None else snap.config
    return resolve_agent(repo, None, config.get("branch_template"))[0]


def _remote_name(repo: Any) -> str | None:
    from gitcoord import gitutil

    return os.environ.get("GITCOORD_REMOTE") or gitutil.git_config_get(repo, "gitcoord.remote")


def _record_skip(repo: Any, hook: str, paths: list[str], branch: str | None, snap: Any) -> list[str]:
    """GITCOORD_SKIP=1: let the hook through, but leave an audit event on the (local) coordination branch."""
    if snap is None or not snap.exists:
        return [f"gitcoord {hook}: skipped (GITCOORD_SKIP=1); no coordination branch to record it on"]
    try:
        from gitcoord.store import Store

        agent = _agent(repo, snap)
        store = Store(repo, remote=None, agent=agent)

        def op(txn: Any) -> None:
            txn.add_event("hook.skipped", summary=f"{hook} skipped with GITCOORD_SKIP=1",
                          data={"hook": hook, "agent": agent, "branch": branch, "count": len(paths),
                                "paths": paths[:500]})
            txn.describe("hook.skipped", f"{hook} skipped by {agent} ({len(paths)} path(s))")

        store.transact(op)
    except Exception as exc:  # noqa: BLE001 — the escape hatch must work when the store is broken
        return [f"gitcoord {hook}: skipped (GITCOORD_SKIP=1) but could not record it: {_one_line(exc)}"]
    return [f"gitcoord {hook}: skipped (GITCOORD_SKIP=1); recorded as a hook.skipped event "
            f"(shared on the next `gitcoord sync`)"]


def _format(name: str, result: Any, header: str) -> list[str]:
    findings = result.findings
    if not findings:
        return []
    errors = [f for f in findings if f.level == "error"]
    lines = [f"gitcoord {name}: {header}: {len(errors)} error(s), {len(findings) - len(errors)} warning(s) "
             f"(task {', '.join(result.context.task_ids) or '-'}, agent {result.context.agent})"]
    for f in findings:
        where = f.path or "(branch)"
        commit = f" [{f.commit[:10]}]" if f.commit else ""
        lines.append(f"  {f.level}: {where}{commit}: {f.rule}: {f.message}")
        if f.hint:
            lines.append(f"    → {f.hint}")
    if errors and name not in SERVER_HOOKS:
        lines.append(f"  (emergency only: GITCOORD_SKIP=1 skips this hook and records a hook.skipped event)")
    return lines


def _pre_commit(repo: Any, args: list[str], stdin: str) -> HookOutcome:
    from gitcoord import check
    from gitcoord.identity import current_branch

    snap = None
    try:
        store, snap, warnings = _open_store(repo)
        links: dict[str, str] = {}
        paths = check.staged_paths(repo, links)
        branch = current_branch(repo)
        if os.environ.get("GITCOORD_SKIP") == "1":
            return HookOutcome(0, warnings + _record_skip(repo, "pre-commit", paths, branch, snap))
        if not snap.exists or not paths:
            return HookOutcome(0, warnings)
        _reject_odd_paths(paths)
        config = snap.config
        agent = _agent(repo, snap, config)
        result = check.run_check(snap, paths, agent=agent, branch=branch, mode="staged",
                                 branch_level=check.WARNING, coordination_branch=store.branch, config=config,
                                 read=check.index_reader(repo), links=links)
    except Exception as exc:  # noqa: BLE001 — fail closed with one line
        return _blocked("pre-commit", exc, snap)
    trailers = _leave_trailers(repo, snap, branch, agent) if result.ok else None
    header = "commit blocked" if not result.ok else "warnings"
    warnings += _staleness(repo)
    if result.ok and not result.findings and not warnings and trailers is not None:
        _remember_clean(repo, store, snap, paths, trailers)
    return HookOutcome(0 if result.ok else 1, warnings + _format("pre-commit", result, header), result.to_dict())


STALE_AFTER_SECONDS = 300


def _staleness(repo: Any) -> list[str]:
    """pre-commit judges by local state (fast, offline); say so when that state is getting old."""
    from gitcoord import gitutil
    from gitcoord.store import seconds_since_fetch

    if not gitutil.git_config_get(repo, "gitcoord.remote"):
        return []
    age = seconds_since_fetch(repo)
    if age is not None and age < STALE_AFTER_SECONDS:
        return []
    when = "never fetched here" if age is None else (
        f"fetched {age / 3600:.1f} h ago" if age >= 3600 else f"fetched {age / 60:.0f} min ago")
    return [f"gitcoord pre-commit: checked against local coordination state ({when}); "
            f"`gitcoord sync` refreshes it (pre-push checks the remote's)"]


def _commit_msg(repo: Any, args: list[str], stdin: str) -> HookOutcome:
    """Add ``Task: <ID>`` when the branch names a task; never blocks (there is nothing to check)."""
    if os.environ.get("GITCOORD_SKIP") == "1" or not args:
        return HookOutcome(0)
    from gitcoord import gitutil
    from gitcoord.identity import current_branch

    try:
        _store, snap, _warnings = _open_store(repo)
        if not snap.exists:
            return HookOutcome(0)
        task_id, lines = _commit_trailers(repo, snap, current_branch(repo))
        if task_id is None:
            return HookOutcome(0)
        message_file = os.path.abspath(args[0])
        trailers = [arg for line in lines for arg in ("--trailer", line)]
        gitutil.run_git(repo, "interpret-trailers", "--in-place", "--if-exists", "doNothing", *trailers,
                        message_file)
    except Exception as exc:  # noqa: BLE001 — a missing trailer must not lose the commit
        return HookOutcome(0, [f"gitcoord commit-msg: warning: no Task trailer added ({_one_line(exc)})"])
    return HookOutcome(0, data={"task": task_id})


def _commit_trailers(repo: Any, snap: Any, branch: str | None, agent: str | None = None) -> tuple[str | None, list[str]]:
    """The trailers a commit on ``branch`` gets: ``Task: <ID>`` when the branch names a task, and
    ``Gitcoord-Agent`` (the server refuses a commit on another agent's task branch by it)."""
    from gitcoord import check
    from gitcoord.identity import check_agent_name
    from gitcoord.owners import load_tasks

    task = check.task_for_branch(snap, load_tasks(snap), branch, snap.config.get("branch_template") or "")
    if task is None:
        return None, []
    lines = [f"Task: {task['id']}"]
    try:
        lines.append(f"Gitcoord-Agent: {check_agent_name(agent or _agent(repo, snap), 'agent')}")
    except UsageError:
        pass
    return task["id"], lines


TRAILER_NOTE = "commit-trailers"  # in the cache dir: "<index tree> <HEAD ref>" then one trailer a line


def _remember_clean(repo: Any, store: Any, snap: Any, paths: list[str], trailers: list[str]) -> None:
    """A clean check (nothing printed) is remembered for the next commit (see hook_memo), until the
    first lock expiry (an own lock expiring can block a path it allowed) or, with a remote, until
    the local state counts as stale (a warning would be printed)."""
    import time

    from gitcoord import gitutil, hook_memo, locks, timeutil
    from gitcoord.store import seconds_since_fetch

    try:
        if check_extra_checks():
            return  # a plugin check may judge the paths together: no memo
        now = time.time()
        deadline = now + hook_memo.MAX_AGE_SECONDS
        for lock in locks.all_locks(snap):
            for stamp in [lock.get("expires_at")] + [h.get("expires_at") for h in lock.get("holders") or []]:
                if stamp:
                    deadline = min(deadline, timeutil.parse_time(stamp).timestamp())
        if gitutil.git_config_get(repo, "gitcoord.remote"):
            age = seconds_since_fetch(repo)
            if age is None:
                return
            deadline = min(deadline, now + STALE_AFTER_SECONDS - age)
        if deadline > now and snap.commit:
            from gitcoord import claims

            stamp = hook_memo.claims_stamp(str(gitutil.common_dir(repo)), store.ref)
            if claims.tips(repo, store.claims_prefix) != snap.claim_tips:
                return  # a claim arrived during the check: its verdict may not hold
            hook_memo.remember(snap.commit, store.ref, paths, deadline, trailers, claims=stamp)
    except Exception:  # noqa: BLE001 — without a memo the next commit runs the full check
        pass


def check_extra_checks() -> bool:
    from gitcoord import check

    return bool(getattr(check, "extra_checks", None))


def _leave_trailers(repo: Any, snap: Any, branch: str | None, agent: str) -> list[str] | None:
    """Leave this commit's trailers for the commit-msg shim, which then adds them with
    `git interpret-trailers` and starts no Python. The note names the index tree and HEAD it
    was made for; the shim uses it only when both still match (else it asks Python)."""
    from gitcoord import gitutil

    path = gitutil.cache_dir(repo) / TRAILER_NOTE
    try:
        _task, lines = _commit_trailers(repo, snap, branch, agent)
        tree = gitutil.run_git(repo, "write-tree").stdout.decode().strip()
        head = repo.references.get("HEAD")
        head_ref = head.target if head is not None and isinstance(head.target, str) else ""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{TRAILER_NOTE}.{os.getpid()}")
        tmp.write_text(f"{tree} {head_ref}\n" + "".join(f"{line}\n" for line in lines))
        os.replace(tmp, path)
        return lines
    except Exception:  # noqa: BLE001 — without the note the shim asks Python: slower, same trailers
        try:
            path.unlink()
        except OSError:
            pass
        return None


def _parse_ref_lines(stdin: str, fields: int) -> list[list[str]]:
    rows = []
    for line in stdin.splitlines():
        parts = line.split()
        if len(parts) == fields:
            rows.append(parts)
    return rows


def _pre_push(repo: Any, args: list[str], stdin: str) -> HookOutcome:
    """stdin: ``<local ref> <local oid> <remote ref> <remote oid>`` per ref being pushed."""
    from gitcoord import check

    remote_arg = args[0] if args else ""
    snap = None
    all_lines: list[str] = []
    data: dict[str, Any] = {"refs": []}
    code = 0
    try:
        remote = _remote_name(repo)
        fetch = bool(remote) and os.environ.get("GITCOORD_OFFLINE") != "1"
        store, snap, warnings = _open_store(repo, remote=remote, fetch=fetch)
        all_lines.extend(warnings)
        hide_remote = [str(ref.target) for ref in repo.references.iterator()
                       if ref.name.startswith(f"refs/remotes/{remote_arg}/") and ref.type == 1] if remote_arg else []
        skip = os.environ.get("GITCOORD_SKIP") == "1"
        skipped_paths: list[str] = []
        base = snap.config.get("base") if snap.exists else None
        agent = _agent(repo, snap) if snap.exists else None
        for local_ref, local_oid, remote_ref, remote_oid in _parse_ref_lines(stdin, 4):
            if local_oid == ZERO or not remote_ref.startswith("refs/heads/"):
                continue
            branch = remote_ref[len("refs/heads/"):]
            if branch in (store.branch, base):
                continue
            hide = hide_remote + ([remote_oid] if remote_oid != ZERO else [])
            commits = check.walk_new(repo, local_oid, hide)
            base_tip = check.ref_target(repo, f"refs/remotes/{remote_arg}/{base}", f"refs/heads/{base}") \
                if base and remote_arg else (check.ref_target(repo, f"refs/heads/{base}") if base else None)
            links: dict[str, str] = {}
            touched: set[str] = set()
            commit_of = check.net_change(repo, local_oid, base_tip, commits, links, touched)
            if skip:
                skipped_paths.extend(p for p in commit_of if p not in skipped_paths)
                continue
            if not snap.exists:
                continue
            _reject_odd_paths(commit_of)
            result = check.run_check(snap, list(commit_of), agent=agent, branch=branch, mode="push",
                                     commit_of=commit_of, commits=len(commits), coordination_branch=store.branch,
                                     read=check.blob_reader(repo, local_oid), links=links)
            result.findings = check.only_new_lock_findings(result.findings, touched)
            result.findings.extend(_branch_owner(result.context, agent))
            data["refs"].append({"ref": remote_ref, **result.to_dict()})
            if not result.ok:
                code = 1
            all_lines.extend(_format("pre-push", result, f"push of {branch} blocked" if not result.ok
                                     else f"{branch}: warnings"))
        if skip:
            return HookOutcome(0, all_lines + _record_skip(repo, "pre-push", skipped_paths, None, snap))
    except Exception as exc:  # noqa: BLE001 — fail closed with one line
        return _blocked("pre-push", exc, snap)
    return HookOutcome(code, all_lines, data)


def _branch_owner(ctx: Any, agent: str | None) -> list[Any]:
    """pre-push: a task branch is written only by its task's holder (the server enforces it too)."""
    from gitcoord.check import ERROR, Finding

    if not ctx.task_source.startswith("branch") or len(ctx.tasks) != 1:
        return []
    holder = ctx.tasks[0].get("agent")
    if not holder or holder == agent or ctx.tasks[0].get("status") in ("merged", "cancelled"):
        return []
    return [Finding(None, "branch-owner", ERROR,
                    f"branch {ctx.branch} belongs to task {ctx.tasks[0]['id']}, held by {holder}, not {agent}",
                    owner=holder, hint=f"gitcoord msg request --to {holder} --regarding {ctx.tasks[0]['id']} "
                                       f"--request 'may I push to {ctx.branch}?'")]


def _pre_receive(repo: Any, args: list[str], stdin: str) -> HookOutcome:
    """Server side: stdin ``<old> <new> <ref>``; the boundary of the trust model (DESIGN §3).

    The coordination branch is guarded first and from the pushed commits alone (``guard``), so a
    bad file already on it can never block the maintainer's repair; then the base branch
    (``policies.server_base``); then each task branch: who may write it (``guard``) and what its
    net change does to ownership, locks and contracts (``check``). GITCOORD_SKIP is ignored.
    """
    from gitcoord import gitutil, guard

    from gitcoord.store import agent_events_prefix, claims_prefix as claims_prefix_of, recover_stale_ref_lock

    branch_name = os.environ.get("GITCOORD_BRANCH") or gitutil.git_config_get(repo, "gitcoord.branch") or "gitcoord"
    coord_ref = gitutil.branch_ref(branch_name)
    events_prefix = agent_events_prefix(coord_ref)
    from gitcoord import claims

    claims_prefix = claims_prefix_of(coord_ref)
    all_rows = _parse_ref_lines(stdin, 3)
    rows = [r for r in all_rows if r[2].startswith("refs/heads/")]
    log_rows = [r for r in all_rows if r[2].startswith(events_prefix)]  # the agents' own event logs
    claim_rows = [r for r in all_rows if r[2].startswith(claims_prefix)]  # per-task claim refs
    if not rows and not log_rows and not claim_rows:
        return HookOutcome(0)
    for _old, _new, ref in rows + log_rows + claim_rows:
        recover_stale_ref_lock(repo, ref)  # a crash inside a ref update must not block every later push
    lines: list[str] = []
    code = 0

    def refuse(ref: str, problems: list[str]) -> None:
        nonlocal code
        code = 1
        for problem in problems:
            lines.append(f"gitcoord pre-receive: push rejected: {ref}: {problem}")

    coord_old = guard.ZERO
    coord_update = None
    existing_coord = repo.references.get(coord_ref)
    if existing_coord is not None:
        coord_old = str(existing_coord.target)
    try:
        auth = guard.authority(repo, coord_old)
        auth.claim_tips = claims.tips(repo, claims_prefix)
        auth.claims = claims.read_overlay(repo, auth.claim_tips)
        for old, new, ref in rows:
            if ref == coord_ref:
                coord_update = (old, new)
                problems = guard.guard_coordination(repo, old, new, auth)
                if problems:
                    refuse(ref, problems)
    except Exception as exc:  # noqa: BLE001 — fail closed for this ref, with one line
        refuse(coord_ref, [f"cannot judge the coordination update: {_one_line(exc)} (a branch that "
                           f"cannot be read is rolled forward by a maintainer with `gitcoord repair`)"])
    for old, new, ref in log_rows:
        try:
            problems = guard.guard_agent_events(repo, ref[len(events_prefix):], old, new, auth) \
                if existing_coord is not None else ["no coordination branch yet: an event log needs one"]
        except Exception as exc:  # noqa: BLE001 — fail closed for this ref, with one line
            problems = [f"cannot judge the event log update: {_one_line(exc)}"]
        if problems:
            refuse(ref, problems)
    for old, new, ref in claim_rows:
        try:
            problems = guard.guard_claim(repo, ref[len(claims_prefix):], old, new, auth,
                                         coord_update[1] if coord_update else coord_old if existing_coord else None,
                                         coord_update is not None) \
                if existing_coord is not None else ["no coordination branch yet: a claim needs one"]
        except Exception as exc:  # noqa: BLE001 — fail closed for this ref, with one line
            problems = [f"cannot judge the claim: {_one_line(exc)}"]
        if problems:
            refuse(ref, problems)
    if existing_coord is None:
        return HookOutcome(code, lines)  # no coordination branch yet: nothing else to enforce
    base = (auth.config.get("base") if auth.config else None) or "main"
    others = [r for r in rows if r[2] != coord_ref]
    for old, new, ref in others:
        if ref == f"refs/heads/{base}":
            problems = guard.guard_base(repo, ref, old, new, auth, coord_update)
            if problems:
                refuse(ref, problems)
    task_rows = [r for r in others if r[2] != f"refs/heads/{base}"]
    if not task_rows:
        return HookOutcome(code, lines)
    outcome = _receive_task_branches(repo, task_rows, auth)
    return HookOutcome(max(code, outcome.code), lines + outcome.lines, outcome.data)


def _receive_task_branches(repo: Any, rows: list[list[str]], auth: Any) -> HookOutcome:
    """Ownership, locks and contracts of each pushed task branch's net change, and who may write it."""
    from gitcoord import check, guard
    from gitcoord.owners import load_tasks

    snap = None
    lines: list[str] = []
    data: dict[str, Any] = {"refs": []}
    code = 0
    try:
        store, snap, _warnings = _open_store(repo)
        config = snap.config
        base = config.get("base")
        template = config.get("branch_template") or ""
        tasks = load_tasks(snap)
        # Only branches hide commits: a tag or any other ref is never checked, so commits parked
        # there first must still be checked when they arrive on a task branch.
        existing = [str(r.target) for r in repo.references.iterator()
                    if r.type == 1 and r.name.startswith("refs/heads/")
                    and r.name != f"refs/heads/{store.branch}"]
        base_tip = check.ref_target(repo, f"refs/heads/{base}") if base else None
        for old, new, ref in rows:
            branch = ref[len("refs/heads/"):]
            task = check.task_for_branch(snap, tasks, branch, template)
            commits = check.walk_new(repo, new, existing + ([old] if old != ZERO else [])) if new != ZERO else []
            problems = guard.guard_task_branch(repo, branch, old, new, task, auth, commits)
            if problems:
                code = 1
                lines.extend(f"gitcoord pre-receive: push rejected: {ref}: branch-owner: {p}" for p in problems)
                continue
            if new == ZERO:
                continue
            agent = (task or {}).get("agent") or "unknown"
            if task is None:
                from gitcoord.branches import parse_branch

                fields = parse_branch(branch, template) or {}
                agent = fields.get("agent") or fields.get("role") or "unknown"
            links, touched = {}, set()
            commit_of = check.net_change(repo, new, base_tip, commits, links, touched)
            _reject_odd_paths(commit_of)
            result = check.run_check(snap, list(commit_of), agent=agent, branch=branch, mode="receive",
                                     task=task["id"] if task else None, commit_of=commit_of,
                                     commits=len(commits), coordination_branch=store.branch,
                                     read=check.blob_reader(repo, new), links=links)
            result.findings = check.only_new_lock_findings(result.findings, touched)
            if task is None:
                # --task was not given; keep the branch rule's verdict (no task named) and drop
                # the "no task" ownership fallback to the pusher's in_progress tasks.
                result.findings = [f for f in result.findings if f.rule != "no-task"]
            data["refs"].append({"ref": ref, **result.to_dict()})
            if not result.ok:
                code = 1
            lines.extend(_format("pre-receive", result, f"push to {branch} rejected" if not result.ok
                                 else f"{branch}: warnings"))
    except Exception as exc:  # noqa: BLE001 — fail closed with one line
        return _blocked("pre-receive", exc, snap)
    return HookOutcome(code, lines, data)


DEFAULT_TIMEOUT_S = {"pre-receive": 60.0, "pre-push": 120.0, "pre-commit": 60.0, "commit-msg": 30.0}
DEFAULT_MEMORY_MB = 2048


class _OutOfTime(BaseException):
    """Raised by the wall-clock alarm; a BaseException so no ``except Exception`` in a hook swallows it."""


def hook_limits(name: str, repo: Any = None) -> tuple[float, int]:
    """(seconds, megabytes) a hook may use. On the server only the repository's own config counts
    (``gitcoord.hookTimeout``, ``gitcoord.hookMemory``): a pusher's environment cannot raise them."""
    timeout, memory = DEFAULT_TIMEOUT_S.get(name, 60.0), DEFAULT_MEMORY_MB
    if name in SERVER_HOOKS:
        from gitcoord import gitutil

        source = lambda key: gitutil.git_config_get(repo, key) if repo is not None else None  # noqa: E731
    else:
        source = {"gitcoord.hookTimeout": os.environ.get("GITCOORD_HOOK_TIMEOUT"),
                  "gitcoord.hookMemory": os.environ.get("GITCOORD_HOOK_MEMORY")}.get
    try:
        timeout = float(source("gitcoord.hookTimeout") or timeout)
        memory = int(source("gitcoord.hookMemory") or memory)
    except (TypeError, ValueError):
        pass  # a malformed setting keeps the defaults (never "no limit")
    return max(timeout, 0.1), max(memory, 64)


@contextlib.contextmanager
def ceiling(name: str, timeout: float, memory_mb: int) -> Iterator[None]:
    """Address-space limit, a wall-clock alarm, and a watchdog that ends the process if the alarm
    cannot fire (a long call inside C): the hook then fails closed instead of hanging the push.
    Everything is restored on exit (``hook run`` may run inside a longer-lived process)."""
    import signal
    import threading

    restore_rlimit = None
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = memory_mb * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        if soft == resource.RLIM_INFINITY or soft > want:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
            restore_rlimit = lambda: resource.setrlimit(resource.RLIMIT_AS, (soft, hard))  # noqa: E731
    except (ImportError, ValueError, OSError):
        pass

    def alarm(signum: int, frame: Any) -> None:
        raise _OutOfTime()

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGALRM, alarm) if main_thread else None
    if main_thread:
        signal.setitimer(signal.ITIMER_REAL, timeout)

    def watchdog() -> None:
        sys.stderr.write(_out_of_time(name, timeout) + "\n")
        sys.stderr.flush()
        os._exit(1)

    timer = threading.Timer(timeout + 5.0, watchdog)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if main_thread:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous or signal.SIG_DFL)
        if restore_rlimit is not None:
            restore_rlimit()


def run_limited(name: str, args: list[str], read_stdin: Callable[[], str], cwd: str | None = None) -> HookOutcome:
    """``run_hook`` within the hook's time and memory ceiling (see ``hook_limits``); running out of
    either fails closed with one line naming the limit."""
    if name not in ALL_HOOKS:
        raise UsageError(f"hook {name!r}: unknown (gitcoord runs {', '.join(ALL_HOOKS)})")
    repo = None
    if name in SERVER_HOOKS:
        from gitcoord import gitutil

        repo = gitutil.open_repo(cwd)
    timeout, memory = hook_limits(name, repo)
    try:
        with ceiling(name, timeout, memory):
            stdin = read_stdin()
            from gitcoord.store import _test_pause

            _test_pause(f"hook-{name}")
            return run_hook(name, args, stdin, cwd)
    except _OutOfTime:
        return HookOutcome(1, [_out_of_time(name, timeout)])
    except MemoryError:
        where = "git config gitcoord.hookMemory on the server" if name in SERVER_HOOKS else "GITCOORD_HOOK_MEMORY"
        return HookOutcome(1, [f"gitcoord {name}: blocked: the hook ran out of memory ({memory} MB; {where})"])


def _out_of_time(name: str, timeout: float) -> str:
    where = "git config gitcoord.hookTimeout on the server" if name in SERVER_HOOKS else "GITCOORD_HOOK_TIMEOUT"
    scope = "; every ref of this push is refused, nothing changed" if name in SERVER_HOOKS else ""
    return f"gitcoord {name}: blocked: the hook ran out of time ({timeout:g}s; {where}){scope}"


def main(argv: list[str] | None = None, *, memo_checked: bool = False) -> int:
    """``python -m gitcoord.hooks run NAME ARGS…``: the shims' fast path (no CLI framework to load)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 2 or argv[0] != "run":
        print("usage: python -m gitcoord.hooks run NAME [ARGS...]", file=sys.stderr)
        return 2
    name, args = argv[1], argv[2:]
    if name == "pre-commit" and not memo_checked and os.environ.get("GITCOORD_INTERNAL") != "1" \
            and not os.environ.get("GITCOORD_TEST_PAUSE"):
        from gitcoord import hook_memo

        if hook_memo.passes():  # these paths passed a clean check in this very context
            return 0
    try:
        outcome = run_limited(name, args, lambda: sys.stdin.read()
                              if name in ("pre-push", "pre-receive") and not sys.stdin.isatty() else "")
    except Exception as exc:  # noqa: BLE001 — a hook reports one line, never a traceback
        from gitcoord.errors import GitcoordError

        code = exc.exit_code if isinstance(exc, GitcoordError) else 1
        print(f"gitcoord {name}: {'error' if code == 2 else 'blocked'}: {_one_line(exc)}", file=sys.stderr)
        return code or 1
    for line in outcome.lines:
        print(line, file=sys.stderr)
    return outcome.code


if __name__ == "__main__":
    sys.exit(main())
