"""Slack's official Python SDK (`slack_sdk`) against the Slack stand-in of `gatepass okta-sim`:
the Web API calls Gatepass makes, their errors as the SDK surfaces them, rate limits and the
SDK's retry, and interaction signatures checked by the SDK's own verifier."""

import hashlib
import json
import re
import time
import urllib.parse

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    HeaderBlock,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View
from slack_sdk.signature import SignatureVerifier

from slack_sim import SIGNING_SECRET, client, fresh_sim, receiver, sim  # noqa: F401 (fixtures)

TS = re.compile(r"^\d{10}\.\d{6}$")


def slack_id(email):
    return "U" + hashlib.sha256(email.lower().encode()).hexdigest()[:10].upper()


def decision_blocks(request_id="req-1"):
    """A decision message built with the SDK's Block Kit models."""
    return [
        HeaderBlock(text="Access request"),
        SectionBlock(text="*Ada Lovelace* asks for _aws-prod_ for 4h"),
        ActionsBlock(block_id="decide", elements=[
            ButtonElement(text="Approve", action_id="approve", value=request_id, style="primary"),
            ButtonElement(text="Deny", action_id="deny", value=request_id, style="danger"),
        ]),
    ]


def deny_view():
    return View(
        type="modal",
        callback_id="deny",
        private_metadata="req-1",
        title="Deny access",
        submit="Deny",
        close="Cancel",
        blocks=[InputBlock(block_id="reason", label="Why?",
                           element=PlainTextInputElement(action_id="text", multiline=True))],
    )


def post_decision(client, email="ada@example.com"):
    """Finds the person, opens the DM and posts the decision message: (user, channel, ts)."""
    user = client.users_lookupByEmail(email=email)["user"]["id"]
    channel = client.conversations_open(users=user)["channel"]["id"]
    posted = client.chat_postMessage(channel=channel, text="Ada asks for aws-prod",
                                     blocks=decision_blocks())
    return user, channel, posted["ts"]


def test_auth_test(client):
    me = client.auth_test()
    assert me["ok"] is True
    for field in ("url", "team", "user", "team_id", "user_id", "bot_id"):
        assert isinstance(me[field], str) and me[field], field
    assert me["team_id"].startswith("T") and me["user_id"].startswith("U")
    assert me["bot_id"].startswith("B")


def test_users_lookup_by_email(client):
    found = client.users_lookupByEmail(email="Ada@Example.com")
    user = found["user"]
    assert user["id"] == slack_id("ada@example.com")
    assert user["profile"]["email"] == "ada@example.com"
    assert user["real_name"] == "Ada Lovelace"
    assert user["deleted"] is False and user["is_bot"] is False
    # SUSPENDED in Okta: still a Slack user. DEPROVISIONED or unknown: not found.
    assert client.users_lookupByEmail(email="carol@example.com")["user"]["id"] == \
        slack_id("carol@example.com")
    for email in ("grace@example.com", "nobody@example.com"):
        with pytest.raises(SlackApiError) as e:
            client.users_lookupByEmail(email=email)
        assert e.value.response["error"] == "users_not_found"
        assert e.value.response.status_code == 200


def test_conversations_open(client):
    ada = slack_id("ada@example.com")
    first = client.conversations_open(users=ada)
    assert first["channel"]["id"].startswith("D")
    again = client.conversations_open(users=[ada])
    assert again["channel"]["id"] == first["channel"]["id"]
    with pytest.raises(SlackApiError) as e:
        client.conversations_open(users="U0NOBODY00")
    assert e.value.response["error"] == "user_not_found"


def test_post_message_with_blocks_then_update(sim, client):
    user, channel, ts = post_decision(client)
    assert TS.match(ts), ts
    stored = [m for m in sim.messages() if m["ts"] == ts]
    assert len(stored) == 1
    assert stored[0]["recipient"] == user
    assert stored[0]["blocks"][2]["elements"][0] == {
        "type": "button", "action_id": "approve", "value": "req-1", "style": "primary",
        "text": {"type": "plain_text", "text": "Approve", "emoji": True},
    }

    later = client.chat_postMessage(channel=channel, text="second")
    assert later["ts"] > ts

    updated = client.chat_update(channel=channel, ts=ts, text="Approved by Bob",
                                 blocks=[SectionBlock(text="*Approved* by Bob")])
    assert updated["ts"] == ts and updated["channel"] == channel
    assert updated["text"] == "Approved by Bob"
    stored = [m for m in sim.messages() if m["ts"] == ts][0]
    assert stored["updates"] == 1
    assert stored["previous"][0]["text"] == "Ada asks for aws-prod"

    with pytest.raises(SlackApiError) as e:
        client.chat_update(channel=channel, ts="1000000000.000001", text="x")
    assert e.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as e:
        client.chat_postMessage(channel=channel, text="x", blocks=[{"text": "no type"}])
    assert e.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as e:
        client.chat_postMessage(channel="D0NOSUCH00", text="x")
    assert e.value.response["error"] == "channel_not_found"


def test_post_ephemeral(sim, client):
    user, channel, _ = post_decision(client)
    eph = client.chat_postEphemeral(channel=channel, user=user, text="Only you see this")
    assert TS.match(eph["message_ts"])
    stored = [m for m in sim.messages() if m["ts"] == eph["message_ts"]][0]
    assert stored["ephemeralFor"] == user


