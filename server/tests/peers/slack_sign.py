"""Signs a request body the way Slack does, with Slack's official SDK (`slack-sdk`):
`slack_sign.py SECRET TIMESTAMP < body` prints the `X-Slack-Signature` value. Gatepass's
interactivity endpoint must accept what this signs, and refuse it altered, stale or replayed."""

import sys

from slack_sdk.signature import SignatureVerifier

secret, timestamp = sys.argv[1], sys.argv[2]
body = sys.stdin.buffer.read().decode("utf-8")
print(SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body))
