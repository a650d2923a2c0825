"""Fidelity of `gatepass okta-sim`, checked with Okta's official Python SDK (`okta` on PyPI).

Each test drives the simulator through the SDK exactly as an Okta customer would, and checks
the results against the seed in conftest.py and the simulator's own request log.
"""

import asyncio
import json
import time
from datetime import datetime

import pytest
from okta.api_response import OktaAPIResponse
from okta.client import Client
from okta.errors.okta_api_error import OktaAPIError
from okta.models import (AppUser, AppUserAssignRequest, AppUserStatus, Application,
                         ApplicationGroupAssignment, ApplicationLifecycleStatus,
                         ApplicationSignOnMode, AutoLoginApplication, BookmarkApplication, Group,
                         GroupOwner, GroupOwnerType, GroupType, OpenIdConnectApplication,
                         SamlApplication, User, UserStatus, UserType)
from okta.pagination import PaginationHelper, paginate_pages
from okta.utils import convert_date_time_to_seconds

from conftest import (APP_ADMIN_TOKEN, APP_LABELS, APPS, GROUP_NAMES, GROUPS, LOGINS, OWNERS,
                      RO_TOKEN, SUPER_TOKEN, USERS)

CALL_TIMEOUT_SECS = 60


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, CALL_TIMEOUT_SECS))


def client(sim, token=SUPER_TOKEN, max_retries=0):
    # cache off: the SDK must reach the simulator on every call (it is off by default in 3.x,
    # but an okta.yaml or OKTA_CLIENT_CACHE_ENABLED could turn it on).
    return Client({
        "orgUrl": sim.url,
        "token": token,
        "authorizationMode": "SSWS",
        "cache": {"enabled": False},
        "rateLimit": {"maxRetries": max_retries},
        "requestTimeout": 0,
        "logging": {"enabled": False},
    })


def outcome(result):
    """The generated SDK methods return (data, ApiResponse, None) on success but, for the
    204-only operations, (aiohttp response, error) on error: normalise to (data, resp, err)."""
    if len(result) == 3:
        return result
    resp, err = result
    return None, resp, err


