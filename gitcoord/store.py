"""The coordination store: snapshots of a branch and compare-and-swap transactions on it.

A mutating operation is a pure function ``Txn -> result`` that reads the old snapshot and
records file changes. The store writes blobs, trees and a commit with pygit2, then moves the
ref with a compare-and-swap: locally under git's own ref lock (``repo.transaction()`` +
``lock_ref``) after checking the old target; against a remote by a non-force push, which the
remote accepts only as a fast-forward. A lost race re-reads and re-applies the function
(bounded retries with jitter). Objects are written before the ref moves, so a crash at any
point leaves the old state intact. The working tree, the index and HEAD are never touched.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import marshal
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import pygit2

from gitcoord import gitutil, schemas, timeutil, yaml_subset
from gitcoord.errors import Conflict, GitcoordError, InvalidFile, RaceError, UsageError

T = TypeVar("T")

DEFAULT_BRANCH = "gitcoord"
MAX_ENTITY_BYTES = 1 << 20  # an entity file is small; anything bigger is refused, not parsed
CONFIG_PATH = "gitcoord.yaml"


def _beside(coord_ref: str, kind: str) -> str:
    """The ref prefix of ``kind`` refs kept beside the coordination ref ``coord_ref``."""
    if coord_ref == f"refs/heads/{DEFAULT_BRANCH}":
        return f"refs/gitcoord/{kind}/"
    return f"refs/gitcoord/{coord_ref[len('refs/'):]}/{kind}/"


def agent_events_prefix(coord_ref: str) -> str:
    """Where each agent's own event log lives beside the coordination ref ``coord_ref``.

    A message or status that changes no shared state is appended there instead of to the
    coordination branch: only its agent writes that ref, so it never races anyone (issue 14).
    Readers read the branch's ``events/`` and every agent's log as one log."""
    return _beside(coord_ref, "agents")


def claims_prefix(coord_ref: str) -> str:
    """Where the per-task claim refs live beside the coordination ref ``coord_ref`` (claims.py)."""
    return _beside(coord_ref, "claims")

DEFAULT_CONFIG: dict[str, Any] = {
    "version": 1,
    "base": "main",
    "branch_template": "feature/{feature}/agent/{role}/{task}",
    "agents": [],
    "policies": {
        "unowned": "warn",
        "on_error": "block",
        "hard_requires": "merged",
        "max_agents_per_feature": 5,
        "lock_ttl": "2h",
        "heartbeat": "1h",  # the guide: report hourly at least (doctor and inbox flag silence)
    },
    "contracts": {"globs": [], "allow_remote_refs": False},
    "merge": {"mode": "skip", "threshold": 0.0, "test": None},
}

# --------------------------------------------------------------------------- parsing

@functools.cache
def _yaml():
    """PyYAML with a loader that keeps timestamps as strings (our schemas say ISO 8601 strings)
    and a dumper that never writes anchors. Imported on first use: hooks read entities from
    the blob-id cache and never need it."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    dumper_base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    Loader.yaml_implicit_resolvers = {
        key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in base.yaml_implicit_resolvers.items()
    }

    class Dumper(dumper_base):  # type: ignore[misc, valid-type]
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml, Loader, Dumper


NEEDS_PYYAML: Any = yaml_subset.NOT_SUBSET
"""What ``parse_bytes(..., pyyaml=False)`` answers for a file only PyYAML reads."""


def parse_bytes(path: str, data: bytes, *, pyyaml: bool = True) -> Any:
    """Parse a YAML or JSON entity file; errors name the path. Aliases are refused (no bombs).

    YAML as gitcoord writes it is read by ``yaml_subset`` (same values, ~10x faster); anything
    else by PyYAML (with ``pyyaml=False``: NEEDS_PYYAML is returned instead)."""
    if len(data) > MAX_ENTITY_BYTES:
        raise InvalidFile(path, f"file is {len(data)} bytes; entity files are limited to {MAX_ENTITY_BYTES}")
    if path.endswith(".json"):
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidFile(path, f"malformed JSON: {exc}") from None
        except RecursionError:
            raise InvalidFile(path, "malformed JSON: nested too deeply") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidFile(path, f"not UTF-8: {exc}") from None
    obj = yaml_subset.parse(text)
    if obj is not yaml_subset.NOT_SUBSET or not pyyaml:
        return obj
    yaml, loader, _ = _yaml()
    if "*" in text and "&" in text:
        _refuse_aliases(path, text)
    if text.count("[") + text.count("{") > 64 or len(text) > 16384:
        _refuse_deep_nesting(path, text)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidFile(path, f"malformed YAML{where}: {problem}") from None


def _refuse_aliases(path: str, text: str) -> None:
    yaml, loader, _ = _yaml()
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                raise InvalidFile(path, "YAML aliases (*name) are not allowed in gitcoord files")
    except yaml.YAMLError:
        return  # the real parse reports the syntax error with its position


MAX_NESTING = 64


def _refuse_deep_nesting(path: str, text: str) -> None:
    """Refuse nesting deeper than MAX_NESTING before building anything: libyaml's composer recurses
    in C, and a 100k-deep document crashes the process instead of raising."""
    yaml, loader, _ = _yaml()
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_NESTING:
                    raise InvalidFile(path, f"nested more than {MAX_NESTING} levels deep")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return  # the real parse reports the syntax error with its position


def dump_bytes(path: str, obj: Any) -> bytes:
    if path.endswith(".json"):
        return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()
    text = yaml_subset.dump(obj)  # the same bytes PyYAML writes, for the documents it is sure of
    if text is not None:
        return text.encode()
    yaml, _, dumper = _yaml()
    return yaml.dump(obj, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100).encode()


def check_store_path(path: str) -> str:
    """Paths on the coordination branch are built from validated ids; refuse anything hostile."""
    if (not path or path.startswith("/") or "\0" in path or "\n" in path or "\\" in path
            or any(part in ("", ".", "..", ".git") for part in path.split("/"))):
        raise UsageError(f"refusing store path {path!r}")
    return path


# --------------------------------------------------------------------------- entity cache


class EntityCache:
    """Parsed, schema-valid entity files keyed by (kind, blob id), persisted under ``.git/gitcoord``.

    A blob id names its content, so a hit can never be stale; it saves parsing and, above all,
    the jsonschema import and validation on the hook path. One file per kind (tasks, locks,
    events...), loaded only when that kind is read, so a hook that needs tasks and locks
    never loads the event history. Values are plain JSON data, stored with ``marshal``
    (several times faster to load than pickle or JSON).
    """

    MAX_ENTRIES = 200_000

    def __init__(self, directory: Path | None):
        self.directory = directory
        self._data: dict[str, dict[str, Any]] = {}
        self._dirty: set[str] = set()

    def path_for(self, kind: str) -> Path | None:
        return self.directory / f"entities-{kind}.marshal" if self.directory is not None else None

    def _load(self, kind: str) -> dict[str, Any]:
        data = self._data.get(kind)
        if data is None:
            data = {}
            path = self.path_for(kind)
            if path is not None:
                try:
                    with open(path, "rb") as fh:
                        loaded = marshal.loads(fh.read())  # load(fh) reads in tiny chunks: 5x slower
                    if isinstance(loaded, dict):
                        data = loaded
                except (OSError, EOFError, TypeError, ValueError):
                    data = {}
            self._data[kind] = data
        return data

    def get(self, kind: str, oid: str) -> Any:
        return self._load(kind).get(oid, _MISSING)

    def put(self, kind: str, oid: str, value: Any) -> None:
        data = self._load(kind)
        if len(data) >= self.MAX_ENTRIES:
            data.clear()
        data[oid] = value
        self._dirty.add(kind)

    def save(self) -> None:
        if not self._dirty or self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            for kind in sorted(self._dirty):
                path = self.path_for(kind)
                assert path is not None
                tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
                with open(tmp, "wb") as fh:
                    marshal.dump(self._data[kind], fh)
                os.replace(tmp, path)
            self._dirty.clear()
        except OSError:
            pass  # a cache is an optimisation; a read-only .git must not break reads


_MISSING = object()


# --------------------------------------------------------------------------- snapshots


def _fetch_mark(repo: pygit2.Repository) -> Path:
    return gitutil.cache_dir(repo) / "last-fetch"


def mark_fetched(repo: pygit2.Repository) -> None:
    """Remember when the coordination branch was last fetched (hooks say how old their view is)."""
    try:
        path = _fetch_mark(repo)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass


def seconds_since_fetch(repo: pygit2.Repository) -> float | None:
    """How old the local copy of the shared state is; None when gitcoord never fetched here."""
    try:
        return max(0.0, time.time() - _fetch_mark(repo).stat().st_mtime)
    except OSError:
        return None


