// Drives paygate's console in headless Chromium as a person (or an attacker) would, and prints one
// JSON line of what it found. Run by crates/paygate/tests/console_browser.rs; the test makes the
// assertions, this script only acts and looks.
//
//   node console.mjs '<plan as JSON>'
//
// The plan:
//   base       paygate's URL, `http://127.0.0.1:PORT` (required); paths in steps are relative to it
//   viewport   {width, height}; 1280×800 by default
//   cookies    [{name, value}] set for `base` before the first step (a planted session cookie)
//   steps      in order; each step's findings are listed in `steps`:
//     {goto: path}                   open a page → {status, url}
//     {reload: true}                 reload the page, as a person pressing F5 → {status, url}
//     {fill: testid, value}          type into the element with this data-testid
//     {click: testid}                click it and wait for the page it leads to → {status, url}
//     {download: testid}             click it and wait for the file it downloads → {filename, text}
//     {setField: css, value}         change a (hidden) field's value, as a tampered form would
//     {removeField: css}             remove a field from its form, as a forged form would
//     {submit: css}                  submit the form matching css and wait → {status, url}
//     {look: [testid…]}              the page now: url, title, each testid's text (the first)
//                                    and how many there are, the main landmark's text
//     {count: css}                   how many elements match → {count}
//     {texts: testid}                the text of every element with this data-testid, in order
//     {setAttribute: css, name, value}
//                                    change an attribute (a form's action), as a tampered page would
//     {cookies: true}                the browser's cookies for the console, with their attributes
//     {crossSite: {action, fields, withCsrf}}
//                                    open a page on another origin (http://attacker.test/) whose
//                                    form posts `fields` to `base + action` by itself, as a
//                                    hostile site would; with `withCsrf`, also the current page's
//                                    CSRF token, as if it had leaked → {status, url, text}
//     {viewport: {width, height}}    resize the window
//     {screenshot: path}             a full-page PNG
//
// Every page is watched: script errors, console errors, failed answers, CSP violations, and any
// request to an origin other than `base` (the attacker's page excepted).
//
// Environment: CHROMIUM (default /usr/bin/chromium).

import { readFile } from "node:fs/promises";

import { launch } from "./launch.mjs";

const plan = JSON.parse(process.argv[2] ?? "{}");
if (!plan.base) {
  console.error("usage: node console.mjs '{\"base\": \"http://127.0.0.1:PORT\", \"steps\": […]}'");
  process.exit(2);
}
const ATTACKER = "http://attacker.test";

const found = {
  steps: [],
  pageErrors: [],
  consoleErrors: [],
  failedResponses: [],
  cspViolations: [],
  foreignRequests: [],
};

