// Opens paygate's hosted checkout page in headless Chromium as a payer would, optionally acts on
// it, and prints one JSON line of what it found. Run by crates/paygate/tests/checkout_browser.rs;
// the test makes the assertions, this script only looks.
//
//   node checkout.mjs '<plan as JSON>'
//
// The plan:
//   url            the page to open (required)
//   viewport       {width, height}; 1280×800 by default
//   javaScript     false opens the page with JavaScript disabled
//   screenshot     where to save a full-page PNG
//   qrScreenshot   where to save the `qr` element's PNG; it is also decoded (what a phone scans)
//   countdownGap   ms between two reads of the countdown (reported as countdown: [first, second])
//   click          a data-testid to click once the page is loaded; a marker is set on `window`
//                  first, so that a reload or navigation before the awaited status shows up
//   awaitStatus    a data-status to wait for (after the click, if any) ...
//   within         ... for at most this many ms (3000 by default)
//   refreshUntil   without JavaScript: the click posts the form and paygate answers with the page
//                  again; the payer then follows the `refresh` link until the page shows this
//                  status (within `within` ms); `landedOn` is where the form's answer led
//   awaitUrl       a URL prefix the browser must reach afterwards (the site's return page)
//   afterScreenshot where to save a full-page PNG once awaitStatus was seen
//
// Environment: CHROMIUM (default /usr/bin/chromium).

import { chromium } from "playwright-core";
import jsQR from "jsqr";
import { PNG } from "pngjs";

const plan = JSON.parse(process.argv[2] ?? "{}");
if (!plan.url) {
  console.error("usage: node checkout.mjs '{\"url\": \"http://…\"}'");
  process.exit(2);
}

const found = {
  status: null,
  finalUrl: null,
  requests: [],
  // Answers of 400 and above, for telling the browser's "Failed to load resource" console lines
  // apart from the page's own errors.
  failedResponses: [],
  pageErrors: [],
  consoleErrors: [],
  cspViolations: [],
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // Root in a container: Chromium's sandbox needs user namespaces it may not have.
  args: ["--no-sandbox"],
});
try {
  const context = await browser.newContext({
    viewport: plan.viewport ?? { width: 1280, height: 800 },
    javaScriptEnabled: plan.javaScript !== false,
    // The page picks Chinese unless asked (?lang=en) or told by Accept-Language; fix the latter.
    locale: "zh-CN",
  });
  const page = await context.newPage();
  page.on("request", (r) => found.requests.push({ method: r.method(), url: r.url() }));
  page.on("response", (r) => {
    if (r.status() >= 400) found.failedResponses.push({ status: r.status(), url: r.url() });
  });
  page.on("pageerror", (e) => found.pageErrors.push(String(e && e.stack ? e.stack : e)));
  page.on("console", (m) => {
    if (m.type() === "error") found.consoleErrors.push(m.text());
  });
  // Injected by the browser itself, so the page's CSP does not apply to it: it reports every
  // violation of that CSP (an inline style or script whose hash does not match, a fetch elsewhere).
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window.__cspViolations = window.__cspViolations || []).push(
        `${e.violatedDirective} ${e.blockedURI}`,
      );
    });
  });

  const response = await page.goto(plan.url, { waitUntil: "load" });
  found.status = response ? response.status() : null;
  Object.assign(found, await readPage(page));

  if (plan.countdownGap) {
    const first = found.testids.countdown;
    await page.waitForTimeout(plan.countdownGap);
    found.countdown = [first, await text(page, "countdown")];
  }
  if (plan.qrScreenshot) {
    const png = await page.getByTestId("qr").screenshot({ path: plan.qrScreenshot });
    found.qr = decode(png);
  }
  if (plan.screenshot) await page.screenshot({ path: plan.screenshot, fullPage: true });

  if (plan.click && plan.refreshUntil) {
    const since = Date.now();
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.getByTestId(plan.click).click()]);
    found.landedOn = page.url();
    while ((await readPage(page)).dataStatus !== plan.refreshUntil && Date.now() - since < (plan.within ?? 3000)) {
      await page.waitForTimeout(300);
      await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.getByTestId("refresh").click()]);
    }
    found.after = await readPage(page);
    found.awaited = found.after.dataStatus === plan.refreshUntil ? { ms: Date.now() - since } : { error: "timeout" };
  } else if (plan.click) {
    await page.evaluate(() => { window.__beforeClick = true; });
    const clicked = Date.now();
    await page.getByTestId(plan.click).click();
    if (plan.awaitStatus) {
      found.awaited = await page
        .waitForFunction(
          (want) => {
            const el = document.querySelector("[data-testid=status]");
            // Only on the page the click was made on: a reload would have lost the marker.
            return window.__beforeClick === true && el && el.dataset.status === want;
          },
          plan.awaitStatus,
          { timeout: plan.within ?? 3000 },
        )
        .then(() => ({ ms: Date.now() - clicked }), (e) => ({ error: e.message.split("\n")[0] }));
      found.markerKept = await page.evaluate(() => window.__beforeClick === true).catch(() => false);
      found.after = await readPage(page);
    }
  } else if (plan.awaitStatus) {
    const since = Date.now();
    found.awaited = await page
      .waitForSelector(`[data-testid=status][data-status=${plan.awaitStatus}]`, {
        timeout: plan.within ?? 3000,
      })
      .then(() => ({ ms: Date.now() - since }), (e) => ({ error: e.message.split("\n")[0] }));
    found.after = await readPage(page);
  }
  if (plan.afterScreenshot) await page.screenshot({ path: plan.afterScreenshot, fullPage: true });
  // Read before leaving for the return page, whose document starts a list of its own.
  found.cspViolations = await page.evaluate(() => window.__cspViolations || []).catch(() => []);
  if (plan.awaitUrl) {
    found.returned = await page
      .waitForURL((u) => u.href.startsWith(plan.awaitUrl), { timeout: 10000 })
      .then(() => true, () => false);
  }
  found.finalUrl = page.url();
  await context.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(found));

/** What the page shows: its language, the hooks' texts, the status, whether it overflows. */
async function readPage(page) {
  return page.evaluate(() => {
    const ids = {};
    for (const el of document.querySelectorAll("[data-testid]")) {
      ids[el.dataset.testid] = el.textContent.trim();
    }
    const status = document.querySelector("[data-testid=status]");
    const qr = document.querySelector("[data-testid=qr] svg");
    const html = document.documentElement;
    const visible = (id) => {
      const el = document.querySelector(`[data-testid=${id}]`);
      return !!el && el.getClientRects().length > 0;
    };
    return {
      lang: html.lang,
      title: document.title,
      testids: ids,
      dataStatus: status ? status.dataset.status : null,
      qrSvg: !!qr,
      qrVisible: visible("qr"),
      simulateVisible: visible("simulate-pay"),
      bodyText: document.body ? document.body.innerText : "",
      // Wider than the window: the payer would have to scroll sideways.
      overflowX: html.scrollWidth > html.clientWidth,
      url: location.href,
    };
  });
}

async function text(page, id) {
  return (await page.getByTestId(id).textContent()).trim();
}

/** The QR code in a screenshot, read as a scanner would from the pixels; null if unreadable. */
function decode(buffer) {
  const png = PNG.sync.read(buffer);
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  return code ? code.data : null;
}
