"""PagerDuty's official Python client (`pagerduty` on PyPI) against the PagerDuty stand-in of
`gatepass okta-sim`: the on-calls endpoint Gatepass calls, read through the client's classic
pagination, with and without `include[]=users`, in a time range, and its errors (a wrong key,
an outage, rate limiting) as the client surfaces them."""

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pagerduty import HttpError, RestApiV2Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import sim_process  # noqa: E402  (server/tests/sim_process.py, shared by the suites)

KEY = "pd-sdk-suite-key"
PEOPLE = [("lena@example.com", "Lena", "Fischer"), ("jonas@example.com", "Jonas", "Berg")]


def iso(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    seed = {"users": [{"login": login, "email": login, "firstName": first, "lastName": last}
                      for login, first, last in PEOPLE]}
    url, proc, _ = sim_process.start(tmp_path_factory.mktemp("okta-sim-pagerduty"), seed,
                                     ("--pagerduty-api-key", KEY))
    now = datetime.now(timezone.utc)
    shifts = [{"email": "jonas@example.com", "start": iso(now - timedelta(hours=1)),
               "end": iso(now + timedelta(hours=1, minutes=i))} for i in range(130)]
    shifts.append({"email": "lena@example.com", "start": iso(now - timedelta(minutes=5)),
                   "end": None})
    sim_process.control(url, "POST", "/__pagerduty/control", {"schedules": [
        {"id": "PSDK001", "name": "Platform primary", "shifts": shifts},
        {"id": "PSDK002", "name": "Last week", "shifts": [
            {"email": "lena@example.com", "start": iso(now - timedelta(days=8)),
             "end": iso(now - timedelta(days=7))}]},
    ]})
    try:
        yield url
    finally:
        sim_process.stop(proc)


def client(url, key=KEY):
    c = RestApiV2Client(key)
    # The client's `url` setter takes only https (PagerDuty's own addresses); the stand-in
    # serves plain http on loopback, so the suite sets the address the setter would store.
    c._url = f"{url}/pagerduty"
    c.sleep_timer = 0.01
    c.sleep_timer_base = 0.01
    return c


def test_the_client_pages_through_the_on_calls_of_a_schedule(sim):
    oncalls = list(client(sim).iter_all(
        "oncalls", params={"schedule_ids[]": ["PSDK001"], "include[]": ["users"]}))
    assert len(oncalls) == 131, "three pages of 100, 31 and none left"
    emails = {o["user"]["email"] for o in oncalls}
    assert emails == {"lena@example.com", "jonas@example.com"}
    lena = next(o for o in oncalls if o["user"]["email"] == "lena@example.com")
    assert lena["user"]["type"] == "user"
    assert lena["user"]["summary"] == "Lena Fischer"
    assert lena["schedule"] == {**lena["schedule"], "id": "PSDK001", "type": "schedule_reference"}
    assert lena["escalation_level"] == 1
    assert lena["end"] is None
    assert datetime.fromisoformat(lena["start"].replace("Z", "+00:00")) < datetime.now(timezone.utc)


def test_without_include_users_are_references_and_the_total_is_on_request(sim):
    c = client(sim)
    body = c.rget("oncalls", params={"schedule_ids[]": ["PSDK001"], "limit": 5, "total": "true"})
    # rget unwraps the entity: the list of on-calls.
    assert len(body) == 5
    assert all(o["user"]["type"] == "user_reference" and "email" not in o["user"] for o in body)
    r = c.get("oncalls", params={"schedule_ids[]": ["PSDK001"], "limit": 5, "total": "true"})
    page = r.json()
    assert (page["limit"], page["offset"], page["more"], page["total"]) == (5, 0, True, 131)


def test_a_time_range_finds_past_shifts_and_now_does_not(sim):
    c = client(sim)
    assert list(c.iter_all("oncalls", params={"schedule_ids[]": ["PSDK002"]})) == []
    now = datetime.now(timezone.utc)
    past = list(c.iter_all("oncalls", params={
        "schedule_ids[]": ["PSDK002"], "since": iso(now - timedelta(days=9)),
        "until": iso(now - timedelta(days=6))}))
    assert [o["user"]["summary"] for o in past] == ["Lena Fischer"]
    with pytest.raises(HttpError) as bad:
        c.rget("oncalls", params={"since": "yesterday", "until": iso(now)})
    assert bad.value.response.status_code == 400
    assert bad.value.response.json()["error"]["code"] == 2004


def test_errors_reach_the_client_as_pagerduty_sends_them(sim):
    with pytest.raises(HttpError) as wrong:
        client(sim, key="not-the-key").rget("oncalls")
    assert wrong.value.response.status_code == 401
    assert wrong.value.response.json()["error"] == {"message": "Authentication failed", "code": 2006}

    c = client(sim)
    c.retry = {429: 1}
    try:
        for status in (500, 429):
            sim_process.control(sim, "POST", "/__pagerduty/control", {"fault": status})
            with pytest.raises(HttpError) as failed:
                c.rget("oncalls", params={"schedule_ids[]": ["PSDK001"]})
            assert failed.value.response.status_code == status
        assert failed.value.response.headers["retry-after"] == "2"
    finally:
        sim_process.control(sim, "POST", "/__pagerduty/control", {"fault": 0})
    assert len(c.rget("oncalls", params={"schedule_ids[]": ["PSDK001"], "limit": 1})) == 1
