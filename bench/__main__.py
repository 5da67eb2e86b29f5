"""``python -m bench`` — run the benchmarks (bench/b_*.py) and print one table. See bench/__init__.py."""

import argparse
import importlib
import json
import pkgutil
import signal
import sys
import time
import traceback
from pathlib import Path

from bench import Row

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("b_"))


def selected(modules: list[str], only: list[str]) -> list[str]:
    if not only:
        return modules
    wanted = [w.strip().removeprefix("b_") for item in only for w in item.split(",") if w.strip()]
    chosen = [m for m in modules if any(m[2:].startswith(w) for w in wanted)]
    if not chosen:
        sys.exit(f"no benchmark matches {wanted}; have: {', '.join(m[2:] for m in modules)}")
    return chosen


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: list[Row], *, markdown: bool) -> str:
    head = ["benchmark", "value", "unit", "vs baseline", "target", "result", "notes"]
    body = []
    for r in rows:
        vs = ""
        if r.ratio is not None:
            vs = f"{r.ratio:.1%} of {r.baseline}"
        elif r.baseline:
            vs = r.baseline
        result = {True: "PASS", False: "FAIL", None: ""}[r.ok]
        note = " ".join(r.note.split())
        body.append([r.name, _fmt(r.value), r.unit, vs, r.target, result, note])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    right = {1}

    def line(cells):
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(head), sep, *(line(b) for b in body)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", action="append", default=[], help="run only these (prefix)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--duration", type=float, default=12.0, help="seconds per measured phase (default 12)"
    )
    parser.add_argument("--fresh", action="store_true", help="drop and rebuild the bench database")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    modules = discover()
    if args.list:
        for m in modules:
            mod = importlib.import_module(f"bench.{m}")
            print(f"{m[2:]:<12} {getattr(mod, 'TITLE', '')}")
        return 0
    chosen = selected(modules, args.only)

    # SIGTERM (make interrupted, CI timeout) must still stop the servers we started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    from bench.core import Context, machine_conditions

    began = time.time()
    ctx = Context.create(fresh=args.fresh, duration=args.duration)
    before = machine_conditions(ctx)
    # The INSERT baselines first, while nothing of ours runs beside them.
    ctx.log("baselines: raw INSERT rates")
    for key in ("insert_single", "insert_batch"):
        ctx.baseline(key)
    rows: list[Row] = []
    crashed = False
    try:
        for name in chosen:
            ctx.log(f"running {name[2:]}")
            try:
                mod = importlib.import_module(f"bench.{name}")
                rows += mod.run(ctx)
            except Exception as exc:  # one broken benchmark must not hide the others' figures
                crashed = True
                traceback.print_exc()
                rows.append(Row(f"{name[2:]}: crashed", None, "", note=repr(exc)[:120], ok=False))
    finally:
        ctx.stop()
    after = machine_conditions()
    took = time.time() - began

    print()
    print(table(rows, markdown=args.markdown))
    print()
    conditions = {
        **before,
        "load": f"{before['load']} → {after['load']}",
        "phase": f"{ctx.duration:g} s",
        "total": f"{took:.0f} s",
    }
    print("conditions: " + "; ".join(f"{k} {v}" for k, v in conditions.items()))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(
        json.dumps(
            {
                "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "conditions": conditions,
                "rows": [r.__dict__ for r in rows],
            },
            ensure_ascii=False,
            indent=1,
        )
    )
    if crashed:
        return 1
    if args.strict and any(r.ok is False for r in rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
