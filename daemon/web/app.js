// Tandem's phone page: plain DOM, no framework, no network beyond this daemon.
// Everything shown comes from the /v1 API with this phone's token; text is always set
// with textContent, never parsed as HTML.
"use strict";

const TOKEN_KEY = "tandem.token";
/** Query parameter of the page reloaded after a revocation, so it can say so. */
const REVOKED_PARAM = "revoked";
const REVOKED = "This phone's access was revoked or its token is wrong. " +
  "Ask for a new link on the laptop: tandem phone add";

const state = {
  token: null, me: null, people: new Map(), view: "week", week: null, events: null,
  /** While true, reads give what the phone last saw without asking (the first paint). */
  fromMemory: false,
  /** The time of the oldest remembered answer shown, while the laptop does not answer. */
  staleSince: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `request failed (${status})`);
    this.status = status;
    this.field = body?.error?.field;
  }
}

/** A write kept in the outbox because the laptop did not answer: it goes when it does. */
class Queued extends Error {
  constructor() {
    super(`Kept on this phone until the laptop answers (${waiting(outbox())}).`);
    this.status = 0;
  }
}

const UNREACHABLE = "The laptop is not answering (asleep, or this phone left its Wi-Fi). Try again when it is back.";
/** How long a read may take before the page shows what it last saw instead. */
const READ_TIMEOUT_MS = 5000;
/**
 * A read whose connection failed with nothing kept to show instead is tried again, this
 * many times in all, this far apart: the laptop closes a connection at once when one
 * address holds too many (several pages open), and Wi-Fi drops one now and then. A read
 * changes nothing, so trying again is safe.
 */
const READ_TRIES = 5;
const READ_RETRY_MS = 1500;
/** How long a write may take before it waits in the outbox (and is retried under its key). */
const WRITE_TIMEOUT_MS = 15000;

/**
 * Reads `path`, or changes something: a write carries an `Idempotency-Key`, so that if
 * its answer is lost it can be sent again and is applied once. A write the laptop does
 * not answer goes to the outbox and throws `Queued` (unless `queue` is false: undo and
 * the jar's draw mean "now", not later); a read it does not answer gives what this phone
 * last saw of `path`, if anything, and says so at the top of the page.
 */
async function api(method, path, body, { queue = true } = {}) {
  if (method === "GET") return read(path);
  const write = { key: newKey(), method, path, body, at: Date.now() };
  if (queue && outbox().length > 0) return queueUp(write);
  let response;
  try {
    response = await send(write, WRITE_TIMEOUT_MS);
  } catch {
    if (!queue) throw new ApiError(0, { error: { message: UNREACHABLE } });
    return queueUp(write);
  }
  return answer(response);
}

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `phone-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Sends one write; rejects if no answer came in `timeout` ms. */
function send({ key, method, path, body }, timeout) {
  return fetch(path, {
    method,
    headers: {
      Authorization: `Bearer ${state.token}`,
      "Idempotency-Key": key,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeout),
  });
}

/** An answer's data, or the daemon's refusal as an `ApiError` (signing out on 401). */
async function answer(response) {
  if (response.status === 401) {
    forget();
    throw new ApiError(401, null);
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// ---- what the phone last saw ----

const SEEN_PREFIX = "tandem.seen ";

/**
 * Reads `path` and keeps the answer on this phone; while the laptop does not answer (or
 * the page is drawing its first screen from memory), gives what was kept instead.
 */
async function read(path) {
  if (state.fromMemory && seen(path)) return stale(path);
  let response;
  for (let tries = 1; !response; tries++) {
    try {
      // Waiting has a limit only when there is something to show instead.
      response = await fetch(path, {
        headers: { Authorization: `Bearer ${state.token}` },
        ...(seen(path) ? { signal: AbortSignal.timeout(READ_TIMEOUT_MS) } : {}),
      });
    } catch {
      if (seen(path)) return stale(path);
      if (tries >= READ_TRIES) throw new ApiError(0, { error: { message: UNREACHABLE } });
      await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
    }
  }
  const data = await answer(response);
  remember(path, data);
  fresh();
  return data;
}

/** Paths whose answers are never kept: private notes stay off the phone's storage. */
const UNREMEMBERED = ["/v1/notes"];
/** The most answers kept; the oldest go first. */
const REMEMBERED = 40;

/** Keeps what the laptop answered for `path`, making room if the storage is full. */
function remember(path, data) {
  if (UNREMEMBERED.some((p) => path.startsWith(p))) return;
  const entry = JSON.stringify({ at: Date.now(), data });
  const keys = Object.keys(localStorage).filter((k) => k.startsWith(SEEN_PREFIX));
  if (keys.length > REMEMBERED) {
    const ages = keys.map((key) => [key, seen(key.slice(SEEN_PREFIX.length))?.at ?? 0]);
    ages.sort((a, b) => a[1] - b[1]);
    for (const [key] of ages.slice(0, keys.length - REMEMBERED)) localStorage.removeItem(key);
  }
  if (!keep(() => localStorage.setItem(SEEN_PREFIX + path, entry))) {
    forgetSeen();
    keep(() => localStorage.setItem(SEEN_PREFIX + path, entry));
  }
}

/** Forgets every answer kept (another phone token: not this one's to show). */
function forgetSeen() {
  for (const key of Object.keys(localStorage).filter((k) => k.startsWith(SEEN_PREFIX))) {
    localStorage.removeItem(key);
  }
}

function seen(path) {
  try {
    return JSON.parse(localStorage.getItem(SEEN_PREFIX + path));
  } catch {
    return null;
  }
}

/** What was kept of `path`, with the top of the page saying from when. */
function stale(path) {
  const { at, data } = seen(path);
  state.staleSince = Math.min(state.staleSince ?? at, at);
  const time = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" })
    .format(new Date(state.staleSince));
  $("stale").textContent = `Showing what the laptop said at ${time}. Reconnecting…`;
  $("stale").hidden = false;
  return data;
}

function fresh() {
  state.staleSince = null;
  $("stale").hidden = true;
}

/** Stores something on the phone; says whether it could (the storage may be full). */
function keep(store) {
  try {
    store();
    return true;
  } catch {
    return false;
  }
}

// ---- the outbox ----

const OUTBOX_KEY = "tandem.outbox";

/** Writes waiting for the laptop, oldest first. */
function outbox() {
  try {
    return JSON.parse(localStorage.getItem(OUTBOX_KEY)) || [];
  } catch {
    return [];
  }
}

/** Stores the outbox, making room by forgetting kept answers if needed; says whether it could. */
function setOutbox(writes) {
  const store = () => {
    if (writes.length) localStorage.setItem(OUTBOX_KEY, JSON.stringify(writes));
    else localStorage.removeItem(OUTBOX_KEY);
  };
  const stored = keep(store) || (forgetSeen(), keep(store));
  showOutbox();
  return stored;
}

/** "waiting to send: 2 changes, the first from 14:05". */
function waiting(writes) {
  const n = writes.length;
  const since = n ? new Intl.DateTimeFormat(undefined, { timeStyle: "short" }).format(new Date(writes[0].at)) : "";
  return `waiting to send: ${n} ${n === 1 ? "change" : "changes"}, the first from ${since}`;
}

function showOutbox() {
  const writes = outbox();
  $("outbox").hidden = writes.length === 0;
  const text = waiting(writes);
  $("outbox").textContent = writes.length ? `${text[0].toUpperCase()}${text.slice(1)}.` : "";
}

function queueUp(write) {
  if (!setOutbox([...outbox(), write])) {
    throw new ApiError(0, { error: { message: `${UNREACHABLE} This phone's storage is full, so it could not keep the change either.` } });
  }
  sendOutbox();
  throw new Queued();
}

