"""Fixtures for the Okta SDK fidelity suite: start `gatepass okta-sim`, talk to its control API,
and build clients of Okta's official Python SDK (`okta` on PyPI) pointed at it."""

import json
import os
import queue
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

# The SDK refuses http:// org URLs unless this is set. It must be an environment variable (or an
# okta.yaml): a "testing" key in the dict given to Client() lands under "client" and is ignored.
os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"

STARTUP_TIMEOUT_SECS = 60
LISTENING = re.compile(r"okta-sim: listening on (http://127\.0\.0\.1:\d+)")

SUPER_TOKEN = "super-token"
RO_TOKEN = "ro-token"

# 7 users (limit=2 gives 4 pages). ada and bob hold the API tokens. One is SUSPENDED: Okta lists
# every user that is not DEPROVISIONED.
USERS = [
    ("ada@example.com", "Ada", "Lovelace", "ACTIVE"),
    ("bob@example.com", "Bob", "Babbage", "ACTIVE"),
    ("carol@example.com", "Carol", "Shaw", "ACTIVE"),
    ("dave@example.com", "Dave", "Cutler", "ACTIVE"),
    ("erin@example.com", "Erin", "Catto", "ACTIVE"),
    ("frank@example.com", "Frank", "Allen", "ACTIVE"),
    ("grace@example.com", "Grace", "Hopper", "SUSPENDED"),
]
LOGINS = [u[0] for u in USERS]

# Seeded groups plus the built-in Everyone: 6 groups (limit=2 gives 3 pages).
GROUPS = [
    ("eng", "Engineers", "OKTA_GROUP", ["ada@example.com", "carol@example.com", "dave@example.com",
                                        "erin@example.com", "frank@example.com"]),
    ("ops", "Operations", "OKTA_GROUP", ["bob@example.com"]),
    ("sales", "Sales", "OKTA_GROUP", []),
    ("design", "Designers", "OKTA_GROUP", ["grace@example.com"]),
    ("ad-imported", "Imported from AD", "APP_GROUP", []),
]
GROUP_NAMES = [g[0] for g in GROUPS] + ["Everyone"]

# Group owners (Okta Identity Governance): users by login, groups by name.
OWNERS = {
    "eng": [("USER", "ada@example.com"), ("GROUP", "ops"), ("USER", "carol@example.com")],
    "ops": [("USER", "bob@example.com")],
}

DEFAULT_FAULTS = {"latencyMs": 0, "errorRate": 0.0, "dropRate": 0.0, "rateLimited": False}
DEFAULT_RATE_LIMITS = {
    "windowSecs": 60,
    "limits": {"users": 600, "groups": 500, "group": 1000, "default": 1200},
    "concurrency": 75,
}


def seed_document():
    return {
        "users": [
            {"login": login, "email": login, "firstName": first, "lastName": last, "status": status}
            for login, first, last, status in USERS
        ],
        "groups": [
            {"name": name, "description": desc, "type": gtype, "members": members,
             "owners": [{"type": kind, "id": who} for kind, who in OWNERS.get(name, [])]}
            for name, desc, gtype, members in GROUPS
        ],
        "tokens": [
            {"token": SUPER_TOKEN, "user": "ada@example.com", "roles": [{"type": "SUPER_ADMIN"}]},
            {"token": RO_TOKEN, "user": "bob@example.com", "roles": [{"type": "READ_ONLY_ADMIN"}]},
        ],
    }


def gatepass_bin():
    """The simulator binary from GATEPASS_BIN; fails (never skips) when it is not usable."""
    path = os.environ.get("GATEPASS_BIN", "")
    if not path:
        pytest.fail(
            "GATEPASS_BIN is not set: point it at the gatepass binary, e.g. "
            "GATEPASS_BIN=$HOME/.cache/gatepass/target/debug/gatepass",
            pytrace=False,
        )
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        pytest.fail(f"GATEPASS_BIN={path!r} is not an executable file", pytrace=False)
    return path


class Sim:
    """A running `gatepass okta-sim` and its control API (/__sim/...)."""

    def __init__(self, url, proc, stderr_path):
        self.url = url
        self.proc = proc
        self.stderr_path = stderr_path

    def _control(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return json.loads(raw) if raw.strip() else None

    def requests(self):
        """Management/OIDC calls the simulator saw since the last clear_requests()."""
        return self._control("GET", "/__sim/requests")["requests"]

    def clear_requests(self):
        self._control("DELETE", "/__sim/requests")

    def set_faults(self, **faults):
        self._control("PUT", "/__sim/faults", {**DEFAULT_FAULTS, **faults})

    def set_rate_limits(self, body):
        self._control("PUT", "/__sim/rate-limits", body)

    def set_user_status(self, user, status):
        """Changes a user's status (by id or login) behind the API's back, as an admin would."""
        self._control("PUT", f"/__sim/users/{user}/status", {"status": status})

    def reset(self):
        self.set_faults()
        self.set_rate_limits(DEFAULT_RATE_LIMITS)
        self.clear_requests()

    def raw(self, method, path, headers=None):
        """A plain HTTP call (no SDK): (status, headers, parsed JSON body or None)."""
        req = urllib.request.Request(self.url + path, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, hdrs, raw = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, e.headers, e.read()
        return status, hdrs, (json.loads(raw) if raw.strip() else None)

    def stderr_tail(self, n=40):
        try:
            return "\n".join(Path(self.stderr_path).read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    binary = gatepass_bin()
    work = tmp_path_factory.mktemp("okta-sim")
    seed_path = work / "seed.json"
    seed_path.write_text(json.dumps(seed_document(), indent=2))
    stderr_path = work / "okta-sim.stderr"
    cmd = [binary, "okta-sim", "--listen", "127.0.0.1:0", "--seed", str(seed_path)]
    # OKTA_SIM_* (e.g. OKTA_SIM_API_TOKEN) and GATEPASS_CONFIG would change the seeded org.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OKTA_SIM_") and k != "GATEPASS_CONFIG"}
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=stderr, env=env, text=True, bufsize=1)

    lines = queue.Queue()
    seen = []

    def pump():  # keeps draining stdout for the whole session so the pipe never fills up
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()

    url = None
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECS
    while url is None:
        left = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(left, 0.01)) if left > 0 else None
        except queue.Empty:
            line = None
        if line is None:
            _stop(proc)
            why = (f"exited with status {proc.returncode}" if time.monotonic() < deadline
                   else f"did not print its URL within {STARTUP_TIMEOUT_SECS}s")
            stderr_text = Path(stderr_path).read_text(errors="replace")[-4000:]
            pytest.fail(
                f"okta-sim {why}.\ncommand: {' '.join(cmd)}\nstdout:\n{''.join(seen)}\n"
                f"stderr:\n{stderr_text}",
                pytrace=False,
            )
        seen.append(line)
        m = LISTENING.search(line)
        if m:
            url = m.group(1)

    instance = Sim(url, proc, stderr_path)
    try:
        yield instance
    finally:
        _stop(proc)


@pytest.fixture(autouse=True)
def fresh_sim(sim):
    """Every test starts with no faults, Okta's default limits and an empty request log."""
    sim.reset()
    yield sim
    if sim.proc.poll() is not None:
        pytest.fail(f"okta-sim died during the test (status {sim.proc.returncode}):\n"
                    f"{sim.stderr_tail()}", pytrace=False)
    sim.reset()
