// Drives Debian's Chromium through the phone page of two real daemons, as two partners'
// phones would. Started by tests/tests/phone.rs, which owns the daemons and reads our
// output; every check here throws (exit 1) with what was expected.
//
// Env: A_URL/A_TOKEN (Alex's daemon and phone token), B_URL/B_TOKEN (Sam's), SHOTS (a
// directory for screenshots), CHROMIUM (the browser). Between the main part and the
// revocation part it prints `revoke-now` and waits for a line on stdin: the Rust test
// revokes Alex's phone with `tandem phone revoke` in between.

import {
  TIMEOUT, WIDTH, accessibility, check, clipped, edit, env, phone, refused, run, shots, spaced,
  tab, waitForLine,
} from "./lib.mjs";

const [aUrl, aToken, bUrl, bToken] = ["A_URL", "A_TOKEN", "B_URL", "B_TOKEN"].map(env);

/**
 * The web app manifest the page links, checked as a browser installing it would: a name,
 * a standalone display, a start URL in scope, and icons that load as what they claim.
 */
async function checkManifest(page) {
  const found = await page.evaluate(async () => {
    const link = document.querySelector('link[rel="manifest"]');
    const response = await fetch(link.href);
    const manifest = await response.json();
    const icons = await Promise.all(manifest.icons.map(async (icon) => {
      const r = await fetch(new URL(icon.src, link.href));
      return { ...icon, status: r.status, served: r.headers.get("content-type"), bytes: (await r.arrayBuffer()).byteLength };
    }));
    const touch = await fetch(document.querySelector('link[rel="apple-touch-icon"]').href);
    return { contentType: response.headers.get("content-type"), manifest, icons, touch: touch.status };
  });
  const { manifest, icons } = found;
  check(found.contentType.startsWith("application/manifest+json"), `manifest content type, got ${found.contentType}`);
  check(manifest.name === "Tandem" && manifest.short_name === "Tandem", "the manifest names the app");
  check(manifest.display === "standalone", "the home-screen icon opens full screen");
  check(manifest.start_url === "/" && manifest.scope === "/", "the app starts at the page");
  check(/^#[0-9a-f]{6}$/i.test(manifest.theme_color) && manifest.background_color, "theme and background colours");
  for (const size of ["192x192", "512x512"]) {
    check(icons.some((i) => i.sizes === size && i.type === "image/png"), `a ${size} PNG icon`);
  }
  check(icons.some((i) => i.purpose === "maskable"), "a maskable icon for Android");
  for (const icon of icons) {
    check(icon.status === 200 && icon.served === icon.type && icon.bytes > 100,
      `icon ${icon.src} loads as ${icon.type} (${icon.status}, ${icon.served}, ${icon.bytes} bytes)`);
  }
  check(found.touch === 200, "the iOS home-screen icon loads");
}

await run(async (browser) => {
  const sam = await phone(browser, bUrl, bToken);
  const alex = await phone(browser, aUrl, aToken);
  const a = alex.page;

  // "Add to Home Screen" finds a named app with icons that opens full screen.
  await checkManifest(a);

  // Sam has changed nothing yet: Undo shows the daemon's refusal as it words it.
  await sam.page.locator("#undo").tap();
  await sam.page.locator("#toast", { hasText: "there is nothing to undo" }).waitFor();
  refused(sam, "409 /v1/undo");

  // Add a plan on Alex's phone; Sam's open page shows it live, without a reload.
  await a.locator("#plan-add summary").tap();
  await a.locator("#plan-form button[type=submit]").tap();
  check((await a.locator("#plan-error").textContent()).includes("Say what"), "empty plan refused");
  // Tomorrow in the phone's zone (the machine's, as this script's), where the page says
  // "tomorrow": off UTC, the UTC date is another day there for hours of every day.
  const now = new Date();
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  const pad = (n) => String(n).padStart(2, "0");
  const day = `${tomorrow.getFullYear()}-${pad(tomorrow.getMonth() + 1)}-${pad(tomorrow.getDate())}`;
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
  // Times in the phone's language, with the day in words: this phone speaks US English.
  const samSees = spaced(await onSam.locator(".when").first().textContent());
  check(samSees.startsWith("tomorrow, 12:30 PM – 2:30 PM"), `Sam sees the time as a US phone says it, got ${JSON.stringify(samSees)}`);

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

  // Check-in: ratings are five tap targets each, and the form says what the partner sees
  // and when. A question left unanswered gets a message and nothing is sent.
  await tab(a, "checkin");
  check((await a.locator("#checkin-privacy").innerText()).includes("only once you have both answered"),
    "the form says when the partner sees the answers");
  const choice = (question, n) => a.locator(`#${question} label`).nth(n - 1);
  check(await a.locator("#enough-alone label").count() === 5, "five choices for time alone");
  const target = await choice("enough-alone", 3).boundingBox();
  check(target.width >= 44 && target.height >= 44, `tap targets are at least 44 px, got ${target.width}x${target.height}`);
  await choice("enough-together", 3).tap();
  await a.locator("#checkin-form button[type=submit]").tap();
  const refusal = await a.locator("#checkin-error").textContent();
  check(refusal.includes("1 (not at all) to 5 (plenty)"), `a missing rating refused with a message, got ${JSON.stringify(refusal)}`);
  await a.screenshot({ path: `${shots}/checkin-error.png`, fullPage: true });
  await choice("enough-alone", 2).tap();
  check(await a.locator('#enough-alone input[value="2"]').isChecked(), "the tapped rating is chosen");
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
  const dark = await phone(browser, aUrl, aToken, { colorScheme: "dark" });
  await dark.page.locator("#plans li", { hasText: "Picnic" }).waitFor();
  await dark.page.screenshot({ path: `${shots}/week-dark.png`, fullPage: true });
  const background = await dark.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(background === "rgb(21, 19, 20)", `dark background in dark mode, got ${background}`);

  // A French phone: the same plan in French words and a 24-hour clock.
  const french = await phone(browser, aUrl, aToken, { locale: "fr-FR" });
  const enFrancais = spaced(await french.page.locator("#plans li", { hasText: "Picnic" }).locator(".when").first().textContent());
  check(enFrancais.startsWith("demain, 11:15 – 13:15"), `French words and a 24-hour clock, got ${JSON.stringify(enFrancais)}`);
  // Its connections go: one address may hold 16 on the phone listener, and each open page
  // holds an event stream and a few requests.
  await french.page.context().close();

  // A tablet-sized screen, for the screenshots.
  const wide = await phone(browser, aUrl, aToken, { width: 768 });

  // Nothing overflows a 375 px screen, and axe-core finds nothing serious on any view, in
  // either scheme.
  const drawn = {
    week: "#plans li", ideas: "#ideas li", agreements: "#agreements li",
    checkin: "#checkin-state:not(:empty)", notes: "#notes li", trash: "#trash li",
  };
  const screens = [["light", a, WIDTH], ["dark", dark.page, WIDTH], ["light", wide.page, 768]];
  for (const [view, shown] of Object.entries(drawn)) {
    for (const [scheme, page, width] of screens) {
      await tab(page, view);
      await page.locator(shown).first().waitFor();
      await page.screenshot({ path: `${shots}/${view}-${scheme}-${width}.png`, fullPage: true });
      if (width !== WIDTH) continue;
      const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
      check(scroll <= WIDTH, `${view} fits ${WIDTH} px (scroll width ${scroll})`);
      const cut = await clipped(page);
      check(cut.length === 0, `${view} shows everything whole at ${WIDTH} px: ${cut.join("; ")}`);
      const found = await accessibility(page);
      check(found.length === 0, `${view} (${scheme}) passes axe-core: ${found.join("; ")}`);
    }
  }
  // A focused button, a toast over the list, and the editor, in both schemes.
  for (const [scheme, page] of screens.slice(0, 2)) {
    await tab(page, "ideas");
    await page.locator("#draw").focus();
    await page.locator("#draw").tap();
    await page.locator("#drawn:not(:empty)").waitFor();
    let found = await accessibility(page);
    check(found.length === 0, `the focused draw button (${scheme}) passes axe-core: ${found.join("; ")}`);
    await page.evaluate(() => toast("A toast over the list"));
    found = await accessibility(page);
    check(found.length === 0, `a toast (${scheme}) passes axe-core: ${found.join("; ")}`);
    await page.locator("#toast").tap();
    await page.locator("#toast").waitFor({ state: "hidden" });
    await page.locator("#ideas li", { hasText: "Night swim" }).getByRole("button", { name: "Edit" }).tap();
    await page.locator("#editor").waitFor();
    found = await accessibility(page);
    check(found.length === 0, `the editor (${scheme}) passes axe-core: ${found.join("; ")}`);
    await page.screenshot({ path: `${shots}/editor-${scheme}.png` });
    await page.locator("#editor-cancel").tap();
    await page.locator("#editor").waitFor({ state: "hidden" });
  }
  // The last item of a list can scroll clear of a toast.
  await a.evaluate(() => toast("Another toast"));
  await a.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  const [last, over] = await Promise.all([
    a.locator("#ideas li").last().boundingBox(), a.locator("#toast").boundingBox(),
  ]);
  check(last.y + last.height <= over.y, `the toast leaves the last idea visible (${last.y + last.height} > ${over.y})`);
  const failures = [alex, sam, dark, french, wide].flatMap((p) => p.errors);
  check(failures.length === 0, `no script errors: ${failures.join("; ")}`);
  // Only Alex's first phone stays open for the revocation: every page open on a revoked
  // token reloads at once, and one address may hold 16 connections.
  await dark.page.context().close();
  await wide.page.context().close();

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
});
