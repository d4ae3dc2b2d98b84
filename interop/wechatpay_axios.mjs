// wechatpay-axios-plugin (npm) against `paygate sim`, its own response-signature check on.
//
// Environment (set by crates/paygate/tests/interop_wechatpay.rs):
//   SIM_URL                     http://127.0.0.1:PORT of a running `paygate sim`
//   WECHATPAY_MCHID             merchant id registered with the simulator
//   WECHATPAY_APPID             an appid bound to that merchant
//   WECHATPAY_MCH_SERIAL        serial number of the merchant API certificate
//   WECHATPAY_MCH_PRIVATE_KEY   merchant API private key (PEM)
//   WECHATPAY_APIV3_KEY         merchant APIv3 key (decrypts the payment callback)
//   WECHATPAY_PLATFORM_ID       what responses carry in Wechatpay-Serial: PUB_KEY_ID_… or a certificate serial
//   WECHATPAY_PLATFORM_PEM      WeChat Pay public key or platform certificate (PEM)
//
// Prints `ok - …` per step and, at the very end, `wechatpay-axios-plugin interop: OK`.
import { generateKeyPairSync } from 'node:crypto';
import wechatpay from 'wechatpay-axios-plugin';
import {
  env, simUrl, uniqueNo, check, step, control, callbackServer, run, fail,
} from './common.mjs';

const { Wechatpay, Rsa, Aes, Formatter } = wechatpay;

function describe(err) {
  const res = err.response;
  return `${err.code ?? ''} ${err.message}`
    + (res ? ` | HTTP ${res.status} headers=${JSON.stringify(res.headers)} body=${JSON.stringify(res.data)}` : '');
}

/** Await an SDK call; on failure exit with everything the SDK reported. */
async function call(what, promise) {
  try {
    return await promise;
  } catch (err) {
    return fail(`${what}: ${describe(err)}`);
  }
}