def header(headers, name):
    """ApiResponse.headers is a plain dict whose keys keep the server's spelling."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def login_of(user):
    assert isinstance(user, User), f"SDK did not build a User model: {user!r}"
    return user.profile.login


def name_of(group):
    assert isinstance(group, Group), f"SDK did not build a Group model: {group!r}"
    return group.profile.actual_instance.name


def api_calls(sim, path=None, method="GET"):
    return [r for r in sim.requests()
            if r["method"] == method and (path is None or r["path"].split("?")[0] == path)]


async def all_pages(method, limit, **kwargs):
    """Page with the SDK's own helper (okta.pagination.paginate_pages, which reads the cursor
    from the Link header with PaginationHelper). Returns the list of pages."""
    pages = []
    async for data, number, has_more in paginate_pages(method, limit=limit, **kwargs):
        assert number == len(pages) + 1
        pages.append((data, has_more))
    return pages


async def ids(sim):
    c = client(sim)
    users, _, err = await c.list_users(limit=200)
    assert err is None, err
    groups, _, err = await c.list_groups(limit=200)
    assert err is None, err
    return ({u.profile.login: u.id for u in users},
            {g.profile.actual_instance.name: g.id for g in groups})


async def member_logins(c, group_id):
    members, _, err = await c.list_group_users(group_id, limit=200)
    assert err is None, err
    return sorted(u.profile.login for u in members)


# 1. Paging ---------------------------------------------------------------------------------


def test_users_page_with_sdk_helper(sim):
    pages = run(all_pages(client(sim).list_users, limit=2))
    logins = [login_of(u) for data, _ in pages for u in data]
    assert [len(data) for data, _ in pages] == [2, 2, 2, 1]
    assert [more for _, more in pages] == [True, True, True, False]
    assert sorted(logins) == sorted(LOGINS), "paging lost or invented users"
    assert len(set(logins)) == len(logins), f"duplicates across pages: {logins}"
    calls = api_calls(sim, "/api/v1/users")
    assert len(calls) == 4, calls
    assert all(c["status"] == 200 and c["bucket"] == "users" for c in calls), calls


def test_user_models_parse(sim):
    users, resp, err = run(client(sim).list_users(limit=200))
    assert err is None and resp.status_code == 200
    by_login = {u.profile.login: u for u in users}
    for login, first, last, status in USERS:
        u = by_login[login]
        assert u.id and u.id.startswith("00u"), f"not an Okta-like user id: {u.id!r}"
        assert u.profile.email == login
        assert (u.profile.first_name, u.profile.last_name) == (first, last)
        assert u.status == UserStatus(status)
        assert isinstance(u.created, datetime), "created must be an ISO 8601 timestamp"
    # /api/v1/users/{idOrLogin}: by id and by login give the same user
    ada = by_login["ada@example.com"]
    for key in (ada.id, "ada@example.com"):
        got, resp, err = run(client(sim).get_user(key))
        assert err is None, err
        assert (got.id, got.profile.login) == (ada.id, "ada@example.com")


def test_groups_page_with_sdk_helper(sim):
    pages = run(all_pages(client(sim).list_groups, limit=2))
    groups = [g for data, _ in pages for g in data]
    names = [name_of(g) for g in groups]
    assert [len(data) for data, _ in pages] == [2, 2, 2]
    assert sorted(names) == sorted(GROUP_NAMES)
    assert len(set(names)) == len(names), f"duplicates across pages: {names}"
    types = {name_of(g): g.type for g in groups}
    assert types["Everyone"] == GroupType.BUILT_IN
    assert types["ad-imported"] == GroupType.APP_GROUP
    assert types["eng"] == GroupType.OKTA_GROUP
    assert all(g.id and g.id.startswith("00g") for g in groups), [g.id for g in groups]
    calls = api_calls(sim, "/api/v1/groups")
    assert len(calls) == 3, calls
    assert all(c["status"] == 200 and c["bucket"] == "groups" for c in calls), calls


def test_group_members_page_with_sdk_helper(sim):
    _, group_ids = run(ids(sim))
    sim.clear_requests()
    c = client(sim)
    eng = dict((g[0], g[3]) for g in GROUPS)["eng"]  # 5 members -> 3 pages of 2
    pages = run(all_pages(c.list_group_users, limit=2, group_id=group_ids["eng"]))
    logins = [login_of(u) for data, _ in pages for u in data]
    assert [len(data) for data, _ in pages] == [2, 2, 1]
    assert sorted(logins) == sorted(eng)
    everyone = run(all_pages(c.list_group_users, limit=3, group_id=group_ids["Everyone"]))
    logins = [login_of(u) for data, _ in everyone for u in data]
    assert [len(data) for data, _ in everyone] == [3, 3, 1]
    assert sorted(logins) == sorted(LOGINS), "Everyone must hold every user"
    path = f"/api/v1/groups/{group_ids['eng']}/users"
    calls = api_calls(sim, path)
    assert len(calls) == 3 and all(c["status"] == 200 and c["bucket"] == "group" for c in calls), calls
    assert len(api_calls(sim, f"/api/v1/groups/{group_ids['Everyone']}/users")) == 3


def test_users_page_by_following_link_headers(sim):
    """The SDK's older pager (OktaAPIResponse.has_next()/next(), as in its README) follows the
    absolute rel="next" URL that aiohttp parses out of every Link header line."""
    async def go():
        c = client(sim)
        ex = c.get_request_executor()
        req, err = await ex.create_request("GET", "/api/v1/users?limit=2")
        assert err is None
        req, res, body, err = await ex.fire_request(req)
        assert err is None and res.status == 200, body
        links = res.headers.getall("Link", [])
        assert len(links) == 2, f"want separate self and next Link lines, got {links}"
        for link in links:
            assert link.startswith("<" + sim.url + "/api/v1/users?"), f"not absolute: {link}"
        assert sorted(l.rsplit("rel=", 1)[1] for l in links) == ['"next"', '"self"']
        page = OktaAPIResponse(ex, req, res, body)
        logins = [u["profile"]["login"] for u in page.get_body()]
        sizes = [len(page.get_body())]
        while page.has_next():
            items, err = await page.next()
            assert err is None, err
            assert isinstance(items, list), f"next page is not a list: {items!r}"
            sizes.append(len(items))
            logins += [u["profile"]["login"] for u in items]
        return sizes, logins

    sizes, logins = run(go())
    assert sizes == [2, 2, 2, 1]
    assert sorted(logins) == sorted(LOGINS) and len(set(logins)) == len(logins)
    assert len(api_calls(sim, "/api/v1/users")) == 4


def test_last_page_has_self_link_but_no_next(sim):
    users, resp, err = run(client(sim).list_users(limit=200))
    assert err is None and len(users) == len(USERS)
    assert PaginationHelper.extract_next_cursor(resp.headers) is None
    link = header(resp.headers, "Link")
    assert link and 'rel="self"' in link, f"a single page still carries rel=self: {link!r}"


# 2. Membership -----------------------------------------------------------------------------


def test_add_and_remove_member_is_idempotent(sim):
    async def go():
        user_ids, group_ids = await ids(sim)
        c = client(sim)
        gid, uid = group_ids["sales"], user_ids["carol@example.com"]
        assert await member_logins(c, gid) == []
        sim.clear_requests()
        for _ in range(2):  # adding twice is fine
            _, resp, err = outcome(await c.assign_user_to_group(gid, uid))
            assert err is None, err
            assert resp.status_code == 204
            assert await member_logins(c, gid) == ["carol@example.com"]
        groups, _, err = await c.list_user_groups(uid)
        assert err is None
        assert "sales" in {name_of(g) for g in groups}
        for _ in range(2):  # removing twice is fine
            _, resp, err = outcome(await c.unassign_user_from_group(gid, uid))
            assert err is None, err
            assert resp.status_code == 204
            assert await member_logins(c, gid) == []
        groups, _, err = await c.list_user_groups(uid)
        assert err is None
        assert "sales" not in {name_of(g) for g in groups}
        assert {"eng", "Everyone"} <= {name_of(g) for g in groups}

    run(go())
    puts = api_calls(sim, method="PUT")
    deletes = api_calls(sim, method="DELETE")
    assert [c["status"] for c in puts] == [204, 204] and [c["status"] for c in deletes] == [204, 204]
    assert all(c["bucket"] == "group" for c in puts + deletes)


@pytest.mark.parametrize("group", ["ad-imported", "Everyone"])
def test_membership_of_app_and_built_in_groups_cannot_change(sim, group):
    """Okta only lets the API change OKTA_GROUP memberships; for APP_GROUP and BUILT_IN groups it
    answers 403 E0000006 even to a super admin."""
    async def go():
        user_ids, group_ids = await ids(sim)
        c = client(sim)
        gid, uid = group_ids[group], user_ids["dave@example.com"]
        before = await member_logins(c, gid)
        _, _, err = outcome(await c.assign_user_to_group(gid, uid))
        assert isinstance(err, OktaAPIError), f"want an Okta error, got {err!r}"
        assert (err.status, err.error_code) == (403, "E0000006"), err.message
        _, _, err = outcome(await c.unassign_user_from_group(gid, user_ids["ada@example.com"]))
        assert isinstance(err, OktaAPIError), f"want an Okta error, got {err!r}"
        assert (err.status, err.error_code) == (403, "E0000006"), err.message
        assert await member_logins(c, gid) == before

    run(go())


# 3. Typed errors ---------------------------------------------------------------------------


def assert_okta_error(err, status, code):
    assert isinstance(err, OktaAPIError), f"want OktaAPIError {status} {code}, got {err!r}"
    assert err.status == status, err.message
    assert err.error_code == code, err.message
    assert err.error_summary, "errorSummary must not be empty"
    assert err.error_link == code, "Okta sets errorLink to the error code"
    assert err.error_id, "errorId must not be empty"
    assert isinstance(err.error_causes, list)
    assert header(err.headers, "X-Okta-Request-Id"), "error responses carry X-Okta-Request-Id too"


def test_bad_token_is_401_e0000011(sim):
    users, resp, err = run(client(sim, token="not-a-real-token").list_users())
    assert users is None
    assert_okta_error(err, 401, "E0000011")
    assert err.error_summary == "Invalid token provided"
    assert [c["status"] for c in api_calls(sim, "/api/v1/users")] == [401]


def test_read_only_token_cannot_change_membership_403_e0000006(sim):
    async def go():
        user_ids, group_ids = await ids(sim)
        ro = client(sim, token=RO_TOKEN)
        # reading is allowed
        members, _, err = await ro.list_group_users(group_ids["ops"])
        assert err is None and [u.profile.login for u in members] == ["bob@example.com"]
        _, _, err = outcome(await ro.assign_user_to_group(group_ids["ops"], user_ids["erin@example.com"]))
        assert_okta_error(err, 403, "E0000006")
        _, _, err = outcome(await ro.unassign_user_from_group(group_ids["ops"], user_ids["bob@example.com"]))
        assert_okta_error(err, 403, "E0000006")
        assert await member_logins(client(sim), group_ids["ops"]) == ["bob@example.com"]

    run(go())


def test_unknown_ids_are_404_e0000007(sim):
    async def go():
        user_ids, group_ids = await ids(sim)
        c = client(sim)
        _, _, err = await c.get_user("00uDoesNotExist0000x")
        assert_okta_error(err, 404, "E0000007")
        _, _, err = await c.get_group("00gDoesNotExist0000x")
        assert_okta_error(err, 404, "E0000007")
        _, _, err = await c.list_group_users("00gDoesNotExist0000x")
        assert_okta_error(err, 404, "E0000007")
        _, _, err = outcome(await c.assign_user_to_group(group_ids["sales"], "00uDoesNotExist0000x"))
        assert_okta_error(err, 404, "E0000007")
        _, _, err = outcome(await c.assign_user_to_group("00gDoesNotExist0000x", user_ids["ada@example.com"]))
        assert_okta_error(err, 404, "E0000007")

    run(go())


def test_rate_limited_without_retries_is_429_e0000047(sim):
    # The forced storm lasts until the window resets: a long window keeps it from ending
    # between set_faults() and the call.
    sim.set_rate_limits({"windowSecs": 3600})
    sim.set_faults(rateLimited=True)
    started = time.monotonic()
    users, resp, err = run(client(sim, max_retries=0).list_users())
    assert time.monotonic() - started < 5, "with maxRetries 0 the SDK must not wait"
    assert users is None
    assert_okta_error(err, 429, "E0000047")
    assert header(err.headers, "X-Rate-Limit-Remaining") == "0"
    reset = int(header(err.headers, "X-Rate-Limit-Reset"))
    assert time.time() - 1 <= reset <= time.time() + 3601, f"X-Rate-Limit-Reset is not the window end: {reset}"
    assert [c["status"] for c in api_calls(sim, "/api/v1/users")] == [429], "no retry expected"


# 4. The SDK's 429 retry honours X-Rate-Limit-Reset ------------------------------------------


def test_sdk_retry_waits_for_rate_limit_reset(sim):
    window, limit, calls = 2, 2, 5
    sim.set_rate_limits({"windowSecs": window, "limits": {"users": limit}})
    sim.clear_requests()
    # One retry only: a retry sent before the window reset would meet a second 429 and fail.
    c = client(sim, max_retries=1)
    durations = []

    async def go():
        for _ in range(calls):
            t0 = time.monotonic()
            users, resp, err = await c.list_users(limit=200)
            durations.append(time.monotonic() - t0)
            assert err is None, f"call failed despite the SDK's retry: {err!r}"
            assert len(users) == len(USERS)

    started = time.monotonic()
    run(go())
    elapsed = time.monotonic() - started
    statuses = [r["status"] for r in api_calls(sim, "/api/v1/users")]
    throttled = statuses.count(429)
    assert statuses.count(200) == calls, statuses
    assert throttled >= 1, f"{calls} calls with a limit of {limit} must meet a 429: {statuses}"
    for i, s in enumerate(statuses):  # every 429 is followed by the successful retry
        if s == 429:
            assert i + 1 < len(statuses) and statuses[i + 1] == 200, statuses
    assert all(c["bucket"] == "users" for c in api_calls(sim, "/api/v1/users"))
    # The SDK sleeps Reset - Date + 1 >= 2 s per 429; a client that ignored the headers would not.
    slow = [d for d in durations if d >= 1.5]
    assert len(slow) == throttled, f"durations {durations} vs statuses {statuses}"
    assert elapsed >= 2.0 * throttled
    assert elapsed < throttled * (window + 2) + 10, f"waited far longer than the reset: {elapsed:.1f}s"


# 5. Headers and auth -----------------------------------------------------------------------


def test_sdk_sends_ssws_without_space(sim):
    """The generated API methods put `SSWS<token>` (no space) in Authorization: their oauth2
    auth setting is authorizationMode + token and overrides the executor's `SSWS <token>`."""
    async def go():
        c = client(sim)
        method, url, headers, body, post = c._list_users_serialize(
            content_type=None, search=None, filter=None, q=None, after=None, limit=1,
            sort_by=None, sort_order=None, fields=None, expand=None, _request_auth=None,
            _content_type=None, _headers=None, _host_index=0)
        req, err = await c.get_request_executor().create_request(method, url, body, headers)
        assert err is None
        return req

    req = run(go())
    assert req["headers"]["Authorization"] == "SSWS" + SUPER_TOKEN
    users, _, err = run(client(sim).list_users(limit=1))
    assert err is None and len(users) == 1, "the simulator must accept SSWS<token>"


