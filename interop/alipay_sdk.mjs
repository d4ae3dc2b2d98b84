// alipay-sdk (official, npm) against `paygate sim`, response-signature check on (`validateSign: true`).
//
// Environment (set by crates/paygate/tests/interop_alipay.rs):
//   SIM_URL                  http://127.0.0.1:PORT of a running `paygate sim`
//   ALIPAY_APP_ID            app id registered with the simulator
//   ALIPAY_APP_PRIVATE_KEY   the app's private key (PKCS#8 PEM)
//   ALIPAY_PUBLIC_KEY        the simulator's Alipay public key for that app (PEM)
//
// Prints `ok - …` per step and, at the very end, `alipay-sdk interop: OK`.
import { generateKeyPairSync } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import {
  env, simUrl, uniqueNo, check, step, control, callbackServer, run, fail,
} from './common.mjs';

// The SDK strips the PEM armour line by line and breaks on a trailing newline: hand it trimmed text.
function sdk(privateKey, alipayPublicKey) {
  return new AlipaySdk({
    appId: env('ALIPAY_APP_ID'),
    privateKey: privateKey.trim(),
    keyType: 'PKCS8',
    alipayPublicKey: alipayPublicKey.trim(),
    gateway: `${simUrl()}/gateway.do`,
    endpoint: simUrl(),
    timeout: 15000,
  });
}

/** `exec` with the response signature checked; exits with the SDK's error on failure. */
async function exec(alipay, method, params) {
  try {
    return await alipay.exec(method, params, { validateSign: true });
  } catch (err) {
    return fail(`${method}: ${err.name}: ${err.message}${err.responseDataRaw ? ` | raw response: ${err.responseDataRaw}` : ''}`);
  }
}

function ok(method, res) {
  check(res && res.code === '10000', `${method}: code 10000 expected`, res);
}

