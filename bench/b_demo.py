"""The demo town's build time: ``manage.py demo_town`` from an empty database (issue 2: under
60 s), with every step, in a scratch database of its own that is dropped afterwards."""

import os
import re
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

from bench import Row

TITLE = "demo town build time (manage.py demo_town, every step)"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(ctx) -> list[Row]:
    parts = urlsplit(ctx.database_url)
    scratch = urlunsplit(parts._replace(path="/cockpit_bench_demo"))
    admin = ctx.pg()
    admin.cursor().execute("DROP DATABASE IF EXISTS cockpit_bench_demo")
    admin.cursor().execute("CREATE DATABASE cockpit_bench_demo")
    env = dict(os.environ, DATABASE_URL=scratch, COCKPIT_TEST_RUN_ID="bench-demo")
    manage = [sys.executable, os.path.join(ROOT, "manage.py")]
    try:
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
        started = time.perf_counter()
        out = subprocess.run(
            [*manage, "demo_town"], env=env, check=True, cwd=ROOT, capture_output=True, text=True
        ).stdout
        seconds = time.perf_counter() - started
    finally:
        admin.cursor().execute("DROP DATABASE IF EXISTS cockpit_bench_demo")
        admin.close()
    steps = re.findall(r"^\s+(\S[^\d]*?)\s+(\d+\.\d) s", out, re.M)
    note = ", ".join(f"{name.strip()} {secs} s" for name, secs in steps)
    return [
        Row(
            "demo town: manage.py demo_town (all steps)",
            round(seconds, 1),
            "s",
            target="< 60 s",
            ok=seconds < 60,
            note=note,
        )
    ]
