"""wechatpayv3 (PyPI) against `paygate sim`, with the SDK's own response verification.

Environment (set by crates/paygate/tests/interop_wechatpay.rs):
  SIM_URL                     http://127.0.0.1:PORT of a running `paygate sim`
  WECHATPAY_MCHID, WECHATPAY_APPID, WECHATPAY_MCH_SERIAL, WECHATPAY_MCH_PRIVATE_KEY,
  WECHATPAY_APIV3_KEY         the merchant as registered with the simulator
  WECHATPAY_PLATFORM_ID       PUB_KEY_ID_... (public-key mode) or a platform certificate serial
  WECHATPAY_PLATFORM_PEM      the WeChat Pay public key (public-key mode only; in certificate mode
                              the SDK downloads and decrypts the certificate from /v3/certificates)

Prints `ok - ...` per step and, at the very end, `wechatpayv3 interop: OK`.
"""

import json
import os
import sys
import tempfile
import traceback
import urllib.request
from urllib.parse import quote

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from wechatpayv3 import WeChatPay, WeChatPayType

from interop_common import CallbackServer, check, env, fail, step, unique_no


def client(notify_url, cert_dir=None, public_key=None):
    """A WeChatPay client aimed at the simulator.

    Public-key mode when WECHATPAY_PLATFORM_ID is a PUB_KEY_ID_..., certificate mode otherwise.
    The SDK has no base-URL option: its gateway lives in `_core._gate_way`. In certificate mode
    the constructor already needs a certificate, before that attribute can be set, so it is
    given one through its supported `cert_dir` (a folder of `<serial>.pem` files).
    """
    platform_id = env("WECHATPAY_PLATFORM_ID")
    if platform_id.startswith("PUB_KEY_ID_"):
        keys = {"public_key": public_key or env("WECHATPAY_PLATFORM_PEM"), "public_key_id": platform_id}
    else:
        keys = {"cert_dir": cert_dir}
    wxpay = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=env("WECHATPAY_MCHID"),
        private_key=env("WECHATPAY_MCH_PRIVATE_KEY"),
        cert_serial_no=env("WECHATPAY_MCH_SERIAL"),
        appid=env("WECHATPAY_APPID"),
        apiv3_key=env("WECHATPAY_APIV3_KEY"),
        notify_url=notify_url,
        timeout=(5, 15),
        **keys,
    )
    wxpay._core._gate_way = env("SIM_URL").rstrip("/")
    return wxpay


def answer(what, result, expected_status):
    """wechatpayv3 returns (status, text); any other status is a failure with the body shown."""
    status, text = result
    check(status == expected_status, f"{what}: HTTP {expected_status} expected, got {status}", text)
    return json.loads(text) if text else None


