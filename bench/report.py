#!/usr/bin/env python3
"""Renders bench/out/results.json into docs/benchmarks.md and docs/img/benchmarks.png.

Prints the results table to stdout as well. The chart needs matplotlib (bench/bench.sh keeps
it in a venv under .cache/); everything else is the standard library. Hand-written notes in
bench/notes.md (the profile of the exec path and what it led to) are appended verbatim.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

FLOOR = "floor"


@dataclass
class Figure:
    """One row of the table: how to read it for an init, and how to print it."""

    label: str
    unit: str
    get: Callable[[dict, str], float | None]
    fmt: str = "{:.2f}"
    # The no-init floor for this figure, if there is one.
    floor: Callable[[dict], float | None] | None = None
    chart: bool = True


def dig(d: dict, *keys):
    """d[k1][k2]... or None when any level is missing."""
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def start_config(r: dict, name: str) -> float | None:
    """Start cost with the repo's liftoff.toml: liftoff's own row, the others do not read it."""
    return dig(r, "start", f"{name} + liftoff.toml", "median_ms") or dig(r, "start", name, "median_ms")


FIGURES = [
    Figure("Start, not PID 1, no config", "ms", lambda r, n: dig(r, "start", n, "median_ms"),
           floor=lambda r: dig(r, "start", "/bin/true", "median_ms")),
    Figure("Start, not PID 1, with liftoff.toml", "ms", start_config,
           floor=lambda r: dig(r, "start", "/bin/true", "median_ms")),
    Figure("Start as PID 1 (unshare)", "ms", lambda r, n: dig(r, "start_pid1", n, "median_ms"),
           floor=lambda r: dig(r, "start_pid1", "unshare /bin/true", "median_ms")),
    Figure("Own VmHWM supervising", "kB", lambda r, n: dig(r, "memory", n, "VmHWM_kB"), "{:.0f}"),
    Figure("Own VmRSS supervising", "kB", lambda r, n: dig(r, "memory", n, "VmRSS_kB"), "{:.0f}"),
    Figure("Own Pss supervising", "kB", lambda r, n: dig(r, "memory", n, "Pss_kB"), "{:.0f}", chart=False),
    Figure("Signal latency, median", "µs", lambda r, n: dig(r, "signals", n, "median_us"), "{:.1f}",
           floor=lambda r: min((v["direct_median_us"] for v in r.get("signals", {}).values()), default=None)),
    Figure("Signal latency, p99", "µs", lambda r, n: dig(r, "signals", n, "p99_us"), "{:.1f}",
           floor=lambda r: min((v["direct_p99_us"] for v in r.get("signals", {}).values()), default=None)),
    Figure("Reaping: wall", "ms", lambda r, n: dig(r, "reaping", n, "wall_ms"), "{:.0f}"),
    Figure("Reaping: init CPU", "ms", lambda r, n: dig(r, "reaping", n, "init_cpu_ms"), "{:.1f}"),
    Figure("Reaping: zombies left", "", lambda r, n: dig(r, "reaping", n, "zombies"), "{:.0f}", chart=False),
    Figure("Idle: CPU ticks", "", lambda r, n: dig(r, "idle", n, "ticks"), "{:.0f}", chart=False),
    Figure("Idle: times scheduled", "", lambda r, n: dig(r, "idle", n, "wakeups"), "{:.0f}"),
    Figure("Idle: context switches", "", lambda r, n: dig(r, "idle", n, "ctxt"), "{:.0f}", chart=False),
    Figure("Size, stripped", "KiB", lambda r, n: (dig(r, "size", n, "bytes") or 0) / 1024 or None, "{:.0f}"),
]


def cell(fig: Figure, v: float | None, base: float | None) -> str:
    """A table cell: the value and, when tini's value is not zero, the ratio to it."""
    if v is None:
        return "n/a"
    return fig.fmt.format(v) + (f" ({v / base:.2f}×)" if base else "")


def results_table(r: dict) -> str:
    """The full table: one row per figure, one column per init, ratios to tini."""
    names = r["inits"]
    head = ["figure", "floor (no init)"] + names
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for f in FIGURES:
        base = f.get(r, "tini")
        floor = f.floor(r) if f.floor else None
        label = f"{f.label} ({f.unit})" if f.unit else f.label
        cells = [label, "" if floor is None else f.fmt.format(floor)]
        cells += [cell(f, f.get(r, n), base) for n in names]
        rows.append("| " + " | ".join(cells) + " |")
    rows.append("| Linkage | | " + " | ".join(dig(r, "size", n, "linkage") or "n/a" for n in names) + " |")
    return "\n".join(rows)