@pytest.mark.parametrize("auth,status", [
    ("SSWS " + SUPER_TOKEN, 200),
    ("SSWS" + SUPER_TOKEN, 200),
    ("SSWS not-a-real-token", 401),
    ("Bearer " + SUPER_TOKEN, 401),
    (None, 401),
])
def test_raw_authorization_header_forms(sim, auth, status):
    headers = {"Accept": "application/json"}
    if auth:
        headers["Authorization"] = auth
    got, hdrs, body = sim.raw("GET", "/api/v1/users?limit=1", headers)
    assert got == status, body
    if status == 401:
        assert body["errorCode"] == "E0000011"
        assert hdrs.get_content_type() == "application/json"


def test_every_response_has_okta_headers(sim):
    users, resp, err = run(client(sim).list_users(limit=2))
    assert err is None
    h = resp.headers
    assert header(h, "X-Okta-Request-Id")
    date = header(h, "Date")
    # the SDK's retry parses Date with "%a, %d %b %Y %H:%M:%S %Z" (RFC 7231 IMF-fixdate)
    assert abs(convert_date_time_to_seconds(date) - time.time()) < 30, date
    limit = int(header(h, "X-Rate-Limit-Limit"))
    remaining = int(header(h, "X-Rate-Limit-Remaining"))
    reset = int(header(h, "X-Rate-Limit-Reset"))
    assert limit == 600, "users bucket default limit"
    assert 0 <= remaining < limit
    assert time.time() - 1 <= reset <= time.time() + 61, reset
    content_type = header(h, "Content-Type") or ""
    assert content_type.startswith("application/json"), content_type


