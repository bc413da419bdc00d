"""Example Flask API served by liftoff: an app factory with /health and /slow, and a
`flask worker` command that stands in for a queue worker (the `worker` profile)."""

import os
import signal
import sys
import time

from flask import Flask, jsonify, request


def create_app():
    """Build the Flask application (the factory that gunicorn and flask both load)."""
    app = Flask(__name__)

    @app.get("/health")
    def health():
        """Answer 200 with a little about the process that served the request."""
        return jsonify(status="ok", pid=os.getpid())

    @app.get("/slow")
    def slow():
        """Sleep for ?seconds=N (default 1, at most 60), then answer; used to test draining."""
        seconds = min(float(request.args.get("seconds", "1")), 60.0)
        time.sleep(seconds)
        return jsonify(status="ok", slept=seconds)

    @app.cli.command("worker")
    def worker():
        """Stand in for a queue worker: say so every few seconds; exit 0 on SIGTERM."""
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print("worker: waiting for jobs", flush=True)
        while True:
            time.sleep(5)
            print("worker: no jobs", flush=True)

    return app