let sending = false;
/** Answers that mean "not now" rather than "no". */
const TRY_LATER = [408, 425, 429];

/**
 * Sends the outbox in order, each write under its own key, so one that reached the laptop
 * before its answer was lost is not applied twice. Stops at the first write the laptop
 * does not answer (the next try resumes there); one it refuses is dropped with a toast.
 */
async function sendOutbox() {
  if (sending || !state.token) return;
  sending = true;
  let sent = 0;
  try {
    for (let writes = outbox(); writes.length > 0; writes = outbox()) {
      const [write] = writes;
      let response;
      try {
        response = await send(write, WRITE_TIMEOUT_MS);
      } catch {
        break;
      }
      if (response.status === 401) return forget();
      const data = response.ok ? null : await response.json().catch(() => null);
      // Still running from an earlier try, or the laptop busy, stopping or failing for
      // now: keep it, and try again later.
      if (data?.error?.code === "key_in_use" || TRY_LATER.includes(response.status) ||
        response.status >= 500) break;
      setOutbox(outbox().filter((w) => w.key !== write.key));
      sent += 1;
      const applied = response.ok || data?.error?.code === "already_applied";
      if (!applied) {
        const what = write.body?.title || write.body?.text || write.body?.body || "a change";
        toast(`Not sent: “${what}”: ${data?.error?.message || `refused (${response.status})`}`);
      }
    }
  } finally {
    sending = false;
  }
  if (sent > 0) render();
}

setInterval(() => { if (outbox().length > 0) sendOutbox(); }, 3000);
window.addEventListener("online", () => sendOutbox());

// ---- sign in and out ----

function login(token) {
  if (localStorage.getItem(TOKEN_KEY) !== token) forgetSeen();
  state.token = token;
  localStorage.setItem(TOKEN_KEY, token);
  start();
}

/**
 * The laptop refused this phone's token: it was revoked (or was never right). A revoked
 * phone must not keep readable data, so everything this page kept goes: all it stored
 * for this origin (the token and anything else), and, by loading the page afresh, every
 * plan, note and answer still in memory or in the page. The fresh page says why.
 */
function forget() {
  localStorage.clear();
  sessionStorage.clear();
  if (state.events) state.events.close();
  state.events = null;
  location.replace(`${location.pathname}?${REVOKED_PARAM}`);
}

function logout(message) {
  localStorage.removeItem(TOKEN_KEY);
  state.token = null;
  if (state.events) state.events.close();
  state.events = null;
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-message").textContent = message;
}

// ---- times ----

/** A stored zoned time, e.g. `2026-12-04T19:30:00+01:00[Europe/Paris]`, as a Date. */
function instant(moment) {
  return new Date(moment.replace(/\[.*\]$/, ""));
}

/** The time zone a stored time names (`[Europe/Paris]`), if any and if this phone knows it. */
function zoneOf(moment) {
  const zone = /\[(.+)\]$/.exec(moment)?.[1];
  if (!zone) return undefined;
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: zone });
    return zone;
  } catch {
    return undefined;
  }
}

const PHONE_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The calendar day of `date` in `zone`, as a number of days, to compare days. */
function dayNumber(date, zone) {
  const [y, m, d] = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
  }).format(date).split("-").map(Number);
  return Date.UTC(y, m - 1, d) / 86400000;
}

/**
 * The day of `date` in the phone's language, in `zone`: "today", "tomorrow" or
 * "yesterday" where they apply, a weekday within the coming week, else the date.
 */
function dayWords(date, zone) {
  const ahead = dayNumber(date, zone) - dayNumber(new Date(), zone);
  if (Math.abs(ahead) <= 1) {
    return new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }).format(ahead, "day");
  }
  const long = ahead > 1 && ahead < 7 ? { weekday: "long" } : { weekday: "short", day: "numeric", month: "short" };
  return new Intl.DateTimeFormat(undefined, { timeZone: zone, ...long }).format(date);
}

