#!/usr/bin/env python3
"""Measures liftoff beside tini, dumb-init and catatonit in one run; writes results JSON.

`make bench` (bench/bench.sh) installs the inits and hyperfine, builds the helpers in
bench/helpers and both liftoff builds, runs this, then bench/report.py renders the JSON into
docs/benchmarks.md and docs/img/benchmarks.png. Standard library only, so it runs with any
python3; it needs root (PID namespaces, cgroups).

Every figure is taken from the init process itself, never from its child: memory from
/proc/<init>/status, CPU from /proc/<init>/schedstat (nanoseconds) and /proc/<init>/stat
(ticks), context switches from /proc/<init>/status.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_CPU = Path("/sys/fs/cgroup/cpu")
CFS_PERIOD_US = 100_000


@dataclass
class Init:
    """One init under test and how each benchmark invokes it (argv prefixes before PROG)."""

    name: str
    binary: str
    # Start cost, not PID 1. For liftoff this resolves to exec, which is the point.
    start: list[str]
    # Supervising while not PID 1 (signal latency).
    supervise: list[str]
    # As PID 1 of a PID namespace (liftoff's auto mode supervises there).
    pid1: list[str]
    # Start cost with the repo's config file (liftoff only).
    start_config: list[str] | None = None
    # False while liftoff's supervise mode is missing: the PID-1 benchmarks skip it.
    supervises: bool = True
    # As PID 1, the way a container runs it, for the memory benchmark (liftoff: a profile,
    # which logs its start line, so its log writer thread is counted too).
    memory: list[str] | None = None


def log(msg: str) -> None:
    """Progress goes to stderr so stdout stays clean for the final table."""
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def median(xs: list[float]) -> float:
    """The median, which is what every target compares (the machine is noisy)."""
    return statistics.median(xs)


def percentile(xs: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of xs."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def wait_until(pred, timeout: float, what: str):
    """Polls pred every 2 ms until it returns a truthy value; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.002)


def children(pid: int) -> list[int]:
    """Direct children of pid (needs CONFIG_PROC_CHILDREN)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def proc_state(pid: int) -> str:
    """The one-letter scheduler state of pid (R, S, D, Z, ...), or "" when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def asleep(pid: int) -> bool:
    """Whether pid is sleeping and still is 50 ms later: settled, not between two steps."""
    if proc_state(pid) != "S":
        return False
    time.sleep(0.05)
    return proc_state(pid) == "S"


def comm(pid: int) -> str:
    """The process name of pid, or "" when it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def status_fields(pid: int) -> dict[str, int]:
    """Numeric fields of /proc/<pid>/status (kB values stay in kB)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key] = int(parts[0])
    return out


def proc_state(pid: int) -> str:
    """The scheduler state letter of pid (R running, S sleeping, Z zombie, ...)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def proc_cpu(pid: int) -> dict[str, int]:
    """The init's own CPU: ticks (utime+stime), on-CPU ns, times scheduled, context switches."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15).
    run_ns, _wait_ns, slices = (int(x) for x in Path(f"/proc/{pid}/schedstat").read_text().split())
    st = status_fields(pid)
    return {
        "ticks": ticks,
        "cpu_ns": run_ns,
        "slices": slices,
        "ctxt": st["voluntary_ctxt_switches"] + st["nonvoluntary_ctxt_switches"],
    }


def run_quiet(argv: list[str], **kw) -> subprocess.CompletedProcess:
    """Runs argv capturing output; raises with stderr when it fails."""
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} exited {p.returncode}: {p.stderr.strip()}")
    return p


# --- the inits -------------------------------------------------------------------------------


def debian_inits() -> list[Init]:
    """The Debian-packaged inits, invoked the way their docs show."""
    tini, tini_s = shutil.which("tini"), shutil.which("tini-static")
    dumb, cata = shutil.which("dumb-init"), shutil.which("catatonit")
    return [
        Init("tini", tini, [tini, "-s", "--"], [tini, "-s", "--"], [tini, "--"]),
        Init("tini-static", tini_s, [tini_s, "-s", "--"], [tini_s, "-s", "--"], [tini_s, "--"]),
        Init("dumb-init", dumb, [dumb], [dumb], [dumb]),
        Init("catatonit", cata, [cata, "--"], [cata, "--"], [cata, "--"]),
    ]


