#!/usr/bin/env python3
"""Stops gunicorn under liftoff many times, under load, and counts the clean ones.

Each stop: liftoff as PID 1 of a fresh PID namespace (`unshare --pid --fork
--mount-proc LIFTOFF -v prod`, with a liftoff.toml written to a temporary directory)
serves a small Flask app from bench/apps with gunicorn; once GET /health answers, a
client thread keeps GET /health requests going, one GET /slow?seconds=2.5 is sent so
that it still has 0.2 to 2.3 s to run when the stop signal reaches gunicorn (so
gunicorn's own stop takes from about 0.4 to 2.6 s), and SIGTERM goes to liftoff. The
stop is clean when liftoff exits with the scenario's expected code (0: gunicorn stopped
gracefully) within its stop timeout.

Scenarios (--scenarios, default plain,drain,teardown):
  plain     the example app (docker/app), 2 workers
  drain     the same, drain_delay = "2s", graceful_timeout = "20s"
  teardown  slow_teardown:app (the master's interpreter teardown takes 3 s),
            --preload, 1 worker
  lost      the example app, 2 workers, the master drops the first TERM (lose_term.py),
            stop_timeout = "8s": clean when it ends within the stop timeout, with 0
            (a second TERM woke it) or 137 (SIGKILL at the stop timeout)
  ignored   the same, with TERM ignored for good: 137 within the stop timeout

    sudo bench/stops.py [LIFTOFF] [--count N] [--jobs J] [--scenarios a,b] [--control]
                        [--slow S] [--slow-left MIN,MAX] [--json FILE] [--seed N]

LIFTOFF defaults to target/release/liftoff; gunicorn comes from .venv (`make venv`).
--control sends gunicorn's master a second TERM straight from here, 2 s after the stop
signal reached it (what earlier builds of liftoff did), to show that the
script can fail.
Prints one table row per scenario (exit codes, stop durations from SIGTERM to liftoff's
exit) and exits 1 if any stop was not clean; the logs of those stops are kept under
bench/out/stops. Needs root (PID namespaces). Standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "bench" / "apps"
# The example image's Flask app (GET /health, GET /slow?seconds=N), on gunicorn's path.
EXAMPLE_APP = ROOT / "docker" / "app"
EXAMPLE = "app:create_app()"
DEFAULT_SCENARIOS = "plain,drain,teardown"
# Ports for the servers: one per stop, counted up from here.
BASE_PORT = 21000


@dataclass(frozen=True)
class Scenario:
    """How one kind of stop is set up, and what a clean one ends with."""

    app: str
    workers: int
    drain: float = 0.0
    graceful: str | None = None
    extra: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    stop_timeout: float = 28.0
    expect: tuple[int, ...] = (0,)


SCENARIOS = {
    "plain": Scenario(app=EXAMPLE, workers=2),
    "drain": Scenario(app=EXAMPLE, workers=2, drain=2.0, graceful="20s"),
    "teardown": Scenario(app="slow_teardown:app", workers=1, extra=("--preload",)),
    "lost": Scenario(
        app=EXAMPLE,
        workers=2,
        extra=("-c", str(APPS / "lose_term.py")),
        env=(("LOSE_TERM", "first"),),
        stop_timeout=8.0,
        expect=(0, 137),
    ),
    "ignored": Scenario(
        app=EXAMPLE,
        workers=2,
        extra=("-c", str(APPS / "lose_term.py")),
        env=(("LOSE_TERM", "ignore"),),
        stop_timeout=8.0,
        expect=(137,),
    ),
}


@dataclass
class Result:
    """One stop."""

    scenario: str
    index: int
    code: int | None = None  # liftoff's exit code; None: it did not start or hung
    stop: float | None = None  # seconds from SIGTERM to liftoff's exit
    slow: str = ""  # what the in-flight /slow got: "200", another status, or an error
    handled: int = 0  # "Handling signal: term" lines from gunicorn's master
    killed: int = 0  # liftoff's "killed every process" warnings
    health_ok: int = 0
    health_failed: int = 0
    error: str = ""
    clean: bool = False
    log: str = ""


def log(msg: str) -> None:
    """Progress goes to stderr; stdout holds only the table."""
    print(f"stops: {msg}", file=sys.stderr, flush=True)


def children(pid: int) -> list[int]:
    """The direct children of pid, from every thread's children file."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            found += [int(p) for p in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except OSError:
            pass
    return found