class Snapshot:
    """A read-only view of one commit of the coordination branch (or of nothing yet)."""

    def __init__(self, repo: pygit2.Repository, commit: str | None, cache: EntityCache | None = None):
        self.repo = repo
        self.commit = commit
        self.cache = cache
        self.tree: pygit2.Tree | None = _tree_of(repo, commit) if commit else None
        self.event_tips: tuple[str, ...] = ()  # the agents' own event logs read with this state
        self.claim_tips: tuple[tuple[str, str], ...] = ()  # the per-task claim refs laid over it (claims.py)
        self._claims: dict[str, tuple[str, str]] | None = None

    def event_views(self) -> list["Snapshot"]:
        """Where events are read: this commit's ``events/`` and each agent's own event log."""
        views = [self]
        for tip in self.event_tips:
            try:
                views.append(Snapshot(self.repo, tip, self.cache))
            except UnreadableState:
                continue  # a log the server's guard would have refused cannot hide the others
        return views

    @property
    def exists(self) -> bool:
        return self.commit is not None

    def _entry(self, path: str) -> pygit2.Object | None:
        if self.tree is None:
            return None
        try:
            entry = self.tree[path]
        except KeyError:
            return None
        return self._claimed(path, entry) if self.claim_tips and path.startswith("tasks/") else entry

    def _claim_map(self) -> dict[str, tuple[str, str]]:
        """``{manifest path: (base blob, claimed blob)}`` of every claim ref read with this state."""
        if self._claims is None:
            from gitcoord.claims import read_overlay

            self._claims = read_overlay(self.repo, self.claim_tips)
        return self._claims

    def _claimed(self, path: str, entry: Any) -> Any:
        """The claimed manifest in place of ``entry`` while a claim ref's base is exactly it."""
        claim = self._claim_map().get(path)
        if claim is not None and str(entry.id) == claim[0]:
            try:
                return self.repo[claim[1]]
            except (KeyError, ValueError):
                return entry
        return entry

    def live_claims(self) -> dict[str, tuple[str, str]]:
        """``{manifest path: (base blob, claimed blob)}`` of the claims laid over this state now."""
        if not self.claim_tips or self.tree is None:
            return {}
        return {p: c for p, c in self._claim_map().items() if self.raw_blob_id(p) == c[0]}

    def raw_blob_id(self, path: str) -> str | None:
        """The blob at ``path`` on the branch itself, no claim laid over it."""
        try:
            entry = self.tree[path] if self.tree is not None else None
        except KeyError:
            return None
        return str(entry.id) if entry is not None and entry.type == pygit2.GIT_OBJECT_BLOB else None

    @property
    def claims_key(self) -> str:
        """Names the claim refs read with this state (for caches keyed on what a result depends on)."""
        if not self.claim_tips:
            return ""
        import hashlib

        return hashlib.sha1(repr(self.claim_tips).encode()).hexdigest()

    def blob_id(self, path: str) -> str | None:
        entry = self._entry(path)
        return str(entry.id) if entry is not None and entry.type == pygit2.GIT_OBJECT_BLOB else None

    def has(self, path: str) -> bool:
        return self.blob_id(path) is not None

    def read_bytes(self, path: str) -> bytes | None:
        entry = self._entry(path)
        if entry is None or entry.type != pygit2.GIT_OBJECT_BLOB:
            return None
        return self.repo[entry.id].data

    def files(self, directory: str, suffix: str | None = None) -> list[str]:
        """Paths of the files directly inside ``directory`` (sorted)."""
        entry = self.tree if directory in ("", ".") else self._entry(directory)
        if entry is None or entry.type != pygit2.GIT_OBJECT_TREE:
            return []
        prefix = f"{directory}/" if directory not in ("", ".") else ""
        return sorted(
            prefix + e.name for e in entry
            if e.type == pygit2.GIT_OBJECT_BLOB and (suffix is None or e.name.endswith(suffix))
        )

    def walk(self, directory: str) -> Iterator[str]:
        """Every file path below ``directory``, depth first, sorted."""
        entry = self._entry(directory)
        if entry is None or entry.type != pygit2.GIT_OBJECT_TREE:
            return
        stack: list[tuple[str, pygit2.Tree]] = [(directory, entry)]
        while stack:
            prefix, tree = stack.pop()
            subdirs = []
            for e in sorted(tree, key=lambda x: x.name):
                if e.type == pygit2.GIT_OBJECT_TREE:
                    subdirs.append((f"{prefix}/{e.name}", e))
                elif e.type == pygit2.GIT_OBJECT_BLOB:
                    yield f"{prefix}/{e.name}"
            stack.extend(reversed(subdirs))

    def load(self, path: str) -> Any:
        """The parsed, schema-checked file at ``path``, or None. Shared object: do not mutate."""
        oid = self.blob_id(path)
        if oid is None:
            return None
        return self._load_blob(path, oid)

    def _load_blob(self, path: str, oid: str) -> Any:
        kind = schemas.kind_for_path(path)
        if self.cache is not None and kind is not None:
            hit = self.cache.get(kind, oid)
            if hit is not _MISSING:
                return hit
        try:
            obj = parse_bytes(path, self.repo[oid].data)
            if kind is not None:
                schemas.validate(kind, obj, path=path)
        except InvalidFile as exc:
            exc.hint = exc.hint or f"a bad file on the coordination branch: {REPAIR_HINT}"
            raise
        if self.cache is not None and kind is not None:
            self.cache.put(kind, oid, obj)
        return obj

    def load_dir(self, directory: str, suffix: str | None = None) -> dict[str, Any]:
        """Every file directly inside ``directory``, parsed and checked: ``{path: object}``."""
        entry = self._entry(directory)
        if entry is None or entry.type != pygit2.GIT_OBJECT_TREE:
            return {}
        result: dict[str, Any] = {}
        misses: list[tuple[str, str, str | None, Any]] = []
        same_kind = schemas.kind_for_path(f"{directory}/x{suffix}") if suffix else None
        claimed = bool(self.claim_tips) and directory == "tasks"
        for e in entry:
            if e.type == pygit2.GIT_OBJECT_BLOB and (suffix is None or e.name.endswith(suffix)):
                path = f"{directory}/{e.name}"
                if claimed:
                    e = self._claimed(path, e)
                oid = str(e.id)
                kind = same_kind or schemas.kind_for_path(path)
                hit = self.cache.get(kind, oid) if self.cache is not None and kind is not None else _MISSING
                if hit is _MISSING:
                    misses.append((path, oid, kind, e))
                else:
                    result[path] = hit

        def parse(share: list[tuple[str, str, str | None, Any]], pyyaml: bool = True) -> list[tuple[Any, Any]]:
            """``(True, value)`` per blob, ``(False, None)`` for a bad one (read again below to raise),
            and without ``pyyaml`` ``(None, None)`` for one only PyYAML reads."""
            out: list[tuple[Any, Any]] = []
            for path, oid, kind, e in share:
                try:
                    obj = parse_bytes(path, _blob_data(self.repo, oid, e), pyyaml=pyyaml)
                    if obj is NEEDS_PYYAML:
                        out.append((None, None))
                        continue
                    if kind is not None:
                        schemas.validate(kind, obj, path=path)
                    out.append((True, obj))
                except GitcoordError:
                    out.append((False, None))
            return out

        # gitcoord's own files are read here (~20 us each: workers would cost more than they save);
        # a cold read of thousands that PyYAML must construct is split over the cores.
        parsed = parse(misses, pyyaml=False)
        costly = [i for i, (ok, _obj) in enumerate(parsed) if ok is None]
        if costly:
            share = [misses[i] for i in costly]
            slow = _in_workers(parse, share) if len(share) >= PARALLEL_PARSE_MIN and _can_fork_workers() \
                else parse(share)
            for i, answer in zip(costly, slow):
                parsed[i] = answer
        for (path, oid, kind, _e), (ok, obj) in zip(misses, parsed):
            if not ok:
                obj = self._load_blob(path, oid)  # re-raise the error with its proper message, in order
            elif self.cache is not None and kind is not None:
                self.cache.put(kind, oid, obj)
            result[path] = obj
        if self.cache is not None:
            self.cache.save()
        return dict(sorted(result.items()))

    @property
    def config(self) -> dict[str, Any]:
        """``gitcoord.yaml`` merged over the defaults."""
        raw = self.load(CONFIG_PATH) or {}
        return merge_config(DEFAULT_CONFIG, raw)

    def remembered(self, name: str, key: Any, build: Callable[[], T]) -> T:
        """``build()``, kept on disk under ``name`` for ``key`` (one value per name).

        For results computed from the snapshot alone: a key made of git object ids (a commit, a
        tree) names their inputs' content, so a hit is never stale. A warm `plan --json` or
        `state --json` on 10,000 tasks then skips loading and processing every task. Values are
        plain data (stored with marshal); one that marshal cannot store is simply not kept."""
        path = self.cache.directory / f"{name}.marshal" if self.cache is not None and self.cache.directory else None
        if path is not None:
            try:
                stored_key, value = marshal.loads(path.read_bytes())
                if stored_key == key:
                    return value
            except (OSError, EOFError, TypeError, ValueError):
                pass
        value = build()
        if path is not None:
            try:
                data = marshal.dumps((key, value))
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{name}.{os.getpid()}.{threading.get_ident()}.tmp")
                tmp.write_bytes(data)
                os.replace(tmp, path)
            except (OSError, ValueError):
                pass  # an optimisation only
        return value