/** The time of day of `date` in `zone`, as the phone's language writes it. */
function timeWords(date, zone, withZone) {
  return new Intl.DateTimeFormat(undefined, {
    timeZone: zone, hour: "numeric", minute: "2-digit", ...(withZone ? { timeZoneName: "short" } : {}),
  }).format(date);
}

/**
 * A stored time as a person says it, in the zone it was planned in: "tomorrow, 12:30"
 * (or "12:30 PM", as the phone's language has it), naming the zone when it is not the
 * phone's own.
 */
function when(moment) {
  const zone = zoneOf(moment);
  const date = instant(moment);
  return `${dayWords(date, zone)}, ${timeWords(date, zone, zone && zone !== PHONE_ZONE)}`;
}

/** A start and end: "tomorrow, 12:30 – 14:30", the end's day only when it differs. */
function range(start, end) {
  const zone = zoneOf(end);
  const [from, to] = [instant(start), instant(end)];
  const sameDay = dayNumber(from, zone) === dayNumber(to, zone);
  return `${when(start)} – ${sameDay ? timeWords(to, zone, false) : when(end)}`;
}

/** A Date as wall-clock time in this phone's zone, the way the API reads it. */
function zoned(date) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  return `${wallClock(date)}[${zone}]`;
}

/** Wall-clock time of a Date in this phone's zone, as a `datetime-local` input holds it. */
function wallClock(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A `datetime-local` input's value as a Date; `missing` is the message when it is empty. */
function picked(text, missing) {
  const date = new Date(text);
  if (!text || Number.isNaN(date.getTime())) throw new Error(missing);
  return date;
}

/**
 * A start picked in a form and a length in hours, as the API's `start` and `end`;
 * `missing` is the message when no start was picked.
 */
function startAndHours(start, hours, missing) {
  const from = picked(start, missing);
  const length = Number(hours);
  if (!(length > 0)) throw new Error("Hours must be more than 0.");
  return { start: zoned(from), end: zoned(new Date(from.getTime() + length * 3600 * 1000)) };
}

/** The fields of an editor that asks when something starts and for how many hours. */
const START_AND_HOURS = [
  { name: "start", label: "Starts", type: "datetime-local", value: "" },
  { name: "hours", label: "Hours", type: "number", value: "2" },
];

/** A day (`2027-03-01`) as this phone writes dates. */
function day(text) {
  return new Date(`${text}T00:00`).toLocaleDateString(undefined,
    { day: "numeric", month: "short", year: "numeric" });
}

function nameOf(id) {
  if (state.me && id === state.me.id) return "You";
  return state.people.get(id) || "Someone";
}

/** People in a sentence: "you and Sam", me first. */
function names(ids) {
  const said = [...ids]
    .sort((a, b) => (b === state.me.id) - (a === state.me.id))
    .map((id) => (id === state.me.id ? "you" : nameOf(id)));
  return said.length > 1 ? `${said.slice(0, -1).join(", ")} and ${said.at(-1)}` : said[0];
}

/**
 * Each kind of item as a person calls it (the API's `kind`, and the noun of an action).
 * No prototype: a key the daemon sends is only ever one of these or missing.
 */
const NOUNS = {
  __proto__: null,
  plan: "plan", idea: "idea", personal_time: "personal time", agreement: "agreement", note: "note",
};

/** The API path of one item: ids come from the documents, so they are encoded. */
function itemPath(base, id) {
  return `${base}/${encodeURIComponent(id)}`;
}

// ---- views ----

function showError(id, error) {
  $(id).textContent = error ? error.message : "";
}

function empty(list, text) {
  list.replaceChildren(el("li", { class: "empty" }, text));
}

/** Hours as a person reads them: "2 h", "1.5 h". */
const hours = (h) => `${Math.round(h * 10) / 10} h`;

/** Horizontal bars into `chart`: `{ label, hours, together }`, scaled to the longest. */
function drawBars(chart, bars) {
  const most = Math.max(1, ...bars.map((b) => b.hours));
  chart.setAttribute("aria-label", bars.map((b) => `${b.label}: ${hours(b.hours)}`).join(", "));
  chart.replaceChildren(...bars.map((b) => {
    const fill = el("div", { class: "fill" });
    fill.style.width = `${(100 * b.hours) / most}%`;
    return el("div", { class: b.together ? "bar together" : "bar" },
      el("span", {}, b.label), el("div", { class: "track" }, fill), el("span", { class: "hours" }, hours(b.hours)));
  }));
}

const alone = (p) => `${p.person === state.me.id ? "You" : p.name} alone`;

/**
 * The first screen: what waits for me, the next 7 days (from now, whatever the weekday),
 * the plans coming up and someday, then the ISO week and the weeks before, each apart:
 * the next 7 days and the week are never added together.
 */
async function renderWeek() {
  const [balance, today, series, all] = await Promise.all([
    api("GET", "/v1/balance"), api("GET", "/v1/today"), api("GET", "/v1/balance/weeks?weeks=8"),
    api("GET", "/v1/plans"),
  ]);
  state.week = balance.week;

  const needs = $("needs");
  if (today.items.length === 0) empty(needs, "Nothing waits for you.");
  else needs.replaceChildren(...today.items.map((item) => el("li", { class: `need ${item.kind}` }, item.message)));

  const turn = balance.turn_to_plan;
  $("turn").textContent = turn === state.me.id
    ? "Your turn to plan time together."
    : turn ? `${nameOf(turn)}'s turn to plan time together.` : "";

  const ahead = balance.ahead;
  drawBars($("ahead-chart"), [{ label: "Together", hours: ahead.together_hours, together: true }]
    .concat(ahead.people.map((p) => ({ label: alone(p), hours: p.personal_hours }))));
  $("ahead-note").textContent = ahead.proposed_hours > 0
    ? `Plus ${hours(ahead.proposed_hours)} together proposed, not yet agreed.` : "";

  const now = Date.now();
  const open = all.filter((p) => p.status !== "cancelled" && p.status !== "done");
  const someday = open.filter((p) => p.start === p.end);
  const coming = open
    .filter((p) => p.start !== p.end && (p.recurrence || instant(p.end).getTime() > now))
    .sort((a, b) => instant(a.start) - instant(b.start));
  const list = $("plans");
  if (coming.length === 0) empty(list, "Nothing planned yet.");
  else list.replaceChildren(...coming.map(planItem));
  const later = $("someday");
  if (someday.length === 0) empty(later, "No someday plans: leave the time empty to add one.");
  else later.replaceChildren(...someday.map(planItem));

  $("week-label").textContent = balance.week;
  drawBars($("balance-chart"), [{ label: "Together", hours: balance.together_hours, together: true }]
    .concat(balance.people.map((p) => ({ label: alone(p), hours: p.personal_hours }))));
  $("balance-reading").replaceChildren(...balance.reading.map((r) => el("li", {}, r)));

  $("trend").textContent = series.trend;
  drawTrend(series.weeks);

  const blocks = await api("GET",
    `/v1/personal-time?from=${encodeURIComponent(balance.from)}&to=${encodeURIComponent(balance.to)}`);
  const personal = $("personal");
  if (blocks.length === 0) empty(personal, "No personal time this week.");
  else personal.replaceChildren(...blocks.map((b) => el("li", {},
    el("strong", {}, `${nameOf(b.owner)}: ${b.details || b.label}`),
    el("div", { class: "when" }, range(b.start, b.end)),
    // Only one's own blocks can be changed; the label is what the partner sees.
    ...(b.owner === state.me.id
      ? [itemActions({
        path: itemPath("/v1/personal-time", b.id), noun: NOUNS.personal_time, summary: b.label,
        fields: [{ name: "label", label: "What your partner sees", value: b.label, maxlength: 100 }],
      })]
      : []))));
}

/**
 * The weeks' hours together, one column each, with what each person asked for in that
 * week's check-in said in words beneath the chart (1 to 5: "not at all" to "plenty").
 */
function drawTrend(weeks) {
  const most = Math.max(1, ...weeks.map((w) => w.together_hours));
  const chart = $("trend-chart");
  chart.setAttribute("aria-label",
    weeks.map((w) => `${w.week}: ${hours(w.together_hours)} together`).join(", "));
  chart.replaceChildren(...weeks.map((w) => {
    const column = el("div", { class: "column" });
    column.style.height = `${(100 * w.together_hours) / most}%`;
    return el("div", { class: "week" },
      el("div", { class: "stack" }, column),
      el("span", { class: "label" }, w.week.replace(/^\d{4}-/, "")));
  }));
}

/**
 * Edit and Delete buttons for the item at `path`, a `noun` shown as `summary` (both name
 * the buttons for screen readers, since every item has the same two). Edit opens the
 * editor on the rest of `edit` (see `openEditor`); Delete asks first, adding `warning`,
 * and puts the item in the trash, from which the Trash view brings it back.
 */
function itemActions({ path, noun, summary, warning = "", ...edit }) {
  const remove = () => {
    if (!confirm(`Delete this ${noun}? It goes to the trash, from which it can be brought back.${warning}`)) {
      toast("Nothing deleted.");
      return;
    }
    act(async () => {
      await api("DELETE", path);
      toast("Deleted: it is in the trash.");
    });
  };
  return el("div", { class: "actions" },
    el("button", {
      type: "button", "aria-label": `Edit ${noun}: ${summary}`,
      onclick: () => openEditor({ heading: `Edit this ${noun}`, path, ...edit }),
    }, "Edit"),
    el("button", { type: "button", "aria-label": `Delete ${noun}: ${summary}`, onclick: remove }, "Delete"));
}

/** A plan with no time yet ("someday") is stored with its start equal to its end. */
const isSomeday = (plan) => plan.start === plan.end;

function planItem(plan) {
  const path = itemPath("/v1/plans", plan.id);
  const mine = plan.rsvps[state.me.id];
  const answers = Object.entries(plan.rsvps).map(([who, answer]) => `${nameOf(who)}: ${answer}`);
  const rsvp = el("div", { class: "rsvp", role: "group", "aria-label": `Your answer to ${plan.title}` },
    ...["yes", "maybe", "no"].map((answer) => el("button", {
      type: "button",
      "aria-pressed": String(mine === answer),
      onclick: () => act(() => api("POST", `${path}/rsvp`, { answer })),
    }, answer[0].toUpperCase() + answer.slice(1))));
  const time = isSomeday(plan) ? "Someday: no time yet" : range(plan.start, plan.end);
  return el("li", { "data-id": plan.id },
    el("strong", {}, plan.title),
    el("span", { class: "status" }, plan.status),
    el("div", { class: "when" }, time + (plan.place ? ` · ${plan.place}` : "")),
    el("div", { class: "when answers" }, answers.length ? answers.join(" · ") : "Nobody has answered yet."),
    ...proposals(plan, path),
    rsvp,
    itemActions({ path, noun: NOUNS.plan, summary: plan.title, ...planEdit(plan) }),
    comments(plan, path));
}

/**
 * Other times suggested for a plan: the one waiting (its creator takes it or keeps the
 * plan's time; the partner may suggest one), then what became of the earlier ones.
 */
function proposals(plan, path) {
  const all = Object.values(plan.proposals || {}).sort((a, b) => instant(a.at) - instant(b.at));
  const waiting = all.find((p) => !p.outcome);
  const creator = plan.proposed_by === state.me.id;
  const out = all.filter((p) => p.outcome).map((p) => el("div", { class: "when history" },
    `${nameOf(p.by)} suggested ${range(p.start, p.end)}: ${p.outcome}`));
  if (waiting) {
    out.push(el("div", { class: "proposal" },
      `${nameOf(waiting.by)} suggest${waiting.by === state.me.id ? "" : "s"} ${range(waiting.start, waiting.end)}`));
    if (creator) {
      out.push(el("div", { class: "actions" },
        el("button", {
          type: "button", class: "primary", "aria-label": `Take this time: ${plan.title}`,
          onclick: () => act(async () => {
            await api("POST", `${path}/accept`);
            toast("Moved to the suggested time: it is on for you both.");
          }),
        }, "Take this time"),
        el("button", {
          type: "button", "aria-label": `Keep ours: ${plan.title}`,
          onclick: () => act(async () => {
            await api("POST", `${path}/decline`);
            toast("Kept the plan's time.");
          }),
        }, "Keep ours")));
    }
  }
  const closed = plan.status === "done" || plan.status === "cancelled";
  if (!creator && !closed) {
    out.push(el("div", { class: "actions" }, el("button", {
      type: "button", "aria-label": `Suggest another time: ${plan.title}`,
      onclick: () => openEditor({
        heading: "Suggest another time",
        path: `${path}/proposals`,
        method: "POST",
        note: `${nameOf(plan.proposed_by)} can take it or keep the plan's time.`,
        fields: START_AND_HOURS,
        patch: ({ start, hours = "2" }) => startAndHours(start, hours, "Pick when it would start."),
        saved: () => toast("Suggested. They see it in what waits for them."),
      }),
    }, "Suggest another time")));
  }
  return out;
}

/**
 * A plan's comments, oldest first, and a box to add one. Opening them marks them read,
 * so they leave "Waiting for you".
 */
function comments(plan, path) {
  const said = Object.values(plan.comments || {}).sort((a, b) => instant(a.at) - instant(b.at));
  const box = el("details", { class: "comments" },
    el("summary", {}, said.length ? `Comments (${said.length})` : "Comment"),
    el("ul", { class: "said" }, ...said.map((c) => el("li", {},
      el("span", { class: "when" }, `${nameOf(c.by)}, ${when(c.at)}`),
      el("div", { class: "body" }, c.text)))));
  const input = el("textarea", { rows: "2", maxlength: "2000", "aria-label": `Comment on ${plan.title}` });
  const error = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "comment-form", novalidate: "" }, input, error,
    el("button", { type: "submit" }, "Send"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const text = input.value.trim();
    if (!text) {
      error.textContent = "Write something first.";
      return;
    }
    try {
      await api("POST", `${path}/comments`, { text });
      await render();
    } catch (failure) {
      if (failure instanceof Queued) input.value = "";
      if (failure.status !== 401) error.textContent = failure.message;
    }
  });
  box.append(form);
  box.addEventListener("toggle", () => {
    if (box.open && said.some((c) => c.by !== state.me.id)) {
      api("POST", `${path}/seen`, undefined, { queue: false }).catch(() => {});
    }
  });
  return box;
}

