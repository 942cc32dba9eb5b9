"""Load a spec file (YAML or JSON) into plain Python data, safely and fast.

YAML goes through libyaml's C loader when present. Alias bombs are refused before any
expansion can happen, at the parser level: one pass over the parser's events bounds the nesting
depth and finds aliases (whatever their spelling); documents without aliases (nearly all specs)
are then loaded directly; documents with aliases are composed, their expanded size is counted
on the node graph (memoised per node, so the count itself cannot blow up), and the data is
constructed from those same nodes.
Source lines are only computed when an error message needs one (``Document.line_of``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitcoord.errors import UsageError

MAX_SPEC_BYTES = 50 * 1024 * 1024
MAX_EXPANDED_NODES = 2_000_000
"""Aliases may legitimately reuse nodes, but not grow a document past this many nodes."""


def _yaml_loader_classes() -> tuple[type, type]:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader), yaml.SafeLoader


@dataclass
class Document:
    """A parsed spec: ``data`` (plain dicts/lists), where it came from and, lazily, its lines."""

    data: Any
    path: str
    text: bytes = field(repr=False, default=b"")
    is_yaml: bool = False
    _nodes: Any = field(default=None, repr=False, compare=False)

    def line_of(self, pointer: str) -> int | None:
        """1-based source line of the value at JSON pointer ``pointer`` (or its nearest parent)."""
        if not self.text:
            return None
        node = self._root_node()
        if node is None:
            return None
        line = node.start_mark.line + 1
        for token in split_pointer(pointer):
            found = _child_node(node, token)
            if found is None:
                break
            anchor, node = found
            line = anchor.start_mark.line + 1  # the key's line: where a reader looks
        return line

    def _root_node(self) -> Any:
        if self._nodes is None:
            import yaml

            fast, _ = _yaml_loader_classes()
            try:
                self._nodes = yaml.compose(self.text, Loader=fast) or False
            except yaml.YAMLError:
                self._nodes = False
        return self._nodes or None


def _child_node(node: Any, token: str) -> tuple[Any, Any] | None:
    """(node marking the place, child value node) for one pointer token."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == token:
                return key, value
    elif isinstance(node, yaml.SequenceNode) and token.isdigit():
        index = int(token)
        if index < len(node.value):
            return node.value[index], node.value[index]
    return None


def split_pointer(pointer: str) -> list[str]:
    """``/paths/~1pets/get`` -> ``["paths", "/pets", "get"]``."""
    if pointer in ("", "#", "/", "#/"):
        return []
    pointer = pointer[1:] if pointer.startswith("#") else pointer
    if not pointer.startswith("/"):
        raise UsageError(f"JSON pointer {pointer!r} must start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def join_pointer(parts: list[Any] | tuple[Any, ...]) -> str:
    """``["paths", "/pets"]`` -> ``/paths/~1pets``; the empty list is the root, ``""``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def read_spec_file(path: str | Path) -> bytes:
    """A spec file's bytes, its size checked before anything is read (a 200 MB file is refused unread)."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise UsageError(f"{path}: cannot read spec ({exc.strerror or exc})") from None
    if size > MAX_SPEC_BYTES:
        raise UsageError(f"{path}: spec is {size} bytes, over the {MAX_SPEC_BYTES}-byte limit")
    return p.read_bytes()


def load_document(path: str | Path, *, text: bytes | None = None) -> Document:
    """Parse ``path`` (or ``text`` given for it, e.g. a blob from git) as JSON or YAML.

    Raises UsageError for a missing/huge/unparsable file, an alias bomb or a non-mapping root.
    """
    name = str(path)
    if text is None:
        text = read_spec_file(path)
    elif len(text) > MAX_SPEC_BYTES:
        raise UsageError(f"{name}: spec is {len(text)} bytes, over the {MAX_SPEC_BYTES}-byte limit")

    data: Any
    is_yaml = True
    stripped = text.lstrip()
    if name.endswith(".json") or stripped[:1] in (b"{", b"["):
        try:
            data = json.loads(text)
            is_yaml = False
        except RecursionError:
            raise UsageError(f"{name}: invalid JSON (nested too deeply)") from None
        except (ValueError, UnicodeDecodeError) as exc:
            if name.endswith(".json"):
                place = {"line": exc.lineno, "column": exc.colno} if isinstance(exc, json.JSONDecodeError) else {}
                raise UsageError(f"{name}: invalid JSON ({exc})", data={"path": name, **place}) from None
            data = _load_yaml(name, text)
    else:
        data = _load_yaml(name, text)
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise UsageError(f"{name}: the top level must be a mapping (object), found {kind}")
    return Document(data=data, path=name, text=text, is_yaml=is_yaml)


MAX_NESTING = 512
"""Deepest nesting of mappings/sequences accepted: libyaml's composer recurses in C."""


def _scan_events(name: str, text: bytes) -> bool:
    """One pass over the parser's events (libyaml's parser is iterative): refuse nesting deeper
    than MAX_NESTING and report whether any alias occurs. Done on the real token stream, so CR-only
    line breaks, verbatim tags with commas or any other spelling cannot hide an alias."""
    import yaml

    fast, _ = _yaml_loader_classes()
    depth = 0
    aliases = False
    for event in yaml.parse(text, Loader=fast):
        kind = type(event)
        if kind is yaml.AliasEvent:
            aliases = True
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            depth += 1
            if depth > MAX_NESTING:
                raise UsageError(f"{name}: nested more than {MAX_NESTING} levels deep; refusing to load it")
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            depth -= 1
    return aliases


def _load_yaml(name: str, text: bytes) -> Any:
    import yaml

    fast, _ = _yaml_loader_classes()
    try:
        if not _scan_events(name, text):
            return yaml.load(text, Loader=fast)
        # Aliases: compose once (nodes are shared, nothing is expanded yet), count the expanded
        # size on the node graph, and only then construct the data from those same nodes.
        loader = fast(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return None
            _check_expansion(name, root)
            return loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        place = {"line": mark.line + 1, "column": mark.column + 1} if mark else {}
        raise UsageError(f"{name}: invalid YAML{where}: {exc.problem}", data={"path": name, **place}) from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{name}: invalid YAML: {exc}") from None
    except RecursionError:
        raise UsageError(f"{name}: nested too deeply; refusing to load it") from None


def _check_expansion(name: str, root: Any) -> None:
    """Count nodes as if every alias were expanded; refuse bombs and recursive aliases."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    # Iterative post-order walk so deep documents cannot hit the recursion limit.
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            total = 1
            for child in _node_children(node):
                total += sizes[id(child)]
                if total > MAX_EXPANDED_NODES:
                    raise UsageError(
                        f"{name}: YAML aliases expand to more than {MAX_EXPANDED_NODES} nodes "
                        "(an alias bomb?); refusing to load it — remove the anchors/aliases"
                    )
            sizes[key] = total
            in_progress.discard(key)
            continue
        if key in sizes:
            continue
        if key in in_progress:
            raise UsageError(f"{name}: YAML anchor refers to itself (recursive alias); refusing to load")
        in_progress.add(key)
        stack.append((node, True))
        for child in _node_children(node):
            ck = id(child)
            if ck in in_progress:
                raise UsageError(
                    f"{name}: YAML anchor refers to itself (recursive alias); refusing to load"
                )
            if ck not in sizes:
                stack.append((child, False))


def _node_children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            if isinstance(item, tuple):
                out.extend(item)
            else:
                out.append(item)
        return out
    return []
