"""Finding the line of a field path in TOML text, so a spec problem can point at it.

``tomllib`` gives lines only for syntax errors; for a problem found after parsing (a typo in a
key, a value out of range) this reads the text's table headers and ``key =`` lines. It is a
best effort: when the exact key is not found it climbs to the nearest enclosing table.
"""

from __future__ import annotations

import re

_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([^\[\]]+?)\s*\]\]")
_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]")
_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*=")


def _key_path(raw: str) -> str:
    parts = [p.strip().strip("\"'") for p in re.split(r"\s*\.\s*", raw)]
    return ".".join(parts)


def index_lines(text: str) -> dict[str, int]:
    """Every table and key path in ``text`` mapped to the 1-based line it first appears on."""
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}
    prefix = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if match := _ARRAY_TABLE.match(line):
            name = _key_path(match.group(1))
            counts[name] = counts.get(name, -1) + 1
            prefix = f"{name}[{counts[name]}]"
            lines.setdefault(name, number)
        elif match := _TABLE.match(line):
            prefix = _key_path(match.group(1))
        elif match := _KEY.match(line):
            key = _key_path(match.group(1))
            lines.setdefault(f"{prefix}.{key}" if prefix else key, number)
            continue
        else:
            continue
        lines.setdefault(prefix, number)
    return lines


def locate(text: str, path: str) -> int | None:
    """The line of ``path`` (``a.b[2].c``) in ``text``, or of its nearest enclosing part."""
    lines = index_lines(text)
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None
