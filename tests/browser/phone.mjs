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
/** The phone's screen width in CSS pixels. */
const WIDTH = 375;

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** Every phone page opened, to show what each looked like if a check fails. */
const opened = [];

async function phone(browser, url, token, colorScheme = "light") {
  const context = await browser.newContext({
    viewport: { width: WIDTH, height: 812 },
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

/** Opens a view: a tab, or the header's Trash button. */
async function tab(page, name) {
  await page.locator(`button[data-view="${name}"]`).tap();
}

/** Opens the editor from `item`'s Edit button, fills `values` (field name: text), saves. */
async function edit(page, item, values) {
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
function refused({ errors }, what) {
  const at = errors.indexOf(what);
  check(at >= 0, `the page was refused ${what}; its failures: ${errors.join("; ") || "none"}`);
  errors.splice(at, 1);
}

/**
 * Visible elements that do not fit the screen's width, or whose content is wider than
 * they are (a clipped label), as `tag "text"`. Fixed bars count too, unlike the page's
 * scroll width; the width is the phone's, since a mobile viewport widens to its content.
 */
function clipped(page) {
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
 * Text on the page whose contrast with what is behind it is below WCAG AA (4.5:1, or
 * 3:1 for large text), as `tag "text" ratio`.
 */
function lowContrast(page) {
  return page.evaluate(() => {
    const rgba = (css) => {
      const [r, g, b, a = 1] = css.match(/[\d.]+/g).map(Number);
      return { r, g, b, a };
    };
    const luminance = ({ r, g, b }) => {
      const [lr, lg, lb] = [r, g, b].map((v) => {
        const c = v / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * lr + 0.7152 * lg + 0.0722 * lb;
    };
    const behind = (node) => {
      for (let n = node; n; n = n.parentElement) {
        const color = rgba(getComputedStyle(n).backgroundColor);
        if (color.a > 0) return color;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const low = [];
    for (const node of document.querySelectorAll("body *")) {
      const text = [...node.childNodes]
        .filter((c) => c.nodeType === Node.TEXT_NODE).map((c) => c.textContent).join("").trim();
      if (!text || !node.checkVisibility()) continue;
      const style = getComputedStyle(node);
      const [fg, bg] = [luminance(rgba(style.color)), luminance(behind(node))];
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) low.push(`${node.tagName.toLowerCase()} "${text}" ${ratio.toFixed(2)}`);
    }
    return low;
  });
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

  // Sam has changed nothing yet: Undo shows the daemon's refusal as it words it.
  await sam.page.locator("#undo").tap();
  await sam.page.locator("#toast", { hasText: "there is nothing to undo" }).waitFor();
  refused(sam, "409 /v1/undo");

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

  // Alex moves the plan and changes its place: the answers were to the old time, so the
  // editor says both are asked again, and both phones show it proposed with no answer.
  const picnic = (page) => page.locator("#plans li", { hasText: "Picnic by the river" });
  await picnic(a).getByRole("button", { name: "Edit" }).tap();
  await a.locator("#editor-note", { hasText: "Moving the time asks you both to RSVP again" }).waitFor();
  await a.fill("#edit-start", `${day}T11:15`);
  await a.fill("#edit-place", "The lake pavilion");
  await a.screenshot({ path: `${shots}/plan-edit.png` });
  await a.locator("#editor").getByRole("button", { name: "Save" }).tap();
  await a.locator("#toast", { hasText: "you are both asked to RSVP again" }).waitFor();
  for (const page of [a, sam.page]) {
    const moved = page.locator("#plans li", { hasText: "The lake pavilion" });
    await moved.locator(".status", { hasText: "proposed" }).waitFor();
    await moved.locator(".answers", { hasText: "Nobody has answered yet" }).waitFor();
    check((await moved.textContent()).includes("11:15"), "the new start is shown");
    check(await moved.locator('[aria-pressed="true"]').count() === 0, "no answer is shown as given");
  }

  // Alex's own personal time can be relabelled and deleted from the phone; Sam's phone
  // shows Sam no buttons for it.
  const block = () => a.locator("#personal li", { hasText: "You: bouldering" });
  await block().waitFor();
  await edit(a, block(), { label: "Climbing" });
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
  await edit(a, swim(), { title: "Night swim at the lake" });
  await a.locator("#ideas li", { hasText: "Night swim at the lake" }).waitFor();
  a.once("dialog", (d) => d.dismiss());
  await swim().getByRole("button", { name: "Delete" }).tap();
  await a.locator("#toast", { hasText: "Nothing deleted" }).waitFor();
  check(await swim().count() === 1, "a delete not confirmed keeps the idea");
  a.once("dialog", (d) => d.accept());
  await swim().getByRole("button", { name: "Delete" }).tap();
  await a.locator("#ideas li", { hasText: "The jar is empty" }).waitFor();
  await a.screenshot({ path: `${shots}/ideas-deleted.png`, fullPage: true });

  // The trash says who deleted it and brings it back, on both phones.
  await tab(a, "trash");
  const trashed = a.locator("#trash li", { hasText: "Night swim at the lake" });
  await trashed.locator(".when", { hasText: "Deleted by you" }).waitFor();
  await trashed.getByRole("button", { name: "Restore" }).tap();
  await a.locator("#toast", { hasText: "Restored the idea “Night swim at the lake”" }).waitFor();
  await trashed.waitFor({ state: "detached" });
  await tab(a, "ideas");
  await swim().waitFor();
  await tab(sam.page, "ideas");
  await sam.page.locator("#ideas li", { hasText: "Night swim at the lake" }).waitFor();

  // Undo reverts Alex's last command, adding an idea, and says so.
  await a.fill("#idea-title", "Kayak at dawn");
  await a.locator("#idea-form button[type=submit]").tap();
  const kayak = a.locator("#ideas li", { hasText: "Kayak at dawn" });
  await kayak.waitFor();
  await a.locator("#undo").tap();
  await a.locator("#toast", { hasText: "Undone: adding the idea “Kayak at dawn”" }).waitFor();
  await kayak.waitFor({ state: "detached" });
  check(await swim().count() === 1, "undo reverted only the last command");

  // Agreements. Sam proposes one on the phone; what Sam wrote stays text on Alex's phone.
  const words = "Phones away at dinner <img src=x onerror=alert(1)>";
  const pact = (page) => page.locator("#agreements li", { hasText: "Phones away at dinner" });
  await tab(sam.page, "agreements");
  await sam.page.locator("#agreement-add summary").tap();
  await sam.page.fill("#agreement-text", words);
  await sam.page.locator("#agreement-form button[type=submit]").tap();
  await pact(sam.page).locator(".accepted", { hasText: "Accepted by you; not yet by Alex." }).waitFor();
  await tab(a, "agreements");
  await pact(a).waitFor();
  check(await pact(a).locator("strong").textContent() === words, "the partner's words shown as written");
  check(await a.locator("#agreements img").count() === 0, "the partner's words are never markup");

  // Alex accepts it on the phone; Sam's phone shows both accepted.
  await pact(a).getByRole("button", { name: "Accept" }).tap();
  await pact(sam.page).locator(".accepted", { hasText: "Accepted by you and Alex." }).waitFor();
  await pact(a).locator(".accepted", { hasText: "Accepted by you and Sam." }).waitFor();
  check(await pact(a).getByRole("button", { name: "Accept" }).count() === 0, "nothing left to accept");
  await a.screenshot({ path: `${shots}/agreements.png`, fullPage: true });

  // New words ask both again: the editor says so, and both phones show it.
  await pact(a).getByRole("button", { name: "Edit" }).tap();
  await a.locator("#editor-note", { hasText: "New words ask you both to accept again" }).waitFor();
  await a.fill("#edit-text", "Phones away at dinner and in bed");
  await a.locator("#editor").getByRole("button", { name: "Save" }).tap();
  await a.locator("#toast", { hasText: "you are both asked to accept the new words" }).waitFor();
  for (const page of [a, sam.page]) {
    const reworded = page.locator("#agreements li", { hasText: "and in bed" });
    await reworded.locator(".accepted", { hasText: "Nobody has accepted these words yet" }).waitFor();
    await reworded.getByRole("button", { name: "Accept" }).waitFor();
  }

  // Alex deletes it; Sam's trash says who did.
  a.once("dialog", (d) => d.accept());
  await pact(a).getByRole("button", { name: "Delete" }).tap();
  await a.locator("#agreements li", { hasText: "No agreements yet" }).waitFor();
  await tab(sam.page, "trash");
  await sam.page.locator("#trash li", { hasText: "and in bed" })
    .locator(".when", { hasText: "Deleted by Alex" }).waitFor();
  await sam.page.screenshot({ path: `${shots}/trash.png`, fullPage: true });

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
  await edit(a, scarf(), { body: "Surprise: the red scarf" });
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

  // Nothing overflows a 375 px screen, and all text is readable in both schemes.
  const drawn = {
    week: "#plans li", ideas: "#ideas li", agreements: "#agreements li",
    checkin: "#checkin-state:not(:empty)", notes: "#notes li", trash: "#trash li",
  };
  for (const [view, shown] of Object.entries(drawn)) {
    for (const page of [a, dark.page]) {
      await tab(page, view);
      await page.locator(shown).first().waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      check(width <= WIDTH, `${view} fits ${WIDTH} px (scroll width ${width})`);
      const cut = await clipped(page);
      check(cut.length === 0, `${view} shows everything whole at ${WIDTH} px: ${cut.join("; ")}`);
      const low = await lowContrast(page);
      check(low.length === 0, `${view} has enough contrast: ${low.join("; ")}`);
    }
  }
  // The editor too, in the dark.
  await tab(dark.page, "ideas");
  await dark.page.locator("#ideas li", { hasText: "Night swim" }).getByRole("button", { name: "Edit" }).tap();
  await dark.page.locator("#editor").waitFor();
  const low = await lowContrast(dark.page);
  check(low.length === 0, `the editor has enough contrast: ${low.join("; ")}`);
  await dark.page.screenshot({ path: `${shots}/editor-dark.png` });
  await dark.page.locator("#editor-cancel").tap();
  await dark.page.locator("#editor").waitFor({ state: "hidden" });
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
