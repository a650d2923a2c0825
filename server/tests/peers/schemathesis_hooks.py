"""Schemathesis hooks for Gatepass's /api/v1 (loaded with SCHEMATHESIS_HOOKS).

- `no_state_change_on_refusal`: a 4xx answer changed nothing. Every state change in Gatepass
  writes an audit event, so no event may be written by anyone but Gatepass's own background
  jobs (actor `gatepass`: a sync an earlier call started, the grant engine), read with a second
  (admin) token before and after each call, while the call was refused. Those jobs run beside
  the calls and may finish during any of them.
- `map_case`: `GET /api/v1/audit/follow` does not wait (`wait=0`), and half of the generated
  request bodies name a real, requestable group
  (GATEPASS_GROUP), so the success paths are exercised too, not only refusals.

Environment: GATEPASS_URL (the server), GATEPASS_PROBE_TOKEN (an admin-scoped token of an
administrator, used only to read the audit log), GATEPASS_GROUP (an Okta group id).
"""

import hashlib
import json
import os
import zlib

import requests
import schemathesis

BASE = os.environ["GATEPASS_URL"].rstrip("/")
PROBE = {"Authorization": "Bearer " + os.environ["GATEPASS_PROBE_TOKEN"]}
GROUP = os.environ["GATEPASS_GROUP"]

_before = {"head": None}


def audit_head():
    res = requests.get(BASE + "/api/v1/audit?limit=1", headers=PROBE, timeout=30)
    res.raise_for_status()
    items = res.json()["items"]
    return items[0]["seq"] if items else 0


def audit_since(seq):
    """The events after `seq` (the newest 100), as (seq, actor, action)."""
    res = requests.get(BASE + "/api/v1/audit?limit=100", headers=PROBE, timeout=30)
    res.raise_for_status()
    return [(e["seq"], e["actor"], e["action"]) for e in res.json()["items"] if e["seq"] > seq]


@schemathesis.hook
def map_case(ctx, case):
    # Following the audit log waits up to 25 s for an event by design; here it answers at once
    # (a generated invalid `wait` is left as it is, to be refused).
    if case.path == "/api/v1/audit/follow":
        query = dict(case.query or {})
        wait = query.get("wait")
        if wait is None or (isinstance(wait, int) and not isinstance(wait, bool) and 0 <= wait <= 25):
            query["wait"] = 0
            case.query = query
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("group_id"), str):
        # Deterministic in the drawn value, so that shrinking and replay see the same case.
        if zlib.crc32(body["group_id"].encode("utf-8", "surrogatepass")) % 2 == 0:
            case.body = dict(body, group_id=GROUP)
            # A generated Idempotency-Key is mostly refused (or reused for another body);
            # this case gets one of its own.
            if case.headers and "Idempotency-Key" in case.headers:
                text = json.dumps(case.body, sort_keys=True, default=str)
                case.headers["Idempotency-Key"] = hashlib.sha256(text.encode()).hexdigest()
    return case


@schemathesis.hook
def before_call(ctx, case, kwargs):
    _before["head"] = audit_head()


@schemathesis.check
def no_state_change_on_refusal(ctx, response, case):
    """A refused call (4xx) wrote no audit event, so it changed nothing."""
    if 400 <= response.status_code < 500 and _before["head"] is not None:
        written = [e for e in audit_since(_before["head"]) if e[1] != "gatepass"]
        if written:
            raise AssertionError(
                f"{case.method} {case.path} answered {response.status_code} but the audit "
                f"log gained {written}"
            )