class UnreadableState(UsageError):
    """The coordination branch's tip cannot be read (a malformed commit or a bad file on it)."""


REPAIR_HINT = "run `gitcoord repair` to roll the branch forward to its last good state"


def _tree_of(repo: pygit2.Repository, commit: str) -> pygit2.Tree:
    try:
        return repo[commit].peel(pygit2.Tree)
    except (pygit2.GitError, ValueError, KeyError) as exc:
        reason = str(exc).split(": ", 1)[-1] if str(exc) else type(exc).__name__
        raise UnreadableState(f"coordination branch tip {commit[:10]} is unreadable ({reason})",
                              hint=REPAIR_HINT, data={"commit": commit}) from None


PARALLEL_PARSE_MIN = 1500  # below this, starting worker processes costs more than it saves


def _can_fork_workers() -> bool:
    """Fork-based workers only where fork is safe: Linux, one thread, more than one core."""
    import sys

    return sys.platform == "linux" and threading.active_count() == 1 and (os.cpu_count() or 1) > 1 \
        and os.environ.get("GITCOORD_NO_PARALLEL") != "1"


def _blob_data(repo: pygit2.Repository, oid: str, entry: Any) -> bytes:
    data = getattr(entry, "data", None)  # a tree's entries are blobs already (pygit2 >= 1.15)
    return data if data is not None else repo[oid].data


