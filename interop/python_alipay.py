"""python-alipay-sdk (PyPI) against `paygate sim`, with the SDK's own response verification.

Environment (set by crates/paygate/tests/interop_alipay.rs):
  SIM_URL                  http://127.0.0.1:PORT of a running `paygate sim`
  ALIPAY_APP_ID            app id registered with the simulator
  ALIPAY_APP_PRIVATE_KEY   the app's private key (PEM)
  ALIPAY_PUBLIC_KEY        the simulator's Alipay public key for that app (PEM)

Prints `ok - ...` per step and, at the very end, `python-alipay-sdk interop: OK`.
"""

import os
import sys
import traceback
import urllib.request
from urllib.parse import parse_qsl, quote

from alipay import AliPay
from alipay.exceptions import AliPayValidationError
from Cryptodome.PublicKey import RSA

from interop_common import CallbackServer, check, env, fail, step, unique_no


def client(private_key, alipay_public_key, notify_url=None):
    alipay = AliPay(
        appid=env("ALIPAY_APP_ID"),
        app_notify_url=notify_url,
        app_private_key_string=private_key,
        alipay_public_key_string=alipay_public_key,
        sign_type="RSA2",
    )
    # The SDK has no base-URL option; its gateway lives in this attribute.
    alipay._gateway = env("SIM_URL").rstrip("/") + "/gateway.do"
    return alipay


def main():
    sim = env("SIM_URL").rstrip("/")
    app_id = env("ALIPAY_APP_ID")
    private_key = env("ALIPAY_APP_PRIVATE_KEY")
    alipay_public_key = env("ALIPAY_PUBLIC_KEY")

    notify = CallbackServer(lambda request: (200, b"success"))
    alipay = client(private_key, alipay_public_key, notify.url + "/alipay/notify")

    # 1. Precreate (QR code). This SDK sends every parameter in the query string of a GET.
    paid = unique_no("PYP")
    res = alipay.api_alipay_trade_precreate(
        subject="interop 互通测试 order", out_trade_no=paid, total_amount="2.50"
    )
    check(res.get("code") == "10000", "precreate: code 10000 expected", res)
    check(res.get("out_trade_no") == paid, "precreate: out_trade_no not echoed", res)
    check(res.get("qr_code"), "precreate: qr_code missing", res)
    step(f"precreate {paid} -> qr_code {res['qr_code']}")

    # 2. Query before payment: WAIT_BUYER_PAY (scanned) or ACQ.TRADE_NOT_EXIST (not yet) are both Alipay's.
    res = alipay.api_alipay_trade_query(out_trade_no=paid)
    check(
        (res.get("code") == "10000" and res.get("trade_status") == "WAIT_BUYER_PAY")
        or (res.get("code") == "40004" and res.get("sub_code") == "ACQ.TRADE_NOT_EXIST"),
        "query before payment: WAIT_BUYER_PAY or ACQ.TRADE_NOT_EXIST expected",
        res,
    )
    step(f"query before payment -> {res.get('trade_status') or res.get('sub_code')}")

    # 3. The buyer pays (simulator control API), then query again.
    control = f"{sim}/sim/alipay/trades/{quote(paid)}/pay?app_id={quote(app_id)}"
    with urllib.request.urlopen(urllib.request.Request(control, data=b"", method="POST"), timeout=15) as r:
        check(200 <= r.status < 300, "control API pay failed", r.status)
    res = alipay.api_alipay_trade_query(out_trade_no=paid)
    check(res.get("code") == "10000", "query after payment: code 10000 expected", res)
    check(res.get("trade_status") == "TRADE_SUCCESS", "query after payment: TRADE_SUCCESS expected", res)
    check(res.get("total_amount") == "2.50", "query after payment: total_amount 2.50 expected", res)
    check(res.get("trade_no"), "query after payment: trade_no missing", res)
    step(f"pay {paid} -> TRADE_SUCCESS ({res['trade_no']})")

    # 4. The asynchronous notification, verified with the SDK's verify() (sign and sign_type excluded).
    request = notify.next(15)
    check(request["method"] == "POST", "notification: POST expected", request["method"])
    data = dict(parse_qsl(request["body"].decode("utf-8"), keep_blank_values=True))
    signature = data.pop("sign", None)
    check(signature, "notification: sign missing", data)
    check(alipay.verify(dict(data), signature), "notification: signature does not verify", data)
    check(
        data.get("out_trade_no") == paid and data.get("trade_status") == "TRADE_SUCCESS",
        "notification: fields do not match the trade",
        data,
    )
    notify.close()
    step("trade_status_sync notification verified")

    # 5. Verification really is on: trusting another Alipay key, the SDK must refuse the answer.
    stranger = RSA.generate(2048)
    suspicious = client(private_key, stranger.publickey().export_key().decode())
    try:
        suspicious.api_alipay_trade_query(out_trade_no=paid)
        fail("an SDK holding the wrong Alipay public key accepted the response")
    except AliPayValidationError:
        pass
    step("response signed by an unknown key is rejected")

    print("python-alipay-sdk interop: OK", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    try:
        main()
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001 - any failure is reported with its traceback
        fail("unexpected error:\n" + traceback.format_exc())
    sys.exit(0)
