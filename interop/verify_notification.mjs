// Verifies a paygate notification, as a site's Node.js backend would: the README's snippet plus a
// main for tests. Usage:
//   PAYGATE_SK=sk_... X_1PASS_TS=... X_1PASS_NONCE=... X_1PASS_SIGN=... \
//     node verify_notification.mjs < body.json
// Exit status 0 when the signature is valid, 1 when not. Node 16+ (base64url).
import crypto from 'node:crypto';

// ---- README snippet ----
// headers: the request's headers with lower-case names (Express/Koa/Fastify give them so);
// rawBody: the body exactly as received (a Buffer), before any JSON parsing.
function verifyNotification(sk, headers, rawBody) {
    const ts = headers['x-1pass-ts'];
    const nonce = headers['x-1pass-nonce'];
    const sign = headers['x-1pass-sign'];
    if (!ts || !nonce || !sign) return false;
    if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false; // stale or replayed
    const bodyHash = crypto.createHash('sha256').update(rawBody).digest('hex');
    const expected = crypto.createHmac('sha256', sk)
        .update(`${ts}\n${nonce}\n${bodyHash}`).digest('base64url');
    const a = Buffer.from(expected);
    const b = Buffer.from(sign);
    return a.length === b.length && crypto.timingSafeEqual(a, b);
}
// ---- end of snippet ----

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const rawBody = Buffer.concat(chunks);
const headers = {
    'x-1pass-ts': process.env.X_1PASS_TS,
    'x-1pass-nonce': process.env.X_1PASS_NONCE,
    'x-1pass-sign': process.env.X_1PASS_SIGN,
};
const ok = verifyNotification(process.env.PAYGATE_SK ?? '', headers, rawBody);
if (ok) {
    // A valid notification: dedupe on event_id, then answer 2xx.
    const event = JSON.parse(rawBody.toString('utf8'));
    console.log(`valid ${event.event_id} ${event.event_type} ${event.out_trade_no}`);
}
process.exit(ok ? 0 : 1);
