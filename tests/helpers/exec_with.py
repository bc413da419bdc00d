"""Exec a command with a chosen signal mask and ignored signals, and say which.

Usage: exec_with.py [--block SIG]... [--ignore SIG]... -- COMMAND [ARGS...]

Python itself ignores SIGPIPE and SIGXFSZ; those are put back to SIG_DFL first, so the
command starts with exactly the --block and --ignore sets. Before exec, the process's
own "SigBlk" and "SigIgn" lines from /proc/self/status go to stderr prefixed with
"before exec:", to compare with what the command (or its children) see.
"""

import os
import signal
import sys


def main():
    """Parse, set the mask and dispositions, report, exec."""
    args = sys.argv[1:]
    split = args.index("--")
    options, command = args[:split], args[split + 1 :]
    for sig in signal.valid_signals():
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            try:
                signal.signal(sig, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
    block = set()
    for flag, name in zip(options[::2], options[1::2]):
        sig = getattr(signal, "SIG" + name)
        if flag == "--block":
            block.add(sig)
        elif flag == "--ignore":
            signal.signal(sig, signal.SIG_IGN)
        else:
            raise SystemExit(f"unknown option {flag}")
    signal.pthread_sigmask(signal.SIG_SETMASK, block)
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("SigBlk:", "SigIgn:")):
                sys.stderr.write("before exec: " + line)
    sys.stderr.flush()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
