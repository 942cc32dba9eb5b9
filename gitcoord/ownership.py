"""Who owns a path: CODEOWNERS-style patterns, a compiled ownership index, and exact overlap tests.

The dialect is GitHub's CODEOWNERS (gitignore-style) and is written down with every corner in
``docs/ownership.md``.  A pattern is compiled once into two equivalent forms: a Python regular
expression (for matching paths fast) and a small automaton over characters (for deciding
exactly whether two patterns can ever match the same path, which locks and ``doctor`` need).

Hooks import this module, so it imports nothing heavy.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from itertools import chain

from gitcoord.errors import UsageError
from gitcoord.paths import are_clean_repo_paths, normalize_repo_path, validate_pattern

__all__ = [
    "Pattern",
    "compile_pattern",
    "OwnershipIndex",
    "patterns_overlap",
    "overlap_witness",
    "find_overlaps",
    "parse_codeowners",
    "render_codeowners",
    "is_valid_owner",
    "CODEOWNERS_MAX_BYTES",
]

CODEOWNERS_MAX_BYTES = 3 * 1024 * 1024
"""GitHub ignores CODEOWNERS files of 3 MB or more; so do we (they are a mistake or an attack)."""

# --- pattern syntax -------------------------------------------------------------------------
# A segment (text between slashes) is a tuple of atoms; the globstar segment ``**`` is None.
_LIT, _ONE, _STAR = 0, 1, 2
Atom = tuple  # (_LIT, char) | (_ONE,) | (_STAR,)
_STAR_ATOM = (_STAR,)
_ONE_ATOM = (_ONE,)

# Regex-like elements a pattern compiles to, shared by the regex and the automaton builders.
_E_LIT, _E_ONE, _E_STAR, _E_ANYPLUS, _E_OPTDIRS, _E_OPTDESC = range(6)


def _parse_segment(segment: str) -> tuple[Atom, ...] | None:
    """Atoms of one segment; None for the globstar ``**``.  Runs of ``*`` count as one ``*``."""
    if segment == "**":
        return None
    atoms: list[Atom] = []
    escaped = False
    for char in segment:
        if escaped:
            atoms.append((_LIT, char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "*":
            if not atoms or atoms[-1] != _STAR_ATOM:
                atoms.append(_STAR_ATOM)
        elif char == "?":
            atoms.append(_ONE_ATOM)
        else:
            atoms.append((_LIT, char))
    return tuple(atoms)


def _literal_of(segment: tuple[Atom, ...] | None) -> str | None:
    """The exact name a segment matches, or None if it has wildcards (or is ``**``)."""
    if segment is None or any(atom[0] != _LIT for atom in segment):
        return None
    return "".join(atom[1] for atom in segment)


def _ends_of(segment: tuple[Atom, ...] | None) -> tuple[str, str] | None:
    if segment is None:
        return None
    head = []
    for atom in segment:
        if atom[0] != _LIT:
            break
        head.append(atom[1])
    if len(head) == len(segment):
        literal = "".join(head)
        return literal, literal
    tail = []
    for atom in reversed(segment):
        if atom[0] != _LIT:
            break
        tail.append(atom[1])
    return "".join(head), "".join(reversed(tail))


class Pattern:
    """One compiled ownership/lock pattern.  ``text`` is what was given; ``normalized`` is canonical."""

    __slots__ = (
        "text",
        "normalized",
        "anchored",
        "dir_only",
        "segments",
        "literals",
        "literal_prefix",
        "is_subtree",
        "floating",
        "open_end",
        "ends",
        "_elements",
        "_regex",
        "_nfa",
    )

    def __init__(self, text: str):
        normalized = validate_pattern(text)
        self.text = text
        self.normalized = normalized
        rooted = normalized.startswith("/")
        body = normalized.lstrip("/")
        self.dir_only = body.endswith("/")
        parts = body.rstrip("/").split("/")
        self.anchored = rooted or len(parts) > 1
        segments: list[tuple[Atom, ...] | None] = []
        for part in parts:
            parsed = _parse_segment(part)
            if parsed is None and segments and segments[-1] is None:
                continue  # '**/**' is '**'
            segments.append(parsed)
        if not self.anchored and segments != [None]:
            segments.insert(0, None)  # a slash-free pattern matches at any depth
        if self.dir_only and segments[-1] is not None:
            segments.append(None)  # 'dir/' is 'dir/**'
        self.segments = tuple(segments)
        self.literals = tuple(_literal_of(segment) for segment in segments)
        #: per segment, the literal text it must start and end with (None for '**')
        self.ends = tuple(_ends_of(segment) for segment in segments)
        prefix: list[str] = []
        for literal in self.literals:
            if literal is None:
                break
            prefix.append(literal)
        self.literal_prefix = tuple(prefix)
        #: matches exactly "this literal path and/or everything below it"
        self.is_subtree = bool(prefix) and (
            len(prefix) == len(segments) or (len(prefix) == len(segments) - 1 and segments[-1] is None)
        )
        self.floating = segments[0] is None
        self._elements = _elements_of(self.segments)
        #: also matches everything below any path it matches
        self.open_end = self._elements[-1][0] in (_E_OPTDESC, _E_ANYPLUS)
        self._regex: Callable[[str], object] | None = None
        self._nfa: _Nfa | None = None

    def matches(self, path: str) -> bool:
        """Does this pattern match ``path`` (a repository-relative path; checked and normalised)?"""
        return self._fullmatch(normalize_repo_path(path)) is not None

    def _fullmatch(self, path: str) -> object:
        if self._regex is None:
            self._regex = _matcher(self._elements)
        return self._regex(path)

    @property
    def regex(self) -> str:
        """The equivalent Python regular expression (for a full match of a normalised path)."""
        return _regex_of(self._elements)

    def _nfa_(self) -> _Nfa:
        if self._nfa is None:
            self._nfa = _Nfa(self._elements)
        return self._nfa

    def __repr__(self) -> str:
        return f"Pattern({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pattern) and other.normalized == self.normalized

    def __hash__(self) -> int:
        return hash(self.normalized)


def _elements_of(segments: tuple[tuple[Atom, ...] | None, ...]) -> list[tuple]:
    """Turn segments into a flat list of regex-like elements (see module constants)."""
    elements: list[tuple] = []
    count = len(segments)
    for index, segment in enumerate(segments):
        last = index == count - 1
        if index > 0 and segments[index - 1] is not None:
            elements.append((_E_LIT, "/"))
        if segment is None:
            if count == 1 or (last and index > 0):
                elements.append((_E_ANYPLUS,))  # '**' alone, or a trailing '/**': one or more chars
            else:
                elements.append((_E_OPTDIRS,))  # leading or middle '**/': zero or more directories
            continue
        for atom in segment:
            if atom[0] == _LIT:
                elements.append((_E_LIT, atom[1]))
            elif atom[0] == _ONE:
                elements.append((_E_ONE,))
            else:
                elements.append((_E_STAR,))
        if last and segment != (_STAR_ATOM,):
            # A pattern naming a file or directory also matches everything below it; only a
            # final lone '*' ('dir/*') is limited to direct children, as GitHub documents.
            elements.append((_E_OPTDESC,))
    return elements


def _regex_of(elements: list[tuple]) -> str:
    pieces = []
    for element in elements:
        kind = element[0]
        if kind == _E_LIT:
            pieces.append(re.escape(element[1]))
        elif kind == _E_ONE:
            pieces.append("[^/]")
        elif kind == _E_STAR:
            pieces.append("[^/]*")
        elif kind == _E_ANYPLUS:
            pieces.append(".+")
        elif kind == _E_OPTDIRS:
            pieces.append("(?:.*/)?")
        else:
            pieces.append("(?:/.*)?")
    return "".join(pieces)


_MATCHERS: dict[tuple, Callable[[str], object]] = {}


def _matcher(elements: Sequence[tuple]) -> Callable[[str], object]:
    """A compiled fullmatch for these elements, shared by every pattern that has them.

    Compiling a regex costs ~100 us in CPython; sharing matters because tasks repeat shapes
    (``**/test_*.py`` under many directories), and the index only needs the part after the
    literal directories.
    """
    key = tuple(elements)
    found = _MATCHERS.get(key)
    if found is None:
        if len(_MATCHERS) > 50_000:
            _MATCHERS.clear()
        found = _MATCHERS[key] = re.compile(_regex_of(key), re.DOTALL).fullmatch
    return found


@lru_cache(maxsize=16384)
def _compile_cached(text: str) -> Pattern:
    return Pattern(text)


def compile_pattern(text: str | Pattern) -> Pattern:
    """Compile (and validate) a pattern; raises UsageError naming it when it is malformed."""
    if isinstance(text, Pattern):
        return text
    if not isinstance(text, str):
        raise UsageError(f"pattern must be a string, got {type(text).__name__}")
    return _compile_cached(text)


# --- automata and exact overlap -------------------------------------------------------------
# Transition predicates: a specific character, any character but '/', or any character.
_P_CHAR, _P_NOSLASH, _P_ANY = 0, 1, 2


class _Nfa:
    """An epsilon-free NFA over characters built from a pattern's elements (state 0 starts)."""

    __slots__ = ("moves", "accepting", "chars")

    def __init__(self, elements: list[tuple]):
        moves: list[list[tuple[int, str, int]]] = [[]]
        epsilon: list[list[int]] = [[]]

        def new_state() -> int:
            moves.append([])
            epsilon.append([])
            return len(moves) - 1

        current = 0
        chars: set[str] = set()
        for element in elements:
            kind = element[0]
            if kind == _E_LIT:
                target = new_state()
                moves[current].append((_P_CHAR, element[1], target))
                chars.add(element[1])
                current = target
            elif kind == _E_ONE:
                target = new_state()
                moves[current].append((_P_NOSLASH, "", target))
                current = target
            elif kind == _E_STAR:
                loop = new_state()
                epsilon[current].append(loop)
                moves[loop].append((_P_NOSLASH, "", loop))
                current = loop
            elif kind == _E_ANYPLUS:
                loop = new_state()
                moves[current].append((_P_ANY, "", loop))
                moves[loop].append((_P_ANY, "", loop))
                current = loop
            elif kind == _E_OPTDIRS:  # (?:.*/)?
                middle, after = new_state(), new_state()
                epsilon[current].append(after)
                epsilon[current].append(middle)
                moves[middle].append((_P_ANY, "", middle))
                moves[middle].append((_P_CHAR, "/", after))
                current = after
            else:  # _E_OPTDESC: (?:/.*)?
                middle, after = new_state(), new_state()
                epsilon[current].append(after)
                moves[current].append((_P_CHAR, "/", middle))
                moves[middle].append((_P_ANY, "", middle))
                epsilon[middle].append(after)
                current = after
        chars.add("/")
        final = current
        # Remove epsilon moves: a state takes the moves of everything it reaches for free.
        closures = []
        for state in range(len(moves)):
            seen = {state}
            stack = [state]
            while stack:
                for nxt in epsilon[stack.pop()]:
                    if nxt not in seen:
                        seen.add(nxt)
                        stack.append(nxt)
            closures.append(seen)
        self.moves = [[move for member in closure for move in moves[member]] for closure in closures]
        self.accepting = [final in closure for closure in closures]
        self.chars = chars

    def step(self, state: int, char: str) -> list[int]:
        targets = []
        for predicate, expected, target in self.moves[state]:
            if predicate == _P_ANY or (predicate == _P_NOSLASH and char != "/") or expected == char:
                targets.append(target)
        return targets


