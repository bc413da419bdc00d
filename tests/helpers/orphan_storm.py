"""Make COUNT orphans, then report how many zombies their init leaves behind.

Each orphan is a grandchild whose parent exits at once, so it is re-parented to the
PID namespace's init (or the nearest child subreaper), which alone can reap it. After
the storm this process watches /proc (the namespace's own, from --mount-proc) until
every orphan is gone and no zombie is left, or SETTLE seconds pass, then prints
"zombies Z live L" and exits 0.
"""

import os
import sys
import time


def storm(count):
    """Double-fork COUNT short-lived orphans, reaping only the middle processes."""
    for _ in range(count):
        middle = os.fork()
        if middle == 0:
            if os.fork() == 0:
                os._exit(0)
            os._exit(0)
        os.waitpid(middle, 0)


def census():
    """(zombies, live) among processes other than init and this one."""
    zombies = live = 0
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (1, me):
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":
            zombies += 1
        else:
            live += 1
    return zombies, live


def main():
    """Storm, settle, report."""
    count, settle = int(sys.argv[1]), float(sys.argv[2])
    storm(count)
    deadline = time.monotonic() + settle
    zombies, live = census()
    while (zombies or live) and time.monotonic() < deadline:
        time.sleep(0.05)
        zombies, live = census()
    print(f"zombies {zombies} live {live}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
