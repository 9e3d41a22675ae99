"""Bad input, generated: spec files, event payloads, journal rows, exports, hostile names.
Each gets a clear error naming the field, line or seq, or goes through unchanged; nothing is
half-written and nothing crashes."""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import json
import sqlite3
import tomllib
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.cli import cli
from adapters.simulator import FakeCXoneGateway
from engine import Engine, RemoteCampaign, parse_spec, verify
from events import CODEC, REGISTRY, EventDecodeError
from journal import JournalCorrupt, JournalError, RawRow, SQLiteJournal
from journal.records import row_hash
from journal.transfer import read_jsonl, write_jsonl
from tests.conftest import EXAMPLE_SPEC, make_contacts
from tests.hardening import report
from tests.hardening.toml_writer import dumps

EXAMPLE = tomllib.loads(EXAMPLE_SPEC.read_text())
EVENT_TYPES = sorted(cls.TYPE for cls in REGISTRY)
NASTY = [
    "",
    "'; DROP TABLE events; --",
    "Robert'); DROP TABLE commands;--",
    "' OR 1=1 --",
    '"',
    "\\",
    "\x00",
    "\x1b[31mred\x1b[0m",
    "\u202eevil",
    "line\nbreak\r\n",
    "%s %d {0} {name}",
    "😀" * 60,
    "a" * 10_000,
]
scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([2**63 - 1, -(2**63), 0, -1, 10**18]),
    st.floats(),
    st.booleans(),
    st.text(max_size=30),
    st.text(min_size=190, max_size=260),
    st.sampled_from(NASTY),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(st.text(max_size=8), scalars, max_size=3),
    st.lists(st.dictionaries(st.sampled_from(["field", "op", "value", "x"]), scalars), max_size=3),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, dict):
                found += _paths(value, (*prefix, index))
    return found


def _mutate(doc: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc)))
        parent: Any = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = data.draw(st.sampled_from(["delete", "replace", "unknown", "typo"]))
        if isinstance(parent, list):
            action = "replace"
        if action == "delete":
            del parent[last]
        elif action == "replace":
            parent[last] = data.draw(values)
        elif action == "unknown":
            parent[data.draw(st.text(min_size=1, max_size=12))] = data.draw(values)
        else:
            parent[last + data.draw(st.sampled_from(["s", "_", "x"]))] = parent.pop(last)
    return doc


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_spec_files_are_drafted_whole_or_refused_naming_the_field(
    tmp_path: Path, data: st.DataObject
) -> None:
    doc = _mutate(EXAMPLE, data)
    text = dumps(doc)
    spec = tmp_path / "spec.toml"
    spec.write_text(text, encoding="utf-8")
    db = tmp_path / "fuzz.db"
    db.unlink(missing_ok=True)
    result = CliRunner().invoke(cli, ["--db", str(db), "draft", str(spec)])
    with SQLiteJournal(db) as journal:
        drafted = journal.last_seq()
    clean = False
    if result.exit_code == 0:
        clean = drafted == 1
    elif result.exit_code == 2:
        first = result.stderr.splitlines()[0]
        problems = result.stderr.splitlines()[1:]
        clean = (
            drafted == 0
            and first.startswith(f"error: {spec}")
            and "Traceback" not in result.stderr
            and bool(problems)
            and all(line.startswith("  ") and ": " in line for line in problems)
        )
    outcome = "drafted whole" if result.exit_code == 0 else "refused, naming the field"
    report.record(f"spec file: generated ({outcome})", handled=clean, lost=0 if clean else 1)
    assert clean, (text, result.exit_code, result.stderr, result.exception)


@settings(max_examples=500)
@given(
    type_=st.sampled_from(EVENT_TYPES) | st.text(max_size=20),
    schema=st.integers(-3, 5),
    data=st.one_of(
        st.text(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner)
            ),
            max_leaves=20,
        ).map(json.dumps),
    ),
)
def test_generated_event_payloads_decode_or_name_the_field(
    type_: str, schema: int, data: str
) -> None:
    try:
        CODEC.decode(type_, schema, data)
        handled = True
    except EventDecodeError as exc:
        handled = bool(str(exc))
    report.record("event payload: generated", handled=handled)
    assert handled


def _journal_with_history(path: Path) -> None:
    with SQLiteJournal(path) as journal:
        engine = Engine(
            journal,
            FakeCXoneGateway(
                campaigns=[RemoteCampaign("cmp-1001", 4, "inactive", {})],
                contacts=make_contacts(40),
            ),
        )
        for _ in range(2):
            engine.draft(parse_spec(EXAMPLE_SPEC.read_text())).run()


