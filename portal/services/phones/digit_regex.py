"""phonenumbers' metadata patterns read as automata over the ten ASCII digits.

The patterns (a region's general number pattern, national prefix, international
prefix) use a small part of regular-expression syntax: digits, character classes
with ranges and ``\\d``, groups ``(...)`` and ``(?:...)``, ``|``, the quantifiers
``?``, ``*``, ``+``, ``{n}``, ``{n,m}`` and the anchor ``$``. This module parses that
part itself (no private ``re`` internals) into a Thompson NFA, which can answer a
question for a whole class of numbers at once: "does every, or no, string of this
known prefix followed by n unknown digits match?". Anything outside that part raises
`Unsupported`, and the caller then asks phonenumbers number by number.
"""

from __future__ import annotations

import functools
import re
from typing import Any

ALL_DIGITS = (1 << 10) - 1
NONE, ALL, MIXED = 0, 1, 2
MAX_NFA_STATES = 4000
_QUANTIFIER = re.compile(r"\{(\d+)(,(\d*))?\}")
_ESCAPED_LITERALS = frozenset("\\.-+()[]{}|?*$^")

# The parse tree: a sequence is a list of nodes, and a node is one of
#   ("set", mask)          one character among the digits in `mask` (0: none)
#   ("alt", [seq, ...])    one of the alternatives (a group is an alt of one)
#   ("rep", lo, hi, seq)   `seq` lo to hi times (hi None: no limit)
#   ("end",)               '$': passes when the input ends here
Node = tuple[Any, ...]


class Unsupported(Exception):
    """A pattern outside the modelled syntax; such numbers go to phonenumbers."""


def char_mask(ch: str) -> int:
    """Bit for an ASCII digit, 0 for anything a digit cannot match."""
    return 1 << (ord(ch) - 48) if "0" <= ch <= "9" else 0


class _Parser:
    """Recursive descent over the pattern text."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.at = 0

    def parse(self) -> list[Node]:
        tree = self._alternation()
        if self.at != len(self.text):
            raise Unsupported(f"unexpected {self.text[self.at]!r}")
        return tree

    def _peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def _take(self) -> str:
        if self.at >= len(self.text):
            raise Unsupported("pattern ends early")
        ch = self.text[self.at]
        self.at += 1
        return ch

    def _alternation(self) -> list[Node]:
        branches = [self._sequence()]
        while self._peek() == "|":
            self.at += 1
            branches.append(self._sequence())
        return branches[0] if len(branches) == 1 else [("alt", branches)]

    def _sequence(self) -> list[Node]:
        items: list[Node] = []
        while self._peek() not in ("", "|", ")"):
            items.append(self._quantified(self._atom()))
        return items

    def _atom(self) -> Node:
        ch = self._take()
        if ch == "(":
            if self.text.startswith("?:", self.at):
                self.at += 2
            elif self._peek() == "?":
                raise Unsupported("group extension")
            body = self._alternation()
            if self._take() != ")":
                raise Unsupported("unclosed group")
            return ("alt", [body])
        if ch == "[":
            return ("set", self._class())
        if ch == "\\":
            return ("set", self._escape())
        if ch == "$":
            return ("end",)
        if ch == ".":
            return ("set", ALL_DIGITS)
        if ch in "^*+?{}])":
            raise Unsupported(f"construct {ch!r}")
        return ("set", char_mask(ch))

    def _escape(self) -> int:
        ch = self._take()
        if ch == "d":
            return ALL_DIGITS
        if ch in _ESCAPED_LITERALS:
            return char_mask(ch)
        raise Unsupported(f"escape \\{ch}")

    def _class(self) -> int:
        negate = self._peek() == "^"
        if negate:
            self.at += 1
        mask = 0
        first = True
        while True:
            ch = self._take()
            if ch == "]" and not first:
                break
            first = False
            if ch == "\\":
                mask |= self._escape()
            elif self._peek() == "-" and self.text[self.at + 1 : self.at + 2] not in (
                "]",
                "",
            ):
                self.at += 1
                high = self._take()
                if high == "\\":
                    raise Unsupported("escaped range end")
                for code in range(max(ord(ch), 48), min(ord(high), 57) + 1):
                    mask |= 1 << (code - 48)
            else:
                mask |= char_mask(ch)
        return ALL_DIGITS & ~mask if negate else mask

    def _quantified(self, atom: Node) -> Node:
        ch = self._peek()
        if ch == "?":
            bounds: tuple[int, int | None] = (0, 1)
            self.at += 1
        elif ch == "*":
            bounds = (0, None)
            self.at += 1
        elif ch == "+":
            bounds = (1, None)
            self.at += 1
        elif ch == "{":
            match = _QUANTIFIER.match(self.text, self.at)
            if match is None:
                raise Unsupported("brace that is not a quantifier")
            low = int(match.group(1))
            if match.group(2) is None:
                bounds = (low, low)
            else:
                bounds = (low, int(match.group(3)) if match.group(3) else None)
            self.at = match.end()
        else:
            return atom
        if self._peek() == "?":
            self.at += 1  # lazy: the same strings match, only match() ends differ
        if self._peek() in ("?", "*", "+", "{"):
            raise Unsupported("stacked quantifiers")
        if atom[0] == "end":
            raise Unsupported("quantified anchor")
        return ("rep", bounds[0], bounds[1], [atom])


def parse(pattern: str) -> list[Node]:
    """The pattern's parse tree; raises Unsupported outside the modelled syntax."""
    return _Parser(pattern).parse()