def test_system_log_lists_through_sdk(sim):
    events, resp, err = run(client(sim).list_log_events(limit=10))
    assert err is None, err
    assert resp.status_code == 200
    assert isinstance(events, list)
    assert [c["status"] for c in api_calls(sim, "/api/v1/logs")] == [200]


# 6. What other Okta clients read (discord/access's sync): user types, the user schema, group
#    owners, and DEPROVISIONED members ------------------------------------------------------


def test_user_types_lead_to_the_user_schema(sim):
    """Every user's type.id names a user type; the type's _links.schema leads to the schema
    whose base properties carry titles. The schema is read as JSON through the SDK's request
    executor: Okta sends `unique` as a string (`UNIQUE_VALIDATED`), which the SDK's typed
    UserSchemaAttribute (a boolean) cannot hold, so clients read it raw."""
    async def go():
        c = client(sim)
        users, _, err = await c.list_users(limit=200)
        assert err is None, err
        type_ids = {u.type.id for u in users}
        assert len(type_ids) == 1 and None not in type_ids, type_ids
        type_id = type_ids.pop()

        types, resp, err = await c.list_user_types()
        assert err is None, err
        assert resp.status_code == 200
        assert [t.id for t in types] == [type_id]
        t = types[0]
        assert isinstance(t, UserType), f"SDK did not build a UserType: {t!r}"
        assert t.default is True and t.name == "user" and t.display_name
        assert isinstance(t.created, datetime)
        for key in (type_id, "default"):
            got, _, err = await c.get_user_type(key)
            assert err is None, err
            assert got.id == type_id
        href = got.links.var_schema.href
        assert href.startswith(sim.url + "/api/v1/meta/schemas/user/"), href

        ex = c.get_request_executor()
        req, err = await ex.create_request("GET", href)
        assert err is None, err
        _, res, body, err = await ex.fire_request(req)
        assert err is None and res.status == 200, body
        schema = json.loads(body) if isinstance(body, str) else body
        base = schema["definitions"]["base"]
        props = base["properties"]
        assert {"login", "email", "firstName", "lastName", "title", "department"} <= props.keys()
        assert all(p.get("title") for p in props.values()), props
        assert props["login"]["title"] == "Username"
        assert props["login"]["unique"] == "UNIQUE_VALIDATED"
        assert base["required"] == ["login", "firstName", "lastName", "email"]
        return type_id

    run(go())
    calls = api_calls(sim)
    assert all(c["status"] == 200 for c in calls), calls
    assert any(c["path"].startswith("/api/v1/meta/schemas/user/") for c in calls), calls
    assert all(c["bucket"] == "default" for c in calls if c["path"].startswith("/api/v1/meta/"))


