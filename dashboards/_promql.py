"""Just enough PromQL lexing to find the series an expression reads, and to fill in variables.

Not a parser: a tokenizer that knows where metric names cannot be (strings, label matchers,
``by (...)`` lists, function names, keywords, durations), which is all a catalogue check needs::

    >>> sorted(metric_names('sum by (tier) (rate(foo_total{node="$node"}[5m])) / bar'))
    ['bar', 'foo_total']
    >>> substitute('up{node="$node"}[$__rate_interval]', {"node": "a"})
    'up{node="a"}[1m]'
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

__all__ = ["PromQLSyntaxError", "metric_names", "substitute", "variables_in"]


class PromQLSyntaxError(ValueError):
    """The expression could not be tokenized (an unclosed string or bracket)."""


# Words that look like identifiers but are operators or modifiers.
_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "atan2",
        "inf",
        "nan",
    }
)
# Keywords followed by a parenthesised list of label names, not an expression.
_LABEL_LIST_KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<variable>\$\{[A-Za-z_][A-Za-z0-9_]*(?::[a-z]+)?\}|\$[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>(?:0x[0-9a-fA-F]+|\d[0-9A-Za-z_.]*|\.\d[0-9A-Za-z_]*))
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|==|!=|>=|<=|[-+*/%^=<>,@])
  | (?P<open>[({\[])
  | (?P<close>[)}\]])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str


def _tokens(expr: str) -> Iterator[_Token]:
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if match is None:
            raise PromQLSyntaxError(f"cannot read {expr[position : position + 20]!r} in {expr!r}")
        position = match.end()
        kind = match.lastgroup or ""
        if kind != "space":
            yield _Token(kind, match.group())


def _unquote(literal: str) -> str:
    return literal[1:-1]


def metric_names(expr: str) -> set[str]:
    """Return the metric names an expression selects.

    Args:
        expr: a PromQL expression, possibly holding Grafana variables (``$node``).

    Returns:
        Every identifier in selector position, plus names given as ``{__name__="..."}``.

    Raises:
        PromQLSyntaxError: a string or bracket is not closed.
    """
    tokens = list(_tokens(expr))
    names: set[str] = set()
    brackets: list[str] = []  # open brackets; "L" marks a label-name list after `by` etc.
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        previous = tokens[index - 1] if index > 0 else None
        if token.kind == "open":
            label_list = (
                token.text == "("
                and previous is not None
                and previous.kind == "ident"
                and previous.text in _LABEL_LIST_KEYWORDS
            )
            brackets.append("L" if label_list else token.text)
        elif token.kind == "close":
            if not brackets:
                raise PromQLSyntaxError(f"unbalanced {token.text!r} in {expr!r}")
            brackets.pop()
        elif token.kind == "string" and brackets and brackets[-1] == "{":
            # {__name__="x"} selects by name; the matcher is `__name__`, `=`, string.
            if (
                index >= 2
                and tokens[index - 1].text == "="
                and tokens[index - 2].text == "__name__"
            ):
                names.add(_unquote(token.text))
        elif token.kind == "ident":
            inside_labels = bool(brackets) and brackets[-1] in ("{", "L", "[")
            # A function call, or an aggregation written `sum by (x) (...)`.
            is_call = following is not None and (
                following.text == "("
                or (following.kind == "ident" and following.text.lower() in ("by", "without"))
            )
            if inside_labels or is_call or token.text.lower() in _KEYWORDS:
                continue
            names.add(token.text)
    if brackets:
        raise PromQLSyntaxError(f"unclosed {brackets[-1]!r} in {expr!r}")
    return names


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")

#: Values for Grafana's built-in variables when an expression runs outside Grafana.
BUILTIN_VARIABLES: dict[str, str] = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
}


def variables_in(expr: str) -> set[str]:
    """Return the dashboard variables an expression uses (built-ins excluded)."""
    found = {a or b for a, b in _VARIABLE.findall(expr)}
    return found - BUILTIN_VARIABLES.keys()


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Replace ``$name`` and ``${name}`` by values, Grafana built-ins by fixed defaults.

    Args:
        expr: the expression as stored in the dashboard.
        values: dashboard variable values by name.

    Raises:
        KeyError: a variable has no value.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in values:
            return values[name]
        return BUILTIN_VARIABLES[name]

    return _VARIABLE.sub(replace, expr)