run(async () => {
  const mchid = env('WECHATPAY_MCHID');
  const appid = env('WECHATPAY_APPID');
  const apiv3Key = env('WECHATPAY_APIV3_KEY');
  const platformId = env('WECHATPAY_PLATFORM_ID');
  const platformPem = env('WECHATPAY_PLATFORM_PEM');
  const config = {
    mchid,
    serial: env('WECHATPAY_MCH_SERIAL'),
    privateKey: env('WECHATPAY_MCH_PRIVATE_KEY'),
    certs: { [platformId]: platformPem },
    baseURL: `${simUrl()}/`,
    // Never send loopback traffic through an HTTP(S)_PROXY from the environment.
    proxy: false,
  };
  // In public-key mode WeChat Pay asks clients to name the key they expect in Wechatpay-Serial.
  if (platformId.startsWith('PUB_KEY_ID_')) {
    config.headers = { 'Wechatpay-Serial': platformId };
  }
  const wxpay = new Wechatpay(config);

  // A receiver for the TRADE.SUCCESS callback; the simulator posts it after the payer pays.
  const notify = await callbackServer(() => ({ status: 204, body: '' }));
  const notifyUrl = `${notify.url}/wechatpay/notify`;

  // 1. Native order.
  const paid = uniqueNo('AXP');
  const total = 101;
  let res = await call('native order', wxpay.v3.pay.transactions.native.post({
    appid,
    mchid,
    description: 'interop 互通测试 order',
    out_trade_no: paid,
    notify_url: notifyUrl,
    amount: { total, currency: 'CNY' },
  }));
  check(res.status === 200, 'native order: HTTP 200 expected', res.status);
  check(typeof res.data.code_url === 'string' && res.data.code_url.length > 0, 'native order: code_url missing', res.data);
  step(`native order ${paid} -> code_url ${res.data.code_url}`);

  // 2. Query it by out_trade_no: not paid yet.
  res = await call('query by out_trade_no', wxpay.v3.pay.transactions.outTradeNo._out_trade_no_.get({
    out_trade_no: paid, params: { mchid },
  }));
  check(res.data.out_trade_no === paid, 'query: wrong out_trade_no', res.data);
  check(res.data.trade_state === 'NOTPAY', 'query before payment: trade_state NOTPAY expected', res.data);
  step('query before payment -> NOTPAY');

  // 3. Another order, closed.
  const closed = uniqueNo('AXC');
  res = await call('native order (to close)', wxpay.v3.pay.transactions.native.post({
    appid, mchid, description: 'interop order to close', out_trade_no: closed, notify_url: notifyUrl, amount: { total: 1 },
  }));
  check(typeof res.data.code_url === 'string', 'second native order: code_url missing', res.data);
  res = await call('close', wxpay.v3.pay.transactions.outTradeNo._out_trade_no_.close.post({ mchid }, { out_trade_no: closed }));
  check(res.status === 204, 'close: HTTP 204 expected', { status: res.status, data: res.data });
  res = await call('query closed order', wxpay.v3.pay.transactions.outTradeNo._out_trade_no_.get({
    out_trade_no: closed, params: { mchid },
  }));
  check(res.data.trade_state === 'CLOSED', 'query after close: trade_state CLOSED expected', res.data);
  step(`close ${closed} -> 204, then CLOSED`);

  // 4. The payer pays the first order (simulator control API, plain fetch).
  await control(`/sim/wechat/orders/${encodeURIComponent(paid)}/pay?mchid=${encodeURIComponent(mchid)}`);
  res = await call('query paid order', wxpay.v3.pay.transactions.outTradeNo._out_trade_no_.get({
    out_trade_no: paid, params: { mchid },
  }));
  check(res.data.trade_state === 'SUCCESS', 'query after payment: trade_state SUCCESS expected', res.data);
  check(typeof res.data.transaction_id === 'string' && res.data.transaction_id.length > 0, 'paid order: transaction_id missing', res.data);
  check(res.data.amount && res.data.amount.total === total, 'paid order: amount.total mismatch', res.data);
  const transactionId = res.data.transaction_id;
  res = await call('query by transaction_id', wxpay.v3.pay.transactions.id._transaction_id_.get({
    transaction_id: transactionId, params: { mchid },
  }));
  check(res.data.out_trade_no === paid && res.data.trade_state === 'SUCCESS', 'query by transaction_id: wrong order', res.data);
  step(`pay ${paid} -> SUCCESS (${transactionId})`);

  // 5. The payment callback: signature checked with the SDK's Rsa/Formatter, resource decrypted with its AesGcm.
  let cb;
  try {
    cb = await notify.next(15000);
  } catch (err) {
    fail(`payment callback: ${err.message} (notify_url ${notifyUrl})`);
  }
  const h = cb.headers;
  check(h['wechatpay-signature'] && h['wechatpay-timestamp'] && h['wechatpay-nonce'] && h['wechatpay-serial'],
    'callback: Wechatpay-* headers missing', h);
  check(h['wechatpay-serial'] === platformId, 'callback: unexpected Wechatpay-Serial', h['wechatpay-serial']);
  check(Rsa.verify(Formatter.response(h['wechatpay-timestamp'], h['wechatpay-nonce'], cb.body), h['wechatpay-signature'], Rsa.from(platformPem, Rsa.KEY_TYPE_PUBLIC)),
    'callback: signature does not verify', { headers: h, body: cb.body });
  const envelope = JSON.parse(cb.body);
  check(envelope.event_type === 'TRANSACTION.SUCCESS', 'callback: event_type TRANSACTION.SUCCESS expected', envelope);
  const { ciphertext, nonce, associated_data: aad } = envelope.resource;
  const resource = JSON.parse(Aes.AesGcm.decrypt(ciphertext, apiv3Key, nonce, aad ?? ''));
  check(resource.out_trade_no === paid && resource.trade_state === 'SUCCESS' && resource.transaction_id === transactionId,
    'callback: decrypted resource does not match the order', resource);
  notify.close();
  step('TRANSACTION.SUCCESS callback verified and decrypted');

  // 6. Refund it in full, then query the refund.
  const refundNo = uniqueNo('AXR');
  res = await call('refund', wxpay.v3.refund.domestic.refunds.post({
    out_trade_no: paid,
    out_refund_no: refundNo,
    reason: 'interop test',
    amount: { refund: total, total, currency: 'CNY' },
  }));
  check(['SUCCESS', 'PROCESSING'].includes(res.data.status), 'refund: status SUCCESS or PROCESSING expected', res.data);
  check(res.data.out_refund_no === refundNo && res.data.amount && res.data.amount.refund === total, 'refund: wrong refund echoed', res.data);
  res = await call('refund query', wxpay.v3.refund.domestic.refunds._out_refund_no_.get({ out_refund_no: refundNo }));
  check(['SUCCESS', 'PROCESSING'].includes(res.data.status), 'refund query: status SUCCESS or PROCESSING expected', res.data);
  step(`refund ${refundNo} -> ${res.data.status}`);

  // 7. Verification really is on: a client trusting another key must refuse the simulator's answer.
  const { publicKey: stranger } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const suspicious = new Wechatpay({ ...config, certs: { [platformId]: stranger.export({ type: 'spki', format: 'pem' }) } });
  try {
    await suspicious.v3.pay.transactions.outTradeNo._out_trade_no_.get({ out_trade_no: paid, params: { mchid } });
    fail('a client holding the wrong platform key accepted the response');
  } catch (err) {
    check(err.code === 'EV3_RES_HEADER_SIGNATURE_DIGEST', 'wrong platform key: EV3_RES_HEADER_SIGNATURE_DIGEST expected', describe(err));
  }
  step('response signed by an unknown key is rejected');

  console.log('wechatpay-axios-plugin interop: OK');
});