/**
 * The editor of a plan: title, start, end and place. A plan still being agreed on, or
 * agreed on, that moves asks both to RSVP again (the daemon clears the answers), so the
 * editor says so before and after.
 */
function planEdit(plan) {
  const open = plan.status === "proposed" || plan.status === "scheduled";
  const someday = isSomeday(plan);
  const shown = (moment) => (someday ? "" : wallClock(instant(moment)));
  // A someday plan given a start alone lasts two hours.
  const length = someday ? 2 * 3600 * 1000 : instant(plan.end) - instant(plan.start);
  return {
    fields: [
      { name: "title", label: "What", value: plan.title, maxlength: 200 },
      { name: "start", label: "Starts", type: "datetime-local", value: shown(plan.start) },
      { name: "end", label: "Ends", type: "datetime-local", value: shown(plan.end) },
      { name: "place", label: "Where", value: plan.place, maxlength: 200 },
    ],
    note: open ? "Moving the time asks you both to RSVP again." : "",
    patch: ({ start, end, ...rest }) => {
      const body = { ...rest };
      if (start !== undefined) {
        // A new start alone moves the whole plan: it keeps its length.
        const from = picked(start, "Pick when it starts.");
        const to = end !== undefined
          ? picked(end, "Pick when it ends.")
          : new Date(from.getTime() + length);
        body.start = zoned(from);
        body.end = zoned(to);
      } else if (end !== undefined) {
        body.end = zoned(picked(end, "Pick when it ends."));
      }
      return body;
    },
    saved: (changed) => {
      if (open && ("start" in changed || "end" in changed)) {
        toast("Moved: you are both asked to RSVP again.");
      }
    },
  };
}

