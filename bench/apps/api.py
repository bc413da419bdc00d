"""A small Flask API for bench/stops.py: GET /health and GET /slow?seconds=N."""

import os
import time

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/health")
def health():
    """Answer at once, with the pid of the worker that served the request."""
    return jsonify(status="ok", pid=os.getpid())


@app.get("/slow")
def slow():
    """Sleep ?seconds=N (default 1, at most 30), then answer: a request still in flight
    when the stop signal arrives."""
    seconds = min(float(request.args.get("seconds", "1")), 30.0)
    time.sleep(seconds)
    return jsonify(status="ok", slept=seconds)