_examples = itertools.count()
COLUMNS = {
    "stream_id": st.text(max_size=20),
    "version": st.integers(-2, 30),
    "type": st.sampled_from(EVENT_TYPES) | st.text(max_size=20),
    "schema": st.integers(-1, 4),
    "data": st.sampled_from(["{}", "null", "[]", '{"step_id": 5}', "{", ""]) | st.text(max_size=40),
    "meta": st.sampled_from(["{}", "null", "[", '{"actor": 1}']) | st.text(max_size=20),
    "recorded_at": st.text(max_size=30),
    "state_digest": st.none() | st.text(max_size=70),
}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("history") / "history.db"
    _journal_with_history(path)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.read_bytes()


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), rehash=st.booleans())
def test_generated_journal_rows_give_only_journal_errors_naming_the_seq(
    tmp_path: Path, history: bytes, data: st.DataObject, rehash: bool
) -> None:
    db = tmp_path / f"rows-{next(_examples)}.db"
    db.write_bytes(history)
    with closing(sqlite3.connect(db)) as conn, conn:
        for _ in range(data.draw(st.integers(1, 3))):
            seq = data.draw(st.integers(1, 24))
            column = data.draw(st.sampled_from(sorted(COLUMNS)))
            value = data.draw(COLUMNS[column])
            with contextlib.suppress(sqlite3.IntegrityError):  # two rows at one version
                conn.execute(f"UPDATE events SET {column} = ? WHERE seq = ?", (value, seq))  # noqa: S608
        if rehash:  # a forger who recomputes the chain: only the events' meaning can betray it
            prev = "0" * 64
            for row in conn.execute("SELECT * FROM events ORDER BY seq").fetchall():
                raw = RawRow(*row)
                fixed = row_hash(prev, *raw[:9])
                conn.execute(
                    "UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?",
                    (prev, fixed, raw.seq),
                )
                prev = fixed
    handled = True
    with SQLiteJournal(db) as journal:
        audit = verify(journal)  # never raises
        assert audit.ok or isinstance(audit.first_bad_seq, int)
        engine = Engine(journal)
        for step in (
            engine.campaigns,
            engine.heads,
            engine.rebuild_heads,
            *[lambda sid=sid: engine.load(sid) for sid, _ in journal.streams()],
        ):
            try:
                step()
            except JournalCorrupt as exc:
                handled &= exc.seq is not None and f"seq {exc.seq}" in str(exc)
            except JournalError as exc:
                handled &= bool(str(exc))
    report.record(
        "journal row: generated" + (" (chain rehashed)" if rehash else ""), handled=handled
    )
    assert handled


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.text(max_size=80) | st.sampled_from(["{}", '{"seq": 1}', "[]"]), max_size=5)
)
def test_a_generated_export_is_imported_whole_or_not_at_all(
    tmp_path: Path, lines: list[str]
) -> None:
    db = tmp_path / "import.db"
    db.unlink(missing_ok=True)
    handled = True
    with SQLiteJournal(db) as journal:
        try:
            journal.import_rows(read_jsonl(io.StringIO("\n".join(lines)), "generated.jsonl"))
        except JournalError as exc:
            handled = bool(str(exc))
        handled &= journal.last_seq() == 0 or verify(journal).ok
    report.record("export file: generated", handled=handled)
    assert handled


@pytest.mark.parametrize("text", NASTY[1:])
def test_hostile_names_and_values_round_trip_unchanged(tmp_path: Path, text: str) -> None:
    doc = copy.deepcopy(EXAMPLE)
    doc["name"] = text[:200]
    doc["filter"][0]["value"] = [text, "west"]
    spec = tmp_path / "hostile.toml"
    spec.write_text(dumps(doc), encoding="utf-8")
    db = tmp_path / "hostile.db"
    runner = CliRunner()
    drafted = runner.invoke(cli, ["--db", str(db), "draft", str(spec)])
    assert drafted.exit_code == 0, drafted.stderr
    campaign_id = drafted.stdout.strip()
    shown = json.loads(runner.invoke(cli, ["--db", str(db), "show", campaign_id, "--json"]).stdout)
    exported = runner.invoke(cli, ["--db", str(db), "audit", "export"]).stdout
    copy_db = tmp_path / "copy.db"
    dump = tmp_path / "dump.jsonl"
    dump.write_text(exported, encoding="utf-8")
    imported = runner.invoke(cli, ["--db", str(copy_db), "audit", "import", str(dump)])
    with SQLiteJournal(copy_db) as journal:
        again = Engine(journal).load(campaign_id)
        conn = journal.recorder.connection
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    same = (
        shown["name"] == text[:200]
        and shown["spec"]["filter"][0]["value"] == [text, "west"]
        and again.name == text[:200]
        and again.spec == shown["spec"]
        and imported.exit_code == 0
        and {"events", "commands", "leases", "blobs"} <= tables
    )
    report.record("hostile names and values (SQL, control chars)", handled=same)
    assert same


def test_exports_of_hostile_text_stay_one_line_per_event(tmp_path: Path) -> None:
    out = io.StringIO()
    rows = [RawRow(1, "s\n1", 1, "t", 1, '{"x": "a\\nb"}', "{}", "now", None, "0" * 64, "h")]
    write_jsonl(rows, out)
    assert out.getvalue().count("\n") == 2  # the header, and one line for the event
