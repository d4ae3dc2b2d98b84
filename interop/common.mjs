// Helpers shared by the Node interop scripts. Driven by crates/paygate/tests/interop_*.rs;
// every setting comes from the environment, nothing secret lives in this folder.
import http from 'node:http';
import { randomBytes } from 'node:crypto';

/** The value of a required environment variable, or exit with a clear message. */
export function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    fail(`environment variable ${name} is not set`);
  }
  return value;
}

/** Base URL of the simulator without a trailing slash, e.g. `http://127.0.0.1:4242`. */
export function simUrl() {
  return env('SIM_URL').replace(/\/+$/, '');
}

/** A fresh out_trade_no-style identifier: prefix + time + random, [0-9A-Za-z] only, <= 32 chars. */
export function uniqueNo(prefix) {
  return `${prefix}${Date.now()}${randomBytes(4).toString('hex')}`.slice(0, 32);
}

export function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

export function check(condition, message, detail) {
  if (!condition) {
    fail(detail === undefined ? message : `${message}: ${JSON.stringify(detail)}`);
  }
}

export function step(message) {
  console.log(`ok - ${message}`);
}

/** POST to the simulator's control API (plain fetch, no SDK involved). */
export async function control(path) {
  const url = `${simUrl()}${path}`;
  const res = await fetch(url, { method: 'POST' });
  const text = await res.text();
  if (!res.ok) {
    fail(`control API POST ${path} answered ${res.status}: ${text}`);
  }
  return text;
}

/**
 * A one-shot HTTP listener on 127.0.0.1 that records every request (method, headers, raw body)
 * and answers with `reply(req)` ({status, body}). `next(timeoutMs)` resolves with the next
 * request received, or rejects after the timeout.
 */
export async function callbackServer(reply) {
  const received = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const { status, body, contentType } = reply(entry);
      res.writeHead(status, { 'Content-Type': contentType ?? 'text/plain' });
      res.end(body);
      const waiter = waiters.shift();
      if (waiter) { waiter(entry); } else { received.push(entry); }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    next(timeoutMs) {
      if (received.length > 0) { return Promise.resolve(received.shift()); }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no callback within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((entry) => { clearTimeout(timer); resolve(entry); });
      });
    },
    close() { server.closeAllConnections?.(); server.close(); },
  };
}

/** Run `main`, turning any uncaught error into a FAIL line and exit status 1. */
export function run(main) {
  main().then(
    () => process.exit(0),
    (err) => fail(err && err.stack ? err.stack : String(err)),
  );
}