def test_unknown_user_type_and_schema_are_404_e0000007(sim):
    async def go():
        c = client(sim)
        _, _, err = await c.get_user_type("otyDoesNotExist0000x")
        assert_okta_error(err, 404, "E0000007")
        _, resp, err = await c.get_user_schema("oscDoesNotExist0000x")
        assert_okta_error(err, 404, "E0000007")

    run(go())


def test_group_owners_list_through_sdk(sim):
    async def go():
        user_ids, group_ids = await ids(sim)
        c = client(sim, token=RO_TOKEN)
        owners, resp, err = await c.list_group_owners(group_ids["eng"])
        assert err is None, err
        assert resp.status_code == 200
        assert all(isinstance(o, GroupOwner) for o in owners), owners
        want = [(kind, user_ids[who] if kind == "USER" else group_ids[who])
                for kind, who in OWNERS["eng"]]
        assert [(o.type.value, o.id) for o in owners] == want
        assert owners[0].type == GroupOwnerType.USER and owners[0].display_name == "Ada Lovelace"
        assert owners[1].display_name == "ops" and owners[1].resolved is True
        assert all(isinstance(o.last_updated, datetime) for o in owners)
        # Paged with the SDK's helper; filtered by owner type.
        pages = await all_pages(c.list_group_owners, limit=2, group_id=group_ids["eng"])
        assert [[o.id for o in data] for data, _ in pages] == [[w[1] for w in want[:2]], [want[2][1]]]
        users_only, _, err = await c.list_group_owners(group_ids["eng"], search='type eq "USER"')
        assert err is None, err
        assert [o.id for o in users_only] == [w[1] for w in want if w[0] == "USER"]
        none, _, err = await c.list_group_owners(group_ids["sales"])
        assert err is None and none == [], none
        _, _, err = await c.list_group_owners("00gDoesNotExist0000x")
        assert_okta_error(err, 404, "E0000007")

    run(go())
    assert all(c["bucket"] == "group" for c in api_calls(sim) if c["path"].endswith("/owners"))


def test_deprovisioned_members_are_still_listed(sim):
    """List users leaves DEPROVISIONED users out (without search/filter); a group's members
    keep them, with their status."""
    async def go():
        user_ids, group_ids = await ids(sim)
        grace = user_ids["grace@example.com"]
        sim.set_user_status(grace, "DEPROVISIONED")
        try:
            c = client(sim)
            members, _, err = await c.list_group_users(group_ids["design"])
            assert err is None, err
            assert [(u.id, u.status) for u in members] == [(grace, UserStatus.DEPROVISIONED)]
            users, _, err = await c.list_users(limit=200)
            assert err is None, err
            assert grace not in {u.id for u in users}
        finally:
            sim.set_user_status(grace, "SUSPENDED")

    run(go())


# 7. Apps and app assignments --------------------------------------------------------------

MODEL_BY_MODE = {
    "SAML_2_0": SamlApplication,
    "OPENID_CONNECT": OpenIdConnectApplication,
    "BOOKMARK": BookmarkApplication,
    "AUTO_LOGIN": AutoLoginApplication,
}


async def app_ids(c):
    apps, _, err = await c.list_applications(limit=200)
    assert err is None, err
    return {a.label: a.id for a in apps}


