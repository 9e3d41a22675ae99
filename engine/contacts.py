"""The filter step's work: stream the contacts, keep those the rules and suppressions allow.

Memory is bounded by the suppression set and the eligible set's bytes, never by the contact
list: contacts arrive page by page from the gateway and are dropped as soon as they are judged.
"""

from __future__ import annotations

import contextvars
import threading
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
    """Judge every contact of the spec's list: rules first, then phone, then suppression.

    The suppressions are read in a thread of their own while the contacts stream in (a
    listing of each at once: CXone's latency is paid once, not twice); a contact the rules
    and its phone allow waits, as an eligible line, until the suppression set is whole.
    """
    phones = PhoneNormaliser(spec.default_region)
    eligible_by_rules = compile_rules(spec.filter)
    suppressions = _Suppressions(gateway, phones)
    excluded: Counter[str] = Counter()
    seen = dict.fromkeys(sorted({rule.field for rule in spec.filter}), 0)
    waiting = bytearray()  # lines allowed by rules and phone before the set was whole
    eligible = bytearray()
    total = matched = 0
    try:
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
            elif (numbers := suppressions.ready()) is None:
                waiting += f"{contact.id}\t{e164}\n".encode()
            elif e164 in numbers:
                excluded["suppressed"] += 1
            else:
                eligible += f"{contact.id}\t{e164}\n".encode()
        numbers = suppressions.result()
    finally:
        suppressions.close()
    eligible[:0] = _unsuppressed(waiting, numbers, excluded)  # first: they came first
    if progress is not None and total % PROGRESS_EVERY:
        progress(total)
    counts = dict(sorted(excluded.items()))
    kept = eligible.count(b"\n")
    return FilterResult(total, matched, excluded["suppressed"], kept, counts, bytes(eligible), seen)


def _unsuppressed(lines: bytearray, numbers: set[str], excluded: Counter[str]) -> bytes:
    """Of ``id<TAB>e164`` lines, those whose number is not suppressed (the rest counted)."""
    kept = bytearray()
    for line in lines.splitlines(keepends=True):
        if line[line.rindex(b"\t") + 1 : -1].decode() in numbers:
            excluded["suppressed"] += 1
        else:
            kept += line
    return bytes(kept)


class _Suppressions:
    """The suppressed numbers in E.164, read by a thread of their own (its retries count
    for the step that started it: it runs in a copy of the caller's context)."""

    def __init__(self, gateway: CXoneGateway, phones: PhoneNormaliser) -> None:
        self._gateway, self._phones = gateway, phones
        self._numbers: set[str] | None = None
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self._read,),
            name="suppressions",
            daemon=True,
        )
        self._thread.start()

    def _read(self) -> None:
        numbers = set()
        listing = self._gateway.iter_suppressed_numbers()
        try:
            for raw in listing:
                if self._stop.is_set():  # the filter ended without needing them
                    return
                e164, _ = self._phones.normalise(raw)
                if e164 is not None:
                    numbers.add(e164)
            self._numbers = numbers
        except BaseException as exc:  # handed to the filter's thread by result()
            self._error = exc
        finally:
            close = getattr(listing, "close", None)
            if close is not None:
                close()

    def ready(self) -> set[str] | None:
        """The whole set once it is read, else None (an error waits for ``result``)."""
        return self._numbers

    def result(self) -> set[str]:
        """The whole set, waiting for it; the reading's own error if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._numbers is not None
        return self._numbers

    def close(self) -> None:
        """Stop reading (when the filter failed first) and wait for the thread to end."""
        self._stop.set()
        self._thread.join()
