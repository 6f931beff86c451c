// Drives Debian's Chromium through the phone page of two real daemons, as two partners'
// phones would. Started by tests/tests/phone.rs, which owns the daemons and reads our
// output; every check here throws (exit 1) with what was expected.
//
// Env: A_URL/A_TOKEN (Alex's daemon and phone token), B_URL/B_TOKEN (Sam's), SHOTS (a
// directory for screenshots), CHROMIUM (the browser). Between the main part and the
// revocation part it prints `revoke-now` and waits for a line on stdin: the Rust test
// revokes Alex's phone with `tandem phone revoke` in between.

import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const [aUrl, aToken, bUrl, bToken, shots] = ["A_URL", "A_TOKEN", "B_URL", "B_TOKEN", "SHOTS"].map(env);
const TIMEOUT = 15000;

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** Every phone page opened, to show what each looked like if a check fails. */
const opened = [];

async function phone(browser, url, token, colorScheme = "light") {
  const context = await browser.newContext({
    viewport: { width: 375, height: 812 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    ignoreHTTPSErrors: true, // the daemon's self-signed device certificate
    colorScheme,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
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

async function tab(page, name) {
  await page.locator(`.tabs button[data-view="${name}"]`).tap();
}

async function waitForLine() {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return line;
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const sam = await phone(browser, bUrl, bToken);
  const alex = await phone(browser, aUrl, aToken);
  const a = alex.page;

  // Add a plan on Alex's phone; Sam's open page shows it live, without a reload.
  await a.locator("#plan-add summary").tap();
  await a.locator("#plan-form button[type=submit]").tap();
  check((await a.locator("#plan-error").textContent()).includes("Say what"), "empty plan refused");
  const tomorrow = new Date(Date.now() + 24 * 3600 * 1000);
  const day = tomorrow.toISOString().slice(0, 10);
  await a.fill("#plan-title", "Picnic by the river");
  await a.selectOption("#plan-kind", "date_night");
  await a.fill("#plan-start", `${day}T12:30`);
  await a.fill("#plan-hours", "2");
  await a.fill("#plan-place", "Parc de la Tête d'Or");
  await a.locator("#plan-form button[type=submit]").tap();
  await a.locator("#plans li", { hasText: "Picnic by the river" }).waitFor();
  const started = Date.now();
  const onSam = sam.page.locator("#plans li", { hasText: "Picnic by the river" });
  await onSam.waitFor();
  console.log(`plan-live-ms ${Date.now() - started}`);
  check((await onSam.textContent()).includes("12:30"), "Sam sees the start time");

  // Sam says yes on the phone; Alex's page shows the plan scheduled, live.
  await onSam.getByRole("button", { name: "Yes" }).tap();
  await a.locator("#plans li", { hasText: "Picnic by the river" }).locator(".status", { hasText: "scheduled" }).waitFor();

  // Balance shows together hours and whose turn it is.
  await a.locator("#balance-chart .bar.together").waitFor();
  check((await a.locator("#turn").textContent()).includes("Sam"), "Sam's turn to plan after Alex's plan");
  await a.screenshot({ path: `${shots}/week.png`, fullPage: true });

  // Alex's own personal time can be relabelled and deleted from the phone; Sam's phone
  // shows Sam no buttons for it.
  const block = () => a.locator("#personal li", { hasText: "You: bouldering" });
  await block().waitFor();
  a.once("dialog", (d) => d.accept("Climbing"));
  await block().getByRole("button", { name: "Edit" }).tap();
  await sam.page.locator("#personal li", { hasText: "Alex: Climbing" }).waitFor();
  check(await sam.page.locator("#personal li", { hasText: "Alex:" }).getByRole("button").count() === 0,
    "the partner cannot change someone else's personal time");
  a.once("dialog", (d) => d.accept());
  await block().getByRole("button", { name: "Delete" }).tap();
  await sam.page.locator("#personal li", { hasText: "No personal time" }).waitFor();

  // Idea jar: add, draw.
  await tab(a, "ideas");
  await a.fill("#idea-title", "Night swim");
  await a.locator("#idea-form button[type=submit]").tap();
  await a.locator("#ideas li", { hasText: "Night swim" }).waitFor();
  await a.locator("#draw").tap();
  await a.locator("#drawn", { hasText: "Night swim" }).waitFor();
  await a.screenshot({ path: `${shots}/ideas.png`, fullPage: true });

  // Edit an idea, then delete it (the page asks first); it goes to the trash.
  const swim = () => a.locator("#ideas li", { hasText: "Night swim" });
  a.once("dialog", (d) => d.accept("Night swim at the lake"));
  await swim().getByRole("button", { name: "Edit" }).tap();
  await a.locator("#ideas li", { hasText: "Night swim at the lake" }).waitFor();
  a.once("dialog", (d) => d.dismiss());
  await swim().getByRole("button", { name: "Delete" }).tap();
  await a.locator("#toast", { hasText: "Nothing deleted" }).waitFor();
  check(await swim().count() === 1, "a delete not confirmed keeps the idea");
  a.once("dialog", (d) => d.accept());
  await swim().getByRole("button", { name: "Delete" }).tap();
  await a.locator("#ideas li", { hasText: "The jar is empty" }).waitFor();
  await a.screenshot({ path: `${shots}/ideas-deleted.png`, fullPage: true });

  // Check-in: a rating outside 1-5 gets a message and nothing is sent.
  await tab(a, "checkin");
  await a.fill("#enough-alone", "7");
  await a.fill("#enough-together", "3");
  await a.locator("#checkin-form button[type=submit]").tap();
  const refusal = await a.locator("#checkin-error").textContent();
  check(refusal.includes("1 to 5"), `rating 7 refused with a message, got ${JSON.stringify(refusal)}`);
  await a.screenshot({ path: `${shots}/checkin-error.png`, fullPage: true });
  await a.fill("#enough-alone", "2");
  await a.fill("#went-well", "The picnic plan");
  await a.locator("#checkin-form button[type=submit]").tap();
  await a.locator("#checkin-state", { hasText: "You answered" }).waitFor();
  check((await a.locator("#checkin-error").textContent()) === "", "no error after a valid check-in");
  await a.screenshot({ path: `${shots}/checkin.png`, fullPage: true });

  // Private notes: on Alex's phone, never on Sam's.
  await tab(a, "notes");
  await a.fill("#note-body", "Surprise: the blue scarf");
  await a.locator("#note-form button[type=submit]").tap();
  await a.locator("#notes li", { hasText: "blue scarf" }).waitFor();
  await a.screenshot({ path: `${shots}/notes.png`, fullPage: true });
  const scarf = () => a.locator("#notes li", { hasText: "scarf" });
  a.once("dialog", (d) => d.accept("Surprise: the red scarf"));
  await scarf().getByRole("button", { name: "Edit" }).tap();
  await a.locator("#notes li", { hasText: "red scarf" }).waitFor();
  a.once("dialog", (d) => d.accept());
  await scarf().getByRole("button", { name: "Delete" }).tap();
  await a.locator("#notes li", { hasText: "No private notes yet" }).waitFor();
  await tab(sam.page, "notes");
  await sam.page.locator("#notes li").first().waitFor();
  check(!(await sam.page.locator("#notes").textContent()).includes("blue scarf"), "Sam's phone never shows Alex's note");

  // Dark mode, the week again.
  const dark = await phone(browser, aUrl, aToken, "dark");
  await dark.page.locator("#plans li", { hasText: "Picnic" }).waitFor();
  await dark.page.screenshot({ path: `${shots}/week-dark.png`, fullPage: true });
  const background = await dark.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(background === "rgb(21, 19, 20)", `dark background in dark mode, got ${background}`);

  // Nothing overflows a 375 px screen.
  for (const view of ["week", "ideas", "checkin", "notes"]) {
    await tab(a, view);
    const width = await a.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 375, `${view} fits 375 px (scroll width ${width})`);
  }
  check(alex.errors.length === 0 && sam.errors.length === 0 && dark.errors.length === 0,
    `no script errors: ${[...alex.errors, ...sam.errors, ...dark.errors].join("; ")}`);

  // Revocation: the open page falls back to the login screen, and the link stops working.
  console.log("revoke-now");
  await waitForLine();
  await a.locator("#login").waitFor({ state: "visible" });
  check((await a.locator("#login-message").textContent()).includes("revoked"), "the page says the phone was revoked");
  // And it keeps nothing readable: no token or other stored item, no plan or note left in
  // the page (hidden is not gone).
  const kept = await a.evaluate(async () => ({
    local: Object.keys(localStorage),
    session: Object.keys(sessionStorage),
    databases: (await indexedDB.databases()).map((d) => d.name),
    page: document.documentElement.outerHTML,
  }));
  check(kept.local.length === 0, `localStorage is empty after revocation, has ${kept.local}`);
  check(kept.session.length === 0, `sessionStorage is empty after revocation, has ${kept.session}`);
  check(kept.databases.length === 0, `no IndexedDB database after revocation, has ${kept.databases}`);
  for (const secret of ["blue scarf", "Picnic", aToken]) {
    check(!kept.page.includes(secret), `the revoked page no longer holds ${JSON.stringify(secret)}`);
  }
  await a.screenshot({ path: `${shots}/revoked.png`, fullPage: true });
  const again = await (await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 375, height: 812 } })).newPage();
  await again.goto(`${aUrl}/#token=${aToken}`);
  await again.locator("#login").waitFor({ state: "visible", timeout: TIMEOUT });
  check(await again.locator("#app").isHidden(), "a revoked link shows only the login screen");
  console.log("ok");
} catch (failure) {
  // What each page showed when it failed: its address, its failed requests and script
  // errors, and a screenshot.
  for (const [n, { page, errors }] of opened.entries()) {
    console.error(`page ${n}: ${page.url()}; errors: ${errors.join("; ") || "none"}`);
    await page.screenshot({ path: `${shots}/failure-${n}.png`, fullPage: true }).catch(() => {});
  }
  throw failure;
} finally {
  await browser.close();
}
