// What the phone-page scripts share: opening a phone on a daemon, the checks, axe-core,
// and running a script so that a failure leaves a screenshot of every page it opened.

import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

/** axe-core's script, pinned by package-lock.json, run in each page to audit it. */
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

/** Where screenshots go. */
export const shots = env("SHOTS");
export const TIMEOUT = 15000;
/** The phone's screen width in CSS pixels. */
export const WIDTH = 375;

export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** Text with every kind of space (ICU puts a narrow one before "PM") as a plain space. */
export const spaced = (text) => text.replace(/\s/g, " ");

/** Every phone page opened, to show what each looked like if a check fails. */
const opened = [];

/**
 * A phone's page on the daemon at `url` with `token`, once it is live and its first screen
 * drawn. `now` fixes the phone's clock (timers still run), to match a daemon started with
 * `TANDEM_NOW`.
 */
export async function phone(browser, url, token, {
  colorScheme = "light", width = WIDTH, locale = "en-US", timezoneId = undefined, now = undefined,
} = {}) {
  const context = await browser.newContext({
    viewport: { width, height: 812 },
    locale,
    timezoneId,
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    ignoreHTTPSErrors: true, // the daemon's self-signed device certificate
    colorScheme,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  if (now) await page.clock.setFixedTime(now);
  const errors = [];
  opened.push({ page, errors });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${new URL(r.url()).pathname}`); });
  await page.goto(`${url}/#token=${token}`);
  await page.locator("#live.on").waitFor();
  // The week's lists are filled once their requests return; until then what is below
  // them may still move, and a tap could land beside its target.
  await page.locator("#plans li").first().waitFor();
  await page.locator("#personal li").first().waitFor();
  check(!page.url().includes("token="), "the token is removed from the address bar");
  return { page, errors };
}

/** The next line the Rust test writes to our stdin, once it has done what we asked. */
export async function waitForLine() {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return line;
  }
}

/** Opens a view: a tab, or the header's Trash button. */
export async function tab(page, name) {
  await page.locator(`button[data-view="${name}"]`).tap();
}

/** Opens the editor from `item`'s Edit button, fills `values` (field name: text), saves. */
export async function edit(page, item, values) {
  await item.getByRole("button", { name: "Edit" }).tap();
  const editor = page.locator("#editor");
  await editor.waitFor();
  for (const [name, value] of Object.entries(values)) {
    await editor.locator(`[name="${name}"]`).fill(value);
  }
  await editor.getByRole("button", { name: "Save" }).tap();
  await editor.waitFor({ state: "hidden" });
}

/** A refusal the page was meant to get: checked, then no longer counted as an error. */
export function refused({ errors }, what) {
  const at = errors.indexOf(what);
  check(at >= 0, `the page was refused ${what}; its failures: ${errors.join("; ") || "none"}`);
  errors.splice(at, 1);
}

/**
 * Visible elements that do not fit the screen's width, or whose content is wider than
 * they are (a clipped label), as `tag "text"`. Fixed bars count too, unlike the page's
 * scroll width; the width is the phone's, since a mobile viewport widens to its content.
 */
export function clipped(page) {
  return page.evaluate((width) => {
    const out = [];
    for (const node of document.querySelectorAll("body *")) {
      if (!node.checkVisibility() || node.closest(".sr")) continue;
      const box = node.getBoundingClientRect();
      if (box.width === 0) continue;
      const outside = box.left < -1 || box.right > width + 1;
      const overflowing = node.tagName === "BUTTON" && node.scrollWidth > node.clientWidth + 1;
      if (outside || overflowing) out.push(`${node.tagName.toLowerCase()} "${node.textContent.trim().slice(0, 40)}"`);
    }
    return out;
  }, WIDTH);
}

/**
 * What axe-core finds on the page as it is now that is serious or critical (contrast
 * below WCAG AA, controls without a name, ...), as `rule: target` lines.
 */
export async function accessibility(page) {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => (await window.axe.run(document)).violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")} (${n.failureSummary.replace(/\s+/g, " ")})`)));
  return violations;
}

/**
 * Runs `script(browser)` in Debian's Chromium; if it fails, each page opened says what it
 * showed (its address, failed requests, script errors) and leaves a screenshot.
 */
export async function run(script) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    await script(browser);
    console.log("ok");
  } catch (failure) {
    for (const [n, { page, errors }] of opened.entries()) {
      console.error(`page ${n}: ${page.url()}; errors: ${errors.join("; ") || "none"}`);
      await page.screenshot({ path: `${shots}/failure-${n}.png`, fullPage: true }).catch(() => {});
    }
    throw failure;
  } finally {
    await browser.close();
  }
}
