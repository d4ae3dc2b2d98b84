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
//   userAgent      the browser's User-Agent (Chromium's own by default): which app the page is in
//   initScript     JavaScript run in every document before its own scripts (a stand-in for what
//                  an app injects, such as WeChat's WeixinJSBridge)
//   steps          what the payer does next, in order, once the above is done; each step's
//                  findings are listed in `steps` (with the step's `name`, if it has one):
//     {waitForUrl: prefix, within}   wait until the browser is on a page whose URL starts with
//                                    prefix, loaded (redirects and form posts followed, whatever
//                                    the origin) → {ms, url} or {error, url}
//     {click: testid, nth}           click the element with this data-testid (the nth, from 0,
//                                    when there are several)
//     {clickSelector: css}           click the first element matching a CSS selector
//     {mark: true}                   set a marker on `window`: a reload or navigation loses it
//     {awaitStatus, within}          wait for the page's data-status (3000 ms by default)
//                                    → {ms, markerKept, page} or {error, markerKept, page}
//     {waitFor: expression, within}  wait until a JavaScript expression is truthy → {ms} or {error}
//     {look: true, evaluate}         what the page shows now (see readPage), and the JSON value
//                                    of `evaluate` (an expression), if given, as `evaluated`
//     {pause: true, evaluate}        print `{"paused": name, "page": <look>}` as a line of its own
//                                    and wait for a line on stdin: "look" prints the page again
//                                    (and waits again), anything else goes on. The test acts
//                                    meanwhile (pays upstream, checks what the page was handed)
//     {qrScreenshots: [path…]}       save each `qr` element's PNG, in page order, and decode
//                                    them → {qr: [text or null…]}
//     {screenshot: path}             a full-page PNG
//     {wait: ms}                     let time pass
//
// Every page the browser goes through is watched: script errors, console errors, failed answers,
// requests (whatever their origin: the test says which are allowed) and CSP violations (reported
// from each document as it happens, so a page left behind counts too).
//
// Environment: CHROMIUM (default /usr/bin/chromium).

import { launch } from "./launch.mjs";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { createInterface } from "node:readline";

const plan = JSON.parse(process.argv[2] ?? "{}");
// Lines from the test, read once a step pauses (declared before the run, which uses it).
let stdinLines = null;
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

const browser = await launch();
try {
  const context = await browser.newContext({
    viewport: plan.viewport ?? { width: 1280, height: 800 },
    javaScriptEnabled: plan.javaScript !== false,
    // The page picks Chinese unless asked (?lang=en) or told by Accept-Language; fix the latter.
    locale: "zh-CN",
    ...(plan.userAgent ? { userAgent: plan.userAgent } : {}),
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
  // violation of that CSP (an inline style or script whose hash does not match, a fetch elsewhere,
  // a form posted elsewhere) as it happens, from every document the browser goes through.
  await context.exposeBinding("__reportCspViolation", (_source, text) => {
    found.cspViolations.push(text);
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__reportCspViolation(`${e.violatedDirective} ${e.blockedURI} (on ${location.href})`);
    });
  });
  if (plan.initScript) await context.addInitScript({ content: plan.initScript });

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
  if (plan.steps) {
    found.steps = [];
    for (const step of plan.steps) {
      const result = await runStep(page, step);
      found.steps.push(step.name ? { name: step.name, ...result } : result);
    }
  }
  if (plan.afterScreenshot) await page.screenshot({ path: plan.afterScreenshot, fullPage: true });
  if (plan.awaitUrl) {
    found.returned = await page
      .waitForURL((u) => u.href.startsWith(plan.awaitUrl), { timeout: 10000 })
      .then(() => true, () => false);
  }
  found.finalUrl = page.url();
  await context.close();
} finally {
  await browser.close();
  if (stdinLines) stdinLines.close();
}
console.log(JSON.stringify(found));

