"""Resolve ``$ref`` in specs: local pointers and relative files, never the network by default.

A hook must never block on a remote host, so ``http(s)://`` refs are refused unless the caller
opts in; file refs are confined to a root directory (the repository or the spec's directory)
so a spec cannot make gitcoord read ``../../etc/passwd``. Resolution is lazy and memoised, and
chains of refs are followed with cycle detection, so recursive schemas are fine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gitcoord.contracts.loader import Document, load_document, split_pointer
from gitcoord.errors import UsageError

REMOTE_PREFIXES = ("http://", "https://")


class RefError(UsageError):
    """A ``$ref`` that cannot (or may not) be resolved; ``pointer`` is where the ref sits."""

    def __init__(self, message: str, *, ref: str, pointer: str | None = None, path: str = ""):
        super().__init__(message, data={"ref": ref, "pointer": pointer, "path": path})
        self.ref = ref
        self.pointer = pointer
        self.path = path


def resolve_pointer(data: Any, pointer: str) -> Any:
    """The value at JSON pointer ``pointer`` (``#/a/b`` or ``/a/b``) in ``data``; KeyError if absent."""
    node = data
    for token in split_pointer(pointer):
        if isinstance(node, dict):
            node = node[token]
        elif isinstance(node, list):
            try:
                node = node[int(token)]
            except (ValueError, IndexError):
                raise KeyError(token) from None
        else:
            raise KeyError(token)
    return node


class RefResolver:
    """Resolves refs relative to the document that contains them.

    ``root`` bounds file refs (default: the git work tree holding the main document, else
    its directory), so ``../common/schemas.yaml`` from ``api/`` resolves. Documents
    loaded for file refs are cached, so each file is parsed once per resolver.
    """

    def __init__(
        self,
        document: Document,
        *,
        root: str | Path | None = None,
        allow_remote: bool = False,
    ) -> None:
        self.document = document
        base_dir = Path(document.path).resolve().parent if document.path else Path.cwd()
        self.root = Path(root).resolve() if root is not None else (_repository_root(base_dir) or base_dir)
        self.allow_remote = allow_remote
        self._documents: dict[str, Document] = {document.path: document}

    def resolve(self, ref: str, base: Document | None = None, *, at: str | None = None) -> tuple[Any, Document]:
        """Target of ``ref`` written in ``base`` (default: the main document) and the document holding it."""
        base = base or self.document
        if not isinstance(ref, str):
            raise RefError(f"{base.path}: $ref must be a string, got {type(ref).__name__}", ref=str(ref), pointer=at, path=base.path)
        location, _, fragment = ref.partition("#")
        target_doc = base
        if location:
            target_doc = self._load_file(location, base, at)
        try:
            return resolve_pointer(target_doc.data, fragment), target_doc
        except (KeyError, UsageError):
            where = f" at {at}" if at else ""
            raise RefError(
                f"{base.path}{where}: $ref {ref!r} does not resolve (no '#{fragment}' in {target_doc.path})",
                ref=ref, pointer=at, path=base.path,
            ) from None

    def deref(self, node: Any, base: Document | None = None, *, at: str | None = None) -> tuple[Any, Document]:
        """Follow ``$ref`` chains from ``node`` until a non-ref value; a ref loop raises RefError."""
        base = base or self.document
        seen: set[tuple[str, str]] = set()
        while isinstance(node, dict) and "$ref" in node and isinstance(node["$ref"], str):
            ref = node["$ref"]
            key = (base.path, ref)
            if key in seen:
                raise RefError(f"{base.path}: $ref {ref!r} is a loop of refs to refs", ref=ref, pointer=at, path=base.path)
            seen.add(key)
            node, base = self.resolve(ref, base, at=at)
        return node, base

    def _load_file(self, location: str, base: Document, at: str | None) -> Document:
        if location.startswith(REMOTE_PREFIXES) or "://" in location:
            if not self.allow_remote or not location.startswith(REMOTE_PREFIXES):
                raise RefError(
                    f"{base.path}: remote $ref {location!r} refused (gitcoord never fetches from the "
                    "network by default); vendor the file into the repository and use a relative ref",
                    ref=location, pointer=at, path=base.path,
                )
            return self._load_remote(location)
        base_dir = Path(base.path).resolve().parent if base.path else self.root
        target = Path(os.path.normpath(base_dir / location))
        if not _is_within(target, self.root):
            raise RefError(
                f"{base.path}: $ref {location!r} points outside {self.root}; refs must stay inside the repository",
                ref=location, pointer=at, path=base.path,
            )
        key = str(target)
        cached = self._documents.get(key)
        if cached is None:
            if not target.is_file():
                raise RefError(f"{base.path}: $ref file {location!r} not found ({target})", ref=location, pointer=at, path=base.path)
            cached = load_document(target)
            cached.path = key
            self._documents[key] = cached
        return cached

    def _load_remote(self, url: str) -> Document:
        cached = self._documents.get(url)
        if cached is None:
            import urllib.request

            from gitcoord.contracts.loader import MAX_SPEC_BYTES

            try:
                with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - opt-in only
                    data = response.read(MAX_SPEC_BYTES + 1)
            except (OSError, ValueError) as exc:
                raise RefError(f"remote $ref {url!r}: cannot fetch it ({exc})", ref=url) from None
            if len(data) > MAX_SPEC_BYTES:
                raise RefError(f"remote $ref {url!r}: over the {MAX_SPEC_BYTES}-byte limit", ref=url)
            cached = load_document(url, text=data)
            self._documents[url] = cached
        return cached


def _repository_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds a ``.git`` (a work tree's top)."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def _is_within(target: Path, root: Path) -> bool:
    try:
        target.resolve().relative_to(root)
        return True
    except ValueError:
        return False


def iter_refs(data: Any, pointer: str = "") -> list[tuple[str, str]]:
    """Every ``(pointer_of_the_ref_object, ref)`` in ``data``; iterative, so deep docs are fine."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(data, pointer)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                found.append((where, ref))
            for key, value in node.items():
                if isinstance(value, (dict, list)):
                    stack.append((value, f"{where}/{str(key).replace('~', '~0').replace('/', '~1')}"))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, (dict, list)):
                    stack.append((value, f"{where}/{index}"))
    return found
