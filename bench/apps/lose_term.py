"""A gunicorn config file (`-c lose_term.py`) whose master does not act on SIGTERM,
to check that liftoff still ends such a stop with SIGKILL at the stop timeout.

LOSE_TERM picks how, once the master is ready (its own handlers are installed then):
  first   the first TERM is caught and dropped, later ones reach gunicorn's handler
          (the master "lost" one TERM: a resend would wake it)
  ignore  TERM is ignored for good (SIG_IGN: nothing but SIGKILL stops it)
Workers are unaffected: they install their own handlers after the fork.
"""

import os
import signal

MODE = os.environ.get("LOSE_TERM", "first")


def when_ready(server):
    """gunicorn's hook, called by the master after it installed its signal handlers."""
    if MODE == "ignore":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        return
    dropped = []

    def drop_first(sig, frame):
        if not dropped:
            dropped.append(sig)
            return
        server.signal(sig, frame)

    signal.signal(signal.SIGTERM, drop_first)
