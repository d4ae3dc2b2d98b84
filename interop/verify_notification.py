#!/usr/bin/env python3
"""Verifies a paygate notification, as a site's Python backend would: the README's snippet plus a
main for tests. Usage:

    PAYGATE_SK=sk_... X_1PASS_TS=... X_1PASS_NONCE=... X_1PASS_SIGN=... \\
        python verify_notification.py < body.json

Exit status 0 when the signature is valid, 1 when not. Python 3.8+, standard library only.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time


# ---- README snippet ----
# headers: the request's headers with lower-case names (for Flask: {k.lower(): v for k, v in
# request.headers.items()}); raw_body: the body exactly as received (bytes), before JSON parsing.
def verify_notification(sk: str, headers: dict, raw_body: bytes) -> bool:
    ts = headers.get("x-1pass-ts")
    nonce = headers.get("x-1pass-nonce")
    sign = headers.get("x-1pass-sign")
    if not ts or not nonce or not sign:
        return False
    if abs(time.time() - int(ts)) > 300:  # stale or replayed
        return False
    body_hash = hashlib.sha256(raw_body).hexdigest()
    mac = hmac.new(sk.encode(), f"{ts}\n{nonce}\n{body_hash}".encode(), hashlib.sha256)
    expected = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
    return hmac.compare_digest(expected, sign)
# ---- end of snippet ----


def main() -> int:
    raw_body = sys.stdin.buffer.read()
    headers = {
        "x-1pass-ts": os.environ.get("X_1PASS_TS"),
        "x-1pass-nonce": os.environ.get("X_1PASS_NONCE"),
        "x-1pass-sign": os.environ.get("X_1PASS_SIGN"),
    }
    try:
        ok = verify_notification(os.environ.get("PAYGATE_SK", ""), headers, raw_body)
    except ValueError:  # a timestamp that is not a number
        ok = False
    if ok:
        # A valid notification: dedupe on event_id, then answer 2xx.
        event = json.loads(raw_body)
        print(f"valid {event['event_id']} {event['event_type']} {event['out_trade_no']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
