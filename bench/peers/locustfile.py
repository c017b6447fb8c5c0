"""locust's side of bench/loadgen.sh: users sending `GET /` back to back, with locust's fast
client (FastHttpUser, geventhttpclient), in one process: locust's quickest setup.

    .venv/bin/locust -f bench/peers/locustfile.py --headless -u 32 -r 32 -t 10s -H http://127.0.0.1:PORT
"""
from locust import FastHttpUser, constant, task


class BackToBack(FastHttpUser):
    wait_time = constant(0)

    @task
    def root(self):
        self.client.get("/")
