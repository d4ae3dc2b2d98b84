// Acceptance 1 of issue 4: the Node.js example of seed 000 (1Pass WeChat Native payment), unchanged
// but for the host: https://1pass.top → paygate's default address. Replace ak_xxx / sk_xxx with a
// site's keys (`paygate site create`, or the demo site `paygate serve` prints on first start) and run
// `node seed000_example.mjs`. Node 18+ (global fetch).
//
// The seed mixes CommonJS (`require`) with top-level `await` (ES modules only); the two lines below
// give this module a `require`, so the seed's code runs as written.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);

// ---- seed 000, 代码示例(Node.js), verbatim but for the host ----
const crypto = require('crypto');

async function createPaymentOrder(ak, sk, orderData) {
    const ts = Math.floor(Date.now() / 1000).toString();
    const nonce = crypto.randomBytes(16).toString('hex');
    const body = JSON.stringify(orderData);

    // 签名方式与 /token 完全一致
    const bodyHash = crypto.createHash('sha256').update(body).digest('hex');
    const canonical = `${ts}\n${nonce}\nPOST\n/pay/wechat/native\n${bodyHash}`;
    const sign = crypto.createHmac('sha256', sk)
        .update(canonical).digest('base64url');

    const resp = await fetch('http://127.0.0.1:8080/pay/wechat/native', {
        method: 'POST',
        headers: {
            'Content-Type': 'application/json',
            'X-1Pass-AK': ak, 'X-1Pass-Ts': ts,
            'X-1Pass-Nonce': nonce, 'X-1Pass-Sign': sign,
        },
        body,
    });
    return await resp.json();
}

// 使用:
const result = await createPaymentOrder('ak_xxx', 'sk_xxx', {
    out_trade_no: 'order_' + Date.now(),
    description: 'VIP月卡',
    amount_total: 2990,
});
// 重定向用户到 result.checkout_url
// ---- end of the seed's code ----

// main: show what paygate answered, as one line of JSON.
console.log(JSON.stringify(result));
