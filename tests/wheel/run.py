#!/usr/bin/env python3
"""End-to-end tests of the wheels and the sdist that `make dist` puts into dist/.

The wheels are used the way users get them, with real pip:

1. the artifacts: each wheel's platform tags (manylinux2014 and musllinux_1_2, so pip
   takes it on glibc and musl Pythons), pip on a musl platform accepting the x86_64 wheel,
   and `twine check --strict` on both wheels and the sdist;
2. x86_64: the wheel installs into a fresh venv with the example app's requirements;
   `liftoff --version` from the venv's bin/ names Cargo.toml's version and the static musl
   build; the binary has no NEEDED entry; `liftoff prod` (gunicorn) and `liftoff dev`
   (Flask) serve docker/app with the repository's liftoff.toml, stop on SIGTERM with exit
   code 0, leave no process behind and write nothing into $HOME;
3. aarch64: the wheel installs with `pip install --platform ... --only-binary=:all:
   --target`, and its binary runs under qemu-aarch64-static: `--version`, `plan prod
   --format json`, and as PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc`)
   supervising `sh`, whose exit code it mirrors and to which it forwards SIGTERM.

Every process and temporary file is removed at the end, even when a check fails or the run
is interrupted. Each step prints what it took. Needs root (PID namespaces), qemu-user-static,
binutils (readelf), and the tools venv (.cache/tools, for twine); `make wheel-test` builds
dist/ and the tools first. KEEP=1 leaves the temporary directory for debugging.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from harness import (  # noqa: E402 - the path above makes it importable.
    CheckFailed,
    Runner,
    StoppedEarly,
    expect,
    free_port,
    http_get,
    interrupted,
    wait_until,
)

DIST = ROOT / "dist"
TOOLS = ROOT / ".cache" / "tools"
APP_REQUIREMENTS = ROOT / "docker" / "app" / "requirements.txt"
CONFIG = ROOT / "liftoff.toml"
QEMU = "qemu-aarch64-static"
# The tags `make dist` promises on each wheel, per architecture.
TAGS = ("manylinux2014_{arch}", "manylinux_2_17_{arch}", "musllinux_1_2_{arch}")
PIP = ["--disable-pip-version-check", "--quiet"]
# Variables that would change what liftoff runs; the checks start from none of them.
LIFTOFF_VARIABLES = ("PORT", "WEB_CONCURRENCY", "XDG_RUNTIME_DIR")


def cargo_version() -> str:
    """The package version in Cargo.toml, the only place it is written."""
    with open(ROOT / "Cargo.toml", "rb") as file:
        return tomllib.load(file)["package"]["version"]


def run(args: list[str], timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Runs a command, captures its output, and fails the check with it on a non-zero exit."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        raise CheckFailed(
            f"`{' '.join(map(str, args))}` exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result


def clean_env(**overrides: str) -> dict:
    """The environment for liftoff: this one without LIFTOFF_* and the variables above."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LIFTOFF_") and key not in LIFTOFF_VARIABLES
    }
    env.update(overrides)
    return env


def session_processes(sid: int) -> list[str]:
    """The processes of session `sid` still in /proc (zombies included), as 'pid comm'."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid:
            found.append(f"{entry.name} {stat[stat.index('(') + 1 : stat.rindex(')')]}")
    return found


def read_until(proc: subprocess.Popen, text: str, deadline: float) -> str:
    """Reads `proc`'s stdout until a line contains `text`; fails at the deadline or at EOF."""
    end = time.monotonic() + deadline
    seen = ""
    fd = proc.stdout.fileno()
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096).decode(errors="replace")
        if not chunk:
            raise StoppedEarly(f"output ended before {text!r}; got {seen!r}")
        seen += chunk
        if text in seen:
            return seen
    raise CheckFailed(f"timed out after {deadline:g}s waiting for {text!r}; got {seen!r}")


