"""An SMTP server on loopback (`aiosmtpd` from PyPI) that accepts every message and prints it,
for Gatepass's email tests.

    python smtp_sink.py

Prints `listening <port>`, then one JSON line per message: the envelope (`mail_from`,
`rcpt_tos`), the headers Gatepass sets (`from`, `to`, `subject`, `message_id`), and the plain
text and HTML parts.
"""

import asyncio
import email
import email.policy
import json
import socket
import threading

from aiosmtpd.controller import Controller

printing = threading.Lock()


class Sink:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            if part.get_content_type() in ("text/plain", "text/html") and not part.is_multipart():
                parts[part.get_content_type()] = part.get_content()
        line = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["from"]),
            "to": str(message["to"]),
            "subject": str(message["subject"]),
            "message_id": str(message["message-id"]),
            "content_type": message.get_content_type(),
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
        }
        with printing:
            print(json.dumps(line), flush=True)
        return "250 OK"


with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
controller = Controller(Sink(), hostname="127.0.0.1", port=port)
controller.start()
print(f"listening {port}", flush=True)
try:
    asyncio.new_event_loop().run_forever()
finally:
    controller.stop()