def _in_workers(work: Callable[[list[Any]], list[Any]], items: list[Any]) -> list[Any]:
    """``work(items)`` split over forked processes (plain data back through a pipe, with marshal);
    the parent does the first share meanwhile. A worker that fails has its share redone here."""
    workers = min(os.cpu_count() or 2, 4)
    size = -(-len(items) // workers)
    shares = [items[i:i + size] for i in range(0, len(items), size)]
    children = []
    for share in shares[1:]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: compute, send, and leave without running any of the parent's exit code
            try:
                os.close(read_end)
                data = marshal.dumps(work(share))
                with os.fdopen(write_end, "wb") as fh:
                    fh.write(data)
            finally:
                os._exit(0)
        os.close(write_end)
        children.append((pid, read_end, share))
    out = work(shares[0])
    for pid, read_end, share in children:
        with os.fdopen(read_end, "rb") as fh:
            data = fh.read()
        os.waitpid(pid, 0)
        try:
            part = marshal.loads(data)
            if not isinstance(part, list) or len(part) != len(share):
                raise ValueError("short answer")
        except (EOFError, ValueError, TypeError):
            part = work(share)
        out.extend(part)
    return out


def merge_config(defaults: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(defaults)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# --------------------------------------------------------------------------- transactions


class Txn:
    """A pending change set on top of a snapshot. Reads see the pending writes."""

    def __init__(self, base: Snapshot, agent: str):
        self.base = base
        self.repo = base.repo
        self.agent = agent
        self.now = timeutil.now_iso()
        self.changes: dict[str, bytes | None] = {}
        self._parsed: dict[str, Any] = {}
        self.op = "update"
        self.task: str | None = None
        self.summary = ""
        self.events: list[dict[str, Any]] = []

    # -- describing the commit
    def describe(self, op: str, summary: str, task: str | None = None) -> None:
        self.op, self.summary, self.task = op, summary, task

    # -- reads
    def has(self, path: str) -> bool:
        if path in self.changes:
            return self.changes[path] is not None
        return self.base.has(path)

    def load(self, path: str) -> Any:
        """A private, mutable copy of the file at ``path`` (pending writes included), or None."""
        if path in self.changes:
            return _private_copy(self._parsed.get(path)) if self.changes[path] is not None else None
        obj = self.base.load(path)
        return _private_copy(obj) if obj is not None else None

    def files(self, directory: str, suffix: str | None = None) -> list[str]:
        names = set(self.base.files(directory, suffix))
        prefix = f"{directory}/"
        for path, data in self.changes.items():
            if path.startswith(prefix) and "/" not in path[len(prefix):] and (suffix is None or path.endswith(suffix)):
                if data is None:
                    names.discard(path)
                else:
                    names.add(path)
        return sorted(names)

    def load_dir(self, directory: str, suffix: str | None = None) -> dict[str, Any]:
        """Private copies of every file directly inside ``directory`` (pending writes included): read
        in bulk (one tree walk, the entity cache), as a claim of one task reads all of them."""
        prefix = f"{directory}/"
        out = {p: _private_copy(obj) for p, obj in self.base.load_dir(directory, suffix).items()
               if p not in self.changes}
        for path, data in self.changes.items():
            if data is not None and path.startswith(prefix) and "/" not in path[len(prefix):] \
                    and (suffix is None or path.endswith(suffix)):
                out[path] = self.load(path)
        return dict(sorted(out.items()))

    @property
    def config(self) -> dict[str, Any]:
        return merge_config(DEFAULT_CONFIG, self.load(CONFIG_PATH) or {})

    # -- writes
    def put(self, path: str, obj: Any) -> None:
        """Write an entity; it is schema-checked now, so a bad write never reaches the branch."""
        check_store_path(path)
        kind = schemas.kind_for_path(path)
        if kind is not None:
            schemas.validate(kind, obj, path=path)
        self.changes[path] = dump_bytes(path, obj)
        self._parsed[path] = _private_copy(obj)

    def put_bytes(self, path: str, data: bytes) -> None:
        check_store_path(path)
        self.changes[path] = data
        self._parsed.pop(path, None)

    def delete(self, path: str) -> None:
        check_store_path(path)
        if self.has(path):
            self.changes[path] = None

    def add_event(self, type: str, *, task: str | None = None, to: str | None = None,
                  summary: str | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Append an event file (unique name, so concurrent events never conflict)."""
        event_id = os.urandom(6).hex()
        stamp = self.now.replace(":", "").replace("-", "").replace(".", "")
        agent_slug = "".join(c if c.isalnum() or c in "._-" else "_" for c in self.agent)[:40] or "unknown"
        path = f"events/{self.now[:10]}/{stamp}-{agent_slug}-{event_id}.json"
        event: dict[str, Any] = {"id": event_id, "type": type, "at": self.now, "agent": self.agent}
        if task is not None:
            event["task"] = task
        if to is not None:
            event["to"] = to
        if summary is not None:
            event["summary"] = summary
        event["data"] = data or {}
        self.put(path, event)
        self.events.append(event)
        return event


@dataclass
class TxnResult:
    value: Any
    commit: str | None
    changed: bool
    attempts: int
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SyncResult:
    action: str
    local: str | None
    remote: str | None
    conflicts: list[str] = field(default_factory=list)
    replayed: list[dict[str, Any]] = field(default_factory=list)  # offline operations now on the remote
    lost: list[dict[str, Any]] = field(default_factory=list)  # offline operations that lost a race
    backup: str | None = None  # a ref keeping the offline commits when some were lost

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "local": self.local, "remote": self.remote, "conflicts": self.conflicts,
                "replayed": self.replayed, "lost": self.lost, "backup": self.backup}


def _private_copy(obj: Any) -> Any:
    """A deep copy of parsed entity data (plain dicts, lists, strings, numbers): marshal does it in C,
    several times faster than copy.deepcopy; anything marshal cannot hold is deep-copied."""
    try:
        return marshal.loads(marshal.dumps(obj))
    except ValueError:
        return copy.deepcopy(obj)


def _op_of(commit: pygit2.Commit) -> dict[str, Any]:
    """The operation a coordination commit recorded (its subject and trailers)."""
    trailers = {}
    for line in commit.message.splitlines():
        if line.startswith("Gitcoord-") and ": " in line:
            key, _, value = line.partition(": ")
            trailers[key[len("Gitcoord-"):].lower()] = value
    return {"commit": str(commit.id), "subject": commit.message.splitlines()[0] if commit.message else "",
            "op": trailers.get("op"), "agent": trailers.get("agent"), "task": trailers.get("task")}


OPTIMISTIC_SECONDS = 5.0  # a claim or own-log append tries the view this process fetched this recently
TURN_WAIT_LIMIT = 10.0  # seconds a write leaves to others' turns at most before competing
TURN_HISTORY = 256  # coordination commits read back to find this agent's last two
TURN_QUIET_SECONDS = 3  # a branch whose tip is older than this has no writers queueing on it
TURN_ROUND_SECONDS = 10  # with one commit of this agent in reach: who landed this shortly before it


def _turns_owed(repo: pygit2.Repository, tip: str, agent: str) -> int:
    """How many of this round's other writers have not landed since ``agent``'s last commit, from
    the first-parent history at ``tip`` (the round: who landed between its last two commits)."""
    agents: list[str | None] = []
    times: list[int] = []
    mine: list[int] = []
    commit = repo[tip]
    try:
        while len(agents) < TURN_HISTORY and len(mine) < 2:
            who = None
            for line in commit.message.splitlines():
                if line.startswith("Gitcoord-Agent: "):
                    who = line[len("Gitcoord-Agent: "):]
            if who == agent:
                mine.append(len(agents))
            agents.append(who)
            times.append(commit.commit_time)
            if not commit.parents:
                break
            commit = commit.parents[0]
    except (pygit2.GitError, ValueError, KeyError):
        return 0  # an unreadable history never blocks a write
    if not mine:
        return 0
    last = mine[0]
    if len(mine) > 1:
        previous = mine[1]
    else:  # one commit of this agent in reach: the round is who landed shortly before it
        previous = last + 1
        while previous < len(agents) and times[previous] >= times[last] - TURN_ROUND_SECONDS:
            previous += 1
    round_ = set(agents[last + 1:previous]) - {agent, None}
    if last >= len(round_):
        return 0  # a round's worth of landings since this agent's: the silent ones are not waiting
    return min(len(round_ - set(agents[:last])), len(round_) - last)


def _only_new_events(txn: Txn) -> bool:
    """A change set that only adds event files (a message with no effect on any shared state)."""
    return bool(txn.changes) and all(p.startswith("events/") and data is not None and not txn.base.has(p)
                                     for p, data in txn.changes.items())


def _test_pause(point: str) -> None:
    """Test-only pause point: with GITCOORD_TEST_PAUSE=<point>:<file>, announce and wait to be killed."""
    spec = os.environ.get("GITCOORD_TEST_PAUSE")
    if not spec or not spec.startswith(point + ":"):
        return
    marker = spec[len(point) + 1:]
    Path(marker).write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Path(marker).exists():
        time.sleep(0.01)


REMOTE_RACE_BUDGET = float("inf")  # a write never gives up on races it loses while the remote answers
LOSS_WINDOW_ROUND_TRIPS = 2  # the widest pause after a lost race, in round trips (turns spread writers out)


def _env_seconds(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ[name]))
    except (KeyError, ValueError):
        return default


class RemoteRetry:
    """When and how long to retry a push that lost its race against other writers.

    A lost race means the remote answered and somebody else's write landed: progress was made,
    so giving up after a fixed number of attempts only turns a busy minute into errors. A writer
    keeps trying while the remote answers and moves (a refusal after which it had not moved is
    no lost race: ``Store._transact_remote`` stops after ``min_attempts`` of those); a budget in
    seconds is only set by GITCOORD_RACE_BUDGET (then at least ``min_attempts`` tries). The
    pause before the next attempt is sized to the round trip measured on this remote (the lost
    attempt: build + push), with full jitter over a window of one, then two round trips. Writers
    are spread out before they push by taking turns (``Store._await_turn``), so a loser retries
    soon: a wider window (it used to grow to 8 round trips) left the ref idle and let writers
    arriving fresh overtake those that had lost many times.
    """

    def __init__(self, min_attempts: int, budget: float):
        self.min_attempts = min_attempts
        self.started = time.monotonic()
        self.deadline = self.started + budget
        self.losses = 0
        self.round_trip = 0.05
        self._attempt_started = self.started

    def attempt_started(self) -> None:
        self._attempt_started = time.monotonic()

    def lost(self) -> bool:
        """Record a lost race and pause; False when the budget is spent (give up)."""
        now = time.monotonic()
        self.losses += 1
        measured = now - self._attempt_started
        if measured > 0:  # a moving average: one slow attempt does not stretch every pause
            self.round_trip = measured if self.losses == 1 else 0.7 * self.round_trip + 0.3 * measured
        if self.losses >= self.min_attempts and now >= self.deadline:
            return False
        # Full jitter: the losers spread out instead of all pushing again at once (a rejected push
        # costs the machine and the server as much as a winning one).
        window = self.round_trip * min(2 ** (self.losses - 1), LOSS_WINDOW_ROUND_TRIPS)
        pause = random.uniform(0, window)
        if self.losses >= self.min_attempts:
            pause = min(pause, max(0.0, self.deadline - now))
        time.sleep(pause)
        return True


class Store:
    """The coordination branch of one repository, optionally shared through a remote."""

    def __init__(self, repo: pygit2.Repository, *, branch: str | None = None, remote: str | None = None,
                 agent: str | Callable[[], str] = "unknown", retries: int = 12):
        self.repo = repo
        branch = branch or os.environ.get("GITCOORD_BRANCH") or gitutil.git_config_get(repo, "gitcoord.branch") \
            or DEFAULT_BRANCH
        self.ref = gitutil.check_ref_name(gitutil.branch_ref(branch), what="coordination branch")
        self.branch = self.ref[len("refs/heads/"):] if self.ref.startswith("refs/heads/") else self.ref
        if remote is not None and not gitutil.remote_exists(repo, remote):
            raise UsageError(f"--remote {remote}: no such remote in this repository (see `git remote -v`)")
        self.remote = remote
        self.tracking_ref = f"refs/remotes/{remote}/{self.branch}" if remote else None
        self.events_prefix = agent_events_prefix(self.ref)
        self.events_tracking = f"refs/gitcoord/remotes/{remote}/{self.events_prefix[len('refs/gitcoord/'):]}" \
            if remote else None
        self.claims_prefix = claims_prefix(self.ref)
        self._agent_refs_refused = False
        self._claim_refs_refused = False
        self._agent = agent  # a callable resolves on the first write: reading needs no identity
        self.retries = retries
        self.cache = EntityCache(gitutil.cache_dir(repo))

    @property
    def agent(self) -> str:
        if callable(self._agent):
            self._agent = self._agent()
        return self._agent

    @agent.setter
    def agent(self, value: str) -> None:
        self._agent = value

    # -- refs
    def _ref_oid(self, ref: str) -> str | None:
        obj = self.repo.references.get(ref)
        if obj is None:
            return None
        return str(obj.resolve().target)

    def local_tip(self) -> str | None:
        return self._ref_oid(self.ref)

    def fetch(self, *, all_logs: bool = True) -> str | None:
        """Fetch the remote's coordination ref into the tracking ref; return its oid. With it come
        the agents' event logs, or (``all_logs=False``, a write) only this agent's own: a write
        reads no events, and bringing every other agent's new statuses would slow each of its
        fetches in a busy wave (the pattern may also match a few names that start like its own)."""
        assert self.remote and self.tracking_ref
        started = time.monotonic()
        logs = "*" if all_logs or not pygit2.reference_is_valid_name(self.events_prefix + self.agent) \
            else f"{self.agent}*"
        tip = gitutil.fetch_ref(self.repo, self.remote, self.ref, self.tracking_ref,
                                also=(f"+{self.events_prefix}{logs}:{self.events_tracking}{logs}",
                                      f"+{self.claims_prefix}*:{self.claims_prefix}*"))
        self._timed("fetch", time.monotonic() - started)
        self._fetched_at = time.monotonic()
        mark_fetched(self.repo)
        return tip

    def _timed(self, step: str, seconds: float) -> None:
        """Keep a moving average of how long a fetch and a push take on this remote: a landing on
        the coordination ref costs one of each, which sizes the wait for others' turns."""
        times = self.__dict__.setdefault("_round_trips", {})
        times[step] = seconds if step not in times else 0.7 * times[step] + 0.3 * seconds

    def _landing_seconds(self) -> float | None:
        times = self.__dict__.get("_round_trips") or {}
        return times["fetch"] + times["push"] if "fetch" in times and "push" in times else None

    def event_tips(self) -> tuple[str, ...]:
        """The agents' event logs: as last fetched in remote mode; without a remote, the logs held here
        (a clone writes its events on the branch then, but the shared bare repository — the remote
        everyone pushes to — holds every agent's log under its own refs)."""
        return self._side_refs()[0]

    def _side_refs(self) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """(event log tips, ``(task, claim commit)`` of the claim refs), from one pass over the refs."""
        events_prefix = self.events_tracking or self.events_prefix
        claims_prefix = self.claims_prefix
        logs: list[str] = []
        claimed: list[tuple[str, str]] = []
        for ref in self.repo.references.iterator(pygit2.enums.ReferenceFilter.ALL):
            name = ref.name
            if not name.startswith("refs/gitcoord/") or ref.type != pygit2.enums.ReferenceType.DIRECT:
                continue
            if name.startswith(events_prefix):
                logs.append(str(ref.target))
            elif name.startswith(claims_prefix):
                claimed.append((name[len(claims_prefix):], str(ref.target)))
        return tuple(sorted(logs)), tuple(sorted(claimed))

    def view(self, tip: str | None) -> Snapshot:
        """The state at coordination commit ``tip``, with the agents' event logs and the claim refs
        as last fetched."""
        snap = Snapshot(self.repo, tip, self.cache)
        snap.event_tips, snap.claim_tips = self._side_refs()
        return snap

    def snapshot(self, *, fetch: bool = False) -> Snapshot:
        """The current state: the remote's (tracking ref) in remote mode, else the local branch."""
        if self.remote:
            tip = self.fetch() if fetch else self._ref_oid(self.tracking_ref)  # type: ignore[arg-type]
            if tip is None and not fetch:
                tip = self.fetch()
            if tip is not None:
                self._advance_local(tip)
            else:
                tip = self.local_tip()
        else:
            tip = self.local_tip()
        return self.view(tip)

    def require(self, snapshot: Snapshot) -> Snapshot:
        if not snapshot.exists:
            raise UsageError(f"no coordination branch '{self.branch}' yet: run `gitcoord init` first")
        return snapshot

    def _cas(self, expected: str | None, new: str, message: str, ref: str | None = None,
             also: tuple[tuple[str, str, str], ...] = ()) -> bool:
        """Move ``ref`` from ``expected`` to ``new`` under git's ref lock; False when it moved meanwhile.

        The refs in ``also`` are locked and moved in the same transaction; one of them having
        moved raises RaceError (nothing moves)."""
        ref = ref or self.ref
        try:
            with self.repo.transaction() as tx:
                tx.lock_ref(ref)
                for other, _, _ in also:
                    tx.lock_ref(other)
                if self._ref_oid(ref) != expected:
                    return False
                for other, other_expected, _ in also:
                    if self._ref_oid(other) != other_expected:
                        now = self._ref_oid(other)
                        raise RaceError(f"{other} moved meanwhile ({other_expected[:12]} -> {str(now)[:12]}); "
                                        "nothing was changed, run it again",
                                        data={"ref": other, "expected": other_expected, "current": now})
                tx.set_target(ref, new, message=message)
                for other, _, other_new in also:
                    tx.set_target(other, other_new, message=message)
            return True
        except pygit2.GitError as exc:
            if "lock" in str(exc).lower():
                return False
            raise

    def _commit(self, txn: Txn, parents: list[str], onto: pygit2.Tree | None | bool = True,
                changes: dict[str, bytes | None] | None = None) -> str:
        """The commit of ``txn``'s changes (or ``changes``) on its snapshot's tree (``onto``: on that tree instead)."""
        base_tree = txn.base.tree if onto is True else onto
        tree_oid = _build_tree(self.repo, base_tree, txn.changes if changes is None else changes)  # type: ignore[arg-type]
        sig = self._signature()
        lines = [f"[{txn.op}] {txn.summary or txn.op}".strip(), "", f"Gitcoord-Op: {txn.op}",
                 f"Gitcoord-Agent: {self.agent}"]
        if txn.task:
            lines.append(f"Gitcoord-Task: {txn.task}")
        message = "\n".join(line.replace("\0", "") for line in lines) + "\n"
        from gitcoord.signing import create_commit

        return create_commit(self.repo, sig, sig, message, tree_oid, parents)  # SSH-signed when git is set up for it

    def _signature(self) -> pygit2.Signature:
        """Author/committer of coordination commits. Only values git can parse back are written:
        a name or e-mail with a line break or angle bracket once split a commit header and made
        the shared branch unreadable for every agent."""
        from gitcoord.identity import check_agent_name

        name = check_agent_name(self.agent, "agent")
        email = gitutil.git_config_get(self.repo, "user.email") or ""
        if not email or any(c in email for c in "<>\n\r\0") or any(ord(c) < 32 for c in email) or len(email) > 200:
            email = f"{_slug(name)}@gitcoord.invalid"
        return pygit2.Signature(name, email)

    def _sleep(self, attempt: int) -> None:
        time.sleep(random.uniform(0, min(0.5, 0.01 * (2 ** attempt))))

    def _race_budget(self) -> "RemoteRetry":
        return RemoteRetry(self.retries, _env_seconds("GITCOORD_RACE_BUDGET", REMOTE_RACE_BUDGET))

    # -- transactions
    def transact(self, fn: Callable[[Txn], T], *, also: tuple[tuple[str, str, str], ...] = ()) -> TxnResult:
        """Run ``fn`` on the latest state and commit its changes atomically (retrying lost races).

        ``also`` moves other local refs ``(ref, expected, new)`` in the same ref transaction as the
        coordination branch (a batch merge lands its target together with its record): all refs
        move or none does; a moved ``also`` ref is a RaceError, not a retry."""
        if self.remote:
            if also:
                raise UsageError("moving other refs with a coordination write is local-only (remote: one atomic push)")
            return self._transact_remote(fn)
        last_tip = None
        for attempt in range(self.retries):
            tip = self.local_tip()
            txn = Txn(self.view(tip), self.agent)
            value = fn(txn)
            if not txn.changes:
                return TxnResult(value, tip, False, attempt + 1)
            check_declared(txn.base.config, self.agent, txn.op)
            commit = self._commit(txn, [tip] if tip else [])
            _test_pause("before-cas")
            if self._cas(tip, commit, f"gitcoord: {txn.op}", also=also):
                self.cache.save()
                return TxnResult(value, commit, True, attempt + 1, txn.events)
            last_tip = tip
            if recover_stale_ref_lock(self.repo, self.ref):
                continue  # a crash had left git's ref lock behind; it is moved aside now
            self._sleep(attempt)
        lock = gitutil.common_dir(self.repo) / (self.ref + ".lock")
        hint = f" ({lock} exists: if no git process is running, remove it)" if lock.exists() else ""
        raise RaceError(f"{self.ref} kept moving; gave up after {self.retries} attempts{hint}",
                        data={"last_tip": last_tip})

    def _transact_remote(self, fn: Callable[[Txn], T]) -> TxnResult:
        assert self.remote and self.tracking_ref
        # A write to the coordination ref always starts from the remote's tip: pushing on a stale one
        # costs a rejected push (a pack built and refused) before the fetch anyway, and a writer that
        # skips the fetch because its last write is still the tip would win every race against those
        # who must fetch (starvation). A claim or an append to this agent's own log races nobody and
        # is leased on what it decided on, so a process that fetched a moment ago (a long-lived agent
        # server, a runner) tries it on that view first: a stale view only costs the rejected push.
        retry = self._race_budget()
        recent = self.__dict__.get("_fetched_at")
        if recent is not None and time.monotonic() - recent < OPTIMISTIC_SECONDS \
                and self._ref_oid(self.tracking_ref) is not None:
            tip, fresh = self._ref_oid(self.tracking_ref), False
        else:  # a server busy with a wave may drop a connection: retried like a fetch after a lost race
            tip, fresh = self._fetch_after_loss(retry, counts=False), True
        waited_turn = False  # a write leaves the rest of the round to others once, before its first push
        unmoved = 0  # refusals after which the remote had not moved (no race was lost)
        attempt = -1
        while True:
            attempt += 1
            retry.attempt_started()
            self._last_pushed: tuple[str, str] | None = None  # what this attempt pushed, if anything
            txn = Txn(self.view(tip), self.agent)
            try:
                value = fn(txn)
            except GitcoordError:
                if not fresh:  # decided on a possibly stale view: confirm against the remote's tip
                    newer, fresh = self.fetch(all_logs=False), True
                    if newer != tip:
                        tip = newer
                        continue
                raise
            if not txn.changes:
                if not fresh:  # "nothing to do" decided on a possibly stale view: confirm it
                    newer, fresh = self.fetch(all_logs=False), True
                    if newer != tip:
                        tip = newer
                        continue
                if tip is not None:
                    self._advance_local(tip)
                return TxnResult(value, tip, False, attempt + 1)
            check_declared(txn.base.config, self.agent, txn.op)
            own_log = self._own_events_ref() if _only_new_events(txn) else None
            claim = self._claim_of(txn)
            if not fresh and claim is None and own_log is None:
                tip, fresh, attempt = self.fetch(all_logs=False), True, attempt - 1  # the branch: decide on its tip
                continue
            if claim is not None:
                landed = self._push_claim(txn, *claim, tip)
                if landed is not None:
                    return TxnResult(value, landed, True, attempt + 1, txn.events)
                if self._claim_refs_refused:
                    continue  # this remote takes no claim refs: the same claim goes on the branch
            elif own_log is not None:
                landed = self._append_own_events(txn, own_log, tip)
                if landed is not None:
                    return TxnResult(value, landed, True, attempt + 1, txn.events)
                if self._agent_refs_refused:
                    continue  # this remote takes no event logs: the same write goes on the branch
            else:
                if not waited_turn and tip is not None:
                    waited_turn, newer = True, self._await_turn(tip, retry)
                    if newer != tip:  # others landed meanwhile: decide again on their state
                        tip, fresh, attempt = newer, True, attempt - 1  # a turn waited for is no lost race
                        continue
                commit = self._commit(txn, [tip] if tip else [])
                seals = self.seals_for(txn.base, txn.changes)
                _test_pause("before-cas")
                started = time.monotonic()
                self._last_pushed = (self.tracking_ref, commit)
                outcome = self._push_sealed([(self.ref, commit, None)], seals)
                self._timed("push", time.monotonic() - started)
                if outcome.ok:
                    self.repo.references.create(self.tracking_ref, commit, force=True)
                    self._advance_local(commit)
                    self.cache.save()
                    return TxnResult(value, commit, True, attempt + 1, txn.events)
            if not retry.lost():
                break
            seen = (tip, self._ref_oid(f"{self.events_tracking}{self.agent}"), txn.base.claim_tips)
            tip, fresh = self._fetch_after_loss(retry), True
            pushed, self._last_pushed = self._last_pushed, None
            if pushed is not None and self._landed(*pushed):  # the connection dropped after the push landed
                if tip is not None:
                    self._advance_local(tip)
                self.cache.save()
                return TxnResult(value, pushed[1], True, attempt + 1, txn.events)
            if (tip, self._ref_oid(f"{self.events_tracking}{self.agent}"), self._side_refs()[1]) != seen:
                unmoved = 0
            else:  # refused, yet nothing moved: not a race lost to anyone
                unmoved += 1
                if unmoved >= self.retries:
                    raise RaceError(f"remote '{self.remote}' refused {attempt + 1} pushes to {self.ref} as out of "
                                    "date while it did not move; check the remote's hooks or branch protection")
        raise RaceError(f"remote '{self.remote}' {self.ref} kept moving; gave up after {attempt + 1} attempts "
                        f"in {time.monotonic() - retry.started:.0f}s (others kept landing first; "
                        "GITCOORD_RACE_BUDGET sets how many seconds to keep trying)")

    # -- per-task claim refs (claims.py)
    def _claims_enabled(self) -> bool:
        return bool(self.remote) and os.environ.get("GITCOORD_AGENT_REFS") != "0"

    def _claim_of(self, txn: Txn) -> tuple[str, str, str] | None:
        """``(manifest path, claim ref, own event log)`` when ``txn`` is a plain claim that can go to the
        task's claim ref; None when it goes on the coordination branch."""
        from gitcoord import claims

        if not self._claims_enabled() or self._claim_refs_refused:
            return None
        paths = [p for p in txn.changes if not p.startswith("events/")]
        if len(paths) != 1 or not all(data is not None and not txn.base.has(p)
                                      for p, data in txn.changes.items() if p.startswith("events/")):
            return None
        try:
            before = txn.base.load(paths[0])
        except GitcoordError:
            return None  # replacing an unreadable file (a repair) is no claim
        after = txn._parsed.get(paths[0])
        if not isinstance(after, dict) or after.get("agent") != self.agent \
                or any(event.get("agent") != self.agent for event in txn.events):
            return None  # a claim made for another agent (a runner dispatching) goes on the branch
        path = claims.is_claim(txn.changes, before, after)
        task_id = claims.task_of_path(path) if path else None
        ref = claims.claim_ref(self.claims_prefix, task_id) if task_id else None
        log = self._own_events_ref()
        if path is None or ref is None or log is None or txn.base.raw_blob_id(path) is None:
            return None
        return path, ref, log

    def _push_claim(self, txn: Txn, path: str, ref: str, log: str, coord_tip: str | None) -> str | None:
        """Push the claim to the task's claim ref (leased on its value as fetched) and its events to
        this agent's log, in one atomic push. Returns the claim commit, or None when the push lost
        (someone claimed or sealed the task, or this agent's log moved: fetch and decide again) or
        the remote refused claim refs (``_claim_refs_refused``: the claim goes on the branch)."""
        from gitcoord import claims
        from gitcoord.errors import RemoteError
        from gitcoord.signing import create_commit

        task_id = claims.task_of_path(path)
        assert task_id is not None
        expected = dict(txn.base.claim_tips).get(task_id)  # what this claim was decided on, not a later fetch
        sig = self._signature()
        message = claims.commit_message(claims.CLAIM_OP, self.agent, task_id, txn.summary,
                                        base=txn.base.raw_blob_id(path))
        claim = create_commit(self.repo, sig, sig, message,
                              claims.claim_tree(self.repo, path, txn.changes[path]),  # type: ignore[arg-type]
                              claims.parents(self.repo, expected))
        tracking, log_commit = self._own_log_commit(
            txn, {p: data for p, data in txn.changes.items() if p.startswith("events/")})
        _test_pause("before-cas")
        started = time.monotonic()
        try:
            self._last_pushed = (ref, claim)
            outcome = gitutil.push(self.repo, self.remote, [f"{claim}:{ref}", f"{log_commit}:{log}"],  # type: ignore[arg-type]
                                   atomic=True, leases=[f"{ref}:{expected or ''}"])
        except RemoteError as exc:
            if "refused" not in str(exc):
                raise
            self._claim_refs_refused = True
            return None
        self._timed("push", time.monotonic() - started)
        if not outcome.ok:
            return None
        self.repo.references.create(ref, claim, force=True)
        self.repo.references.create(tracking, log_commit, force=True)
        if coord_tip is not None:
            self._advance_local(coord_tip)
        self.cache.save()
        return claim

    def seals_for(self, base: Snapshot, changes: dict[str, bytes | None]) -> list[tuple[str, str, str | None]]:
        """``(claim ref, seal commit, expected value)`` for each task this change set changes while it
        could still be claimed in ``base``: pushed atomically with the write, so a claim made meanwhile
        makes the write lose (it fetches and builds on the claim) instead of being silently undone."""
        from gitcoord import claims
        from gitcoord.signing import create_commit

        if not self._claims_enabled():
            return []
        out: list[tuple[str, str, str | None]] = []
        sig = None
        seen = dict(base.claim_tips)  # the leases: the claim refs as this write saw them, not as fetched since
        for path in changes:
            task_id = claims.task_of_path(path)
            if task_id is None or base.raw_blob_id(path) is None:
                continue
            ref = claims.claim_ref(self.claims_prefix, task_id)
            try:
                before = base.load(path) if ref else None
            except GitcoordError:
                continue  # an unreadable manifest cannot be claimed either (its repair needs no seal)
            if not isinstance(before, dict) or before.get("status") not in claims.CLAIMABLE:
                continue
            if len(out) >= claims.MAX_SEALS:
                raise UsageError(f"this write changes more than {claims.MAX_SEALS} tasks that could be claimed; "
                                 "change them in smaller parts (e.g. import the plan in parts)")
            sig = sig or self._signature()
            expected = seen.get(task_id)
            seal = create_commit(self.repo, sig, sig,
                                 claims.commit_message(claims.SEAL_OP, self.agent, task_id, f"{task_id} changed"),
                                 claims.empty_tree(self.repo), claims.parents(self.repo, expected))
            out.append((ref, seal, expected))  # type: ignore[arg-type]
        return out

    def _push_sealed(self, updates: list[tuple[str, str, str | None]],
                     seals: list[tuple[str, str, str | None]]) -> gitutil.PushOutcome:
        """Push ``updates`` (plain fast-forwards) with ``seals`` (leased), all or nothing; the seals'
        refs here follow when it lands."""
        from gitcoord.errors import RemoteError

        refspecs = [f"{new}:{ref}" for ref, new, _ in updates + seals]
        leases = [f"{ref}:{expected or ''}" for ref, _new, expected in seals]
        try:
            outcome = gitutil.push(self.repo, self.remote, refspecs, atomic=bool(seals), leases=leases)  # type: ignore[arg-type]
        except RemoteError as exc:
            # Never retried without the seals: a claim landing meanwhile would be silently undone.
            if seals and "refused" in str(exc) and self.claims_prefix in str(exc):
                exc.hint = (exc.hint or "") + ("a remote that takes no refs besides branches needs "
                                               "GITCOORD_AGENT_REFS=0 for the whole team")
            raise
        if outcome.ok:
            for ref, new, _ in seals:
                self.repo.references.create(ref, new, force=True)
        return outcome

    def _own_events_ref(self) -> str | None:
        """This agent's event log on the remote, or None when its events go on the branch (no remote,
        a name git refuses as a ref, GITCOORD_AGENT_REFS=0, or a remote that refused such a ref)."""
        if not self.remote or self._agent_refs_refused or os.environ.get("GITCOORD_AGENT_REFS") == "0":
            return None
        ref = self.events_prefix + self.agent
        return ref if pygit2.reference_is_valid_name(ref) else None

    def _append_own_events(self, txn: Txn, ref: str, coord_tip: str | None) -> str | None:
        """Append ``txn``'s new event files to this agent's own log: a fast-forward of a ref only
        this agent writes, so it does not race the other agents (only this agent's other
        processes). Returns the commit, or None when the push lost (fetch and retry) or the
        remote refused the ref (``_agent_refs_refused``: the write goes on the branch)."""
        from gitcoord.errors import RemoteError

        tracking, commit = self._own_log_commit(txn, txn.changes)
        _test_pause("before-cas")
        try:
            self._last_pushed = (tracking, commit)
            outcome = gitutil.push(self.repo, self.remote, [f"{commit}:{ref}"])  # type: ignore[arg-type]
        except RemoteError as exc:
            if "refused" not in str(exc):
                raise
            self._agent_refs_refused = True
            return None
        if not outcome.ok:
            return None
        self.repo.references.create(tracking, commit, force=True)
        if coord_tip is not None:
            self._advance_local(coord_tip)
        self.cache.save()
        return commit

    def _own_log_commit(self, txn: Txn, events: dict[str, bytes | None]) -> tuple[str, str]:
        """(this agent's log as last fetched here, a commit adding ``events`` on top of it)."""
        tracking = f"{self.events_tracking}{self.agent}"
        parent = self._ref_oid(tracking)
        onto = _tree_of(self.repo, parent) if parent else None
        return tracking, self._commit(txn, [parent] if parent else [], onto=onto, changes=events)

    def _landed(self, ref: str, commit: str) -> bool:
        """Whether ``commit`` is on ``ref`` (as just fetched): a push whose connection dropped may have landed."""
        now = self._ref_oid(ref)
        return now is not None and (now == commit or gitutil.is_ancestor(self.repo, commit, now))

    def _fetch_after_loss(self, retry: RemoteRetry, *, counts: bool = True) -> str | None:
        """Fetch after a lost race (``counts=False``: before the first attempt). The remote answered a
        moment ago, so a failed fetch now is retried before it counts as the remote failing: a
        connection the busy server dropped (git daemon at its connection limit) with a growing
        pause, up to six times; any other failure after a lost race within the race budget, three."""
        from gitcoord.errors import RemoteError

        for failures in range(1, 7):
            try:
                return self.fetch(all_logs=False)
            except RemoteError as exc:
                # "Could not read from remote repository" alone is also a wrong URL or a refused key:
                # a dropped connection only once this process has talked to the remote.
                markers = gitutil.DROPPED_CONNECTION if "_fetched_at" in self.__dict__ or counts \
                    else gitutil.DROPPED_CONNECTION[:-1]
                dropped = any(m in str(exc) for m in markers)
                if failures >= (6 if dropped else 3) or not (dropped or counts):
                    raise
                if dropped:
                    time.sleep(random.uniform(0, min(2.0, 0.1 * 2 ** failures)))
                elif not retry.lost():
                    raise
        raise AssertionError("unreachable")

    def _await_turn(self, tip: str, retry: RemoteRetry) -> str | None:
        """Before competing for the coordination ref, leave the rest of this round to the writers
        this agent already went ahead of; return the tip to build on.

        Read from the branch's own history, so it costs no extra round trip: the writers who
        landed between this agent's last two commits are the round; those of them who have not
        landed since this agent's last commit are owed a turn. The writer waits about one landing
        (a fetch + push as measured) for each, fetches, and counts again; it goes when none is
        owed, when the branch stood still for two landings' time, after a round's worth of
        landings or TURN_WAIT_LIMIT, so writers that went quiet are never waited for long. A
        writer that has not landed for a round waits for nobody: one that lost many times is
        soon first in line and a winner no longer takes every race (issue 14: p99 84 s before)."""
        owed = _turns_owed(self.repo, tip, self.agent)
        if not owed or time.time() - self.repo[tip].commit_time > TURN_QUIET_SECONDS:
            return tip  # nobody is owed, or nobody landed lately: no queue to wait in
        # The pace of a landing is what this writer measures a fetch and a push to take, not the
        # branch's recent pace: that one includes the waits, and would stretch them further.
        pace = self._landing_seconds() or retry.round_trip
        deadline = time.monotonic() + min(TURN_WAIT_LIMIT, 2 * owed * pace + 1.0)
        moved_at = time.monotonic()
        while owed and time.monotonic() < deadline:
            time.sleep(min(max(0.0, deadline - time.monotonic()), owed * pace * random.uniform(0.8, 1.0)))
            newer = self._fetch_after_loss(retry)
            if newer is None:
                return newer
            if newer == tip:
                if time.monotonic() - moved_at >= 2 * pace:
                    return tip  # nobody landed for two landings' time: those ahead are not waiting
                continue  # the one ahead may be landing right now: pushing too would only collide
            tip, moved_at = newer, time.monotonic()
            owed = _turns_owed(self.repo, tip, self.agent)
        return tip

    def _advance_local(self, new: str) -> None:
        """Fast-forward the local branch to ``new`` when it is behind; leave a diverged one to `sync`."""
        for _ in range(5):
            cur = self.local_tip()
            if cur == new:
                return
            if cur is not None and not gitutil.is_ancestor(self.repo, cur, new):
                return
            if self._cas(cur, new, "gitcoord: fast-forward to remote"):
                return

    # -- sync
    def sync(self) -> SyncResult:
        """Bring local and remote together: fast-forward either way, or merge per-entity files."""
        if not self.remote:
            raise UsageError("sync needs a remote: pass --remote NAME or `git config gitcoord.remote NAME`")
        for attempt in range(self.retries):
            remote_tip = self.fetch()
            local = self.local_tip()
            if local is None and remote_tip is None:
                return SyncResult("nothing", None, None)
            if local == remote_tip:
                return SyncResult("up-to-date", local, remote_tip)
            if local is None or (remote_tip is not None and gitutil.is_ancestor(self.repo, local, remote_tip)):
                self._advance_local(remote_tip)  # type: ignore[arg-type]
                return SyncResult("fast-forward-local", self.local_tip(), remote_tip)
            remote_view = self.view(remote_tip)
            claimed = remote_view.live_claims()  # claimed on the remote since: an offline change there loses
            if remote_tip is None or (gitutil.is_ancestor(self.repo, remote_tip, local)
                                      and not claimed.keys() & self._changed_paths(remote_tip, local)):
                seals = self.seals_for(remote_view, dict.fromkeys(self._changed_paths(remote_tip, local)))
                outcome = self._push_sealed([(self.ref, local, None)], seals)
                if outcome.ok:
                    self.repo.references.create(self.tracking_ref, local, force=True)  # type: ignore[arg-type]
                    return SyncResult("pushed", local, local)
                self._sleep(attempt)
                continue
            replayed, lost, new_tip = self._replay(local, remote_tip, claimed)
            if new_tip != remote_tip:
                seals = self.seals_for(remote_view, dict.fromkeys(self._changed_paths(remote_tip, new_tip)))
                outcome = self._push_sealed([(self.ref, new_tip, None)], seals)
                if not outcome.ok:
                    self._sleep(attempt)
                    continue
                self.repo.references.create(self.tracking_ref, new_tip, force=True)  # type: ignore[arg-type]
            backup = f"refs/gitcoord/offline-backup/{local[:12]}"
            self.repo.references.create(backup, local, force=True)  # the offline commits stay reachable
            self._cas(local, new_tip, "gitcoord: sync replay")
            return SyncResult("replayed", new_tip, new_tip, [op["paths"][0] for op in lost if op["paths"]],
                              replayed=replayed, lost=lost, backup=backup if lost else None)
        raise RaceError(f"sync: remote '{self.remote}' kept moving; gave up after {self.retries} attempts")

    def _changed_paths(self, old: str | None, new: str) -> set[str]:
        """The files that differ between coordination commits ``old`` and ``new``."""
        before = _flatten(self.repo, self.repo[old].peel(pygit2.Tree)) if old else {}
        after = _flatten(self.repo, self.repo[new].peel(pygit2.Tree))
        return {p for p in set(before) | set(after) if before.get(p) != after.get(p)}

    def _replay(self, local: str, remote_tip: str, claimed: dict[str, tuple[str, str]] | None = None,
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
        """Re-apply each local-only operation, oldest first, on top of the remote's state.

        An operation applies when no file it changed was changed on the remote meanwhile (a claim,
        a status or a lock file of the same entity) and a lock it took does not collide with one
        taken remotely; otherwise it is *lost* and reported on its own — never merged silently.
        """
        base = gitutil.merge_base(self.repo, local, remote_tip)
        chain: list[pygit2.Commit] = []
        current = self.repo[local]
        while str(current.id) != base and current.parents:
            chain.append(current)
            current = current.parents[0]
        if str(current.id) != base:
            chain.append(current)  # a local root: an offline `init` beside the remote's
        tip = remote_tip
        replayed: list[dict[str, Any]] = []
        lost: list[dict[str, Any]] = []
        for commit in reversed(chain):
            before = _flatten(self.repo, commit.parents[0].peel(pygit2.Tree)) if commit.parents else {}
            after = _flatten(self.repo, commit.peel(pygit2.Tree))
            changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
            tip_tree = self.repo[tip].peel(pygit2.Tree)
            current_files = _flatten(self.repo, tip_tree)
            for path, (base_blob, claimed_blob) in (claimed or {}).items():
                if current_files.get(path) == base_blob:
                    current_files[path] = claimed_blob  # claimed on the remote: that is its state now
            op = _op_of(commit)
            clashes = [p for p in changed if current_files.get(p) != before.get(p)
                       and current_files.get(p) != after.get(p) and not p.startswith("events/")]
            reason = None
            if clashes:
                reason = self._clash_reason(tip_tree, clashes[0], current_files.get(clashes[0]))
            else:
                reason = self._lock_clash(tip, after, changed, commit)
            if reason:
                lost.append({**op, "paths": clashes, "reason": reason})
                continue
            changes = {p: (self.repo[after[p]].data if p in after else None) for p in changed}
            tree = _build_tree(self.repo, tip_tree, changes)
            message = commit.message.rstrip("\n") + f"\nGitcoord-Replayed: {commit.id}\n"
            from gitcoord.signing import create_commit

            tip = create_commit(self.repo, commit.author, self._signature(), message, tree, [tip])
            replayed.append(op)
        return replayed, lost, tip

    def _clash_reason(self, tree: pygit2.Tree, path: str, now: str | None = None) -> str:
        """Why an entity changed on the remote blocks an offline operation, in the entity's words
        (``now``: its blob on the remote, a claim laid over the branch included)."""
        try:
            entry_id = now or tree[path].id
        except KeyError:
            return f"{path} was removed on the remote meanwhile"
        if path.startswith("tasks/"):
            try:
                task = parse_bytes(path, self.repo[entry_id].data) or {}
                who = f" by {task['agent']}" if task.get("agent") else ""
                return f"task {task.get('id')} changed on the remote meanwhile (now {task.get('status')}{who})"
            except (GitcoordError, TypeError, AttributeError):
                pass
        return f"{path} changed on the remote meanwhile"

    def _lock_clash(self, tip: str, after: dict[str, str], changed: list[str], commit: pygit2.Commit) -> str | None:
        """A lock taken offline that collides with one taken on the remote meanwhile."""
        new_locks = [p for p in changed if p.startswith("locks/") and p in after]
        if not new_locks:
            return None
        from gitcoord import locks as locks_module

        view = Snapshot(self.repo, tip, self.cache)
        for path in new_locks:
            lock = parse_bytes(path, self.repo[after[path]].data)
            other = locks_module.conflicting_lock(view, lock, exclude_path=path)
            if other is not None:
                holders = ", ".join(h.get("agent", "?") for h in other.get("holders") or [])
                return (f"{lock.get('type')} lock on {lock.get('resource')} collides with lock {other.get('id')} "
                        f"held by {holders} since the remote moved on")
        return None

    # -- history
    def log(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The coordination history, newest first, with the structured trailers parsed (the agents'
        own event logs woven in by time)."""
        snap = self.snapshot()
        tip = snap.commit
        out: list[dict[str, Any]] = []
        if tip is None or (limit is not None and limit <= 0):
            return out
        try:
            walker = self.repo.walk(tip, pygit2.enums.SortMode.TIME)
            for other in snap.event_tips:
                walker.push(other)
            entries = ((str(c.id), c.commit_time, c.message) for c in walker)
            for oid, when, message in entries:
                out.append(_history_entry(oid, when, message))
                if limit is not None and len(out) >= limit:
                    break
        except (pygit2.GitError, ValueError):
            # libgit2 stops at a commit it cannot parse (a malformed author line); git reads past it.
            out = []
            args = ["log", "--format=%H%x00%ct%x00%B%x1e"] + ([f"-n{limit}"] if limit is not None else []) \
                + [tip, *snap.event_tips]
            raw = gitutil.run_git(self.repo, *args).stdout.decode(errors="replace")
            for record in raw.split("\x1e"):
                oid, _, rest = record.strip("\n").partition("\0")
                when, _, message = rest.partition("\0")
                if oid:
                    out.append(_history_entry(oid, int(when or 0), message))
        return out


STALE_REF_LOCK_SECONDS = 60.0
"""A ref update holds git's ``<ref>.lock`` for milliseconds; one this old was left by a crash."""


def recover_stale_ref_lock(repo: pygit2.Repository, ref: str) -> bool:
    """Move a stale ``<ref>.lock`` aside (kept under ``gitcoord/stale-locks`` for inspection); True if done.

    Only a lock file older than STALE_REF_LOCK_SECONDS is touched, so a live ref update is never
    disturbed; the ref itself still holds the last committed value (git writes it by rename).
    """
    lock = gitutil.common_dir(repo) / (ref + ".lock")
    try:
        age = time.time() - lock.stat().st_mtime
    except OSError:
        return False
    if age < STALE_REF_LOCK_SECONDS:
        return False
    aside = gitutil.common_dir(repo) / "gitcoord" / "stale-locks"  # outside refs/: never read as a ref
    try:
        aside.mkdir(parents=True, exist_ok=True)
        os.replace(lock, aside / f"{ref.replace('/', '_')}.lock-{int(time.time())}")
    except OSError:
        return False
    return True


def _history_entry(oid: str, when: int, message: str) -> dict[str, Any]:
    from datetime import datetime, timezone

    trailers = {}
    for line in message.splitlines():
        if line.startswith("Gitcoord-") and ": " in line:
            key, _, value = line.partition(": ")
            trailers[key[len("Gitcoord-"):].lower()] = value
    return {"commit": oid, "subject": message.splitlines()[0] if message else "",
            "time": timeutil.iso(datetime.fromtimestamp(when, tz=timezone.utc)), **trailers}


# Operations an agent not (yet) declared in gitcoord.yaml may perform: setting the store up and
# declaring agents — otherwise a team that lists its agents could never let a newcomer in.
UNDECLARED_OPS = frozenset({"init", "config.add-agent"})


def declared_agents(config: dict[str, Any]) -> list[str]:
    return [a.get("name") for a in config.get("agents") or [] if isinstance(a, dict) and a.get("name")]


def check_declared(config: dict[str, Any], agent: str, op: str | None = None) -> None:
    """When gitcoord.yaml declares agents, only they write: an accidental identity (a git e-mail, a
    typo) must not claim tasks or post as somebody nobody knows."""
    names = declared_agents(config)
    if not names or agent in names or (op is not None and op in UNDECLARED_OPS):
        return
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    raise UsageError(f"agent {agent!r} is not declared in gitcoord.yaml (agents: {shown})",
                     hint=f"declare it: gitcoord --agent {agent} config add-agent {agent}",
                     data={"agent": agent, "declared": names})


def _commit_time(commit: pygit2.Commit):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(commit.commit_time, tz=timezone.utc)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in text)[:60] or "unknown"


def _flatten(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in tree:
        path = f"{prefix}{entry.name}"
        if entry.type == pygit2.GIT_OBJECT_TREE:
            out.update(_flatten(repo, repo[entry.id], path + "/"))
        else:
            out[path] = str(entry.id)
    return out


def _build_tree(repo: pygit2.Repository, base: pygit2.Tree | None, changes: dict[str, bytes | None]) -> pygit2.Oid:
    """Write the tree ``base`` + ``changes`` (path → content, None deletes); untouched subtrees are reused."""
    direct: dict[str, bytes | None] = {}
    nested: dict[str, dict[str, bytes | None]] = {}
    for path, data in changes.items():
        head, sep, rest = path.partition("/")
        if sep:
            nested.setdefault(head, {})[rest] = data
        else:
            direct[head] = data
    builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    for name, data in direct.items():
        if data is None:
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            builder.insert(name, repo.create_blob(data), pygit2.GIT_FILEMODE_BLOB)
    for name, sub in nested.items():
        existing = base[name] if base is not None and name in base else None
        subtree = repo[existing.id] if existing is not None and existing.type == pygit2.GIT_OBJECT_TREE else None
        new_oid = _build_tree(repo, subtree, sub)
        if len(repo[new_oid]) == 0:
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            builder.insert(name, new_oid, pygit2.GIT_FILEMODE_TREE)
    return builder.write()