async function renderIdeas() {
  const ideas = (await api("GET", "/v1/ideas")).filter((i) => !i.retired_at && !i.planned_as);
  const list = $("ideas");
  if (ideas.length === 0) empty(list, "The jar is empty: add an idea.");
  else list.replaceChildren(...ideas.map(ideaItem));
}

/**
 * An idea in the jar: make it a plan (a proposal to the partner; the idea leaves the jar),
 * retire it (out of the jar, not deleted), edit or delete it.
 */
function ideaItem(idea) {
  const path = itemPath("/v1/ideas", idea.id);
  const planIt = () => openEditor({
    heading: `Plan “${idea.title}”`,
    path: `${path}/plan`,
    method: "POST",
    note: "Your partner is asked to RSVP. Leave the time empty for someday.",
    fields: START_AND_HOURS,
    patch: ({ start, hours = "2" }) => (start ? startAndHours(start, hours, "Pick when it starts.") : {}),
    saved: () => toast("Planned: it is out of the jar, and your partner sees the plan."),
  });
  const retire = () => act(async () => {
    await api("POST", `${path}/retire`);
    toast(`Retired “${idea.title}”: out of the jar, not deleted.`);
  });
  return el("li", { "data-id": idea.id },
    el("span", {}, idea.title),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "primary", "aria-label": `Plan it: ${idea.title}`, onclick: planIt }, "Plan it"),
      el("button", { type: "button", "aria-label": `Retire: ${idea.title}`, onclick: retire }, "Retire")),
    itemActions({
      path, noun: NOUNS.idea, summary: idea.title,
      fields: [{ name: "title", label: "Idea", value: idea.title, maxlength: 200 }],
    }));
}

