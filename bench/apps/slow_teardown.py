"""The example app (docker/app, on gunicorn's --pythonpath), plus a module-level object whose __del__ sleeps: the process that
imported this module takes TEARDOWN_SECONDS (default 3) longer to exit.

Served with --preload, the module is imported by gunicorn's master, so it is the
master's interpreter teardown that takes the time, after it has reset its signal
handlers to the default (CPython does that before it tears the modules down). Forked
workers carry a copy of the object; it only sleeps in the process that created it, so
the workers stop as fast as the example app's.
"""

import os
import time

from app import create_app

app = create_app()  # what gunicorn serves: slow_teardown:app

SECONDS = float(os.environ.get("TEARDOWN_SECONDS", "3"))


class SlowTeardown:
    """Sleeps in __del__, in the process that created it only."""

    def __init__(self):
        self.owner = os.getpid()
        # Module globals may already be None when the teardown reaches __del__.
        self.getpid = os.getpid
        self.sleep = time.sleep
        self.seconds = SECONDS

    def __del__(self):
        if self.getpid() == self.owner:
            self.sleep(self.seconds)


holder = SlowTeardown()