const browser = await launch();
try {
  const context = await browser.newContext({
    viewport: plan.viewport ?? { width: 1280, height: 800 },
    locale: "zh-CN",
  });
  if (plan.cookies) {
    await context.addCookies(plan.cookies.map((c) => ({ name: c.name, value: c.value, url: plan.base })));
  }
  const page = await context.newPage();
  const origin = new URL(plan.base).origin;
  page.on("request", (r) => {
    const o = new URL(r.url()).origin;
    if (o !== origin && o !== ATTACKER && !r.url().startsWith("data:")) found.foreignRequests.push(r.url());
  });
  page.on("response", (r) => {
    if (r.status() >= 400) found.failedResponses.push({ status: r.status(), url: r.url() });
  });
  page.on("pageerror", (e) => found.pageErrors.push(String(e && e.stack ? e.stack : e)));
  page.on("console", (m) => {
    if (m.type() === "error") found.consoleErrors.push(m.text());
  });
  await context.exposeBinding("__reportCspViolation", (_source, text) => {
    found.cspViolations.push(text);
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__reportCspViolation(`${e.violatedDirective} ${e.blockedURI} (on ${location.href})`);
    });
  });

  for (const [i, step] of (plan.steps ?? []).entries()) {
    try {
      found.steps.push(await run(page, context, step));
    } catch (e) {
      // What went wrong where, with the page it happened on; the findings so far still print.
      found.failedStep = { index: i, step, url: page.url(), error: String(e && e.message ? e.message : e) };
      break;
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(found));
if (found.failedStep) process.exit(1);

/// One step; what it found.
async function run(page, context, step) {
  if (step.goto !== undefined) {
    const response = await page.goto(plan.base + step.goto, { waitUntil: "load" });
    return { goto: step.goto, status: response ? response.status() : null, url: page.url() };
  }
  if (step.reload) {
    const response = await page.reload({ waitUntil: "load" });
    return { reload: true, status: response ? response.status() : null, url: page.url() };
  }
  if (step.fill !== undefined) {
    await page.getByTestId(step.fill).fill(step.value);
    return { fill: step.fill };
  }
  if (step.click !== undefined) {
    return { click: step.click, ...(await navigating(page, () => page.getByTestId(step.click).first().click())) };
  }
  if (step.download !== undefined) {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId(step.download).first().click(),
    ]);
    const failure = await download.failure();
    if (failure) throw new Error(`download ${step.download} failed: ${failure}`);
    const text = await readFile(await download.path(), "utf8");
    return { download: step.download, filename: download.suggestedFilename(), url: download.url(), text };
  }
  if (step.setField !== undefined) {
    await page.$eval(step.setField, (el, value) => { el.value = value; }, step.value);
    return { setField: step.setField };
  }
  if (step.removeField !== undefined) {
    await page.$eval(step.removeField, (el) => el.remove());
    return { removeField: step.removeField };
  }
  if (step.submit !== undefined) {
    return { submit: step.submit, ...(await navigating(page, () => page.$eval(step.submit, (f) => f.submit()))) };
  }
  if (step.look !== undefined) {
    const testids = {};
    for (const id of step.look) {
      const all = page.getByTestId(id);
      const count = await all.count();
      testids[id] = { count, text: count > 0 ? (await all.first().textContent()).trim() : null };
    }
    const main = page.locator("main");
    return {
      look: true,
      url: page.url(),
      title: await page.title(),
      lang: await page.getAttribute("html", "lang"),
      testids,
      main: (await main.count()) > 0 ? (await main.innerText()).trim() : null,
      fitsWidth: await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1),
    };
  }
  if (step.count !== undefined) {
    return { count: await page.locator(step.count).count(), css: step.count };
  }
  if (step.texts !== undefined) {
    const texts = (await page.getByTestId(step.texts).allTextContents()).map((t) => t.trim());
    return { texts, testid: step.texts };
  }
  if (step.setAttribute !== undefined) {
    await page.$eval(step.setAttribute, (el, [name, value]) => el.setAttribute(name, value), [step.name, step.value]);
    return { setAttribute: step.setAttribute };
  }
  if (step.cookies) {
    // Those the browser would send to the console's pages (Path=/console) and to its login form.
    const cookies = await context.cookies([plan.base + "/console", plan.base + "/console/login"]);
    return { cookies: cookies.map(({ name, value, path, httpOnly, secure, sameSite }) => ({ name, value, path, httpOnly, secure, sameSite })) };
  }
  if (step.crossSite !== undefined) {
    const { action, withCsrf } = step.crossSite;
    const fields = { ...(step.crossSite.fields ?? {}) };
    if (withCsrf) fields.csrf = await page.$eval('input[name="csrf"]', (el) => el.value);
    const inputs = Object.entries(fields)
      .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
      .join("");
    const html = `<!doctype html><title>A page elsewhere</title><form id="f" method="post" action="${esc(plan.base + action)}">${inputs}</form><script>document.getElementById("f").submit();</script>`;
    await page.route(`${ATTACKER}/**`, (route) => route.fulfill({ status: 200, contentType: "text/html", body: html }));
    const landed = page.waitForResponse((r) => r.url() === plan.base + action && r.request().method() === "POST");
    await page.goto(`${ATTACKER}/win-a-prize`, { waitUntil: "commit" });
    const response = await landed;
    await page.waitForLoadState("load");
    const text = (await page.locator("body").innerText()).trim();
    return { crossSite: action, status: response.status(), url: page.url(), text, sentCsrf: Boolean(withCsrf) };
  }
  if (step.viewport !== undefined) {
    await page.setViewportSize(step.viewport);
    return { viewport: step.viewport };
  }
  if (step.screenshot !== undefined) {
    await page.screenshot({ path: step.screenshot, fullPage: true });
    return { screenshot: step.screenshot };
  }
  throw new Error(`unknown step ${JSON.stringify(step)}`);
}

/// Runs `act` (a click or a submit) and waits for the page it leads to, following redirects.
async function navigating(page, act) {
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: "load" }), act()]);
  return { status: response ? response.status() : null, url: page.url() };
}

function esc(s) {
  return String(s).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}
