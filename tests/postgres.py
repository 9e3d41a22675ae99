"""Where the tests' PostgreSQL server is, and a fresh journal schema in it for each test.

``CXPREVIEW_TEST_POSTGRES`` names the server (``.ci/run`` sets it; by default
``postgresql://root@127.0.0.1:5432/test``, where these machines run one). A developer without
a server sees the PostgreSQL tests skipped, with the reason; in CI (``CI`` set) an unreachable
server fails them instead: there they must run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

DEFAULT = "postgresql://root@127.0.0.1:5432/test"


def server_url() -> str:
    """The server's URL, or a skip (a failure in CI) saying why there is none."""
    url = os.environ.get("CXPREVIEW_TEST_POSTGRES", DEFAULT)
    try:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url, connect_timeout=3):
            pass
    except Exception as exc:
        reason = f"no PostgreSQL server at {url}: {type(exc).__name__}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI: the PostgreSQL tests must run)")
        pytest.skip(reason)
    return url


def with_schema(url: str, schema: str) -> str:
    """``url`` whose connections work in ``schema`` (its ``search_path``)."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL to a new, empty schema of the test server, dropped (with everything in it)
    afterwards."""
    import psycopg  # noqa: PLC0415

    url = server_url()
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(url, schema)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
