"""The query strings ``qs`` writes (the js-sdk's encoder): ``id[0]=a&id[1]=b``, ``a[b]=c``.

FastAPI's ``list[str]`` reads only ``id=a&id=b``; this reads both forms into nested
dicts and lists, bounded so a hostile query cannot make a deep or wide structure.
"""

import re
from collections.abc import Iterable
from typing import Any

MAX_DEPTH = 5
MAX_INDEX = 100
MAX_PARAMS = 200

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


class QueryError(ValueError):
    """The query string is not one ``qs`` would write (or is too big)."""


def parse(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nested parameters from ``(key, value)`` pairs as they came in the query string."""
    result: dict[str, Any] = {}
    for count, (key, value) in enumerate(items, start=1):
        if count > MAX_PARAMS:
            raise QueryError(f"at most {MAX_PARAMS} query parameters")
        match = _KEY.match(key)
        if match is None:
            raise QueryError(f"malformed query parameter {key!r}")
        path = [match.group(1), *_PART.findall(match.group(2))]
        if len(path) > MAX_DEPTH + 1:
            raise QueryError(f"query parameter {key!r} nests too deep")
        _put(result, path, value)
    return _lists(result)


def _put(node: dict[str, Any], path: list[str], value: str) -> None:
    head, rest = path[0], path[1:]
    if not rest:
        if head in node:  # ``id=a&id=b``: a list, as qs reads it
            existing = node[head]
            node[head] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            node[head] = value
        return
    child = node.setdefault(head, {})
    if not isinstance(child, dict):
        raise QueryError(f"query parameter {head!r} is both a value and a structure")
    if rest[0] == "":  # ``id[]=a``: append
        rest = [str(len(child)), *rest[1:]]
    _put(child, rest, value)


def _lists(node: dict[str, Any]) -> dict[str, Any]:
    """``{"0": a, "1": b}`` → ``[a, b]`` (in index order), recursively."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        out[key] = _as_list(_lists(value)) if isinstance(value, dict) else value
    return out


def _as_list(node: dict[str, Any]) -> Any:
    if not node or not all(key.isdigit() for key in node):
        return node
    if any(int(key) > MAX_INDEX for key in node):
        raise QueryError(f"an array index above {MAX_INDEX}")
    return [node[key] for key in sorted(node, key=int)]


def strings(value: Any) -> list[str]:
    """A parameter that may be given once or as an array, as a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise QueryError("expected a string or a list of strings")
