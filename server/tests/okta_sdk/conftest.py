"""Fixtures for the Okta SDK fidelity suite: start `gatepass okta-sim`, talk to its control API,
and build clients of Okta's official Python SDK (`okta` on PyPI) pointed at it."""

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import sim_process  # noqa: E402  (server/tests/sim_process.py, shared by both suites)

# The SDK refuses http:// org URLs unless this is set. It must be an environment variable (or an
# okta.yaml): a "testing" key in the dict given to Client() lands under "client" and is ignored.
os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"


SUPER_TOKEN = "super-token"
RO_TOKEN = "ro-token"
APP_ADMIN_TOKEN = "app-admin-token"

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

# Apps (5: limit=2 gives 3 pages), one per sign-on mode the simulator serves plus a second
# SAML app nobody is assigned to. Users by login (scope USER), groups by name (their members
# hold the app with scope GROUP). Okta lists INACTIVE apps too.
#   (name, label, signOnMode, status, users, groups)
APPS = [
    ("datadog", "Datadog", "SAML_2_0", "ACTIVE", ["bob@example.com"], ["eng"]),
    ("oidc_client", "Internal Portal", "OPENID_CONNECT", "ACTIVE", ["carol@example.com"], []),
    ("bookmark", "Team Wiki", "BOOKMARK", "ACTIVE", [], ["ops"]),
    ("jira_onprem", "Legacy Jira", "AUTO_LOGIN", "INACTIVE", ["dave@example.com"], []),
    ("amazon_aws", "AWS Console", "SAML_2_0", "ACTIVE", [], []),
]
APP_LABELS = [a[1] for a in APPS]

DEFAULT_FAULTS = {"latencyMs": 0, "errorRate": 0.0, "dropRate": 0.0, "rateLimited": False}
DEFAULT_RATE_LIMITS = {
    "windowSecs": 60,
    "limits": {"users": 600, "groups": 500, "group": 1000, "apps": 100, "app": 500,
               "default": 1200},
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
            {"token": APP_ADMIN_TOKEN, "user": "frank@example.com",
             "roles": [{"type": "APP_ADMIN"}]},
        ],
        "apps": [
            {"name": name, "label": label, "signOnMode": mode, "status": status,
             "users": users, "groups": groups}
            for name, label, mode, status, users, groups in APPS
        ],
    }




class Sim:
    """A running `gatepass okta-sim` and its control API (/__sim/...)."""

    def __init__(self, url, proc, stderr_path):
        self.url = url
        self.proc = proc
        self.stderr_path = stderr_path

    def _control(self, method, path, body=None):
        return sim_process.control(self.url, method, path, body)

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

    def app_state(self, app):
        """An app's assignments as the simulator holds them (by id, label or name): its groups
        and every assigned user with scope, whether direct, and the groups granting it."""
        return self._control("GET", f"/__sim/apps/{urllib.parse.quote(app)}")

    def assign_app_group(self, app, group):
        """Assigns a group (id or name) to an app behind the API's back, as an admin would."""
        self._control("PUT", f"/__sim/apps/{urllib.parse.quote(app)}/groups/{group}")

    def unassign_app_group(self, app, group):
        self._control("DELETE", f"/__sim/apps/{urllib.parse.quote(app)}/groups/{group}")

    def set_app_status(self, app, status):
        """Activates or deactivates an app (ACTIVE or INACTIVE) behind the API's back."""
        self._control("PUT", f"/__sim/apps/{urllib.parse.quote(app)}/status", {"status": status})

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




@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    url, proc, stderr_path = sim_process.start(
        tmp_path_factory.mktemp("okta-sim"), seed_document(), ()
    )
    instance = Sim(url, proc, stderr_path)
    try:
        yield instance
    finally:
        sim_process.stop(proc)


@pytest.fixture(autouse=True)
def fresh_sim(sim):
    """Every test starts with no faults, Okta's default limits and an empty request log."""
    sim.reset()
    yield sim
    if sim.proc.poll() is not None:
        pytest.fail(f"okta-sim died during the test (status {sim.proc.returncode}):\n"
                    f"{sim.stderr_tail()}", pytrace=False)
    sim.reset()