class Wheels:
    """The artifacts under test and the processes and files the checks create."""

    def __init__(self, workdir: Path, version: str):
        self.workdir = workdir
        self.version = version
        self.processes: list[subprocess.Popen] = []
        self.venv = workdir / "venv"
        self.aarch64_dir = workdir / "aarch64"

    def artifact(self, pattern: str) -> Path:
        """The one file in dist/ matching `pattern`."""
        found = sorted(DIST.glob(pattern))
        expect(len(found) == 1, f"expected one dist/{pattern}, found {found}: run `make dist`")
        return found[0]

    def find_artifacts(self) -> None:
        """Both wheels and the sdist of this version."""
        self.wheel = {
            arch: self.artifact(f"liftoff-{self.version}-py3-none-*_{arch}.whl")
            for arch in ("x86_64", "aarch64")
        }
        self.sdist = self.artifact(f"liftoff-{self.version}.tar.gz")
        for path in [*self.wheel.values(), self.sdist]:
            print(f"    {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KiB)")

    def check_tags(self) -> None:
        """Each wheel carries the manylinux and the musllinux tag of its architecture."""
        for arch, wheel in self.wheel.items():
            platforms = wheel.name.removesuffix(".whl").split("-")[-1].split(".")
            for tag in TAGS:
                expect(tag.format(arch=arch) in platforms, f"{wheel.name} lacks {tag.format(arch=arch)}")

    def check_twine(self) -> None:
        """`twine check --strict` passes on both wheels and the sdist."""
        twine = TOOLS / "bin" / "twine"
        expect(twine.exists(), f"{twine} is missing: run `make tools`")
        files = [str(p) for p in [*self.wheel.values(), self.sdist]]
        out = run([str(twine), "--no-color", "check", "--strict", *files], env=dict(os.environ, COLUMNS="300")).stdout
        print("    " + out.strip().replace("\n", "\n    "))
        expect(out.count("PASSED") == len(files), f"twine did not pass every file:\n{out}")

    def pip_target(self, platform: str, target: Path) -> Path:
        """`pip install --platform PLATFORM --only-binary=:all: --target` from dist/ alone."""
        pip = self.venv / "bin" / "pip"
        run([
            str(pip), "install", *PIP, "--no-index", "--find-links", str(DIST),
            "--platform", platform, "--only-binary=:all:", "--target", str(target),
            f"liftoff=={self.version}",
        ])
        binary = target / "bin" / "liftoff"
        expect(os.access(binary, os.X_OK), f"pip did not install an executable {binary}")
        return binary

    def make_venv(self) -> None:
        """A fresh venv with the x86_64 wheel and the example app's requirements."""
        run([sys.executable, "-m", "venv", str(self.venv)])
        pip = self.venv / "bin" / "pip"
        run([str(pip), "install", *PIP, str(self.wheel["x86_64"]), "-r", str(APP_REQUIREMENTS)])
        self.binary = self.venv / "bin" / "liftoff"
        expect(os.access(self.binary, os.X_OK), f"the wheel did not install {self.binary}")

    def check_musl_platform(self) -> None:
        """pip for a musl Python (musllinux_1_2) takes the x86_64 wheel too."""
        self.pip_target("musllinux_1_2_x86_64", self.workdir / "musl-x86_64")

    def check_version(self) -> None:
        """`liftoff --version` from the venv's bin/ names the version and the static build."""
        out = run([str(self.binary), "--version"]).stdout.strip()
        expected = f"liftoff {self.version} (x86_64-unknown-linux-musl, static)"
        expect(out == expected, f"--version printed {out!r}, expected {expected!r}")

    def check_enoexec(self) -> None:
        """The shipped build runs no file through a shell: an empty script, an arm64
        binary and a before step that is either are 126 with one line, in both modes."""
        empty = self.workdir / "empty.sh"
        empty.write_text("")
        empty.chmod(0o755)
        programs = [empty]
        # Where binfmt_misc hands arm64 binaries to qemu, the kernel runs them: no ENOEXEC.
        if Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
            print("    binfmt_misc runs arm64 binaries here: only the empty script is checked")
        else:
            programs.append(self.aarch64)
        runs = []
        for program in programs:
            runs += [
                ["--mode", "exec", "run", "--", str(program)],
                ["--mode", "supervise", "run", "--", str(program)],
                ["--mode", "supervise", "--before", str(program), "run", "--", "true"],
            ]
        for args in runs:
            result = subprocess.run(
                [str(self.binary), *args], capture_output=True, text=True, timeout=60, env=clean_env()
            )
            errors = [line for line in result.stderr.splitlines() if "error:" in line]
            expect(result.returncode == 126, f"liftoff {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
            expect(
                len(errors) == 1 and "not a program for this machine, or a script without a #!" in errors[0],
                f"liftoff {' '.join(args)} said:\n{result.stderr}",
            )

    def check_no_needed(self) -> None:
        """The installed binary needs no shared library: readelf -d lists no NEEDED."""
        out = run(["readelf", "-d", str(self.binary)]).stdout
        needed = [line for line in out.splitlines() if "(NEEDED)" in line]
        expect(not needed, f"the binary needs shared libraries: {needed}")
        first = out.strip().splitlines()[0] if out.strip() else "no dynamic section"
        print(f"    readelf -d: no NEEDED ({first.rstrip(':')}; static-pie keeps one for relocations)")

    def check_serves(self, profile: str, server: str) -> None:
        """`liftoff PROFILE` from the venv serves /health, and SIGTERM stops it cleanly."""
        port = free_port()
        home = self.workdir / f"home-{profile}"
        home.mkdir()
        log = self.workdir / f"{profile}.log"
        env = clean_env(PATH=f"{self.venv / 'bin'}:{os.environ.get('PATH', '')}", HOME=str(home))
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [str(self.binary), "--config", str(CONFIG), profile,
                 "--host", "127.0.0.1", "--port", str(port)],
                cwd=self.workdir, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.processes.append(proc)

        def probe():
            if proc.poll() is not None:
                raise StoppedEarly(f"liftoff {profile} exited {proc.returncode}:\n{log.read_text()[-3000:]}")
            status, header, body = http_get(port, "/health")
            expect(status == 200 and header.startswith(server), f"{status} from {header!r}: {body}")
            return body

        start = time.monotonic()
        body = wait_until(60, f"{server} to serve /health on port {port}", probe)
        print(f"    {server} answered /health after {time.monotonic() - start:.1f}s: {body.strip()}")
        os.kill(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise CheckFailed(f"liftoff {profile} did not exit within 30s of SIGTERM") from None
        expect(code == 0, f"liftoff {profile} exited {code} on SIGTERM:\n{log.read_text()[-3000:]}")

        def gone():
            left = session_processes(proc.pid)
            expect(not left, f"still running: {left}")
            return True

        wait_until(5, "every process of the run to be gone", gone)
        written = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
        expect(not written, f"liftoff {profile} wrote into $HOME: {written}")

    def install_aarch64(self) -> None:
        """pip installs the aarch64 wheel for both platforms it is tagged for."""
        self.pip_target("musllinux_1_2_aarch64", self.workdir / "musl-aarch64")
        self.aarch64 = self.pip_target("manylinux2014_aarch64", self.aarch64_dir)
        kind = run(["readelf", "-h", str(self.aarch64)]).stdout
        expect("AArch64" in kind, f"the aarch64 wheel holds something else:\n{kind}")

    def check_qemu_version(self) -> None:
        """Under qemu, `--version` names the aarch64 static build."""
        out = run([QEMU, str(self.aarch64), "--version"]).stdout.strip()
        expected = f"liftoff {self.version} (aarch64-unknown-linux-musl, static)"
        expect(out == expected, f"--version printed {out!r}, expected {expected!r}")

    def check_qemu_plan(self) -> None:
        """Under qemu, `plan prod --format json` resolves gunicorn for docker/app."""
        env = clean_env(PATH=f"{self.venv / 'bin'}:{os.environ.get('PATH', '')}")
        out = run([QEMU, str(self.aarch64), "--config", str(CONFIG), "plan", "prod", "--format", "json"], env=env).stdout
        plan = json.loads(out)
        expect(plan.get("profile") == "prod", f"profile {plan.get('profile')!r}")
        expect(plan.get("server") == "gunicorn", f"server {plan.get('server')!r}")
        expect(plan.get("program") == str(self.venv / "bin" / "gunicorn"), f"program {plan.get('program')!r}")
        expect(plan.get("cwd") == str(ROOT / "docker" / "app"), f"cwd {plan.get('cwd')!r}")
        expect("app:create_app()" in plan.get("argv", []), f"argv {plan.get('argv')}")
        expect(plan.get("stop_timeout_ms") == 28000, f"stop_timeout_ms {plan.get('stop_timeout_ms')}")
        print(f"    {plan.get('summary')}")

    def pid1(self, *command: str) -> list[str]:
        """`unshare --pid --fork --mount-proc qemu liftoff run -- COMMAND`: liftoff as PID 1."""
        return ["unshare", "--pid", "--fork", "--mount-proc", QEMU, str(self.aarch64), "run", "--", *command]

    def check_qemu_exit_code(self) -> None:
        """As PID 1 under qemu, liftoff exits with its program's code."""
        result = subprocess.run(self.pid1("sh", "-c", "exit 3"), capture_output=True, text=True, timeout=60)
        expect(result.returncode == 3, f"exited {result.returncode}, expected 3:\n{result.stderr}")

    def check_qemu_forwards_term(self) -> None:
        """As PID 1 under qemu, liftoff forwards SIGTERM: the program's trap picks the code."""
        script = 'trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done'
        stderr = self.workdir / "pid1.err"
        with open(stderr, "wb") as err:
            proc = subprocess.Popen(self.pid1("sh", "-c", script), stdout=subprocess.PIPE, stderr=err, start_new_session=True)
        self.processes.append(proc)
        read_until(proc, "ready", 30)
        # unshare --fork waits for its child, PID 1 of the new namespace (qemu running liftoff).
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        expect(len(children) == 1, f"unshare has children {children}")
        os.kill(int(children[0]), signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise CheckFailed("liftoff did not exit within 30s of SIGTERM") from None
        expect(code == 42, f"exited {code}, expected the trap's 42:\n{stderr.read_text()}")

    def cleanup(self) -> None:
        """Kills whatever a failed check left running, with its whole session."""
        for proc in self.processes:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
            for pid_comm in session_processes(proc.pid):
                try:
                    os.kill(int(pid_comm.split()[0]), signal.SIGKILL)
                except ProcessLookupError:
                    pass


def preflight() -> None:
    """The tools the checks run, and root for the PID namespace."""
    missing = [tool for tool in ("readelf", "unshare", QEMU) if not shutil.which(tool)]
    expect(not missing, f"missing {missing}: apt-get install binutils util-linux qemu-user-static")
    expect(os.geteuid() == 0, "needs root for `unshare --pid` (CI runs as root)")


def main() -> int:
    """Runs every check, cleans up, and prints the timings."""
    signal.signal(signal.SIGTERM, interrupted)
    runner = Runner("wheel")
    workdir = Path(tempfile.mkdtemp(prefix="liftoff-wheel-"))
    wheels = Wheels(workdir, cargo_version())
    try:
        with runner.step("preflight: tools, root, dist/", fatal=True):
            preflight()
            wheels.find_artifacts()
        with runner.step("check: wheel tags (manylinux2014 + musllinux_1_2)"):
            wheels.check_tags()
        with runner.step("check: twine check --strict (2 wheels, sdist)"):
            wheels.check_twine()
        with runner.step("venv: pip install the x86_64 wheel and docker/app's requirements", fatal=True):
            wheels.make_venv()
        with runner.step("check: pip for musllinux_1_2 takes the x86_64 wheel"):
            wheels.check_musl_platform()
        with runner.step("check: liftoff --version (x86_64, static)"):
            wheels.check_version()
        with runner.step("check: readelf -d: no NEEDED"):
            wheels.check_no_needed()
        with runner.step("check: liftoff prod serves, exits 0 on SIGTERM, nothing left"):
            wheels.check_serves("prod", "gunicorn")
        with runner.step("check: liftoff dev serves, exits 0 on SIGTERM, nothing left"):
            wheels.check_serves("dev", "Werkzeug")
        with runner.step("aarch64: pip install --platform ... --only-binary=:all: --target", fatal=True):
            wheels.install_aarch64()
        with runner.step("check: an empty script and an arm64 binary are 126 (exec, supervise, before)"):
            wheels.check_enoexec()
        with runner.step("check: qemu: liftoff --version (aarch64, static)"):
            wheels.check_qemu_version()
        with runner.step("check: qemu: liftoff plan prod --format json"):
            wheels.check_qemu_plan()
        with runner.step("check: qemu: PID 1 mirrors exit 3"):
            wheels.check_qemu_exit_code()
        with runner.step("check: qemu: PID 1 forwards SIGTERM (trap exits 42)"):
            wheels.check_qemu_forwards_term()
    except (CheckFailed, KeyboardInterrupt, subprocess.CalledProcessError) as err:
        if not isinstance(err, CheckFailed):
            runner.failed.append(type(err).__name__)
            print(f"stopped: {err!r}", flush=True)
    finally:
        with runner.step("cleanup"):
            wheels.cleanup()
            if os.environ.get("KEEP") == "1":
                print(f"KEEP=1: left {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
