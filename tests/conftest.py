"""Shared fixtures: a small town with named actors, and the real moving parts (a Celery worker,
an ASGI server for HTTP + websockets, headless Chromium) started once per test session.

The small town (tests/town.py):

    town 三墩 (T)
    ├── area A1 (north) ── station S1 ── squad Q1 ── grids G1 (A-01), G2 (A-02)
    └── area A2 (south) ── station S2 ── squad Q2 ── grids G3 (B-01), G4 (B-02)

Actors — what each may see:
- wang   grid worker of G1 (A-01): G1 only.
- zhao   grid worker of G3 (B-01), another squad: G3 only; must never see G1's cases.
- liu    grid leader of G2.
- sun    area leader of A1: G1 and G2.
- li     seat operator, whole town.
- chen   commander (TOTP required), whole town.
- admin  district admin (TOTP required), whole town.
Every actor's password is PASSWORD below.
"""

import os

import pytest

from tests.town import PASSWORD, SmallTown, build_small_town

os.environ.setdefault(
    "DJANGO_ALLOW_ASYNC_UNSAFE", "true"
)  # Playwright's sync API runs an event loop

__all__ = ["PASSWORD"]


@pytest.fixture(autouse=True)
def _fresh_local_cache():
    """Every test builds its own town and categories (new ids for the same codes, rolled back
    afterwards): nothing cached by an earlier test may answer (cockpit.localcache)."""
    from cockpit import localcache

    localcache.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """Django's LocaleMiddleware activates the language a request asks for and never switches
    back: after a test whose last request asked for English, the next test's messages (a
    validator called directly) would be English. Every test starts in the default language."""
    from django.utils import translation

    translation.deactivate()
    yield


@pytest.fixture
def town(db) -> SmallTown:
    """The small town inside the test's transaction (rolled back after it)."""
    return build_small_town()


@pytest.fixture
def live_town(transactional_db) -> SmallTown:
    """The small town committed, for tests where another process (worker, server) must see it."""
    return build_small_town()


@pytest.fixture
def categories(db) -> dict:
    """The shipped taxonomy (events.taxonomy), as {code: Category}; 部件 and 事项 share the codes
    01001–05009, and for those the 事项 is under the code and the 部件 under "component:<code>".
    Loaded again for every test: transactional tests truncate the tables (the migration's rows
    are gone after the first one), and the loader costs three queries when nothing is missing."""
    from events.models import Category
    from events.taxonomy import taxonomy_load

    taxonomy_load()
    found = {}
    for c in Category.objects.all():
        found[f"{c.kind}:{c.code}"] = c
        if c.kind != "component" or c.code not in found:
            found[c.code] = c
    return found


@pytest.fixture(scope="session")
def test_database_url(django_db_setup, django_db_blocker) -> str:
    """DATABASE_URL of this session's test database, for the processes we start."""
    from django.db import connection

    s = connection.settings_dict
    return f"postgis://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture(scope="session")
def celery_worker(test_database_url):
    """A real Celery worker process on this session's queue and test database."""
    from tests.procs import CeleryWorker

    worker = CeleryWorker(database_url=test_database_url)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def live_server_url(test_database_url) -> str:
    """A real ASGI server (daphne: HTTP and websockets) on the test database."""
    from tests.procs import AsgiServer

    server = AsgiServer(database_url=test_database_url)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Debian's package) per test session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield b
        b.close()