def exe(pid: int) -> str:
    """What /proc/PID/exe links to, or "" when it cannot be read."""
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def get(port: int, path: str, timeout: float) -> int:
    """GET path on 127.0.0.1:port; the HTTP status (exceptions propagate)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def wait_until(pred, deadline: float, what: str):
    """Polls pred every 10 ms until it returns a truthy value or the deadline passes."""
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.01)


def write_config(tmp: Path, sc: Scenario, port: int, stop_timeout: float) -> None:
    """The liftoff.toml of one stop; the control socket goes to the temporary directory
    so that concurrent servers do not share gunicorn's default one."""
    extra = list(sc.extra) + [
        "--control-socket", str(tmp / "gunicorn.ctl"), "--pythonpath", str(EXAMPLE_APP)
    ]
    lines = [
        "[prod]",
        f'app = "{sc.app}"',
        f'chdir = "{APPS}"',
        'host = "127.0.0.1"',
        f"port = {port}",
        f"workers = {sc.workers}",
        f'stop_timeout = "{stop_timeout}s"',
        "extra_args = [" + ", ".join(json.dumps(a) for a in extra) + "]",
    ]
    if sc.drain:
        lines.append(f'drain_delay = "{sc.drain}s"')
    if sc.graceful:
        lines.append(f'graceful_timeout = "{sc.graceful}"')
    (tmp / "liftoff.toml").write_text("\n".join(lines) + "\n")


class Load:
    """GET /health in a loop from a thread, until stopped."""

    def __init__(self, port: int):
        self.port = port
        self.ok = 0
        self.failed = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.done.is_set():
            try:
                if get(self.port, "/health", 5.0) == 200:
                    self.ok += 1
                else:
                    self.failed += 1
            except OSError:
                self.failed += 1
                time.sleep(0.02)  # refused: the server is closing; do not spin

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join(timeout=10)


def slow_request(port: int, seconds: float, out: dict) -> None:
    """GET /slow?seconds=N; stores the status (or the error) in out["status"]."""
    try:
        out["status"] = str(get(port, f"/slow?seconds={seconds}", seconds + 30))
    except OSError as err:
        out["status"] = type(err).__name__


def second_term(proc: subprocess.Popen, master: int | None) -> None:
    """--control: SIGTERM straight to gunicorn's master, if the stop is still going."""
    if master is not None and proc.poll() is None:
        try:
            os.kill(master, signal.SIGTERM)
        except ProcessLookupError:
            pass


