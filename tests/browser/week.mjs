// The first screen on a Sunday, and plans talked through on two phones, with the phones'
// clocks and the laptops' (`TANDEM_NOW`) fixed at NOW, a Sunday evening in Paris. Started
// by tests/tests/phone.rs, which owns the daemons, has set up Monday's agreed picnic,
// Sam's concert on Friday waiting for Alex, and an idea, and checks what reached them.
//
// Env: A_URL/A_TOKEN, B_URL/B_TOKEN (Alex's and Sam's daemons and phone tokens), NOW,
// SHOTS, CHROMIUM.

import { accessibility, check, env, phone, run, shots, spaced, tab } from "./lib.mjs";

const [aUrl, aToken, bUrl, bToken, now] = ["A_URL", "A_TOKEN", "B_URL", "B_TOKEN", "NOW"].map(env);
const paris = { timezoneId: "Europe/Paris", now: new Date(now) };

await run(async (browser) => {
  const alex = await phone(browser, aUrl, aToken, paris);
  const sam = await phone(browser, bUrl, bToken, paris);
  const a = alex.page;
  const s = sam.page;
  const picnic = (page) => page.locator("#plans li", { hasText: "Picnic on Monday" });

  // Days, not weeks: on Sunday evening the ISO week is nearly over and holds no time
  // together, but the next 7 days hold Monday's picnic; the two are shown apart.
  await picnic(a).waitFor();
  check(spaced(await picnic(a).locator(".when").first().textContent()).startsWith("tomorrow, 12:00 PM"),
    "the picnic is tomorrow at noon");
  const together = (chart) => a.locator(`#${chart} .bar.together .hours`).textContent();
  check(await together("ahead-chart") === "3 h", `the next 7 days hold 3 h together, got ${await together("ahead-chart")}`);
  check(await together("balance-chart") === "0 h", `this ISO week holds none, got ${await together("balance-chart")}`);

  // What waits for Alex: Sam's concert to answer.
  await a.locator("#needs li", { hasText: "Concert" }).waitFor();
  // The trend over 8 weeks, with its sentence.
  check(await a.locator("#trend-chart .week").count() === 8, "eight weeks in the trend");
  check((await a.locator("#trend").textContent()).length > 0, "one sentence about the trend");
  await a.screenshot({ path: `${shots}/today-light-375.png`, fullPage: true });

  // Alex comments on the picnic; Sam's phone shows it live.
  await picnic(a).locator("details.comments summary").tap();
  await picnic(a).locator("textarea").fill("Bring the blue blanket?");
  await picnic(a).locator(".comment-form button[type=submit]").tap();
  await picnic(a).locator("details.comments summary", { hasText: "Comments (1)" }).waitFor();
  await picnic(s).locator("details.comments summary", { hasText: "Comments (1)" }).waitFor();
  await picnic(s).locator("details.comments summary").tap();
  await picnic(s).locator(".said li", { hasText: "Bring the blue blanket?" }).locator(".when", { hasText: "Alex" }).waitFor();

  // Sam suggests Tuesday evening instead; Alex sees it waiting and takes it.
  await picnic(s).getByRole("button", { name: "Suggest another time" }).tap();
  await s.locator("#editor").waitFor();
  await s.fill("#edit-start", "2026-12-01T19:00");
  await s.locator("#editor").getByRole("button", { name: "Save" }).tap();
  await s.locator("#editor").waitFor({ state: "hidden" });
  await picnic(a).locator(".proposal", { hasText: "Sam suggests" }).waitFor();
  await a.locator("#needs li", { hasText: "Picnic on Monday" }).waitFor();
  await a.screenshot({ path: `${shots}/suggested-light-375.png`, fullPage: true });
  await picnic(a).getByRole("button", { name: "Take this time" }).tap();
  await a.locator("#toast", { hasText: "Moved to the suggested time" }).waitFor();
  for (const page of [a, s]) {
    await picnic(page).locator(".when", { hasText: "Tue" }).first().waitFor();
    await picnic(page).locator(".history", { hasText: "accepted" }).waitFor();
  }

  // The idea jar: Pottery becomes a someday plan; another idea is retired.
  await tab(a, "ideas");
  const pottery = a.locator("#ideas li", { hasText: "Pottery class" });
  await pottery.getByRole("button", { name: "Plan it" }).tap();
  await a.locator("#editor").getByRole("button", { name: "Save" }).tap();
  await a.locator("#toast", { hasText: "Planned" }).waitFor();
  await pottery.waitFor({ state: "detached" });
  await a.fill("#idea-title", "Kayak at dawn");
  await a.locator("#idea-form button[type=submit]").tap();
  const kayak = a.locator("#ideas li", { hasText: "Kayak at dawn" });
  await kayak.getByRole("button", { name: "Retire" }).tap();
  await kayak.waitFor({ state: "detached" });
  await tab(a, "week");
  await a.locator("#someday li", { hasText: "Pottery class" }).locator(".when", { hasText: "Someday" }).waitFor();
  // A plan added with no time is a someday plan too.
  await a.locator("#plan-add summary").tap();
  await a.fill("#plan-title", "Trip to Lisbon");
  await a.locator("#plan-form button[type=submit]").tap();
  await a.locator("#someday li", { hasText: "Trip to Lisbon" }).locator(".when", { hasText: "Someday" }).waitFor();

  // The new parts pass axe-core, light and dark, and fit a phone and a tablet. The extra
  // pages open one at a time: one address may hold 16 connections to a laptop.
  const extra = [];
  const views = [["light-375", () => alex], ["dark-375", () => phone(browser, aUrl, aToken, { ...paris, colorScheme: "dark" })],
    ["light-768", () => phone(browser, aUrl, aToken, { ...paris, width: 768 })]];
  for (const [name, open] of views) {
    const opened = await open();
    const page = opened.page;
    await page.locator("#someday li", { hasText: "Pottery class" }).waitFor();
    await page.locator("#plans li details.comments summary").first().tap();
    const found = await accessibility(page);
    check(found.length === 0, `the first screen (${name}) passes axe-core: ${found.join("; ")}`);
    await page.screenshot({ path: `${shots}/today-${name}-talked.png`, fullPage: true });
    if (opened !== alex) {
      extra.push(opened);
      await page.context().close();
    }
  }
  const failures = [alex, sam, ...extra].flatMap((p) => p.errors);
  check(failures.length === 0, `no script errors: ${failures.join("; ")}`);
});
