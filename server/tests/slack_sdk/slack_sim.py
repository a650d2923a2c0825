"""Fixtures for the Slack SDK fidelity suite: start `gatepass okta-sim`, talk to its Slack
stand-in's control API (/__slack/...), build clients of Slack's official Python SDK
(`slack-sdk` on PyPI) pointed at it, and receive interactions on loopback.

Test modules import the fixtures from here (pytest finds imported fixtures, autouse ones too).
It is not a conftest.py: `make sdk` runs this suite in one pytest command with
server/tests/okta_sdk, whose tests import names from their own `conftest` module, and a second
conftest.py would take that module name from them."""

import json
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import sim_process  # noqa: E402  (server/tests/sim_process.py, shared by both suites)
from slack_sdk import WebClient


BOT_TOKEN = "xoxb-sdk-suite"
SIGNING_SECRET = "sdk-suite-signing-secret"

# Slack users are the org's users with an email who are not DEPROVISIONED; SUSPENDED people
# stay Slack users.
USERS = [
    ("ada@example.com", "Ada", "Lovelace", "ACTIVE"),
    ("bob@example.com", "Bob", "Babbage", "ACTIVE"),
    ("carol@example.com", "Carol", "Shaw", "SUSPENDED"),
    ("grace@example.com", "Grace", "Hopper", "DEPROVISIONED"),
]

DEFAULT_CONFIG = {
    "botToken": BOT_TOKEN,
    "signingSecret": SIGNING_SECRET,
    "latencyMs": 0,
    "triggerTtlSecs": 3,
}


def seed_document():
    return {
        "users": [
            {"login": login, "email": login, "firstName": first, "lastName": last, "status": status}
            for login, first, last, status in USERS
        ],
    }




class Sim:
    """A running `gatepass okta-sim` and its Slack stand-in's control API."""

    def __init__(self, url, proc, stderr_path):
        self.url = url
        self.slack_api = f"{url}/slack/api/"
        self.proc = proc
        self.stderr_path = stderr_path

    def control(self, method, path, body=None):
        """A control call: the parsed JSON answer (None when empty); raises on HTTP errors."""
        return sim_process.control(self.url, method, path, body)

    def client(self, token=BOT_TOKEN, **kwargs):
        return WebClient(token=token, base_url=self.slack_api, **kwargs)

    def set_config(self, **config):
        return self.control("POST", "/__slack/config", config)

    def fail_next(self, method=None, count=1, retry_after=None, error=None):
        body = {"method": method, "count": count}
        if retry_after is not None:
            body["retryAfter"] = retry_after
        if error is not None:
            body["error"] = error
        self.control("POST", "/__slack/faults", body)

    def click(self, user, channel, ts, action_id):
        """A person's click on a message's button: the Interaction the stand-in recorded."""
        return self.control("POST", "/__slack/click",
                            {"as": user, "channel": channel, "ts": ts, "actionId": action_id})

    def messages(self):
        return self.control("GET", "/__slack/messages")["messages"]

    def reset(self):
        self.control("POST", "/__slack/reset")
        self.set_config(**DEFAULT_CONFIG, interactionsUrl="http://127.0.0.1:9/unused")

    def stderr_tail(self, n=40):
        try:
            return "\n".join(Path(self.stderr_path).read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""




@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    url, proc, stderr_path = sim_process.start(
        tmp_path_factory.mktemp("okta-sim-slack"), seed_document(), ("--slack-bot-token", BOT_TOKEN, "--slack-signing-secret", SIGNING_SECRET)
    )
    instance = Sim(url, proc, stderr_path)
    try:
        yield instance
    finally:
        sim_process.stop(proc)


@pytest.fixture(autouse=True)
def fresh_sim(sim):
    """Every test starts with no messages, views, interactions or faults, and the suite's
    token, secret and Slack's 3 s trigger lifetime."""
    sim.reset()
    yield sim
    if sim.proc.poll() is not None:
        pytest.fail(f"okta-sim died during the test (status {sim.proc.returncode}):\n"
                    f"{sim.stderr_tail()}", pytrace=False)
    sim.reset()


@pytest.fixture
def client(sim):
    return sim.client()


class Receiver:
    """An app's interactivity endpoint on loopback: records each request, answers 200 (empty)."""

    def __init__(self):
        self.received = []  # (headers as a dict with lowercased names, raw body bytes)
        self.url = None
        self._server = None

    def start(self):
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}/slack/interactions"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver(sim):
    """A receiver the stand-in's interactions URL points at for the test."""
    r = Receiver().start()
    sim.set_config(interactionsUrl=r.url)
    try:
        yield r
    finally:
        r.stop()