def expected_scopes(label):
    """login -> scope for everyone holding the seeded app: USER when assigned directly,
    GROUP through an assigned group."""
    _, _, _, _, users, groups = next(a for a in APPS if a[1] == label)
    members = {g[0]: g[3] for g in GROUPS}
    want = {login: "GROUP" for g in groups for login in members[g]}
    want.update({login: "USER" for login in users})
    return want


async def app_scopes(c, app_id):
    app_users, _, err = await c.list_application_users(app_id, limit=500)
    assert err is None, err
    assert all(isinstance(u, AppUser) for u in app_users), app_users
    return {u.credentials.user_name: u.scope for u in app_users}


def test_applications_page_with_sdk_helper(sim):
    pages = run(all_pages(client(sim).list_applications, limit=2))
    apps = [a for data, _ in pages for a in data]
    assert [len(data) for data, _ in pages] == [2, 2, 1]
    assert [more for _, more in pages] == [True, True, False]
    assert [a.label for a in apps] == APP_LABELS, "apps are listed in a stable order, inactive too"
    for (name, label, mode, status, _, _), app in zip(APPS, apps):
        assert isinstance(app, MODEL_BY_MODE[mode]), f"{label}: {type(app).__name__}"
        assert app.id and app.id.startswith("0oa") and len(app.id) == 20, app.id
        assert app.name == name
        assert app.sign_on_mode == ApplicationSignOnMode(mode)
        assert app.status == ApplicationLifecycleStatus(status)
        assert isinstance(app.created, datetime) and isinstance(app.last_updated, datetime)
        assert app.links.users.href == f"{sim.url}/api/v1/apps/{app.id}/users"
        assert app.links.groups.href == f"{sim.url}/api/v1/apps/{app.id}/groups"
        assert app.credentials.user_name_template.template == "${source.login}"
        assert app.accessibility.self_service is False
        assert app.visibility.hide.web is False
    calls = api_calls(sim, "/api/v1/apps")
    assert len(calls) == 3, calls
    assert all(c["status"] == 200 and c["bucket"] == "apps" for c in calls), calls


def test_applications_filter_and_query(sim):
    async def go():
        c = client(sim)
        active, _, err = await c.list_applications(filter='status eq "ACTIVE"')
        assert err is None, err
        assert [a.label for a in active] == [a[1] for a in APPS if a[3] == "ACTIVE"]
        inactive, _, err = await c.list_applications(filter='status eq "INACTIVE"')
        assert err is None, err
        assert [a.label for a in inactive] == ["Legacy Jira"]
        # Paging a filtered list with the SDK's helper.
        pages = await all_pages(c.list_applications, limit=3, filter='status eq "ACTIVE"')
        assert [len(data) for data, _ in pages] == [3, 1]
        by_name, _, err = await c.list_applications(filter='name eq "datadog"')
        assert err is None and [a.label for a in by_name] == ["Datadog"], err
        by_q, _, err = await c.list_applications(q="team")
        assert err is None and [a.label for a in by_q] == ["Team Wiki"], err
        # The apps a user holds (Okta's user.id filter), directly or through a group.
        user_ids, _ = await ids(sim)
        held, _, err = await c.list_applications(
            filter=f'user.id eq "{user_ids["bob@example.com"]}"')
        assert err is None, err
        assert [a.label for a in held] == ["Datadog", "Team Wiki"]
        _, _, err = await c.list_applications(filter='label eq "Datadog"')
        assert_okta_error(err, 400, "E0000001")

    run(go())


def test_get_application_and_unknown_ids_are_404(sim):
    async def go():
        c = client(sim, token=RO_TOKEN)
        by_label = await app_ids(c)
        app, resp, err = await c.get_application(by_label["Internal Portal"])
        assert err is None and resp.status_code == 200, err
        assert isinstance(app, OpenIdConnectApplication)
        assert app.label == "Internal Portal" and app.name == "oidc_client"
        assert app.credentials.oauth_client.client_id == app.id, "an OIDC app's client id is its id"
        assert app.settings.oauth_client.redirect_uris
        wiki, _, err = await c.get_application(by_label["Team Wiki"])
        assert err is None and isinstance(wiki, BookmarkApplication), err
        assert wiki.settings.app.url.startswith("https://")

        unknown = "0oaDoesNotExist00000"
        _, _, err = await c.get_application(unknown)
        assert_okta_error(err, 404, "E0000007")
        assert err.error_summary == f"Not found: Resource not found: {unknown} (AppInstance)"
        _, _, err = await c.list_application_users(unknown)
        assert_okta_error(err, 404, "E0000007")
        _, _, err = await c.list_application_group_assignments(unknown)
        assert_okta_error(err, 404, "E0000007")
        user_ids, _ = await ids(sim)
        _, _, err = await c.get_application_user(by_label["AWS Console"],
                                                 user_ids["ada@example.com"])
        assert_okta_error(err, 404, "E0000007")
        admin = client(sim)
        _, _, err = outcome(await admin.assign_user_to_application(
            unknown, AppUserAssignRequest(id=user_ids["ada@example.com"], scope="USER")))
        assert_okta_error(err, 404, "E0000007")
        _, _, err = outcome(await admin.assign_user_to_application(
            by_label["AWS Console"], AppUserAssignRequest(id="00uDoesNotExist0000x")))
        assert_okta_error(err, 404, "E0000007")
        _, _, err = outcome(await admin.unassign_user_from_application(
            by_label["AWS Console"], user_ids["ada@example.com"]))
        assert_okta_error(err, 404, "E0000007")

    run(go())


