"""The seed's Flask app: the peer of the demo service in the benchmark and the tests.

The seed ran it as `ddtrace-run python app.py` with DD_SERVICE=flask-demo-bootcamp, DD_ENV=dev,
DD_VERSION=1.0, DD_LOGS_INJECTION=true. Here, from the repository root:

    DD_SERVICE=flask-demo-bootcamp DD_ENV=dev DD_VERSION=1.0 DD_LOGS_INJECTION=true \
        .venv/bin/ddtrace-run .venv/bin/gunicorn -w 2 -b 127.0.0.1:PORT bench.peers.flask_app:app

(`--chdir bench/peers flask_app:app` works too, and so does `python bench/peers/flask_app.py`,
the Flask development server, as the seed ran it: PORT and HOST from the environment.)

Endpoints: `/` (small JSON body), `/slow` (sleeps 0.5 to 1.5 s), `/error` (raises, so Flask
answers 500 and ddtrace marks the span as an error). Every request writes one access line to
stderr; under ddtrace-run with DD_LOGS_INJECTION=true it carries dd.trace_id and dd.span_id
(ddtrace fills the `dd.*` attributes of every log record; outside a trace they read 0).
LOG_LEVEL (default INFO) sets the level.
"""
import logging
import os
import random
import time

from flask import Flask, request
from flask.logging import default_handler

FORMAT = (
    "%(asctime)s %(levelname)s [%(name)s] [%(filename)s:%(lineno)d] "
    "[dd.service=%(dd.service)s dd.env=%(dd.env)s dd.version=%(dd.version)s "
    "dd.trace_id=%(dd.trace_id)s dd.span_id=%(dd.span_id)s] - %(message)s"
)


class _DefaultDD(logging.Filter):
    """Gives records the dd.* attributes when ddtrace does not (run without ddtrace-run)."""

    def filter(self, record):
        for key in ("dd.service", "dd.env", "dd.version", "dd.trace_id", "dd.span_id"):
            if not hasattr(record, key):
                setattr(record, key, "")
        return True


app = Flask(__name__)

# Flask's own logger (it also logs the traceback of /error), with the dd.* fields in place of
# Flask's default handler.
_handler = logging.StreamHandler()
_handler.setFormatter(logging.Formatter(FORMAT))
_handler.addFilter(_DefaultDD())
log = app.logger
log.removeHandler(default_handler)
log.addHandler(_handler)
log.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
log.propagate = False


@app.after_request
def access_log(response):
    log.info("%s %s %s", request.method, request.path, response.status_code)
    return response


@app.route("/")
def index():
    return {"status": "ok", "message": "hello from the observability lab"}


@app.route("/slow")
def slow():
    delay = random.uniform(0.5, 1.5)
    log.info("simulating slow work for %.3f s", delay)
    time.sleep(delay)
    return {"status": "ok", "slept_s": round(delay, 3)}


@app.route("/error")
def error():
    log.error("about to fail on purpose")
    raise RuntimeError("simulated failure")


if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")))
