"""The simulator's deterministic dataset: contacts and suppressions computed from a seed.

Nothing is stored per contact: contact ``i`` is a pure function of ``(seed, i)``, so a list of
a million costs no memory and every run with the same seed sees the same data. Suppressions
mostly name contacts' numbers, written in other formats than the contact list uses (which is
what made the tutorial's id-based matching suppress nothing); some name numbers no contact has.
"""

from __future__ import annotations

from typing import Any

import attrs

REGIONS = ("west", "northwest", "east", "south", "midwest")
AREAS = (415, 212, 312, 206, 503, 617, 305, 512, 303, 702)


def _mix(seed: int, i: int) -> int:
    """A cheap, well-spread 32-bit hash of ``(seed, i)``."""
    x = (i * 0x9E3779B1 + seed * 0x85EBCA77 + 0xC2B2AE3D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    return x


def _digits(i: int) -> tuple[int, int, int]:
    """Area code, exchange and line of the ``i``-th number: distinct for every ``i`` < 8M."""
    return AREAS[(i // 8_000_000) % len(AREAS)], 200 + (i // 10_000) % 800, i % 10_000


def phone(i: int, style: int) -> str:
    """The ``i``-th number in one of four written styles."""
    area, exchange, line = _digits(i)
    if style == 0:
        return f"+1{area}{exchange}{line:04d}"
    if style == 1:
        return f"({area}) {exchange}-{line:04d}"
    if style == 2:
        return f"1-{area}-{exchange}-{line:04d}"
    return f"{area}.{exchange}.{line:04d}"


@attrs.frozen
class Dataset:
    """``contacts`` contacts on list ``contact_list_id`` and ``suppressions`` suppressed numbers."""

    seed: int = 7
    contacts: int = 1000
    suppressions: int = 100
    contact_list_id: str = "cl-2001"

    def contact(self, i: int) -> dict[str, Any]:
        """The ``i``-th contact, as CXone returns it."""
        h = _mix(self.seed, i)
        fields: dict[str, Any] = {"region": REGIONS[h % 5], "age": 18 + (h >> 3) % 60}
        kind = (h >> 9) % 100
        if kind == 0:
            number: str | None = None  # no number on file
        elif kind == 1:
            number = "n/a"  # what people type into a phone field
        elif kind < 12:
            number = phone(i, 1 + kind % 3)  # written nationally, in some style
        else:
            number = phone(i, 0)  # already E.164
        contact = {"id": f"ct-{i:07d}", "fields": fields}
        if number is not None:
            contact["phoneNumber"] = number
        return contact

    def suppression(self, j: int) -> dict[str, Any]:
        """The ``j``-th suppression: a contact's number (nine in ten) or a stranger's."""
        h = _mix(self.seed + 1, j)
        if h % 10 == 0 or self.contacts == 0:
            target = self.contacts + j  # nobody on the list
        else:
            target = (j * 7919 + self.seed) % self.contacts
        return {
            "id": f"sp-{j:07d}",
            "phoneNumber": phone(target, h % 3),
            "reason": ("do-not-call", "opt-out", "litigator")[h % 3],
        }
