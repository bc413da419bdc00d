"""Drive an interactive shell through liftoff under a pseudo-terminal, like `docker run -it`.

Usage: pty_shell.py COMMAND [ARGS...]   (COMMAND must end up running `sh`)

Checks, in order: the shell reads a line from the terminal (it would stop with SIGTTIN
if it were not the terminal's foreground group); a Ctrl-C typed while `sleep 30` runs
ends the sleep within seconds and the shell lives on; `exit 7` ends the command with 7.
Prints "ok" and exits 0, or says what went wrong and exits 1.
"""

import os
import pty
import select
import sys
import time


class Terminal:
    """The master side of the pty, with deadlines on every read."""

    def __init__(self, fd):
        """Wrap the master fd."""
        self.fd = fd
        self.seen = b""
        self.transcript = b""

    def send(self, text):
        """Type text."""
        os.write(self.fd, text.encode())

    def expect(self, needle, seconds):
        """Read until needle shows up, or fail after seconds."""
        deadline = time.monotonic() + seconds
        while needle.encode() not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"no {needle!r} within {seconds}s; terminal showed {self.seen!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                    self.seen += chunk
                    self.transcript += chunk
                except OSError:
                    fail(f"terminal closed before {needle!r}; it showed {self.seen!r}")
        self.seen = self.seen.split(needle.encode(), 1)[1]


def fail(message):
    """Report and stop."""
    print(f"pty_shell: {message}", flush=True)
    sys.exit(1)


def children(pid):
    """The pids of pid's children."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def comm(pid):
    """The command name of pid, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def wait_for(what, seconds, probe):
    """Poll probe until it returns something truthy, or fail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.02)
    fail(f"timed out after {seconds}s waiting for {what}")


def main():
    """Run the scenario."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    term = Terminal(fd)
    term.send("echo hello-$((6*7))\n")
    term.expect("hello-42", 20)
    shell = wait_for("the shell", 10, lambda: next(iter(children(pid)), None))
    term.send("sleep 30; echo not-interrupted\n")
    sleeper = wait_for(
        "sleep to start", 10, lambda: next((c for c in children(shell) if comm(c) == "sleep"), None)
    )
    started = time.monotonic()
    term.send("\x03")
    wait_for("Ctrl-C to end sleep", 10, lambda: comm(sleeper) in (None, ""))
    took = time.monotonic() - started
    term.send("echo alive-$((2+3))\n")
    term.expect("alive-5", 10)
    if b"\nnot-interrupted" in term.transcript:
        fail("the rest of the line ran after sleep")
    term.send("exit 7\n")
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 7:
        fail(f"expected exit 7, got wait status {status}")
    print(f"ok (Ctrl-C ended sleep in {took:.2f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