async function renderAgreements() {
  const agreements = await api("GET", "/v1/agreements");
  const list = $("agreements");
  if (agreements.length === 0) empty(list, "No agreements yet: propose one below.");
  else list.replaceChildren(...agreements.map(agreementItem));
}

function agreementItem(agreement) {
  const path = itemPath("/v1/agreements", agreement.id);
  const accepted = Object.keys(agreement.accepted_by);
  const accept = el("button", {
    type: "button", class: "primary", "aria-label": `Accept agreement: ${agreement.text}`,
    onclick: () => act(() => api("POST", `${path}/accept`)),
  }, "Accept");
  return el("li", { "data-id": agreement.id },
    el("strong", {}, agreement.text),
    el("div", { class: "when" }, `Look at it again on ${day(agreement.review_on)}`),
    el("div", { class: "accepted" }, acceptance(accepted)),
    ...(accepted.includes(state.me.id) ? [] : [accept]),
    itemActions({
      path, noun: NOUNS.agreement, summary: agreement.text,
      fields: [
        { name: "text", label: "Agreement", value: agreement.text, maxlength: 500 },
        { name: "review_on", label: "Look at it again on", type: "date", value: agreement.review_on },
      ],
      note: "New words ask you both to accept again, you too.",
      patch: (changed) => {
        if (changed.review_on === "") throw new Error("Pick the day to look at it again.");
        return changed;
      },
      saved: (changed) => {
        if ("text" in changed) toast("Changed: you are both asked to accept the new words.");
      },
    }));
}

/** Who accepted an agreement's current words, and who has not yet. */
function acceptance(accepted) {
  if (accepted.length === 0) return "Nobody has accepted these words yet.";
  const waiting = [...state.people.keys()].filter((id) => !accepted.includes(id));
  const said = `Accepted by ${names(accepted)}`;
  return waiting.length ? `${said}; not yet by ${names(waiting)}.` : `${said}.`;
}

async function renderCheckin() {
  const balance = state.week ? null : await api("GET", "/v1/balance");
  const week = state.week || balance.week;
  const weeks = await api("GET", "/v1/checkins");
  const checkin = weeks.find((w) => w.week === week) ||
    { week, answered: [], answers: [], revealed: false };
  const answeredByMe = checkin.answered.includes(state.me.id);
  $("checkin-state").textContent = checkin.revealed
    ? `Both of you answered ${week}.`
    : answeredByMe
      ? `You answered ${week}. Your partner's answer shows once they have answered too.`
      : `Check-in for ${week}: answers stay hidden until you have both answered.`;
  $("answers").replaceChildren(...checkin.answers.map((a) => el("li", {},
    el("strong", {}, nameOf(a.person)),
    el("div", {}, `Alone: ${a.enough_alone}/5 · Together: ${a.enough_together}/5`),
    a.went_well ? el("div", {}, `Went well: ${a.went_well}`) : "",
    a.need_next ? el("div", {}, `Needs next: ${a.need_next}`) : "")));
}

async function renderNotes() {
  const notes = await api("GET", "/v1/notes");
  const list = $("notes");
  if (notes.length === 0) empty(list, "No private notes yet.");
  else list.replaceChildren(...notes.map((n) => el("li", {},
    el("strong", {}, n.title), el("div", { class: "body" }, n.body),
    itemActions({
      path: itemPath("/v1/notes", n.id), noun: NOUNS.note, summary: n.title,
      warning: " Its history stays on your own devices, where it always was.",
      fields: [{ name: "body", label: "Note", type: "textarea", value: n.body, maxlength: 50000 }],
    }))));
}

async function renderTrash() {
  const entries = await api("GET", "/v1/trash");
  const list = $("trash");
  if (entries.length === 0) empty(list, "Nothing was deleted in the last 30 days.");
  else list.replaceChildren(...entries.map(trashItem));
}

function trashItem(entry) {
  const noun = NOUNS[entry.kind] || entry.kind.replace(/_/g, " ");
  const by = entry.deleted_by === state.me.id ? "you" : entry.deleted_by_name || nameOf(entry.deleted_by);
  // An edit on the other laptop while it was being deleted shows on the tombstone.
  const editors = [...new Set(entry.conflicts.map((c) => c.by).filter(Boolean))];
  const restore = () => act(async () => {
    const back = await api("POST", `${itemPath("/v1/trash", entry.id)}/restore`);
    toast(`Restored the ${noun} “${back.summary}”.`);
  });
  return el("li", { "data-id": entry.id },
    el("strong", {}, entry.summary),
    el("span", { class: "status" }, noun),
    el("div", { class: "when" }, `Deleted by ${by}, ${when(entry.deleted_at)}`),
    ...(editors.length
      ? [el("div", { class: "when" }, `Edited by ${names(editors)} while it was being deleted: the edit comes back with it.`)]
      : []),
    el("div", { class: "actions" }, el("button", {
      type: "button", "aria-label": `Restore ${noun}: ${entry.summary}`, onclick: restore,
    }, "Restore")));
}

const views = {
  week: renderWeek, ideas: renderIdeas, agreements: renderAgreements, checkin: renderCheckin,
  notes: renderNotes, trash: renderTrash,
};
const titles = {
  week: "Today", ideas: "Idea jar", agreements: "Agreements", checkin: "Check-in",
  notes: "Private notes", trash: "Recently deleted",
};