/** One of the plan's `steps`; what it found. */
async function runStep(page, step) {
  const since = Date.now();
  const ms = () => Date.now() - since;
  const error = (e) => e.message.split("\n")[0];
  if (step.waitForUrl !== undefined) {
    return page
      .waitForURL((u) => u.href.startsWith(step.waitForUrl), { timeout: step.within ?? 10000, waitUntil: "load" })
      .then(() => ({ ms: ms(), url: page.url() }), (e) => ({ error: error(e), url: page.url() }));
  }
  if (step.click !== undefined) {
    await page.getByTestId(step.click).nth(step.nth ?? 0).click();
    return { clicked: step.click };
  }
  if (step.clickSelector !== undefined) {
    await page.locator(step.clickSelector).first().click();
    return { clicked: step.clickSelector };
  }
  if (step.mark) {
    await page.evaluate(() => { window.__stepMarker = true; });
    return { marked: true };
  }
  if (step.awaitStatus !== undefined) {
    const outcome = await page
      .waitForSelector(`[data-testid=status][data-status=${step.awaitStatus}]`, { timeout: step.within ?? 3000 })
      .then(() => ({ ms: ms() }), (e) => ({ error: error(e) }));
    const markerKept = await page.evaluate(() => window.__stepMarker === true).catch(() => false);
    return { ...outcome, markerKept, page: await readPage(page) };
  }
  if (step.waitFor !== undefined) {
    while (!(await valueOf(page, step.waitFor).catch(() => false))) {
      if (ms() > (step.within ?? 5000)) return { error: `timeout: ${step.waitFor}` };
      await page.waitForTimeout(50);
    }
    return { ms: ms() };
  }
  if (step.look) return look(page, step);
  if (step.pause) {
    for (;;) {
      console.log(JSON.stringify({ paused: step.name ?? true, page: await look(page, step) }));
      const line = await nextLine();
      if (line === null || line.trim() !== "look") break;
    }
    return { resumed: ms() };
  }
  if (step.qrScreenshots) {
    const codes = page.getByTestId("qr");
    const count = await codes.count();
    const qr = [];
    for (let i = 0; i < count; i++) {
      const path = step.qrScreenshots[i];
      qr.push(decode(await codes.nth(i).screenshot(path ? { path } : {})));
    }
    return { qr };
  }
  if (step.screenshot) {
    await page.screenshot({ path: step.screenshot, fullPage: true });
    return { screenshot: step.screenshot };
  }
  if (step.wait !== undefined) {
    await page.waitForTimeout(step.wait);
    return { waited: step.wait };
  }
  throw new Error(`unknown step ${JSON.stringify(step)}`);
}

/** The page as `readPage` sees it, with the value of the step's `evaluate` expression. */
async function look(page, step) {
  const seen = await readPage(page);
  if (step.evaluate !== undefined) seen.evaluated = await valueOf(page, step.evaluate);
  return seen;
}

/** The next line on stdin, null once it is closed (read only when a step pauses). */
function nextLine() {
  if (!stdinLines) {
    stdinLines = createInterface({ input: process.stdin });
    stdinLines.iterator = stdinLines[Symbol.asyncIterator]();
  }
  return stdinLines.iterator.next().then((r) => (r.done ? null : r.value));
}

/** The JSON value of a JavaScript expression in the page (evaluated by the browser's debugger
 * protocol, which the page's CSP does not stop, as it does not stop the init script). */
async function valueOf(page, expression) {
  return page.evaluate(
    `(() => { const v = (${expression}); return v === undefined ? null : JSON.parse(JSON.stringify(v)); })()`,
  );
}

/** What the page shows: its language, the hooks' texts, the status, whether it overflows. A page
 * that sends itself on (an auto-submitting form) is read once the next one has loaded. */
async function readPage(page) {
  for (let tries = 1; ; tries++) {
    try {
      return await readPageOnce(page);
    } catch (e) {
      if (tries >= 5 || !/context was destroyed|navigat/i.test(e.message)) throw e;
      await page.waitForLoadState("load").catch(() => {});
    }
  }
}

async function readPageOnce(page) {
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
      // Hooks that appear more than once: a QR code and a simulate button per method, a link
      // per app.
      qrCount: document.querySelectorAll("[data-testid=qr]").length,
      // Seen without scrolling: wholly inside the window as it is now.
      qrInView: Array.from(document.querySelectorAll("[data-testid=qr]")).filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
      }).length,
      simulateCount: document.querySelectorAll("[data-testid=simulate-pay]").length,
      payLinks: Array.from(document.querySelectorAll("[data-testid=pay-link]"), (a) => ({
        text: a.textContent.trim(),
        href: a.href,
      })),
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