def test_views_open_with_a_real_trigger(sim, client):
    user, channel, ts = post_decision(client)
    clicked = sim.click(user, channel, ts, "deny")
    opened = client.views_open(trigger_id=clicked["triggerId"], view=deny_view())
    view = opened["view"]
    assert view["id"].startswith("V")
    assert view["type"] == "modal"
    assert view["callback_id"] == "deny"
    assert view["private_metadata"] == "req-1"
    assert view["title"]["text"] == "Deny access"
    assert view["blocks"][0]["block_id"] == "reason"
    open_views = sim.control("GET", f"/__slack/views?as={user}")["views"]
    assert [v["id"] for v in open_views] == [view["id"]]

    with pytest.raises(SlackApiError) as e:
        client.views_open(trigger_id="12345.98765.abcd2358fdea", view=deny_view())
    assert e.value.response["error"] == "invalid_trigger_id"


def test_expired_trigger(sim, client):
    sim.set_config(triggerTtlSecs=0)
    user, channel, ts = post_decision(client)
    clicked = sim.click(user, channel, ts, "deny")
    with pytest.raises(SlackApiError) as e:
        client.views_open(trigger_id=clicked["triggerId"], view=deny_view())
    assert e.value.response["error"] == "expired_trigger_id"


def test_wrong_token(sim):
    with pytest.raises(SlackApiError) as e:
        sim.client(token="xoxb-not-the-one").auth_test()
    assert e.value.response["error"] == "invalid_auth"


def test_rate_limited(sim, client):
    sim.fail_next(method="chat.postMessage", count=1, retry_after=1)
    with pytest.raises(SlackApiError) as e:
        client.chat_postMessage(channel="C0ACCESS", text="x")
    assert e.value.response.status_code == 429
    assert e.value.response["error"] == "ratelimited"
    assert e.value.response.headers["Retry-After"] in ("1", ["1"])
    # The fault was used up.
    assert client.chat_postMessage(channel="C0ACCESS", text="x")["ok"] is True


def test_sdk_retry_handler_waits_out_one_429(sim):
    client = sim.client()
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    sim.fail_next(method="chat.postMessage", count=1, retry_after=1)
    started = time.monotonic()
    posted = client.chat_postMessage(channel="C0ACCESS", text="after a 429")
    assert posted["ok"] is True
    assert time.monotonic() - started >= 1.0
    assert sim.control("GET", "/__slack/calls")["calls"]["chat.postMessage"] == 2


def test_injected_error(sim, client):
    sim.fail_next(method=None, count=1, error="fatal_error")
    with pytest.raises(SlackApiError) as e:
        client.auth_test()
    assert e.value.response["error"] == "fatal_error"
    assert client.auth_test()["ok"] is True


def test_interactions_are_signed_as_slack_signs_them(sim, client, receiver):
    user, channel, ts = post_decision(client)
    clicked = sim.click(user, channel, ts, "approve")
    assert clicked["status"] == 200, clicked
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    timestamp = headers["x-slack-request-timestamp"]
    signature = headers["x-slack-signature"]
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert SignatureVerifier(SIGNING_SECRET).is_valid(body, timestamp, signature) is True
    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(body, headers) is True
    assert SignatureVerifier("not-the-secret").is_valid(body, timestamp, signature) is False
    assert SignatureVerifier(SIGNING_SECRET).is_valid(body + b"x", timestamp, signature) is False

    form = urllib.parse.parse_qs(body.decode())
    assert list(form) == ["payload"]
    payload = json.loads(form["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == user
    assert set(payload["user"]) >= {"id", "username", "name", "team_id"}
    assert payload["api_app_id"].startswith("A")
    assert isinstance(payload["token"], str)
    assert payload["container"] == {"type": "message", "message_ts": ts, "channel_id": channel,
                                     "is_ephemeral": False}
    assert payload["trigger_id"] == clicked["triggerId"]
    assert set(payload["team"]) == {"id", "domain"}
    assert payload["enterprise"] is None and payload["is_enterprise_install"] is False
    assert payload["channel"]["id"] == channel
    assert payload["message"]["ts"] == ts
    assert payload["message"]["blocks"][2]["block_id"] == "decide"
    assert payload["state"] == {"values": {}}
    assert payload["response_url"].startswith(f"{sim.url}/__slack/response/")
    (action,) = payload["actions"]
    assert action["action_id"] == "approve"
    assert action["block_id"] == "decide"
    assert action["value"] == "req-1"
    assert action["style"] == "primary"
    assert action["type"] == "button"
    assert action["text"] == {"type": "plain_text", "text": "Approve", "emoji": True}
    assert re.match(r"^\d+\.\d+$", action["action_ts"])


def test_view_submissions_are_signed_too(sim, client, receiver):
    user, channel, ts = post_decision(client)
    trigger = sim.click(user, channel, ts, "deny")["triggerId"]
    view_id = client.views_open(trigger_id=trigger, view=deny_view())["view"]["id"]
    submitted = sim.control("POST", "/__slack/submit", {
        "as": user, "viewId": view_id, "values": {"reason": {"text": "Not needed"}}})
    assert submitted["kind"] == "view_submission" and submitted["status"] == 200
    headers, body = receiver.received[-1]
    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(body, headers) is True
    payload = json.loads(urllib.parse.parse_qs(body.decode())["payload"][0])
    assert payload["type"] == "view_submission"
    assert payload["view"]["id"] == view_id
    assert payload["view"]["callback_id"] == "deny"
    assert payload["view"]["private_metadata"] == "req-1"
    assert payload["view"]["state"]["values"] == {
        "reason": {"text": {"type": "plain_text_input", "value": "Not needed"}}}
    # An empty 200 answer closes the modal.
    assert sim.control("GET", f"/__slack/views?as={user}")["views"] == []
