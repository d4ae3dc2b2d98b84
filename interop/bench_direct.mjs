// The baseline beside `paygate bench`'s order creation: the same WeChat Pay Native order created
// directly with wechatpay-axios-plugin against the same simulator, with no paygate in between.
// The SDK signs each request (RSA-2048) and verifies each answer, as paygate does.
//
// Environment (set by `paygate bench`):
//   SIM_URL            http://127.0.0.1:PORT of the simulator paygate's sandbox runs
//   BENCH_CONCURRENCY  requests in flight at once (each on its own keep-alive connection)
//   BENCH_DURATION_MS  how long to keep creating orders
//   BENCH_MAX          stop after this many orders even if time is left
//
// Registers a merchant of its own with the simulator (a fresh RSA key), warms up, then prints one
// JSON line: {"requests","errors","elapsed_ms","latencies_ms":[…],"first_error"}.
import http from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import wechatpay from 'wechatpay-axios-plugin';
import { env, simUrl, fail } from './common.mjs';

const { Wechatpay } = wechatpay;

const concurrency = Number(env('BENCH_CONCURRENCY'));
const durationMs = Number(env('BENCH_DURATION_MS'));
const max = Number(env('BENCH_MAX'));

async function register(mchid, appid, serial, publicKeyPem, apiv3Key) {
  const res = await fetch(`${simUrl()}/sim/wechat/merchants`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      mchid, serial_no: serial, merchant_public_key_pem: publicKeyPem, apiv3_key: apiv3Key, appids: [appid],
    }),
  });
  const text = await res.text();
  if (!res.ok) {
    fail(`registering the benchmark's merchant answered ${res.status}: ${text}`);
  }
  return JSON.parse(text);
}

const mchid = `19${Date.now()}`.slice(0, 10);
const appid = 'wxbenchdirect0001';
const serial = randomBytes(20).toString('hex').toUpperCase();
const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const platform = await register(mchid, appid, serial, publicKey, randomBytes(16).toString('hex'));

const wxpay = new Wechatpay({
  mchid,
  serial,
  privateKey,
  certs: { [platform.public_key_id]: platform.public_key_pem },
  baseURL: `${simUrl()}/`,
  headers: { 'Wechatpay-Serial': platform.public_key_id },
  proxy: false,
  // Keep-alive connections, as paygate's own client keeps them.
  httpAgent: new http.Agent({ keepAlive: true, maxSockets: concurrency }),
});

let seq = 0;
function create() {
  seq += 1;
  return wxpay.v3.pay.transactions.native.post({
    appid,
    mchid,
    description: 'VIP月卡',
    out_trade_no: `BD${mchid}${String(seq).padStart(10, '0')}`,
    notify_url: 'https://merchant.example/notify',
    amount: { total: 2990, currency: 'CNY' },
  });
}

// Warm-up: connections opened, the JIT and the SDK's key parsing done.
for (let i = 0; i < concurrency; i += 1) {
  await create();
}

const latencies = [];
let errors = 0;
let firstError = null;
const started = performance.now();
const deadline = started + durationMs;
async function worker() {
  while (performance.now() < deadline && latencies.length + errors < max) {
    const t = performance.now();
    try {
      const res = await create();
      if (res.status !== 200 || typeof res.data.code_url !== 'string') {
        throw new Error(`HTTP ${res.status} ${JSON.stringify(res.data)}`);
      }
      latencies.push(performance.now() - t);
    } catch (err) {
      errors += 1;
      firstError ??= `${err.code ?? ''} ${err.message}`;
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const elapsed = performance.now() - started;
const report = JSON.stringify({
  requests: latencies.length + errors, errors, elapsed_ms: elapsed, latencies_ms: latencies, first_error: firstError,
});
// Writes to a pipe are asynchronous: exiting before this one is flushed would cut the report at
// 64 KiB (which thousands of latencies exceed).
process.stdout.write(`${report}\n`, () => process.exit(0));