run(async () => {
  const appPrivateKey = env('ALIPAY_APP_PRIVATE_KEY');
  const alipayPublicKey = env('ALIPAY_PUBLIC_KEY');
  const alipay = sdk(appPrivateKey, alipayPublicKey);

  // Receiver for the asynchronous trade_status_sync notification; Alipay wants the text `success`.
  const notify = await callbackServer(() => ({ status: 200, body: 'success' }));
  const notifyUrl = `${notify.url}/alipay/notify`;

  // 1. Precreate (QR code).
  const paid = uniqueNo('ASP');
  let res = await exec(alipay, 'alipay.trade.precreate', {
    notifyUrl,
    bizContent: { out_trade_no: paid, total_amount: '1.01', subject: 'interop 互通测试 order' },
  });
  ok('alipay.trade.precreate', res);
  check(res.outTradeNo === paid, 'precreate: out_trade_no not echoed', res);
  check(typeof res.qrCode === 'string' && res.qrCode.length > 0, 'precreate: qr_code missing', res);
  step(`precreate ${paid} -> qr_code ${res.qrCode}`);

  // 2. Query before payment. Alipay answers WAIT_BUYER_PAY once the code is scanned and
  //    ACQ.TRADE_NOT_EXIST before; either is a correct answer here.
  res = await exec(alipay, 'alipay.trade.query', { bizContent: { out_trade_no: paid } });
  check((res.code === '10000' && res.tradeStatus === 'WAIT_BUYER_PAY') || (res.code === '40004' && res.subCode === 'ACQ.TRADE_NOT_EXIST'),
    'query before payment: WAIT_BUYER_PAY or ACQ.TRADE_NOT_EXIST expected', res);
  step(`query before payment -> ${res.tradeStatus ?? res.subCode}`);

  // 3. Another trade, closed.
  const closed = uniqueNo('ASC');
  res = await exec(alipay, 'alipay.trade.precreate', {
    bizContent: { out_trade_no: closed, total_amount: '0.01', subject: 'interop trade to close' },
  });
  ok('alipay.trade.precreate (to close)', res);
  res = await exec(alipay, 'alipay.trade.close', { bizContent: { out_trade_no: closed } });
  ok('alipay.trade.close', res);
  check(res.outTradeNo === closed, 'close: out_trade_no not echoed', res);
  res = await exec(alipay, 'alipay.trade.query', { bizContent: { out_trade_no: closed } });
  ok('alipay.trade.query (closed)', res);
  check(res.tradeStatus === 'TRADE_CLOSED', 'query after close: TRADE_CLOSED expected', res);
  step(`close ${closed} -> TRADE_CLOSED`);

  // 4. The buyer pays the first trade (simulator control API, plain fetch).
  await control(`/sim/alipay/trades/${encodeURIComponent(paid)}/pay?app_id=${encodeURIComponent(env('ALIPAY_APP_ID'))}`);
  res = await exec(alipay, 'alipay.trade.query', { bizContent: { out_trade_no: paid } });
  ok('alipay.trade.query (paid)', res);
  check(res.tradeStatus === 'TRADE_SUCCESS', 'query after payment: TRADE_SUCCESS expected', res);
  check(res.totalAmount === '1.01', 'query after payment: total_amount 1.01 expected', res);
  check(typeof res.tradeNo === 'string' && res.tradeNo.length > 0, 'query after payment: trade_no missing', res);
  const tradeNo = res.tradeNo;
  step(`pay ${paid} -> TRADE_SUCCESS (${tradeNo})`);

  // 5. The trade_status_sync notification, checked with the SDK's own notification verifier.
  let cb;
  try {
    cb = await notify.next(15000);
  } catch (err) {
    fail(`notification: ${err.message} (notify_url ${notifyUrl})`);
  }
  check(cb.method === 'POST', 'notification: POST expected', cb.method);
  const form = Object.fromEntries(new URLSearchParams(cb.body));
  check(alipay.checkNotifySignV2(form), 'notification: signature does not verify (checkNotifySignV2)', form);
  check(form.out_trade_no === paid && form.trade_no === tradeNo && form.trade_status === 'TRADE_SUCCESS' && form.total_amount === '1.01',
    'notification: fields do not match the trade', form);
  notify.close();
  step('trade_status_sync notification verified');

  // 6. Full refund.
  res = await exec(alipay, 'alipay.trade.refund', {
    bizContent: { out_trade_no: paid, refund_amount: '1.01', out_request_no: uniqueNo('ASR'), refund_reason: 'interop test' },
  });
  ok('alipay.trade.refund', res);
  check(res.fundChange === 'Y', 'refund: fund_change Y expected', res);
  check(res.refundFee === '1.01', 'refund: refund_fee 1.01 expected', res);
  step(`refund ${paid} -> refund_fee ${res.refundFee}`);

  // 7. Verification really is on: trusting another Alipay key, the SDK must refuse the answer.
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const suspicious = sdk(appPrivateKey, stranger.publicKey.export({ type: 'spki', format: 'pem' }));
  try {
    await suspicious.exec('alipay.trade.query', { bizContent: { out_trade_no: paid } }, { validateSign: true });
    fail('an SDK holding the wrong Alipay public key accepted the response');
  } catch (err) {
    check(err.name === 'AlipayRequestError' && err.message.includes('验签失败'), 'wrong Alipay key: signature failure expected', `${err.name}: ${err.message}`);
  }
  step('response signed by an unknown key is rejected');

  // 8. And the simulator checks ours: a request signed with another app key gets 40002.
  const impostor = sdk(stranger.privateKey.export({ type: 'pkcs8', format: 'pem' }), alipayPublicKey);
  try {
    res = await impostor.exec('alipay.trade.query', { bizContent: { out_trade_no: paid } });
  } catch (err) {
    fail(`badly signed request: ${err.name}: ${err.message}`);
  }
  check(res.code === '40002' && res.subCode === 'isv.invalid-signature', 'badly signed request: 40002 isv.invalid-signature expected', res);
  step('request with a wrong signature -> 40002 isv.invalid-signature');

  console.log('alipay-sdk interop: OK');
});
