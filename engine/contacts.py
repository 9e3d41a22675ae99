"""The filter step's work: stream the contacts, keep those the rules and suppressions allow.

Memory is bounded by the suppression set and the eligible set's bytes, never by the contact
list: contacts arrive page by page from the gateway and are dropped as soon as they are judged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import attrs

from engine.filtering import PhoneNormaliser, compile_rules
from engine.ports import CXoneGateway
from engine.spec import CampaignSpec
from events import crash_point

Progress = Callable[[int], None]
"""Told how many contacts have been judged so far."""
PROGRESS_EVERY = 1000


@attrs.frozen
class FilterResult:
    """Counts of one filter run, and the eligible set as bytes (``id<TAB>e164`` lines);
    ``fields_seen`` counts the contacts carrying each field the rules name."""

    total: int
    matched: int
    suppressed: int
    eligible: int
    excluded: dict[str, int]
    eligible_set: bytes
    fields_seen: dict[str, int] = attrs.field(factory=dict)

    @property
    def fields_absent(self) -> list[str]:
        """The fields a rule names that no contact carries."""
        return absent(self.fields_seen, self.total)


def absent(fields_seen: dict[str, int] | None, total: int) -> list[str]:
    """Of ``fields_seen``, the fields on no contact (none when no contact was read)."""
    return [name for name, count in (fields_seen or {}).items() if count == 0 and total]


def filter_contacts(
    gateway: CXoneGateway, spec: CampaignSpec, progress: Progress | None = None
) -> FilterResult:
    """Judge every contact of the spec's list: rules first, then phone, then suppression."""
    phones = PhoneNormaliser(spec.default_region)
    eligible_by_rules = compile_rules(spec.filter)
    suppressed_numbers = set()
    for raw in gateway.iter_suppressed_numbers():
        e164, _ = phones.normalise(raw)
        if e164 is not None:
            suppressed_numbers.add(e164)
    excluded: Counter[str] = Counter()
    seen = dict.fromkeys(sorted({rule.field for rule in spec.filter}), 0)
    eligible = bytearray()
    total = matched = kept = 0
    for contact in gateway.iter_contacts(spec.contact_list_id):
        total += 1
        for name in seen:
            if contact.fields.get(name) is not None:
                seen[name] += 1
        if total % PROGRESS_EVERY == 0:
            if progress is not None:
                progress(total)
            crash_point("mid-contacts")
        if not eligible_by_rules(contact.fields):
            excluded["filter"] += 1
            continue
        matched += 1
        e164, reason = phones.normalise(contact.phone)
        if e164 is None:
            excluded[reason or "phone_unparseable"] += 1
        elif e164 in suppressed_numbers:
            excluded["suppressed"] += 1
        else:
            kept += 1
            eligible += f"{contact.id}\t{e164}\n".encode()
    if progress is not None and total % PROGRESS_EVERY:
        progress(total)
    counts = dict(sorted(excluded.items()))
    return FilterResult(total, matched, excluded["suppressed"], kept, counts, bytes(eligible), seen)