async function render() {
  try {
    await views[state.view]();
  } catch (error) {
    if (error.status !== 401) toast(error.message);
  }
}

function show(view) {
  state.view = view;
  for (const name of Object.keys(views)) $(`view-${name}`).hidden = name !== view;
  for (const tab of document.querySelectorAll("button[data-view]")) {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  $("title").textContent = titles[view];
  return render();
}

let toastTimer;
/** Shows `text` above the tabs for a while; the page gains room below so it hides nothing. */
function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  document.body.classList.add("toasting");
  clearTimeout(toastTimer);
  // Long enough to read: longer messages stay longer.
  toastTimer = setTimeout(hideToast, Math.min(8000, 2500 + 50 * text.length));
}

function hideToast() {
  $("toast").hidden = true;
  document.body.classList.remove("toasting");
}

/** Runs a change, then redraws; errors become a toast. */
async function act(change) {
  try {
    await change();
    await render();
  } catch (error) {
    if (error.status !== 401) toast(error.message);
  }
}

// ---- the editor ----

/** What the open editor saves (see `openEditor`); null while it is closed. */
let editing = null;

/**
 * Opens the editor dialog on the item at `path`. `fields` are `{ name, label, value, type,
 * maxlength }` (`type`: an input type, or "textarea" for several lines); `note` says what
 * saving may cause. On Save, only the fields whose value changed go to `patch(changed)`,
 * which returns the PATCH body (or throws an Error whose message is shown), then
 * `saved(changed)` may say what happened; `method` is PATCH unless the form makes something
 * (a suggested time is a POST). The dialog sits outside the lists, so a live
 * redraw while it is open keeps what is being typed.
 */
function openEditor({
  heading, path, fields, method = "PATCH", note = "", patch = (changed) => changed, saved = () => {},
}) {
  editing = { path, method, fields, patch, saved };
  $("editor-title").textContent = heading;
  $("editor-note").textContent = note;
  showError("editor-error", null);
  $("editor-fields").replaceChildren(...fields.flatMap(({ name, label, value, type = "text", maxlength }) => {
    const id = `edit-${name}`;
    const input = type === "textarea"
      ? el("textarea", { id, name, rows: "5" })
      : el("input", { id, name, type });
    if (maxlength) input.setAttribute("maxlength", String(maxlength));
    input.value = value;
    return [el("label", { for: id }, label), input];
  }));
  $("editor").showModal();
}

function wireEditor() {
  const dialog = $("editor");
  dialog.addEventListener("close", () => { editing = null; });
  $("editor-cancel").addEventListener("click", () => dialog.close());
  $("editor-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!editing) return;
    const { path, method, fields, patch, saved } = editing;
    const form = new FormData(event.target);
    const changed = {};
    for (const { name, value } of fields) {
      const now = String(form.get(name)).trim();
      if (now !== value.trim()) changed[name] = now;
    }
    showError("editor-error", null);
    // A form that makes something (a POST) is sent as it is; an edit with no change is not.
    if (method === "PATCH" && Object.keys(changed).length === 0) {
      dialog.close();
      toast("Nothing changed.");
      return;
    }
    try {
      await api(method, path, patch(changed));
      dialog.close();
      saved(changed);
      await render();
    } catch (error) {
      if (error instanceof Queued) {
        dialog.close();
        toast(error.message);
      } else if (error.status !== 401) {
        showError("editor-error", error);
      }
    }
  });
}

// ---- undo ----

/** What undoing each command reverted, by the verb of its action. */
const UNDONE = {
  __proto__: null,
  add: "adding", edit: "editing", delete: "deleting", restore: "restoring",
  rsvp: "your answer to", accept: "accepting",
};

/** An undone command as a person reads it: "adding the idea “Night swim”". */
function undone(activity) {
  const [noun, verb] = activity.action.split(".");
  return UNDONE[verb] && NOUNS[noun]
    ? `${UNDONE[verb]} the ${NOUNS[noun]} “${activity.summary}”`
    : `your last change (“${activity.summary}”)`;
}

/**
 * Reverts my last command made through this laptop (here or on the laptop itself) and
 * says which it was; the daemon's refusal (nothing left, or a kind undo does not revert)
 * is shown as it words it.
 */
function undo() {
  const waitingNow = outbox().length;
  if (waitingNow > 0) {
    toast(`${waitingNow} ${waitingNow === 1 ? "change is" : "changes are"} still waiting to be sent: undo once the laptop has them.`);
    return;
  }
  act(async () => {
    const activity = await api("POST", "/v1/undo", undefined, { queue: false });
    toast(`Undone: ${undone(activity)}.`);
  });
}

// ---- forms ----

function onSubmit(id, errorId, handler) {
  $(id).addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    showError(errorId, null);
    try {
      await handler(new FormData(form), form);
      await render();
    } catch (error) {
      if (error instanceof Queued) {
        form.reset();
        toast(error.message);
      } else if (error.status !== 401) {
        showError(errorId, error);
      }
    }
  });
}

/** What each step of a check-in rating means, 1 to 5. */
const SCALE = ["not at all", "a little", "some", "mostly", "plenty"];

/** Five tap targets for each rating question (`fieldset.scale`), named as the API names it. */
function fillScales() {
  for (const set of document.querySelectorAll("fieldset.scale")) {
    const name = set.id.replace("-", "_");
    set.querySelector(".choices").replaceChildren(...SCALE.map((word, i) => el("label", {},
      el("input", { type: "radio", name, value: String(i + 1) }),
      el("span", { class: "number" }, String(i + 1)),
      el("span", { class: "word" }, word))));
  }
}

function rating(form, name, question) {
  const value = Number(form.get(name));
  if (!(value >= 1 && value <= 5)) {
    throw new Error(`${question}: tap a number from 1 (not at all) to 5 (plenty).`);
  }
  return value;
}

