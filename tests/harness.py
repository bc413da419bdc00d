"""What the end-to-end scripts (tests/container, tests/wheel, tests/deploy) share: named,
timed steps with a closing `NAME: N passed, N failed` line, checks that fail loudly, waiting
with a deadline instead of sleeping, and small HTTP and port helpers.

The scripts import it with `sys.path.insert(0, <tests/>)`; it needs only the standard library.
"""

from __future__ import annotations

import http.client
import socket
import time
import traceback
from contextlib import contextmanager


class CheckFailed(Exception):
    """A check found behaviour different from what it expects."""


class StoppedEarly(CheckFailed):
    """What a check waited for stopped; waiting longer cannot help."""


def expect(condition: bool, message: str) -> None:
    """Fails the current check with `message` unless `condition` holds."""
    if not condition:
        raise CheckFailed(message)


def wait_until(deadline: float, what: str, probe):
    """Calls `probe` every 0.1 s until it returns something truthy, or fails naming `what`."""
    end = time.monotonic() + deadline
    last_error = None
    while time.monotonic() < end:
        try:
            value = probe()
            if value:
                return value
        except StoppedEarly:
            raise
        except (OSError, http.client.HTTPException, CheckFailed) as err:
            last_error = err
        time.sleep(0.1)
    detail = f" (last: {last_error})" if last_error else ""
    raise CheckFailed(f"timed out after {deadline:g}s waiting for {what}{detail}")


def http_get(port: int, path: str, timeout: float = 5.0):
    """GET http://127.0.0.1:port/path; returns (status, Server header, body text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("Server", ""), response.read().decode()
    finally:
        conn.close()


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:port."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def interrupted(signum, _frame) -> None:
    """Turns SIGTERM (a CI timeout, a kill) into KeyboardInterrupt, so cleanup still runs."""
    raise KeyboardInterrupt(f"signal {signum}")


class Runner:
    """Runs named steps, prints what each took, and keeps going after a failed check.

    Steps whose name starts with `check:` are the checks that the closing line counts; any
    other step that fails (a preflight, a build) counts as failed too, so a run that stops
    early never reports `0 passed, 0 failed`.
    """

    def __init__(self, label: str):
        self.label = label
        self.started = time.monotonic()
        self.timings: list[tuple[str, float, str]] = []
        self.failed: list[str] = []

    @contextmanager
    def step(self, name: str, fatal: bool = False):
        """Times a step; a failure is recorded, and re-raised when later steps need it."""
        print(f"--- {name}", flush=True)
        start = time.monotonic()
        outcome = "ok"
        try:
            yield
        except CheckFailed as err:
            outcome = "FAILED"
            self.failed.append(name)
            print(f"FAILED: {name}: {err}", flush=True)
            if fatal:
                raise
        except Exception:
            outcome = "FAILED"
            self.failed.append(name)
            print(f"FAILED: {name}:\n{traceback.format_exc()}", flush=True)
            if fatal:
                raise
        except BaseException:
            # Interrupted: the step did not pass, and nothing after it runs.
            outcome = "FAILED"
            self.failed.append(name)
            raise
        finally:
            took = time.monotonic() - start
            self.timings.append((name, took, outcome))
            print(f"    {outcome} in {took:.1f}s", flush=True)

    def summary(self) -> int:
        """Prints every step's time and the totals; returns the exit code."""
        print("\nstep timings:")
        for name, took, outcome in self.timings:
            print(f"  {took:7.1f}s  {outcome:6}  {name}")
        print(f"  {time.monotonic() - self.started:7.1f}s  total")
        passed = sum(1 for t in self.timings if t[0].startswith("check:") and t[2] == "ok")
        failed = len(self.failed)
        print(f"{self.label}: {passed} passed, {failed} failed")
        return 1 if self.failed else 0
