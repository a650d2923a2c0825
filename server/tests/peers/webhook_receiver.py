"""A webhook receiver that checks every delivery with the Standard Webhooks reference library
(`standardwebhooks` from PyPI), for Gatepass's tests.

    python webhook_receiver.py SECRET

Listens on 127.0.0.1 (a free port), prints `listening <port>`, then one JSON line per request:
{"ok": true, "id": ..., "type": ...} (answered 204) or {"ok": false, "error": ...} (answered 401).
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

verifier = Webhook(sys.argv[1])
# Deliveries arrive concurrently: one line at a time on stdout.
printing = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k: v for k, v in self.headers.items()}
        try:
            payload = verifier.verify(body, headers)
            line = {"ok": True, "id": headers.get("webhook-id"), "type": payload.get("type"),
                    "payload": payload}
            self.send_response(204)
            self.end_headers()
        except WebhookVerificationError as e:
            line = {"ok": False, "id": headers.get("webhook-id"), "error": str(e)}
            self.send_response(401)
            self.end_headers()
            self.wfile.write(f"refused: {e}".encode())
        with printing:
            print(json.dumps(line), flush=True)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
