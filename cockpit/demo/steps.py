"""The demo town (``manage.py demo_town``), built as a list of steps.

Each step is a function ``step(ctx: DemoContext) -> str`` that adds one layer of the town and
returns a one-line summary for the command's output. A module that lands later adds its own
data by appending one line to STEPS below, naming its function by dotted path (for example
``("safety sites", "safetycode.demo.sites_build")``); the function reads what earlier steps left
in the context (the territory, the staff) and stores what later steps may need in ``ctx.extra``.

Determinism: a step draws its random numbers from ``ctx.rng_for(<step name>)``, a generator
seeded by the town seed and the step's name, so adding or changing one step never changes the
data another step makes. Steps must not use the global ``random`` module.
"""

import random
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

# (name, "module.function"), in the order they run.
STEPS: list[tuple[str, str]] = [
    ("territory", "cockpit.demo.territory.territory_build"),
    ("addresses", "cockpit.demo.addresses.addresses_build"),
    ("staff", "cockpit.demo.people.staff_build"),
    ("departments", "cockpit.demo.people.departments_build"),
    ("history", "cockpit.demo.history.history_build"),
    ("routing", "cockpit.demo.dispatch_config.dispatch_config_build"),
    ("safety sites", "cockpit.demo.sites.sites_build"),
]

# One password for every demo account; it passes accounts.passwords.ComplexityValidator
# (≥ 8 characters, 4 of the 4 classes) and is printed by ``manage.py demo_logins``.
DEMO_PASSWORD = "Sandun@2026"

# The memorable demo logins: username → role. Each is one of the generated staff (the first of
# its kind), so the counts stay those of DOMAIN.md.
DEMO_LOGINS: dict[str, str] = {
    "operator": "operator",
    "commander": "commander",
    "admin": "district_admin",
    "area": "area_leader",
    "leader": "grid_leader",
    "worker": "grid_worker",
    "handler": "handler",
    "sysadmin": "sys_admin",
    "secadmin": "sec_admin",
    "auditor": "audit_admin",
}


@dataclass
class DemoContext:
    seed: int
    now: Any = field(default_factory=timezone.now)
    password_hash: str = ""
    # Filled by the territory step, in code order.
    town: Any = None
    areas: list = field(default_factory=list)
    stations: list = field(default_factory=list)
    squads: list = field(default_factory=list)
    grids: list = field(default_factory=list)
    communities: list = field(default_factory=list)
    # Filled by the staff step: role → users (generated order), and the demo logins by username.
    staff: dict[str, list] = field(default_factory=dict)
    logins: dict[str, Any] = field(default_factory=dict)
    # Anything else a step wants to hand to later ones.
    extra: dict[str, Any] = field(default_factory=dict)

    def rng_for(self, name: str) -> random.Random:
        # A str seed is hashed with SHA-512 by random.seed: stable across runs and machines.
        return random.Random(f"{self.seed}/{name}")
