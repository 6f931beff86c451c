// The phone page while the laptop sleeps: opened again while the laptop does not answer,
// it shows at once what it last saw, with its time; a write whose answer is lost goes
// again under its key; edits made while the laptop is gone wait in the outbox and are
// sent, once, when it is back. Started by tests/tests/phone.rs,
// which owns the daemons: it stops Alex's daemon when we print `stop-now` and starts it
// again at `start-now`, answering a line on stdin each time, and checks what arrived.
//
// Env: A_URL/A_TOKEN (Alex's daemon and phone token), SHOTS, CHROMIUM.

import { accessibility, check, env, phone, run, shots, tab, waitForLine } from "./lib.mjs";

const [aUrl, aToken] = ["A_URL", "A_TOKEN"].map(env);

/** Asks the Rust test to do `what` and waits until it has. */
async function ask(what) {
  console.log(what);
  await waitForLine();
}

await run(async (browser) => {
  const alex = await phone(browser, aUrl, aToken);
  const a = alex.page;
  // The phone sees the idea jar once, so it has something to remember of it.
  await tab(a, "ideas");
  await a.locator("#ideas li", { hasText: "Pottery class" }).waitFor();
  await tab(a, "week");

  // Opened again while the laptop does not answer: what the phone saw, at once, dated.
  await a.route("**/v1/**", (route) => route.abort());
  await a.reload();
  const stale = a.locator("#stale");
  await stale.waitFor();
  check((await stale.textContent()).startsWith("Showing what the laptop said at"),
    `the page says what it shows is from memory: ${await stale.textContent()}`);
  check(await a.locator("#login").isHidden(), "the page stays open, not on the login screen");
  await tab(a, "ideas");
  await a.locator("#ideas li", { hasText: "Pottery class" }).waitFor();
  await a.screenshot({ path: `${shots}/from-memory.png`, fullPage: true });
  // The laptop answers again: the page is live and no longer says it is from memory.
  await a.unroute("**/v1/**");
  await a.locator("#live.on").waitFor();
  await stale.waitFor({ state: "hidden" });

  // An answer lost on the way back: the idea reached the laptop, the phone never heard.
  // It waits in the outbox and goes again under its key, and is applied once.
  let lost = false;
  await a.route("**/v1/ideas", async (route) => {
    if (lost || route.request().method() !== "POST") return route.continue();
    lost = true;
    await route.fetch();
    return route.abort();
  });
  await tab(a, "ideas");
  await a.fill("#idea-title", "Stargazing");
  await a.locator("#idea-form button[type=submit]").tap();
  await a.locator("#ideas li", { hasText: "Stargazing" }).waitFor();
  check(lost, "the first answer was lost");
  await a.unroute("**/v1/ideas");

  // The laptop goes to sleep: a plan and an idea wait in the outbox.
  await ask("stop-now");
  await tab(a, "week");
  await a.locator("#plan-add summary").tap();
  await a.fill("#plan-title", "Sunset walk");
  await a.locator("#plan-form button[type=submit]").tap();
  const outbox = a.locator("#outbox");
  await a.locator("#outbox", { hasText: "Waiting to send: 1 change, the first from" }).waitFor();
  check(await a.inputValue("#plan-title") === "", "the form is cleared: the plan is kept, not lost");
  await tab(a, "ideas");
  await a.fill("#idea-title", "Board games");
  await a.locator("#idea-form button[type=submit]").tap();
  await a.locator("#outbox", { hasText: "Waiting to send: 2 changes, the first from" }).waitFor();
  // Undo would reach past the changes still waiting: it says so and does nothing.
  await a.locator("#undo").tap();
  await a.locator("#toast", { hasText: "2 changes are still waiting to be sent" }).waitFor();
  await a.screenshot({ path: `${shots}/outbox.png`, fullPage: true });
  const violations = await accessibility(a);
  check(violations.length === 0, `the page with both notices is readable: ${violations.join("\n")}`);

  // The laptop wakes: both are sent, and the jar shows the idea.
  await ask("start-now");
  await outbox.waitFor({ state: "hidden", timeout: 30000 });
  await a.locator("#ideas li", { hasText: "Board games" }).waitFor();
  check(await a.evaluate(() => localStorage.getItem("tandem.outbox")) === null, "the outbox is empty");
  // What the page was refused while the laptop was away is the network, never an answer.
  check(alex.errors.length === 0, `no script errors or refusals: ${alex.errors.join("; ")}`);
});