def run_one(args, name: str, index: int, port: int) -> Result:
    """One start and stop of gunicorn under liftoff."""
    sc = SCENARIOS[name]
    stop_timeout = args.stop_timeout or sc.stop_timeout
    res = Result(scenario=name, index=index)
    tmp = Path(tempfile.mkdtemp(prefix=f"stops-{name}-"))
    logfile = tmp / "log"
    write_config(tmp, sc, port, stop_timeout)
    env = dict(os.environ)
    env["PATH"] = f"{args.venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update(dict(sc.env))
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in bench/apps
    env.pop("LIFTOFF_CONFIG", None)
    cmd = ["unshare", "--pid", "--fork", "--mount-proc", str(args.liftoff), "-v", "prod"]
    with open(logfile, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True,
        )
    args.running[proc.pid] = proc
    lift = None
    try:
        deadline = time.monotonic() + args.start_timeout
        target = os.path.realpath(args.liftoff)
        lift = wait_until(
            lambda: next((c for c in children(proc.pid) if exe(c) == target), None)
            or (proc.poll() is not None and -1),
            deadline,
            "liftoff to start",
        )
        if lift == -1:
            raise RuntimeError(f"exited at start with {proc.returncode}")

        def ready():
            if proc.poll() is not None:
                raise RuntimeError(f"exited before it served with {proc.returncode}")
            try:
                return get(port, "/health", 1.0) == 200
            except OSError:
                return False

        wait_until(ready, deadline, "GET /health to answer 200")
        slow: dict = {}
        with Load(port) as load:
            # The /slow request is in flight when the stop signal reaches gunicorn (at
            # t0 + drain), with --slow-left seconds still to run then.
            lead = args.slow - random.uniform(*args.slow_left)  # /slow's age at tf
            slow_at = sc.drain - lead  # when /slow is sent, from the SIGTERM to liftoff
            slow_thread = threading.Thread(target=slow_request, args=(port, args.slow, slow))
            time.sleep(random.uniform(0.0, 0.3))  # some /health traffic first
            if slow_at < 0:
                slow_thread.start()
                time.sleep(-slow_at)
            os.kill(lift, signal.SIGTERM)
            t0 = time.monotonic()
            if slow_at >= 0:
                time.sleep(slow_at)
                slow_thread.start()
            control = None
            if args.control:
                control = threading.Timer(
                    max(0.0, t0 + sc.drain + 2.0 - time.monotonic()),
                    second_term, args=(proc, next(iter(children(lift)), None)),
                )
                control.start()
            try:
                proc.wait(timeout=stop_timeout + 15)
                res.stop = time.monotonic() - t0
                rc = proc.returncode
                res.code = rc if rc >= 0 else 128 - rc
            except subprocess.TimeoutExpired:
                res.error = "liftoff did not exit within the stop timeout + 15 s"
            if control is not None:
                control.cancel()
            slow_thread.join(timeout=args.slow + 35)
        res.slow = slow.get("status", "none")
        res.health_ok, res.health_failed = load.ok, load.failed
    except (RuntimeError, TimeoutError) as err:
        res.error = str(err)
    finally:
        if proc.poll() is None:
            if lift and lift > 0:
                os.kill(lift, signal.SIGKILL)  # PID 1: the whole namespace goes with it
            proc.kill()
            proc.wait()
        args.running.pop(proc.pid, None)
    text = logfile.read_text(errors="replace")
    res.handled = text.count("Handling signal: term")
    res.killed = text.count("killed every process")
    res.clean = (
        not res.error
        and res.code in sc.expect
        and res.stop is not None
        and res.stop <= stop_timeout + 1.0
    )
    if not res.clean:
        keep = args.logs / f"{name}-{index:03d}.log"
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(logfile, keep)
        res.log = str(keep)
    shutil.rmtree(tmp, ignore_errors=True)
    return res


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def table(results: list[Result], names: list[str]) -> str:
    """One row per scenario."""
    head = (
        "| scenario | stops | clean | exit 0 | 143 | other | stop median s | stop max s "
        "| /slow 200 | TERM handled | SIGKILL |"
    )
    rows = [head, "|" + " --- |" * 11]
    for name in names:
        rs = [r for r in results if r.scenario == name]
        if not rs:
            continue
        stops = [r.stop for r in rs if r.stop is not None]
        others = sorted({str(r.code) for r in rs if r.code not in (0, 143)})
        rows.append(
            f"| {name} | {len(rs)} | {sum(r.clean for r in rs)} "
            f"| {sum(r.code == 0 for r in rs)} | {sum(r.code == 143 for r in rs)} "
            f"| {sum(r.code not in (0, 143) for r in rs)}"
            + (f" ({', '.join(others)})" if others else "")
            + f" | {fmt(statistics.median(stops) if stops else None)} "
            f"| {fmt(max(stops) if stops else None)} "
            f"| {sum(r.slow == '200' for r in rs)} | {sum(r.handled > 0 for r in rs)} "
            f"| {sum(r.killed > 0 for r in rs)} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("liftoff", nargs="?", default=str(ROOT / "target/release/liftoff"))
    parser.add_argument("--count", type=int, default=100, help="stops per scenario (100)")
    parser.add_argument("--jobs", type=int, default=3, help="stops at a time (3)")
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS,
                        help=f"comma-separated, of {', '.join(SCENARIOS)} ({DEFAULT_SCENARIOS})")
    parser.add_argument("--control", action="store_true",
                        help="send gunicorn's master a second TERM 2 s after the first")
    parser.add_argument("--slow", type=float, default=2.5,
                        help="seconds the in-flight GET /slow takes (2.5)")
    parser.add_argument("--slow-left", metavar="MIN,MAX",
                        help="seconds /slow still has to run when the stop signal reaches "
                        "gunicorn, uniform in MIN..MAX (0.2,SLOW-0.2)")
    parser.add_argument("--stop-timeout", type=float,
                        help="liftoff's stop timeout in seconds for every scenario "
                        "(default: 28, and 8 for lost and ignored)")
    parser.add_argument("--start-timeout", type=float, default=60.0,
                        help="deadline for liftoff and gunicorn to serve (60 s)")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv")
    parser.add_argument("--logs", type=Path, default=ROOT / "bench/out/stops",
                        help="where the logs of stops that were not clean go, in a "
                        "subdirectory named after the time (bench/out/stops)")
    parser.add_argument("--json", type=Path, help="also write every stop's result here")
    parser.add_argument("--seed", type=int, help="random seed (timings of /slow and TERM)")
    args = parser.parse_args()

    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {unknown[0]!r}: expected one of {', '.join(SCENARIOS)}")
    if os.geteuid() != 0:
        parser.error("needs root (unshare --pid)")
    if not os.access(args.liftoff, os.X_OK):
        parser.error(f"{args.liftoff} is not an executable liftoff (cargo build --release)")
    if not (args.venv / "bin/gunicorn").exists():
        parser.error(f"no gunicorn in {args.venv} (make venv)")
    if args.slow < 0.5:
        parser.error("--slow must be at least 0.5 s")
    try:
        lo, hi = (float(x) for x in (args.slow_left or f"0.2,{args.slow - 0.2}").split(","))
    except ValueError:
        parser.error("--slow-left takes MIN,MAX in seconds")
    if not 0 < lo <= hi < args.slow:
        parser.error("--slow-left needs 0 < MIN <= MAX < --slow")
    args.slow_left = (lo, hi)
    args.logs = args.logs / time.strftime("%Y%m%d-%H%M%S")
    args.liftoff = os.path.abspath(args.liftoff)
    args.running = {}
    random.seed(args.seed)

    # Round-robin, so that every scenario meets the same mix of concurrent stops.
    plan = [(name, i) for i in range(args.count) for name in names]
    log(
        f"{len(plan)} stops ({args.count} x {', '.join(names)}), {args.jobs} at a time, "
        f"liftoff {args.liftoff}" + (", CONTROL: a second TERM to gunicorn" if args.control else "")
    )
    started = time.monotonic()
    results: list[Result] = []
    done = 0

    def one(numbered):
        n, (name, i) = numbered
        return run_one(args, name, i, BASE_PORT + n)

    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for res in pool.map(one, enumerate(plan)):
                results.append(res)
                done += 1
                if not res.clean:
                    log(f"{res.scenario} #{res.index}: NOT CLEAN: code {res.code}, "
                        f"stop {fmt(res.stop)} s {res.error} ({res.log})")
                if done % 25 == 0 or done == len(plan):
                    log(f"{done}/{len(plan)} done, {time.monotonic() - started:.0f} s")
    except KeyboardInterrupt:
        for proc in list(args.running.values()):
            proc.kill()
        raise
    elapsed = time.monotonic() - started

    print(table(results, names))
    print(f"\n{len(results)} stops in {elapsed:.0f} s, {args.jobs} at a time; "
          f"stop = SIGTERM to liftoff until liftoff exited; clean = exit "
          + ", ".join(f"{n} {'/'.join(map(str, SCENARIOS[n].expect))}" for n in names)
          + " within the stop timeout")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))
    bad = [r for r in results if not r.clean]
    if bad:
        print(f"NOT CLEAN: {len(bad)} of {len(results)} stops; logs under {args.logs}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
