"""Print every signal this process receives, one line each, in the order it takes them.

Blocks every signal and takes them with sigwaitinfo, so no handler, interpreter quirk
or default action is involved. Prints "ready" once blocked; prints "signal N" per
signal; exits 0 after the first TERM, INT or QUIT.
"""

import signal
import sys

STOP = {signal.SIGTERM, signal.SIGINT, signal.SIGQUIT}


def main():
    """Block, announce, echo until a stop signal."""
    every = signal.valid_signals()
    signal.pthread_sigmask(signal.SIG_BLOCK, every)
    print("ready", flush=True)
    while True:
        number = signal.sigwaitinfo(every).si_signo
        print(f"signal {number}", flush=True)
        if number in STOP:
            return 0


if __name__ == "__main__":
    sys.exit(main())