def test_application_users_show_scope_user_and_group(sim):
    async def go():
        c = client(sim)
        by_label = await app_ids(c)
        for label in APP_LABELS:
            assert await app_scopes(c, by_label[label]) == expected_scopes(label), label
        datadog = by_label["Datadog"]
        # Paged with the SDK's helper: 6 holders, 3 pages of 2, in a stable order.
        pages = await all_pages(c.list_application_users, limit=2, app_id=datadog)
        assert [len(data) for data, _ in pages] == [2, 2, 2]
        logins = [u.credentials.user_name for data, _ in pages for u in data]
        assert sorted(logins) == sorted(expected_scopes("Datadog"))
        user_ids, group_ids = await ids(sim)
        bob, _, err = await c.get_application_user(datadog, user_ids["bob@example.com"])
        assert err is None, err
        assert isinstance(bob, AppUser) and bob.scope == "USER" and bob.id == user_ids["bob@example.com"]
        assert bob.status == AppUserStatus.ACTIVE and bob.external_id is None
        assert bob.links.app.href == f"{sim.url}/api/v1/apps/{datadog}"
        assert bob.links.user.href == f"{sim.url}/api/v1/users/{bob.id}"
        assert bob.links.group is None
        carol, _, err = await c.get_application_user(datadog, user_ids["carol@example.com"])
        assert err is None and carol.scope == "GROUP", err
        assert carol.links.group.name == "eng"
        assert carol.links.group.href == f"{sim.url}/api/v1/groups/{group_ids['eng']}"
        assert isinstance(carol.created, datetime)
        # The app's group assignments.
        assigned, _, err = await c.list_application_group_assignments(datadog)
        assert err is None, err
        assert all(isinstance(g, ApplicationGroupAssignment) for g in assigned), assigned
        assert [(g.id, g.priority) for g in assigned] == [(group_ids["eng"], 0)]
        none, _, err = await c.list_application_group_assignments(by_label["AWS Console"])
        assert err is None and none == [], none

    run(go())
    calls = [c for c in api_calls(sim) if c["path"].startswith("/api/v1/apps/")]
    assert calls and all(c["bucket"] == "app" and c["status"] == 200 for c in calls), calls


def test_assign_and_unassign_application_user(sim):
    async def go():
        c = client(sim)
        aws = (await app_ids(c))["AWS Console"]
        user_ids, _ = await ids(sim)
        erin = user_ids["erin@example.com"]
        assert await app_scopes(c, aws) == {}
        sim.clear_requests()
        # The SDK takes the AppUserAssignRequest model, or a dict it validates into one.
        first, resp, err = await c.assign_user_to_application(
            aws, AppUserAssignRequest(id=erin, scope="USER"))
        assert err is None, err
        assert resp.status_code == 200
        assert isinstance(first, AppUser) and (first.id, first.scope) == (erin, "USER")
        assert first.credentials.user_name == "erin@example.com"
        again, resp, err = await c.assign_user_to_application(
            aws, {"id": erin, "scope": "USER", "credentials": {"userName": "erin@example.com"}})
        assert err is None and resp.status_code == 200, err
        assert again.to_dict() == first.to_dict(), "assigning twice answers the same AppUser"
        got, _, err = await c.get_application_user(aws, erin)
        assert err is None and got.scope == "USER", err
        assert await app_scopes(c, aws) == {"erin@example.com": "USER"}
        state = sim.app_state("AWS Console")
        assert [(u["login"], u["scope"], u["direct"]) for u in state["users"]] == [
            ("erin@example.com", "USER", True)]
        for status in (204, 404):  # the second removal finds nothing to remove
            _, resp, err = outcome(await c.unassign_user_from_application(aws, erin))
            if status == 204:
                assert err is None and resp.status_code == 204, err
            else:
                assert_okta_error(err, 404, "E0000007")
        _, _, err = await c.get_application_user(aws, erin)
        assert_okta_error(err, 404, "E0000007")
        assert await app_scopes(c, aws) == {}
        # Both changes are in the system log.
        events, _, err = await c.list_log_events(filter=f'target.id eq "{erin}"', limit=100)
        assert err is None, err
        kinds = [(e.event_type, [t.type for t in e.target]) for e in events
                 if e.event_type.startswith("application.") and e.target[1].id == aws]
        assert kinds == [("application.user_membership.add", ["User", "AppInstance"]),
                         ("application.user_membership.remove", ["User", "AppInstance"])], kinds

    run(go())
    posts = api_calls(sim, method="POST")
    deletes = api_calls(sim, method="DELETE")
    assert [c["status"] for c in posts] == [200, 200], posts
    assert [c["status"] for c in deletes] == [204, 404], deletes
    assert all(c["bucket"] == "app" for c in posts + deletes)