function wireForms() {
  fillScales();
  onSubmit("plan-form", "plan-error", async (form, node) => {
    const title = String(form.get("title")).trim();
    if (!title) throw new Error("Say what the plan is.");
    // No start: a someday plan, as the form's label says.
    const start = String(form.get("start"));
    const time = start ? startAndHours(start, form.get("hours"), "Pick when it starts.") : {};
    const place = String(form.get("place")).trim();
    await api("POST", "/v1/plans", {
      title, kind: form.get("kind"), ...time, ...(place ? { place } : {}),
    });
    node.reset();
    $("plan-add").open = false;
    toast("Proposed. Your partner sees it now.");
  });

  onSubmit("idea-form", "idea-error", async (form, node) => {
    const title = String(form.get("title")).trim();
    if (!title) throw new Error("Write the idea first.");
    await api("POST", "/v1/ideas", { title });
    node.reset();
  });

  onSubmit("agreement-form", "agreement-error", async (form, node) => {
    const text = String(form.get("text")).trim();
    if (!text) throw new Error("Write the agreement first.");
    const review = String(form.get("review_on"));
    await api("POST", "/v1/agreements", { text, ...(review ? { review_on: review } : {}) });
    node.reset();
    $("agreement-add").open = false;
    toast("Proposed. Your partner is asked to accept it.");
  });

  onSubmit("checkin-form", "checkin-error", async (form, node) => {
    const body = {
      enough_alone: rating(form, "enough_alone", "Time to yourself"),
      enough_together: rating(form, "enough_together", "Time together"),
    };
    for (const key of ["went_well", "need_next"]) {
      const text = String(form.get(key)).trim();
      if (text) body[key] = text;
    }
    await api("POST", "/v1/checkins", body);
    node.reset();
    toast("Check-in sent.");
  });

  onSubmit("note-form", "note-error", async (form, node) => {
    const body = String(form.get("body")).trim();
    if (!body) throw new Error("Write something first.");
    await api("POST", "/v1/notes", { body });
    node.reset();
  });

  $("draw").addEventListener("click", async () => {
    try {
      const idea = await api("POST", "/v1/ideas/draw", undefined, { queue: false });
      $("drawn").textContent = idea.title;
    } catch (error) {
      if (error.status !== 401) $("drawn").textContent = error.message;
    }
  });

  for (const tab of document.querySelectorAll("button[data-view]")) {
    tab.addEventListener("click", () => show(tab.dataset.view));
  }
  $("undo").addEventListener("click", undo);
  $("toast").addEventListener("click", hideToast);
  wireEditor();

  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = tokenOf($("token-input").value.trim());
    if (token) login(token);
  });
}

/**
 * The token in what was pasted: the token itself, or the whole link `tandem phone add`
 * printed (a home-screen app may start with storage of its own, without the token the
 * browser kept, so pasting the link again is the way in).
 */
function tokenOf(pasted) {
  const hash = pasted.indexOf("#");
  return hash >= 0 ? new URLSearchParams(pasted.slice(hash + 1)).get("token") || "" : pasted;
}

// ---- live updates ----

let redraw;
function listen() {
  if (state.events) state.events.close();
  const events = new EventSource(`/v1/events?token=${encodeURIComponent(state.token)}`);
  state.events = events;
  events.addEventListener("open", () => {
    $("live").textContent = "live";
    $("live").classList.add("on");
    // Back after a while away: send what waited, and redraw what may have been stale.
    sendOutbox();
    if (state.staleSince !== null) render();
  });
  events.addEventListener("change", (message) => {
    const change = JSON.parse(message.data);
    if (change.by && change.by !== state.me.id) {
      toast(`${nameOf(change.by)}: ${change.summary || change.action}`);
    }
    clearTimeout(redraw);
    redraw = setTimeout(render, 100);
  });
  events.addEventListener("reminder", (message) => toast(JSON.parse(message.data).message));
  events.addEventListener("error", () => {
    $("live").textContent = "offline";
    $("live").classList.remove("on");
    // A closed stream may mean the phone was revoked: ask, which signs out on 401;
    // otherwise the laptop is away, and the page keeps trying.
    if (events.readyState === EventSource.CLOSED) {
      api("GET", "/v1/status").then(
        () => setTimeout(listen, 2000),
        (error) => { if (error.status !== 401) setTimeout(listen, 5000); });
    }
  });
}

// ---- start ----

/** Takes who is who from the status. */
function enter(status) {
  state.me = status.me;
  state.people = new Map([[status.me.id, status.me.name]]);
  if (status.partner) state.people.set(status.partner.id, status.partner.name);
  $("login").hidden = true;
  $("app").hidden = false;
}

/**
 * Shows at once what this phone last saw, marked with its time, then asks the laptop;
 * while it does not answer, the page stays on what it saw and keeps trying.
 */
async function start() {
  showOutbox();
  const remembered = seen("/v1/status");
  if (remembered) {
    state.fromMemory = true;
    enter(remembered.data);
    await show(state.view);
    state.fromMemory = false;
  }
  try {
    enter(await read("/v1/status"));
  } catch (error) {
    if (error.status === 401) return;
    if (!remembered) return logout(`Cannot reach tandem on the laptop: ${error.message}`);
  }
  listen();
  show(state.view);
  sendOutbox();
}

document.addEventListener("DOMContentLoaded", () => {
  wireForms();
  const fromLink = new URLSearchParams(location.hash.slice(1)).get("token");
  const revoked = new URLSearchParams(location.search).has(REVOKED_PARAM);
  if (fromLink || revoked) history.replaceState(null, "", location.pathname);
  const token = fromLink || localStorage.getItem(TOKEN_KEY);
  if (token) login(token);
  else if (revoked) logout(REVOKED);
  else logout("Open the link that `tandem phone add` showed on your laptop, or paste this phone's token.");
});