def targets_table(r: dict) -> str:
    """The issue's targets, each judged for every liftoff build in this run."""
    lifts = [n for n in r["inits"] if n.startswith("liftoff")]
    if not lifts:
        return "_no liftoff build was measured._"
    tini = lambda f: f.get(r, "tini")  # noqa: E731
    by = {f.label: f for f in FIGURES}

    def check(label: str, limit: float, n: str) -> tuple[str, bool]:
        v, b = by[label].get(r, n), tini(by[label])
        if v is None or not b:
            return "n/a", False
        return f"{v / b:.2f}× (≤ {limit})", v / b <= limit

    specs = [
        ("Start, not PID 1, with liftoff.toml ≤ 1.0 × tini", lambda n: check("Start, not PID 1, with liftoff.toml", 1.0, n)),
        ("Start as PID 1 ≤ 1.05 × tini", lambda n: check("Start as PID 1 (unshare)", 1.05, n)),
        ("Own VmRSS below tini's, Pss below tini-static's", lambda n: memory_target(r, n)),
        ("Signal median ≤ 1.2 × tini", lambda n: check("Signal latency, median", 1.2, n)),
        ("Reaping CPU ≤ tini, 0 zombies", lambda n: reaping_target(r, n)),
        ("Idle: 0 ticks, 0 context switches", lambda n: idle_target(r, n)),
    ]
    rows = ["| target | " + " | ".join(lifts) + " |", "|---|" + "---|" * len(lifts)]
    for label, judge in specs:
        cells = []
        for n in lifts:
            text, ok = judge(n)
            cells.append(f"{'✅' if ok else '❌'} {text}")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def memory_target(r: dict, n: str) -> tuple[str, bool]:
    """What the init holds while it supervises: VmRSS strictly below tini's, and Pss below
    tini-static's. Pss counts shared pages in part, so a dynamic init's Pss shrinks with
    every other process that maps libc; a static binary's pages are its own. Like is
    compared with like: Pss against the static tini. VmHWM (the start-up peak) is in the
    figures table as information."""
    rss, pss = dig(r, "memory", n, "VmRSS_kB"), dig(r, "memory", n, "Pss_kB")
    t_rss, t_pss = dig(r, "memory", "tini", "VmRSS_kB"), dig(r, "memory", "tini-static", "Pss_kB")
    if None in (rss, pss, t_rss, t_pss):
        return "n/a", False
    return f"VmRSS {rss:.0f} vs {t_rss:.0f} kB, Pss {pss:.0f} vs {t_pss:.0f} kB", rss < t_rss and pss < t_pss


def reaping_target(r: dict, n: str) -> tuple[str, bool]:
    """Init CPU no more than tini's, and no zombie left."""
    v, b = dig(r, "reaping", n, "init_cpu_ms"), dig(r, "reaping", "tini", "init_cpu_ms")
    z = dig(r, "reaping", n, "zombies")
    if v is None or b is None:
        return "n/a", False
    return f"{v / b:.2f}×, {z} zombies", v <= b and z == 0


def idle_target(r: dict, n: str) -> tuple[str, bool]:
    """No CPU ticks and no context switch (a wake-up that ran) while nothing happens."""
    i = dig(r, "idle", n)
    if not i:
        return "n/a", False
    return f"{i['ticks']} ticks, {i['ctxt']} context switches", i["ticks"] == 0 and i["ctxt"] == 0


def workers_table(r: dict) -> str:
    """Worker counts under each CPU quota: liftoff's plan vs the common formula."""
    rows = r.get("workers") or []
    if not rows:
        return "_not measured (no liftoff build with `plan`)._"
    lifts = [k for k in rows[0] if k.startswith("liftoff")]
    head = ["CFS quota (CPUs)", "`os.cpu_count()`", "`nproc`", "2 × cpu_count + 1"]
    head += [f"{n}: cpus → workers" for n in lifts]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        q = "none" if row["quota"] is None else f"{row['quota']:g}"
        cells = [q, str(row["os_cpu_count"]), str(row["nproc"]), str(row["formula"])]
        cells += [f"{row[n]['cpus']} → {row[n]['workers']}" for n in lifts]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def commands(r: dict) -> str:
    """What exactly was run, so anyone can repeat one number by hand."""
    s = r.get("settings", {})
    return f"""\
1. **Start, not PID 1**: `hyperfine -N --warmup {s.get('warmup')} --runs N` over `/bin/true`,
   `tini -s -- /bin/true`, `tini-static -s -- /bin/true`, `dumb-init /bin/true`,
   `catatonit -- /bin/true`, `liftoff run -- /bin/true` (resolves to exec) and
   `liftoff --config liftoff.toml run -- /bin/true`, in an empty working directory.
   {s.get('runs')} runs per command, pooled from {s.get('rounds')} rounds in rotating order
   (load on a shared machine drifts over seconds; rotation spreads it over every command).
2. **Start as PID 1**: the same with `unshare --pid --fork` in front (tini without `-s`;
   liftoff's auto mode supervises as PID 1); floor `unshare --pid --fork /bin/true`.
3. **Memory**: `unshare --pid --fork INIT sleep 2` (liftoff: a command profile running
   `env sleep 2`, which logs its start line like `liftoff prod`, so its log writer thread
   counts); once the init's child is `sleep` and the init sleeps, `VmRSS` and `Pss` (from
   `smaps_rollup`), what it holds for the container's life, and `VmHWM`, its start-up
   peak, as information. Median of {s.get('repeat')} runs.
4. **Signal latency**: `bench/helpers/siglat.c` starts `INIT siglat child` (tini `-s`, liftoff
   `--mode supervise`; not PID 1 because `unshare --fork` would sit between sender and init),
   then {s.get('signals')} times (after {int(s.get('signals', 0)) // 10} warm-up rounds) sends
   SIGUSR1 to the init and, alternating, straight to the child (the floor), 0.5 ms apart. The
   child's handler reads `CLOCK_MONOTONIC` and reports over a FIFO; latency is handler time
   minus the time just before `kill()`.
5. **Reaping**: `unshare --pid --fork --mount-proc INIT orphans {s.get('orphans')}`
   (`bench/helpers/orphans.c`): fork, fork again, the middle process exits, so every
   grandchild is re-parented to PID 1. Wall time until `/proc` shows nothing but PID 1 and
   the helper; the init's CPU time from `/proc/1/schedstat` (ns); zombies left. Median of
   {s.get('repeat')} runs per init, taken round-robin over the inits; worst zombie count.
6. **Idle**: all inits at once as PID 1 supervising `sleep`; the init's CPU ticks
   (`/proc/<pid>/stat` utime+stime), times scheduled (`/proc/<pid>/schedstat`) and context
   switches over {s.get('idle')} s.
7. **Size**: a `strip`ped copy; linkage from `file` and `ldd`.
8. **Workers**: a cgroup v1 `cpu` group with `cpu.cfs_quota_us` = quota × 100000 per
   100000 µs period; inside it `liftoff --config liftoff.toml plan prod --format json` and
   `python3 -c 'print(2 * os.cpu_count() + 1)'`."""


