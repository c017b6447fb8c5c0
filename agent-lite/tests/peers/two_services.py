"""Two Flask services for the service map's test, run under ddtrace-run: `frontend` calls
`stock` over HTTP (requests, which ddtrace traces and propagates through), and `stock` reads a
SQLite database (sqlite3, traced by ddtrace). ROLE picks the service; PORT its port;
STOCK_URL is where frontend finds stock. `?fail=1` makes stock's query fail (a missing
table), so stock answers 500 and frontend 502."""

import os
import sqlite3
import tempfile

import requests
from flask import Flask, request

app = Flask(__name__)
DB = os.path.join(tempfile.mkdtemp(), "stock.db")


def setup():
    with sqlite3.connect(DB) as db:
        db.execute("CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, qty INTEGER)")
        db.executemany("INSERT OR REPLACE INTO stock VALUES (?, ?)", [("a", 3), ("b", 5)])


@app.route("/stock")
def stock():
    sku = request.args.get("sku", "a")
    table = "missing_table" if request.args.get("fail") else "stock"
    try:
        with sqlite3.connect(DB) as db:
            # The literal is inlined on purpose: the agent groups by normalised statement.
            row = db.execute(f"SELECT qty FROM {table} WHERE sku = '{sku}'").fetchone()
    except sqlite3.Error as e:
        return {"error": str(e)}, 500
    return {"sku": sku, "qty": row[0] if row else 0}


@app.route("/checkout")
def checkout():
    r = requests.get(os.environ["STOCK_URL"] + "/stock", params=request.args, timeout=5)
    if r.status_code != 200:
        return {"error": "stock failed"}, 502
    return {"ok": True, "stock": r.json()}


@app.route("/health")
def health():
    return "ok"


if __name__ == "__main__":
    if os.environ.get("DD_SERVICE") == "stock":
        setup()
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]), threaded=True)