def main():
    sim = env("SIM_URL").rstrip("/")
    mchid = env("WECHATPAY_MCHID")
    apiv3_key = env("WECHATPAY_APIV3_KEY")
    platform_id = env("WECHATPAY_PLATFORM_ID")
    public_key_mode = platform_id.startswith("PUB_KEY_ID_")

    notify = CallbackServer(lambda request: (204, b""))
    notify_url = notify.url + "/wechatpay/notify"
    with tempfile.TemporaryDirectory() as cert_dir:
        if not public_key_mode:
            with open(os.path.join(cert_dir, platform_id + ".pem"), "w", encoding="utf-8") as f:
                f.write(env("WECHATPAY_PLATFORM_PEM"))
        wxpay = client(notify_url, cert_dir=cert_dir)

        if not public_key_mode:
            # Download /v3/certificates again from the simulator and decrypt it (AEAD_AES_256_GCM
            # with the APIv3 key), as the SDK does when it meets an unknown Wechatpay-Serial.
            wxpay._core._update_certificates()
            serials = [format(c.serial_number, "X") for c in wxpay._core._certificates]
            check(
                any(s.lstrip("0") == platform_id.upper().lstrip("0") for s in serials),
                "GET /v3/certificates: the registered platform certificate was not served",
                serials,
            )
            step(f"/v3/certificates downloaded and decrypted: {serials}")

        # 1. Native order. The SDK signs json.dumps(data) (", " and ": " separators, \u escapes)
        #    and requests sends the same bytes.
        paid = unique_no("PYW")
        total = 250
        data = answer(
            "native order",
            wxpay.pay(description="interop 互通测试 order", out_trade_no=paid, amount={"total": total, "currency": "CNY"}),
            200,
        )
        check(data.get("code_url"), "native order: code_url missing", data)
        step(f"native order {paid} -> code_url {data['code_url']}")

        # 2. Query: not paid yet.
        data = answer("query", wxpay.query(out_trade_no=paid), 200)
        check(data.get("trade_state") == "NOTPAY", "query before payment: NOTPAY expected", data)
        step("query before payment -> NOTPAY")

        # 3. Another order, closed.
        closed = unique_no("PYC")
        answer("native order (to close)", wxpay.pay(description="interop order to close", out_trade_no=closed, amount={"total": 1}), 200)
        answer("close", wxpay.close(out_trade_no=closed), 204)
        data = answer("query closed order", wxpay.query(out_trade_no=closed), 200)
        check(data.get("trade_state") == "CLOSED", "query after close: CLOSED expected", data)
        step(f"close {closed} -> 204, then CLOSED")

        # 4. The payer pays (simulator control API), then query again.
        control = f"{sim}/sim/wechat/orders/{quote(paid)}/pay?mchid={quote(mchid)}"
        with urllib.request.urlopen(urllib.request.Request(control, data=b"", method="POST"), timeout=15) as r:
            check(200 <= r.status < 300, "control API pay failed", r.status)
        data = answer("query paid order", wxpay.query(out_trade_no=paid), 200)
        check(data.get("trade_state") == "SUCCESS", "query after payment: SUCCESS expected", data)
        transaction_id = data.get("transaction_id")
        check(transaction_id, "paid order: transaction_id missing", data)
        data = answer("query by transaction_id", wxpay.query(transaction_id=transaction_id), 200)
        check(data.get("out_trade_no") == paid, "query by transaction_id: wrong order", data)
        step(f"pay {paid} -> SUCCESS ({transaction_id})")

        # 5. The callback, verified and decrypted by the SDK's callback().
        request = notify.next(15)
        result = wxpay.callback(request["headers"], request["body"])
        check(result, "callback: the SDK could not verify or decrypt it", request["body"].decode("utf-8", "replace"))
        check(result.get("event_type") == "TRANSACTION.SUCCESS", "callback: TRANSACTION.SUCCESS expected", result)
        resource = result["resource"]
        check(
            resource.get("out_trade_no") == paid and resource.get("transaction_id") == transaction_id,
            "callback: decrypted resource does not match the order",
            resource,
        )
        notify.close()
        step("TRANSACTION.SUCCESS callback verified and decrypted")

        # 6. Full refund, then query it.
        refund_no = unique_no("PYR")
        data = answer(
            "refund",
            wxpay.refund(out_refund_no=refund_no, amount={"refund": total, "total": total, "currency": "CNY"}, out_trade_no=paid, reason="interop test"),
            200,
        )
        check(data.get("status") in ("SUCCESS", "PROCESSING"), "refund: SUCCESS or PROCESSING expected", data)
        data = answer("refund query", wxpay.query_refund(out_refund_no=refund_no), 200)
        check(data.get("status") in ("SUCCESS", "PROCESSING"), "refund query: SUCCESS or PROCESSING expected", data)
        step(f"refund {refund_no} -> {data['status']}")

        # 7. Verification really is on (public-key mode): trusting another key, the SDK refuses.
        if public_key_mode:
            stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
            pem = stranger.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
            suspicious = client(notify_url, public_key=pem)
            try:
                suspicious.query(out_trade_no=paid)
                fail("a client holding the wrong WeChat Pay public key accepted the response")
            except Exception as err:  # noqa: BLE001 - the SDK raises a bare Exception
                check("failed to verify the signature" in str(err), "wrong key: signature failure expected", str(err))
            step("response signed by an unknown key is rejected")

    print("wechatpayv3 interop: OK", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    try:
        main()
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001 - any failure is reported with its traceback
        fail("unexpected error:\n" + traceback.format_exc())
    sys.exit(0)
