"""Helpers shared by the Python interop scripts (see python_alipay.py, wechatpayv3_client.py)."""

import json
import os
import queue
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def env(name):
    value = os.environ.get(name)
    if not value:
        fail(f"environment variable {name} is not set")
    return value


def unique_no(prefix):
    """A fresh out_trade_no-style identifier: [0-9A-Za-z], at most 32 characters."""
    return f"{prefix}{int(time.time() * 1000)}{secrets.token_hex(4)}"[:32]


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def check(condition, message, detail=None):
    if not condition:
        fail(message if detail is None else f"{message}: {json.dumps(detail, ensure_ascii=False, default=str)}")


def step(message):
    print(f"ok - {message}", flush=True)


class CallbackServer:
    """An HTTP listener on 127.0.0.1 that queues every request it gets and answers with `reply`.

    `reply(request)` returns `(status, body_bytes)`; a request is a dict with method, path,
    headers (a case-insensitive message object) and body (bytes).
    """

    def __init__(self, reply):
        received = queue.Queue()

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = {
                    "method": self.command,
                    "path": self.path,
                    "headers": self.headers,
                    "body": self.rfile.read(length),
                }
                status, body = reply(request)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                received.put(request)

            do_POST = _handle
            do_GET = _handle

            def log_message(self, *args):
                pass

        self._received = received
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def next(self, timeout_s):
        try:
            return self._received.get(timeout=timeout_s)
        except queue.Empty:
            fail(f"no callback reached {self.url} within {timeout_s} s")

    def close(self):
        self._server.shutdown()
        self._server.server_close()