def max_width(seq: list[Node]) -> int | None:
    """The longest input the pattern can read (None: unbounded)."""
    total = 0
    for node in seq:
        kind = node[0]
        if kind == "set":
            width: int | None = 1
        elif kind == "end":
            width = 0
        elif kind == "alt":
            widths = [max_width(branch) for branch in node[1]]
            width = None if None in widths else max(widths, default=0)
        else:
            inner = max_width(node[3])
            if inner == 0:
                width = 0
            elif inner is None or node[2] is None:
                width = None
            else:
                width = inner * node[2]
        if width is None:
            return None
        total += width
    return total


class Nfa:
    """Thompson NFA over the ten ASCII digits for a metadata pattern."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._eps: list[list[int]] = []
        self._edges: list[list[tuple[int, int]]] = []
        self.anchored = False  # has '$': fine for confinement, not for classify
        tree = parse(pattern)
        self.max_width = max_width(tree)
        start = self._new()
        self.accept = self._seq(tree, start)
        closures = [self._closure(i) for i in range(len(self._eps))]
        self._trans: list[list[tuple[int, int]]] = [
            [(mask, closures[target]) for mask, target in edges]
            for edges in self._edges
        ]
        self.start = closures[start]
        self.accept_bit = 1 << self.accept
        self.live = 0
        for i, edges in enumerate(self._edges):
            if edges:
                self.live |= 1 << i
        self._reps = self._digit_classes()
        self._step_memo: dict[tuple[int, int], int] = {}
        self._class_memo: dict[tuple[int, int], int] = {}

    def _digit_classes(self) -> tuple[int, ...]:
        """One digit for each set of digits no edge tells apart."""
        masks = {mask for edges in self._edges for mask, _ in edges}
        classes: dict[tuple[int, ...], int] = {}
        for digit in range(10):
            signature = tuple(sorted(mask for mask in masks if mask >> digit & 1))
            classes.setdefault(signature, digit)
        return tuple(classes.values())

    def _new(self) -> int:
        if len(self._eps) >= MAX_NFA_STATES:
            raise Unsupported("pattern too large")
        self._eps.append([])
        self._edges.append([])
        return len(self._eps) - 1

    def _edge(self, state: int, mask: int) -> int:
        target = self._new()
        if mask:
            self._edges[state].append((mask, target))
        return target

    def _seq(self, items: list[Node], state: int) -> int:
        for node in items:
            state = self._node(node, state)
        return state

    def _node(self, node: Node, state: int) -> int:
        kind = node[0]
        if kind == "set":
            return self._edge(state, node[1])
        if kind == "end":
            # Passable here; whether it passes depends only on the total length.
            self.anchored = True
            return state
        if kind == "alt":
            exit_state = self._new()
            for alternative in node[1]:
                entry = self._new()
                self._eps[state].append(entry)
                self._eps[self._seq(alternative, entry)].append(exit_state)
            return exit_state
        return self._repeat(node[1], node[2], node[3], state)

    def _repeat(self, lo: int, hi: int | None, body: list[Node], state: int) -> int:
        for _ in range(lo):
            state = self._seq(body, state)
        if hi is None:
            loop = self._new()
            self._eps[state].append(loop)
            self._eps[self._seq(body, loop)].append(loop)
            return loop
        exit_state = self._new()
        self._eps[state].append(exit_state)
        for _ in range(hi - lo):
            state = self._seq(body, state)
            self._eps[state].append(exit_state)
        return exit_state

    def _closure(self, state: int) -> int:
        seen = 1 << state
        stack = [state]
        while stack:
            for nxt in self._eps[stack.pop()]:
                if not seen >> nxt & 1:
                    seen |= 1 << nxt
                    stack.append(nxt)
        return seen

    def step(self, states: int, digit: int) -> int:
        """States reachable from ``states`` by reading ``digit``."""
        key = (states, digit)
        out = self._step_memo.get(key)
        if out is None:
            out = 0
            rest = states
            while rest:
                low = rest & -rest
                for mask, closure in self._trans[low.bit_length() - 1]:
                    if mask >> digit & 1:
                        out |= closure
                rest ^= low
            self._step_memo[key] = out
        return out

    def run(self, states: int, known: str) -> int:
        """States after reading the known digits."""
        for ch in known:
            if not states:
                break
            states = self.step(states, ord(ch) - 48)
        return states

    def classify(self, states: int, remaining: int) -> int:
        """ALL/NONE if every/no continuation of ``remaining`` digits accepts."""
        if remaining == 0:
            return ALL if states & self.accept_bit else NONE
        if not states:
            return NONE
        key = (states, remaining)
        out = self._class_memo.get(key)
        if out is None:
            seen: set[int] = set()
            for digit in self._reps:
                seen.add(self.classify(self.step(states, digit), remaining - 1))
                if MIXED in seen or len(seen) > 1:
                    break
            out = seen.pop() if len(seen) == 1 else MIXED
            self._class_memo[key] = out
        return out

    def confined(self, known: str) -> bool:
        """True if no path of the pattern can read past ``known``."""
        if self.max_width is not None and self.max_width <= len(known):
            return True
        states = self.start
        for ch in known:
            if not states & self.live:
                return True
            states = self.step(states, ord(ch) - 48)
        return not states & self.live


@functools.cache
def nfa(pattern: str) -> Nfa | None:
    """The NFA for a metadata pattern, or None if it uses unmodelled constructs."""
    try:
        return Nfa(pattern)
    except (Unsupported, RecursionError):
        return None