def machine(r: dict) -> str:
    """The machine section."""
    m = r["machine"]
    pk = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    return (
        f"{m['cpu']}, {m['cores']} cores, {m['os']}, kernel {m['kernel']}, glibc {m['glibc']}; "
        f"{m['rustc']}; Debian packages: {pk}. Measured {m['date']}; load average "
        f"{' '.join(m['loadavg_start'])} at the start, {' '.join(m.get('loadavg_end', ['?']))} at the end "
        "(the machine is shared, hence medians throughout)."
    )


def chart(r: dict, path: Path) -> None:
    """Small multiples: one panel per figure, a bar per init, the value relative to tini."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = [f for f in FIGURES if f.chart and f.get(r, "tini")]
    names = r["inits"]
    cols = 4
    rows = -(-len(figs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.3 * rows + 0.6), squeeze=False)
    for ax, f in zip(axes.flat, figs):
        base = f.get(r, "tini")
        vals = [(f.get(r, n) or 0) / base for n in names]
        colors = ["#e4572e" if n.startswith("liftoff") else "#4c72b0" if n == "tini" else "#9aa5b1" for n in names]
        ax.barh(range(len(names)), vals, color=colors)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_title(f"{f.label}\n(tini = {f.fmt.format(base)} {f.unit})", fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        for y, v in enumerate(vals):
            ax.text(v, y, f" {v:.2f}×", va="center", fontsize=7)
        ax.set_xlim(0, max(vals + [1.0]) * 1.3)
    for ax in list(axes.flat)[len(figs):]:
        ax.axis("off")
    fig.suptitle("liftoff vs tini, dumb-init, catatonit — each figure relative to tini (lower is better)", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def document(r: dict, notes: str) -> str:
    """The whole docs/benchmarks.md."""
    skipped = "".join(f"\n- `{k}` not measured: {v}" for k, v in r.get("skipped", {}).items())
    return f"""\
# Benchmarks: liftoff vs tini, dumb-init and catatonit

Generated by `make bench` (bench/bench.sh → bench/measure.py → bench/report.py); do not edit
by hand, edit bench/notes.md or the scripts instead. Every figure is of the init process
itself, measured side by side in one run. Cells show the value and, in brackets, its ratio to
tini (dynamic build, Debian's `/usr/bin/tini`). Lower is better everywhere.

**Machine:** {machine(r)}{skipped}

## Results

{results_table(r)}

## Targets (issue 5)

{targets_table(r)}

## Worker sizing under CPU quotas

{workers_table(r)}

![each figure relative to tini](img/benchmarks.png)

## What was run

{commands(r)}

{notes}"""


def main() -> int:
    """Reads the JSON, writes the document and the chart, prints the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--doc", type=Path, default=Path("docs/benchmarks.md"))
    ap.add_argument("--chart", type=Path, default=Path("docs/img/benchmarks.png"))
    ap.add_argument("--notes", type=Path, default=Path("bench/notes.md"))
    a = ap.parse_args()
    r = json.loads(a.results.read_text())
    notes = a.notes.read_text() if a.notes.exists() else ""
    a.doc.parent.mkdir(parents=True, exist_ok=True)
    a.doc.write_text(document(r, notes))
    chart(r, a.chart)
    print(results_table(r))
    print()
    print(targets_table(r))
    print()
    print(workers_table(r))
    print(f"\nwrote {a.doc} and {a.chart} ({shlex.quote(str(a.results))})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