def liftoff_init(name: str, binary: str, config: str | None, out: Path) -> Init:
    """liftoff: `run --` execs when not PID 1 and supervises as PID 1 (auto mode).

    For memory it runs a command profile (`env PROG`): like `liftoff prod`, it logs its
    start line at the default level, so what it holds includes its log writer thread.
    """
    profile = out / "memory-liftoff.toml"
    profile.write_text('[bench]\ncommand = ["env"]\n')
    return Init(
        name,
        binary,
        [binary, "run", "--"],
        [binary, "--mode", "supervise", "run", "--"],
        [binary, "run", "--"],
        [binary, "--config", config, "run", "--"] if config else None,
        memory=[binary, "--config", str(profile), "bench", "--"],
    )


def liftoff_problems(binary: str) -> tuple[str | None, str | None]:
    """Why this liftoff cannot be measured in exec mode and in supervise mode (None: it can).

    The skeleton exits 0 without running anything, so success alone proves nothing: exec
    must run the program, and supervise must run it as liftoff's own child.
    """
    if not binary or not os.access(binary, os.X_OK):
        return f"{binary}: not built", f"{binary}: not built"
    p = subprocess.run([binary, "run", "--", "printf", "ok"], capture_output=True, text=True)
    exec_problem = None if p.stdout == "ok" else f"`liftoff run -- printf ok` printed {p.stdout!r} (exit {p.returncode})"
    sup = subprocess.Popen(
        [binary, "--mode", "supervise", "run", "--", "sh", "-c", "echo $PPID"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = sup.communicate(timeout=10)
    sup_problem = None
    if out.strip() != str(sup.pid):
        sup_problem = f"supervise mode does not work yet ({err.strip() or out.strip()})"
    return exec_problem, sup_problem


# --- 1, 2: start cost ------------------------------------------------------------------------


def hyperfine_rounds(cmds: dict[str, list[str]], runs: int, rounds: int, warmup: int, out: Path) -> dict:
    """Runs hyperfine -N over all commands in `rounds` rounds, rotating the order.

    hyperfine runs each command's samples back to back; on a machine shared with builds,
    load drifts over seconds, so several short rounds in rotating order spread the drift
    over every command instead of charging it to whichever ran last. Samples are pooled.
    """
    names = list(cmds)
    times: dict[str, list[float]] = {n: [] for n in names}
    per_round = -(-runs // rounds)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        argv = ["hyperfine", "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(per_round)]
        js = out / f"hyperfine-{r}.json"
        argv += ["--export-json", str(js)]
        for n in order:
            argv += ["-n", n, shlex.join(cmds[n])]
        run_quiet(argv)
        for res in json.loads(js.read_text())["results"]:
            times[res["command"]] += res["times"]
    return {
        n: {"median_ms": median(t) * 1e3, "mean_ms": statistics.fmean(t) * 1e3, "p90_ms": percentile(t, 90) * 1e3, "n": len(t)}
        for n, t in times.items()
    }


def bench_start(inits: list[Init], a) -> dict:
    """1: start cost, not PID 1: INIT /bin/true vs /bin/true, with and without config."""
    cmds = {"/bin/true": ["/bin/true"]}
    for i in inits:
        cmds[i.name] = i.start + ["/bin/true"]
        if i.start_config:
            cmds[f"{i.name} + liftoff.toml"] = i.start_config + ["/bin/true"]
    out = a.out / "start"
    out.mkdir(parents=True, exist_ok=True)
    return hyperfine_rounds(cmds, a.runs, a.rounds, a.warmup, out)


def bench_start_pid1(inits: list[Init], a) -> dict:
    """2: start cost as PID 1 of a new PID namespace, supervising /bin/true."""
    inits = [i for i in inits if i.supervises]
    ns = ["unshare", "--pid", "--fork"]
    cmds = {"unshare /bin/true": ns + ["/bin/true"]}
    for i in inits:
        cmds[i.name] = ns + i.pid1 + ["/bin/true"]
    out = a.out / "start-pid1"
    out.mkdir(parents=True, exist_ok=True)
    return hyperfine_rounds(cmds, a.runs, a.rounds, a.warmup, out)


# --- PID-1 process handling ------------------------------------------------------------------


class Pid1:
    """An init running as PID 1 of a fresh PID namespace, supervising argv, seen from outside."""

    def __init__(self, init: Init, prog: list[str], mount_proc: bool = False, prefix: list[str] | None = None):
        ns = ["unshare", "--pid", "--fork"] + (["--mount-proc"] if mount_proc else [])
        argv = ns + (prefix or init.pid1) + prog
        self.outer = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.name = init.name
        # unshare --fork has exactly one child: the init, PID 1 inside.
        self.pid = wait_until(lambda: (children(self.outer.pid) or [None])[0], 5, f"{init.name} to start")

    def wait_child(self, name: str) -> int:
        """Waits until the init's child has exec'd `name`; returns its (outer) PID."""

        def found():
            return next((c for c in children(self.pid) if comm(c) == name), None)

        return wait_until(found, 10, f"{self.name}'s child {name}")

    def stop(self, child: int | None) -> None:
        """Kills the supervised child (every init exits when it does), then the rest."""
        if child:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.outer.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log(f"{self.name} did not exit after its child died; killing it")
            os.kill(self.pid, signal.SIGKILL)
            self.outer.wait()


# --- 3: memory -------------------------------------------------------------------------------


def bench_memory(inits: list[Init], a) -> dict:
    """3: the init's own VmRSS and Pss (and VmHWM, RssAnon) while it supervises `sleep 2`
    as PID 1. VmRSS and Pss are what it holds for the container's life; VmHWM is its
    start-up peak, shown as information."""
    inits = [i for i in inits if i.supervises]
    res = {}
    for i in inits:
        samples = []
        for _ in range(a.repeat):
            p = Pid1(i, ["sleep", "2"], prefix=i.memory)
            kid = p.wait_child("sleep")
            # Steady state, not start-up: sample once the init has gone back to sleep
            # (state S) after starting its child, which is how it spends the container's
            # life. Every init is sampled the same way.
            wait_until(lambda: asleep(p.pid), 5, f"{i.name} to go to sleep")
            st = status_fields(p.pid)
            pss = 0
            for line in Path(f"/proc/{p.pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
            samples.append({"VmHWM_kB": st["VmHWM"], "VmRSS_kB": st["VmRSS"], "RssAnon_kB": st["RssAnon"], "Pss_kB": pss})
            p.stop(kid)
        res[i.name] = {k: median([s[k] for s in samples]) for k in samples[0]} | {"n": len(samples)}
        log(f"memory {i.name}: {res[i.name]}")
    return res


# --- 4: signal latency -----------------------------------------------------------------------


def bench_signals(inits: list[Init], a) -> dict:
    """4: kill(init, SIGUSR1) to the child's handler, and kill(child) directly as the floor.

    Not as PID 1: siglat must signal the init by its PID, and `unshare --fork` sits between.
    The forwarding path inside each init is the same either way.
    """
    inits = [i for i in inits if i.supervises]
    siglat = str(a.helpers / "siglat")
    res = {}
    for i in inits:
        fifo = str(a.out / f"siglat-{os.getpid()}.fifo")
        argv = [siglat, "measure", fifo, str(a.signals), str(a.signals // 10), "--"] + i.supervise + [siglat, "child", fifo]
        out = run_quiet(argv, timeout=600).stdout
        via: dict[str, list[float]] = {"init": [], "direct": []}
        for line in out.splitlines():
            k, v = line.split()
            via[k].append(int(v) / 1e3)
        res[i.name] = {
            "median_us": median(via["init"]),
            "p99_us": percentile(via["init"], 99),
            "direct_median_us": median(via["direct"]),
            "direct_p99_us": percentile(via["direct"], 99),
            "n": len(via["init"]),
        }
        log(f"signals {i.name}: {res[i.name]}")
    return res


# --- 5: reaping ------------------------------------------------------------------------------


def bench_reaping(inits: list[Init], a) -> dict:
    """5: as PID 1, a child double-forks N orphans; wall, the init's CPU, zombies left."""
    inits = [i for i in inits if i.supervises]
    orphans = str(a.helpers / "orphans")
    runs: dict[str, list[dict]] = {i.name: [] for i in inits}
    # Round-robin over the inits: load on a shared machine drifts over the minute this
    # takes, and back-to-back runs of one init would charge the drift to it alone.
    for _ in range(a.repeat):
        for i in inits:
            argv = ["unshare", "--pid", "--fork", "--mount-proc"] + i.pid1 + [orphans, str(a.orphans)]
            line = run_quiet(argv, timeout=300).stdout.strip().splitlines()[-1]
            runs[i.name].append(json.loads(line))
    res = {}
    for name, rs in runs.items():
        res[name] = {
            "wall_ms": median([r["wall_ns"] / 1e6 for r in rs]),
            "init_cpu_ms": median([r["init_cpu_ns"] / 1e6 for r in rs]),
            "zombies": max(r["zombies"] for r in rs),
            "left": max(r["left"] for r in rs),
            "orphans": a.orphans,
            "n": len(rs),
        }
        log(f"reaping {name}: {res[name]}")
    return res


# --- 6: idle ---------------------------------------------------------------------------------


def bench_idle(inits: list[Init], a) -> dict:
    """6: every init at once as PID 1 supervising `sleep`; their own CPU over a.idle seconds."""
    inits = [i for i in inits if i.supervises]
    running = [Pid1(i, ["sleep", str(a.idle + 30)]) for i in inits]
    kids: list[int | None] = [None] * len(running)
    try:
        kids = [p.wait_child("sleep") for p in running]
        # Start the window once every init has gone to sleep after spawning its child.
        for p in running:
            wait_until(lambda: proc_state(p.pid) == "S", 5, f"{p.name} to go idle")
        before = [proc_cpu(p.pid) for p in running]
        time.sleep(a.idle)  # The measurement window itself, not a wait for readiness.
        after = [proc_cpu(p.pid) for p in running]
    finally:
        for p, k in zip(running, kids):
            p.stop(k)
    res = {}
    for p, b, e in zip(running, before, after):
        res[p.name] = {
            "ticks": e["ticks"] - b["ticks"],
            "cpu_us": (e["cpu_ns"] - b["cpu_ns"]) / 1e3,
            "wakeups": e["slices"] - b["slices"],
            "ctxt": e["ctxt"] - b["ctxt"],
            "seconds": a.idle,
        }
    log(f"idle: {res}")
    return res


# --- 7: size and linkage ---------------------------------------------------------------------


def bench_size(inits: list[Init], a) -> dict:
    """7: size of a stripped copy, and what `file` and `ldd` say about linkage."""
    res = {}
    for i in inits:
        with tempfile.TemporaryDirectory() as d:
            copy = Path(d) / "bin"
            run_quiet(["strip", "-o", str(copy), i.binary])
            size = copy.stat().st_size
        desc = run_quiet(["file", "-b", "-L", i.binary]).stdout.strip()
        ldd = subprocess.run(["ldd", i.binary], capture_output=True, text=True)
        libs = [ln.split()[0] for ln in ldd.stdout.splitlines() if "=>" in ln or ln.strip().startswith("/")]
        static = "statically linked" in desc or "static-pie" in desc or ldd.returncode != 0
        res[i.name] = {
            "bytes": size,
            "on_disk": os.path.getsize(i.binary),
            "linkage": "static" if static else "dynamic: " + ", ".join(sorted(Path(x).name for x in libs)),
            "file": desc.split(", BuildID")[0],
        }
    return res


# --- 8: workers under CPU quotas -------------------------------------------------------------


def in_cgroup(cg: Path | None, argv: list[str], env: dict | None = None) -> str:
    """Runs argv inside cgroup cg (v1 cpu controller) and returns its stdout."""

    def enter():
        if cg:
            (cg / "cgroup.procs").write_text(str(os.getpid()))

    return run_quiet(argv, preexec_fn=enter, env=env).stdout


def bench_workers(lifts: list[Init], a) -> list[dict]:
    """8: liftoff's planned workers vs `2 * os.cpu_count() + 1` under real CFS quotas."""
    rows = []
    py = ["python3", "-c", "import os; print(os.cpu_count(), 2 * os.cpu_count() + 1)"]
    # `plan prod` resolves gunicorn on PATH: the repo's venv has the real one.
    env = dict(os.environ, PATH=f"{a.venv}/bin:{os.environ['PATH']}")
    for quota in [None, 0.5, 1.0, 2.0]:
        cg = None
        if quota:
            cg = CGROUP_CPU / f"liftoff-bench-{os.getpid()}-{quota}"
            cg.mkdir()
            (cg / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
            (cg / "cpu.cfs_quota_us").write_text(str(int(quota * CFS_PERIOD_US)))
        try:
            count, formula = (int(x) for x in in_cgroup(cg, py).split())
            row = {"quota": quota, "os_cpu_count": count, "formula": formula, "nproc": int(in_cgroup(cg, ["nproc"]))}
            for i in lifts:
                argv = [i.binary, "--config", a.config, "plan", "--format", "json", "prod"]
                plan = json.loads(in_cgroup(cg, argv, env))
                row[i.name] = {"workers": plan.get("workers"), "cpus": plan.get("cpus")}
            rows.append(row)
        finally:
            if cg:
                cg.rmdir()
    log(f"workers: {rows}")
    return rows


# --- the machine -----------------------------------------------------------------------------


def machine() -> dict:
    """What the numbers were measured on, for the report."""

    def pkg(name: str) -> str:
        p = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", name], capture_output=True, text=True)
        return p.stdout or "?"

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")), "?")
    osr = dict(ln.split("=", 1) for ln in Path("/etc/os-release").read_text().splitlines() if "=" in ln)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "os": osr.get("PRETTY_NAME", "?").strip('"'),
        "glibc": platform.libc_ver()[1],
        "rustc": subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip(),
        "packages": {n: pkg(n) for n in ["tini", "dumb-init", "catatonit", "hyperfine", "util-linux"]},
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def main() -> int:
    """Parses flags, runs the benchmarks selected, writes the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--liftoff", help="glibc release build")
    ap.add_argument("--liftoff-static", help="musl static release build")
    ap.add_argument("--config", help="the repo's liftoff.toml")
    ap.add_argument("--venv", type=Path, help="venv with gunicorn, for `plan prod`")
    ap.add_argument("--helpers", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=300, help="hyperfine runs per command (pooled over rounds)")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=5, help="hyperfine warm-up runs per round")
    ap.add_argument("--signals", type=int, default=2000)
    ap.add_argument("--orphans", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=9, help="runs of the memory and reaping benchmarks")
    ap.add_argument("--idle", type=float, default=10.0, help="idle window in seconds")
    ap.add_argument("--only", default="start,start_pid1,memory,signals,reaping,idle,size,workers")
    a = ap.parse_args()
    # Absolute paths: the benchmarks run in a.out, where no ./liftoff.toml is picked up.
    a.helpers, a.out = a.helpers.resolve(), a.out.resolve()
    a.liftoff, a.liftoff_static, a.config, a.venv = (
        os.path.abspath(p) if p else p for p in (a.liftoff, a.liftoff_static, a.config, a.venv)
    )
    a.out.mkdir(parents=True, exist_ok=True)
    os.chdir(a.out)  # No stray ./liftoff.toml for the rows without a config file.
    if os.geteuid() != 0:
        log("needs root: PID namespaces and cgroups")
        return 1

    inits = debian_inits()
    lifts, skipped = [], {}
    config = a.config if a.config and Path(a.config).exists() else None
    for name, binary in [("liftoff", a.liftoff), ("liftoff-static", a.liftoff_static)]:
        exec_problem, sup_problem = liftoff_problems(binary) if binary else ("not requested", None)
        if exec_problem:
            skipped[name] = exec_problem
            log(f"skipping {name}: {exec_problem}")
            continue
        init = liftoff_init(name, binary, config, a.out)
        if sup_problem:
            init.supervises = False
            skipped[f"{name} (supervising benchmarks)"] = sup_problem
            log(f"{name}: only exec benchmarks: {sup_problem}")
        lifts.append(init)
    inits += lifts

    results = {"machine": machine(), "inits": [i.name for i in inits], "skipped": skipped}
    results["settings"] = {k: v for k, v in vars(a).items() if isinstance(v, (int, float, str))}
    steps = {
        "start": bench_start,
        "start_pid1": bench_start_pid1,
        "memory": bench_memory,
        "signals": bench_signals,
        "reaping": bench_reaping,
        "idle": bench_idle,
        "size": bench_size,
        "workers": lambda _, a: bench_workers(lifts, a) if lifts and a.config and a.venv else [],
    }
    for key in a.only.split(","):
        log(f"running {key}")
        t = time.monotonic()
        results[key] = steps[key](inits, a)
        log(f"{key} took {time.monotonic() - t:.0f} s")
    results["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    (a.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    log(f"wrote {a.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