# The set of valid paths as a DFA: non-empty segments, none of them '.' or '..', no leading or
# trailing '/'.  States: 0 at a segment start, 1 after '.', 2 after '..', 3 inside a real name.
_DOMAIN_ACCEPTING = 3


def _domain_step(state: int, char: str) -> int:
    if char == "/":
        return 0 if state == 3 else -1
    if char == ".":
        return state + 1 if state < 3 else 3
    return 3


def _product_witness(first: _Nfa, second: _Nfa) -> str | None:
    """Shortest valid path accepted by both automata (breadth-first search of the product)."""
    chars = first.chars | second.chars | {"."}
    # Characters the patterns never name behave alike: one of them stands for all the rest.
    candidates = chain("xyzabcdefghijklmnopqrstuvw0123456789_-", map(chr, range(0xE000, 0x110000)))
    other = next(c for c in candidates if c not in chars)
    alphabet = sorted(chars) + [other]
    start = (0, 0, 0)
    parents: dict[tuple[int, int, int], tuple[tuple[int, int, int], str] | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        state_a, state_b, domain = node
        if domain == _DOMAIN_ACCEPTING and first.accepting[state_a] and second.accepting[state_b]:
            out = []
            while parents[node] is not None:
                node, char = parents[node]  # type: ignore[misc]
                out.append(char)
            return "".join(reversed(out))
        for char in alphabet:
            next_domain = _domain_step(domain, char)
            if next_domain < 0:
                continue
            targets_b = second.step(state_b, char)
            if not targets_b:
                continue
            for target_a in first.step(state_a, char):
                for target_b in targets_b:
                    key = (target_a, target_b, next_domain)
                    if key not in parents:
                        parents[key] = (node, char)
                        queue.append(key)
    return None


def _overlap_shortcut(a: Pattern, b: Pattern) -> bool | None:
    """Decide cheap cases without the automaton; None when the automaton must decide."""
    # While neither pattern has reached a '**', segment i of each matches path segment i: that
    # segment must start with both literal heads and end with both literal tails.
    for literal_a, literal_b, ends_a, ends_b in zip(a.literals, b.literals, a.ends, b.ends):
        if ends_a is None or ends_b is None:
            break
        if literal_a is not None and literal_b is not None and literal_a != literal_b:
            return False
        head_a, tail_a = ends_a
        head_b, tail_b = ends_b
        if not (head_a.startswith(head_b) or head_b.startswith(head_a)):
            return False
        if not (tail_a.endswith(tail_b) or tail_b.endswith(tail_a)):
            return False
    for tree, other in ((a, b), (b, a)):
        if tree.is_subtree:
            # 'L' or 'L/' owns everything below L; any satisfiable pattern that floats, or whose
            # literal prefix starts with L, matches some path strictly below L.
            if other.floating:
                return True
            size = len(tree.literal_prefix)
            if other.literal_prefix[:size] == tree.literal_prefix:
                return True
    for floating, other in ((a, b), (b, a)):
        if floating.floating and other.open_end:
            # Take any path w the other matches, then w/v with v matched by the floating one.
            return True
    return None


def overlap_witness(a: str | Pattern, b: str | Pattern) -> str | None:
    """A path both patterns match (the shortest one found), or None when no path can match both."""
    first, second = compile_pattern(a), compile_pattern(b)
    return _product_witness(first._nfa_(), second._nfa_())


def patterns_overlap(a: str | Pattern, b: str | Pattern) -> bool:
    """Could any valid repository path match both patterns?  Exact, not a heuristic."""
    first, second = compile_pattern(a), compile_pattern(b)
    return _overlap(first, second)


_OVERLAP_MEMO: dict[tuple[str, str], bool] = {}


def _overlap(first: Pattern, second: Pattern) -> bool:
    decided = _overlap_shortcut(first, second)
    if decided is not None:
        return decided
    key = (first.normalized, second.normalized)
    if key[0] > key[1]:
        key = (key[1], key[0])
    found = _OVERLAP_MEMO.get(key)
    if found is None:
        found = _product_witness(first._nfa_(), second._nfa_()) is not None
        if len(_OVERLAP_MEMO) > 200_000:
            _OVERLAP_MEMO.clear()
        _OVERLAP_MEMO[key] = found
    return found


def find_overlaps(groups: Mapping[str, Sequence[str]]) -> list[tuple[str, str, str, str]]:
    """Every pair of different owners whose patterns overlap: (ownerA, ownerB, patternA, patternB).

    ownerA comes before ownerB in ``groups`` order; results are sorted by that order and by the
    patterns' positions.  Patterns are bucketed in a trie by their literal leading segments,
    so only patterns that can meet are compared; patterns that start with a wildcard are
    compared with everything.
    """
    owner_order = {owner: number for number, owner in enumerate(groups)}
    # item: (owner number, pattern number, owner, text, compiled)
    trie: dict = {}
    wild: list[tuple[int, int, str, str, Pattern]] = []
    all_items: list[tuple[int, int, str, str, Pattern]] = []
    for owner, patterns in groups.items():
        if isinstance(patterns, str):
            patterns = [patterns]
        for number, text in enumerate(patterns):
            compiled = compile_pattern(text)
            item = (owner_order[owner], number, owner, text, compiled)
            all_items.append(item)
            if not compiled.literal_prefix:
                wild.append(item)
                continue
            node = trie
            for name in compiled.literal_prefix:
                node = node.setdefault(name, [{}, []])
                entry = node
                node = node[0]
            entry[1].append(item)

    found: list[tuple[int, int, int, int, str, str, str, str]] = []

    def compare(x: tuple, y: tuple) -> None:
        if x[0] == y[0]:
            return
        if x[0] > y[0]:
            x, y = y, x
        if _overlap(x[4], y[4]):
            found.append((x[0], x[1], y[0], y[1], x[2], y[2], x[3], y[3]))

    for position, item in enumerate(wild):
        for other in wild[position + 1 :]:
            compare(item, other)
    wild_ids = {id(item) for item in wild}
    for item in all_items:
        if id(item) in wild_ids:
            continue
        for other in wild:
            compare(item, other)
    # Anchored patterns meet only along one trie branch: a node's own items and its ancestors'.
    stack: list[tuple[dict, list]] = [(trie, [])]
    while stack:
        children, above = stack.pop()
        for child_children, items in children.values():
            for position, item in enumerate(items):
                for other in items[position + 1 :]:
                    compare(item, other)
                for other in above:
                    compare(item, other)
            stack.append((child_children, above + items if items else above))
    found.sort()
    return [(row[4], row[5], row[6], row[7]) for row in found]


# --- the ownership index --------------------------------------------------------------------
_AT_OR_BELOW, _BELOW, _VERIFY = 0, 1, 2


class OwnershipIndex:
    """Answers "who owns this path" for many paths against many (pattern, owner) entries.

    Each entry is one CODEOWNERS-like line: ``(pattern, owner)`` where owner is a string, a
    sequence of strings (several owners on one line) or empty (a line that matches but names
    nobody).  Consecutive entries with the same pattern and a single owner each are one line.

    Without ``last_match_wins`` (tasks) every line whose pattern matches contributes its owners,
    in entry order.  With it (an imported CODEOWNERS file) only the last matching line counts.
    Patterns are compiled and indexed once: anchored patterns in a trie by their literal leading
    directories, floating names by name, floating ``*.ext`` by extension; only the rest (and
    the wildcard parts) are checked per path with the compiled regex.
    """

    def __init__(self, entries: Iterable[tuple[str, str | Sequence[str]]], *, last_match_wins: bool = False):
        self.last_match_wins = last_match_wins
        lines: list[tuple[str, list[str]]] = []
        previous_single = False
        for entry in entries:
            try:
                pattern, owner = entry
            except (TypeError, ValueError):
                raise UsageError(f"ownership entry {entry!r} must be a (pattern, owner) pair") from None
            single = isinstance(owner, str)
            owners = ([owner] if owner else []) if single else [name for name in owner if name]
            if single and previous_single and lines and lines[-1][0] == pattern:
                if owners and owners[0] not in lines[-1][1]:
                    lines[-1][1].extend(owners)
            else:
                lines.append((pattern, owners))
            previous_single = single
        self._lines = lines
        self._patterns = [compile_pattern(pattern) for pattern, _ in lines]
        # Per line: the matcher for the whole path (floating and general patterns) or, for
        # patterns filed in the trie, for the rest of the path below their literal directories.
        self._fullmatch: list[Callable[[str], object] | None] = [None] * len(lines)
        self._trie: dict = {}
        self._names: dict[str, list[tuple[int, bool]]] = {}
        self._exts: dict[str, list[int]] = {}
        self._general: list[int] = []
        self._directories: dict[str, tuple] = {}
        for number, pattern in enumerate(self._patterns):
            self._index(number, pattern)

    def _index(self, number: int, pattern: Pattern) -> None:
        segments = pattern.segments
        if pattern.floating:
            below_only = len(segments) == 3 and segments[2] is None
            if len(segments) == 2 or below_only:
                name = pattern.literals[1]
                if name is not None:
                    self._names.setdefault(name, []).append((number, below_only))
                    return
                atoms = segments[1]
                if atoms and atoms[0] == _STAR_ATOM and all(atom[0] == _LIT for atom in atoms[1:]):
                    tail = "".join(atom[1] for atom in atoms[1:])
                    dot = tail.rfind(".")
                    if dot >= 0:
                        self._exts.setdefault(tail[dot:], []).append(number)
                        self._fullmatch[number] = _matcher(pattern._elements)
                        return
            self._general.append(number)
            self._fullmatch[number] = _matcher(pattern._elements)
            return
        prefix = pattern.literal_prefix
        if not prefix:
            self._general.append(number)
            self._fullmatch[number] = _matcher(pattern._elements)
            return
        node = [self._trie, None]
        for name in prefix:
            node = node[0].setdefault(name, [{}, []])
        if len(prefix) == len(segments):
            mode = _AT_OR_BELOW
        elif len(prefix) == len(segments) - 1 and segments[-1] is None:
            mode = _BELOW
        else:
            mode = _VERIFY
            self._fullmatch[number] = _matcher(_elements_of(segments[len(prefix) :]))
        node[1].append((number, mode))

    def __len__(self) -> int:
        return len(self._lines)

    def _directory_part(self, directory: str) -> tuple:
        """What a path's directory alone decides, shared by every file in it.

        Returns (lines matched whatever the file name, (line, offset) pairs to check against
        the path below ``offset``, lines to check against the whole path, the trie children
        after the directory or None).
        """
        segments = directory.split("/") if directory else []
        hits: set[int] = set()
        verify: list[tuple[int, int]] = []
        whole: list[int] = []
        children: dict | None = self._trie
        offset = 0
        for name in segments:
            node = children.get(name)
            if node is None:
                children = None
                break
            offset += len(name) + 1
            children, items = node
            for number, mode in items:
                if mode == _VERIFY:
                    verify.append((number, offset))
                else:  # the file below makes the path longer than the literal part
                    hits.add(number)
        for name in segments:
            found = self._names.get(name)
            if found:
                hits.update(number for number, _ in found)  # a directory: below_only holds
            dot = name.rfind(".")
            if dot >= 0:
                whole.extend(self._exts.get(name[dot:], ()))
        whole = sorted(set(whole).difference(hits))
        return frozenset(hits), tuple(sorted(hits)), tuple(verify), tuple(whole), children

    def _matching_lines(self, path: str) -> Sequence[int]:
        """Numbers of the lines whose pattern matches ``path`` (already normalised), ascending."""
        cut = path.rfind("/")
        directory = path[:cut] if cut > 0 else ""
        part = self._directories.get(directory)
        if part is None:
            if len(self._directories) > 65_536:
                self._directories.clear()
            part = self._directories[directory] = self._directory_part(directory)
        base, ordered, verify, whole, children = part
        name = path[cut + 1 :]
        fullmatch = self._fullmatch
        extra: list[int] = []
        for number, offset in verify:
            if fullmatch[number](path[offset:]) is not None:
                extra.append(number)
        if children:
            node = children.get(name)
            if node is not None:
                extra.extend(number for number, mode in node[1] if mode == _AT_OR_BELOW)
        found = self._names.get(name)
        if found:
            extra.extend(number for number, below_only in found if not below_only)
        dot = name.rfind(".")
        if dot >= 0:
            found = self._exts.get(name[dot:])
            if found:
                whole = (*whole, *found)
        for group in (whole, self._general):
            for number in group:
                if number not in base and number not in extra and fullmatch[number](path) is not None:
                    extra.append(number)
        if not extra:
            return ordered
        return sorted(base.union(extra))

    def _owners_of(self, lines: Sequence[int]) -> list[str]:
        if not lines:
            return []
        if self.last_match_wins or len(lines) == 1:
            return list(self._lines[lines[-1]][1])
        owners: list[str] = []
        seen: set[str] = set()
        for number in lines:
            for owner in self._lines[number][1]:
                if owner not in seen:
                    seen.add(owner)
                    owners.append(owner)
        return owners

    def owners(self, path: str) -> list[str]:
        """Owners of ``path`` (see the class docstring for which lines count)."""
        return self._owners_of(self._matching_lines(normalize_repo_path(path)))

    def owners_many(self, paths: Iterable[str]) -> dict[str, list[str]]:
        """``{path: owners}`` for many paths (keys as given)."""
        matching, owners_of = self._matching_lines, self._owners_of
        paths = paths if isinstance(paths, list) else list(paths)
        clean = are_clean_repo_paths(paths)
        known: dict[tuple[int, ...], list[str]] = {}  # the same lines give the same owners
        result = {}
        for path in paths:
            lines = tuple(matching(path if clean else normalize_repo_path(path)))
            owners = known.get(lines)
            if owners is None:
                owners = known[lines] = owners_of(lines)
            result[path] = owners[:]
        return result

    def is_owned(self, path: str) -> bool:
        """Does anyone own ``path``?"""
        return bool(self.owners(path))

    def matching_entries(self, path: str) -> list[tuple[str, list[str]]]:
        """The (pattern, owners) lines that match ``path`` in entry order; the last one wins a CODEOWNERS file."""
        return [
            (self._lines[number][0], list(self._lines[number][1]))
            for number in self._matching_lines(normalize_repo_path(path))
        ]


# --- CODEOWNERS files -----------------------------------------------------------------------
_OWNER_RE = re.compile(
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9][A-Za-z0-9._-]*)?"  # @user, @org/team
    r"|[^@\s#]+@[^@\s]+\.[^@\s]+"  # e-mail address
)
_GITLAB_SECTION_RE = re.compile(r"^\^?\[[^\]]*\](?:\[\d+\])?(?:\s|$)")