def test_app_held_through_a_group_cannot_be_unassigned_e0000046(sim):
    """Okta converts a group holder assigned directly to scope USER, and refuses to unassign
    the app while a group membership still grants it (403 E0000046); once the user leaves the
    group, the direct assignment can go."""
    async def go():
        c = client(sim)
        datadog = (await app_ids(c))["Datadog"]
        user_ids, group_ids = await ids(sim)
        carol, ada = user_ids["carol@example.com"], user_ids["ada@example.com"]
        # Held only through eng: refused.
        _, _, err = outcome(await c.unassign_user_from_application(datadog, carol))
        assert_okta_error(err, 403, "E0000046")
        assert err.error_summary == "Deactivate application for user forbidden."
        assert [x["errorSummary"] for x in err.error_causes] == [
            "The application cannot be unassigned from the user while their group memberships "
            "grant them access"]
        # Assigned directly too: scope USER, still refused, nothing changes.
        held, _, err = await c.assign_user_to_application(datadog, AppUserAssignRequest(id=ada))
        assert err is None and held.scope == "USER", err
        _, _, err = outcome(await c.unassign_user_from_application(datadog, ada))
        assert_okta_error(err, 403, "E0000046")
        got, _, err = await c.get_application_user(datadog, ada)
        assert err is None and got.scope == "USER", err
        assert await app_scopes(c, datadog) == {**expected_scopes("Datadog"),
                                                "ada@example.com": "USER"}
        # Out of the group, the direct assignment can be removed; back in, she holds it
        # through the group again.
        _, _, err = outcome(await c.unassign_user_from_group(group_ids["eng"], ada))
        assert err is None, err
        try:
            _, resp, err = outcome(await c.unassign_user_from_application(datadog, ada))
            assert err is None and resp.status_code == 204, err
            _, _, err = await c.get_application_user(datadog, ada)
            assert_okta_error(err, 404, "E0000007")
        finally:
            _, _, err = outcome(await c.assign_user_to_group(group_ids["eng"], ada))
            assert err is None, err
        assert await app_scopes(c, datadog) == expected_scopes("Datadog")

    run(go())


def test_group_assignments_grant_the_app(sim):
    """A group assigned to an app (through the simulator's control API) gives its members the
    app with scope GROUP; removing the group assignment takes it away."""
    async def go():
        c = client(sim)
        aws = (await app_ids(c))["AWS Console"]
        _, group_ids = await ids(sim)
        sim.assign_app_group("AWS Console", "ops")
        try:
            assert await app_scopes(c, aws) == {"bob@example.com": "GROUP"}
            assigned, _, err = await c.list_application_group_assignments(aws)
            assert err is None and [g.id for g in assigned] == [group_ids["ops"]], err
            state = sim.app_state(aws)
            assert [g["name"] for g in state["groups"]] == ["ops"]
            assert [(u["login"], u["scope"], u["groups"]) for u in state["users"]] == [
                ("bob@example.com", "GROUP", ["ops"])]
        finally:
            sim.unassign_app_group("AWS Console", "ops")
        assert await app_scopes(c, aws) == {}

    run(go())


def test_only_app_admins_may_assign_apps(sim):
    async def go():
        user_ids, _ = await ids(sim)
        ro = client(sim, token=RO_TOKEN)
        by_label = await app_ids(ro)  # reading is allowed
        aws, datadog = by_label["AWS Console"], by_label["Datadog"]
        grace = user_ids["grace@example.com"]
        _, _, err = outcome(await ro.assign_user_to_application(aws, AppUserAssignRequest(id=grace)))
        assert_okta_error(err, 403, "E0000006")
        _, _, err = outcome(await ro.unassign_user_from_application(datadog,
                                                                    user_ids["bob@example.com"]))
        assert_okta_error(err, 403, "E0000006")
        assert await app_scopes(client(sim), aws) == {}
        # An Application Administrator may.
        apps_admin = client(sim, token=APP_ADMIN_TOKEN)
        held, _, err = await apps_admin.assign_user_to_application(
            aws, AppUserAssignRequest(id=grace))
        assert err is None and held.scope == "USER", err
        _, resp, err = outcome(await apps_admin.unassign_user_from_application(aws, grace))
        assert err is None and resp.status_code == 204, err
        # An inactive app takes no new assignments; activated, it does.
        jira = by_label["Legacy Jira"]
        _, _, err = outcome(await apps_admin.assign_user_to_application(
            jira, AppUserAssignRequest(id=grace)))
        assert_okta_error(err, 400, "E0000001")
        sim.set_app_status("Legacy Jira", "ACTIVE")
        try:
            app, _, err = await apps_admin.get_application(jira)
            assert err is None and app.status == ApplicationLifecycleStatus.ACTIVE, err
            held, _, err = await apps_admin.assign_user_to_application(
                jira, AppUserAssignRequest(id=grace))
            assert err is None and held.scope == "USER", err
            _, resp, err = outcome(await apps_admin.unassign_user_from_application(jira, grace))
            assert err is None and resp.status_code == 204, err
        finally:
            sim.set_app_status("Legacy Jira", "INACTIVE")
        assert sim.app_state(jira)["status"] == "INACTIVE"

    run(go())
