"""The seed's Flask app, the peer of the demo service in the benchmark.

Run as the seed ran it, under ddtrace-run, here with gunicorn and 2 workers:
    DD_SERVICE=flask-demo-bootcamp ddtrace-run gunicorn -w 2 -b 127.0.0.1:PORT \
        --chdir bench/peers flask_app:app
"""
import logging
import random
import time

from flask import Flask

FORMAT = (
    "%(asctime)s %(levelname)s [%(name)s] [dd.service=%(dd.service)s dd.env=%(dd.env)s "
    "dd.version=%(dd.version)s dd.trace_id=%(dd.trace_id)s dd.span_id=%(dd.span_id)s] "
    "- %(message)s"
)
logging.basicConfig(format=FORMAT, level=logging.WARNING)
log = logging.getLogger(__name__)

app = Flask(__name__)


@app.route("/")
def index():
    return {"status": "ok", "message": "hello from the observability lab"}


@app.route("/slow")
def slow():
    time.sleep(random.uniform(0.5, 1.5))
    return {"status": "ok"}


@app.route("/error")
def error():
    raise RuntimeError("simulated failure")