def is_valid_owner(owner: str) -> bool:
    """Is ``owner`` something GitHub accepts in CODEOWNERS (@user, @org/team, or an e-mail)?"""
    return isinstance(owner, str) and _OWNER_RE.fullmatch(owner) is not None


def _tokens(line: str) -> list[str]:
    """Split on unescaped blanks; a backslash keeps the next character (and stays in the token)."""
    tokens: list[str] = []
    current: list[str] = []
    index, size = 0, len(line)
    while index < size:
        char = line[index]
        if char == "\\" and index + 1 < size:
            current.append(line[index : index + 2])
            index += 2
            continue
        if char in " \t":
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(char)
        index += 1
    if current:
        tokens.append("".join(current))
    return tokens


def parse_codeowners(
    text: str, *, source: str = "CODEOWNERS", max_bytes: int = CODEOWNERS_MAX_BYTES
) -> list[tuple[str, list[str], int]]:
    """Parse a CODEOWNERS file into (pattern, owners, line number), in file order.

    Blank lines and lines starting with ``#`` are skipped; ``#`` after the pattern starts a
    comment.  A pattern with no owners is kept (it makes matching paths unowned).  Errors are
    UsageError naming ``source:line``.
    """
    if len(text) > max_bytes // 4 and len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise UsageError(f"{source} is larger than {max_bytes} bytes (GitHub ignores such CODEOWNERS files)")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise UsageError(f"{source}:{line}: contains a NUL byte")
    if text.startswith("\ufeff"):
        text = text[1:]
    entries: list[tuple[str, list[str], int]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if _GITLAB_SECTION_RE.match(line):
            raise UsageError(
                f"{source}:{number}: {line.split()[0]!r} looks like a GitLab section header, which GitHub "
                "CODEOWNERS does not have; remove it (write '/[name]' for a file literally named so)"
            )
        tokens = _tokens(line)
        pattern, owners = tokens[0], []
        for token in tokens[1:]:
            if token.startswith("#"):
                break
            if not is_valid_owner(token):
                raise UsageError(
                    f"{source}:{number}: owner {token!r} is not @user, @org/team or an e-mail address"
                )
            owners.append(token)
        try:
            compile_pattern(pattern)
        except UsageError as error:
            raise UsageError(f"{source}:{number}: {error.message}") from None
        entries.append((pattern, owners, number))
    return entries


def _escape_for_codeowners(pattern: str) -> str:
    """Escape blanks (and a leading '#') so the pattern survives as one CODEOWNERS token."""
    out: list[str] = []
    index, size = 0, len(pattern)
    while index < size:
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        out.append("\\" + char if char in " \t" or (char == "#" and index == 0) else char)
        index += 1
    return "".join(out)


def render_codeowners(entries: Iterable[tuple[str, Sequence[str]]], header: str | None = None) -> str:
    """A CODEOWNERS file from (pattern, owners) lines, in order (so later lines win on GitHub).

    ``header`` lines become ``#`` comments at the top.  Patterns are validated and written in
    normalised form; owners must be @user, @org/team or e-mail addresses (GitHub rejects
    anything else).
    """
    lines: list[str] = []
    if header:
        for text in header.splitlines():
            lines.append(text if text.startswith("#") else ("# " + text).rstrip())
        lines.append("")
    for pattern, owners in entries:
        normalized = validate_pattern(pattern)
        if isinstance(owners, str):
            owners = [owners]
        for owner in owners:
            if not is_valid_owner(owner):
                raise UsageError(
                    f"owner {owner!r} for pattern {pattern!r} is not @user, @org/team or an e-mail address"
                )
        lines.append(" ".join([_escape_for_codeowners(normalized), *owners]))
    return "\n".join(lines) + "\n"
