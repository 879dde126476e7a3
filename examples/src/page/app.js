// The demo dashboard: one card per scenario, each reading a route of this
// server with the browser's own EventSource. No build step, no library.
//
// Connection budget: an HTTP/1.1 browser opens at most six connections per
// origin, shared by every tab. Each tab holds two streams (its chat room and
// the hub, which carries several topics on one stream); the guides' streams
// are played one at a time by one tab only (the holder of a Web Lock), which
// mirrors what its cards show to the other tabs over a BroadcastChannel.
// Two tabs thus use five connections, and a POST still finds a free one.
//
// `?report=URL` (used by the browser test): every state change and event is
// also POSTed to URL as JSON, with `?tab=NAME` to tell tabs apart.
"use strict";

const params = new URLSearchParams(location.search);
const reportUrl = params.get("report");
const tab = params.get("tab") || Math.random().toString(36).slice(2, 6);
const me = params.get("user") || `guest-${tab}`;
const room = params.get("room") || "lobby";
const MAX_ITEMS = 6;
// EventSource does not expose the `retry:` a stream sent, so the countdown
// uses what the route is known to send (a card's `retry`), else Chromium's
// and Firefox's default of 3 s: the demo's routes send no `retry:` hint.
// The browser itself waits whatever the server said.
const DEFAULT_RETRY_MS = 3000;

function report(what) {
  if (!reportUrl) return;
  // `no-cors`: the report server is another origin and needs no CORS.
  fetch(reportUrl, { method: "POST", mode: "no-cors", body: JSON.stringify({ tab, ...what }) })
    .catch(() => {});
}
window.addEventListener("error", (e) => report({ error: String(e.message || e) }));
window.addEventListener("unhandledrejection", (e) => report({ error: String(e.reason) }));
for (const level of ["error", "warn"]) {
  const original = console[level].bind(console);
  console[level] = (...args) => { report({ error: `console.${level}: ${args.join(" ")}` }); original(...args); };
}

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
};
const clock = () => new Date().toTimeString().slice(0, 8);
const parse = (data) => { try { return JSON.parse(data); } catch { return data; } };

// ---------------------------------------------------------------- mirroring

const channel = "BroadcastChannel" in window ? new BroadcastChannel("sse-dashboard") : null;
let leading = false;
const cards = {};

// A card: title, route, connection state, a note, optional extras (a big
// number, a bar, members, a form) and its newest events, newest on top.
class Card {
  constructor(section, def) {
    this.def = def;
    this.id = def.id;
    this.mirrored = !!def.mirrored;
    this.badge = el("span", { class: "state" }, "idle");
    this.noteEl = el("div", { class: "note" }, def.note || "");
    this.extra = el("div", { class: "extra" });
    this.list = el("ol", { class: "events" });
    this.node = el("article", { class: "card", id: `card-${def.id}` },
      el("header", {}, el("h3", {}, def.title), this.badge),
      el("code", { class: "route" }, def.route),
      this.noteEl, this.extra, this.list);
    document.getElementById(section).append(this.node);
    this.timer = null;
    cards[def.id] = this;
  }
  // Operations that followers repeat: they go through `apply`.
  apply(op, args, fromMirror = false) {
    this[`_${op}`](...args);
    if (this.mirrored && leading && !fromMirror && channel) channel.postMessage({ card: this.id, op, args });
  }
  state(name, text) { this.apply("state", [name, text || name]); }
  push(kind, data, id, cls) { this.apply("push", [kind, data, id || "", cls || "", clock()]); }
  note(text) { this.apply("note", [text]); }
  playing(on) { this.apply("playing", [on]); }
  _state(name, text) {
    clearInterval(this.timer);
    this.badge.className = `state ${name}`;
    this.badge.textContent = text;
    report({ card: this.id, state: name });
  }
  _push(kind, data, id, cls, time) {
    const shown = this.def.show ? this.def.show(parse(data), kind) : data;
    const item = el("li", { class: cls, title: `${kind} id=${id} ${data}` },
      el("span", { class: "t" }, time), el("span", { class: `k ${kind}` }, kind),
      el("span", { class: "d" }, shown));
    this.list.prepend(item);
    while (this.list.children.length > MAX_ITEMS) this.list.lastChild.remove();
    if (this.def.onData) this.def.onData(this, parse(data), kind);
    report({ card: this.id, event: kind, data, id, cls });
  }
  _note(text) { this.noteEl.textContent = text; }
  _playing(on) { this.node.classList.toggle("playing", on); }
  // "reconnecting in 2.4 s", counting down from the retry delay.
  reconnecting(ms) {
    this.state("reconnecting", "reconnecting");
    const until = Date.now() + ms;
    const tick = () => {
      const left = Math.max(0, until - Date.now());
      this.badge.textContent = `reconnecting in ${(left / 1000).toFixed(1)} s`;
    };
    tick();
    this.timer = setInterval(tick, 100);
  }
}

if (channel) {
  channel.onmessage = ({ data }) => {
    if (data.card && !leading && cards[data.card]) cards[data.card].apply(data.op, data.args, true);
    if (data.notify && leading) notifyQueue.push(data.notify);
  };
}

// ------------------------------------------------------------ one stream

// Opens `url`, shows its state on `card` and its `types` of events.
// Resolves when the stream is over for this card: it ended (finite), it was
// refused, `until(event)` returned true, or `close()` was called.
function play(card, url, types, opts = {}) {
  let source;
  let settle;
  const done = new Promise((resolve) => { settle = resolve; });
  const finish = (name, text) => {
    if (!source) return;
    source.close();
    source = null;
    card.state(name, text);
    settle();
  };
  card.state("connecting", "connecting");
  source = new EventSource(url);
  let received = 0;
  source.onopen = () => { card.state("open", "open"); if (opts.onOpen) opts.onOpen(); };
  for (const type of types) {
    source.addEventListener(type, (e) => {
      received += 1;
      const cls = opts.classify ? opts.classify(e) : "";
      card.push(type, e.data, e.lastEventId, cls);
      if (opts.onEvent) opts.onEvent(e);
      if (opts.until && opts.until(e, received)) finish("closed", "closed by the page");
    });
  }
  source.addEventListener("error", (e) => {
    if (!source) return;
    if (e instanceof MessageEvent) {
      // An `event: error` the server sent (a failed item), not the connection.
      card.push("error", e.data, e.lastEventId, "error");
      return;
    }
    if (source.readyState === EventSource.CLOSED) finish("refused", "refused");
    else if (opts.finite) finish("closed", "ended");
    else card.reconnecting(card.def.retry || DEFAULT_RETRY_MS);
  });
  return { done, close: () => finish("closed", "closed by the page") };
}

const withTimeout = (handle, ms) => {
  const t = setTimeout(handle.close, ms);
  return handle.done.then(() => clearTimeout(t));
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const untilCount = (n) => (_e, received) => received >= n;

// ------------------------------------------------------------- the cards

const text = (d) => (typeof d === "string" ? d : JSON.stringify(d));
const seed000 = [
  { id: "updates", title: "Creating an SSE handler", route: "/events/updates", note: "two strings, then the stream ends" },
  { id: "limited", title: "Automatic cleanup", route: "/events/limited", note: "Update 0 … 4, one a second, then it ends" },
  { id: "live", title: "Infinite stream", route: "/events/live", note: "live updates for as long as you listen", max: 4 },
  { id: "connection-errors", title: "Connection errors", route: "/events/connection-errors", note: "the upstream fails after five events" },
  { id: "graceful", title: "Graceful degradation", route: "/events/graceful", note: "a fallback message, then it subscribes again", max: 7 },
  { id: "status", title: "Typed data", route: "/events/status", note: "one StatusUpdate as JSON",
    show: (d) => (d.status ? `${d.status} at ${d.timestamp}` : text(d)) },
];
const seed001 = [
  { id: "counter", title: "Live counter", route: "/aim/counter", max: 4, note: "a timer pushes {count}",
    show: text, onData: (c, d) => { c.big.textContent = d.count ?? "–"; } },
  { id: "progress", title: "Progress", route: "/aim/progress", types: ["progress", "complete"],
    show: (d) => d.message || text(d),
    onData: (c, d, kind) => {
      const pct = kind === "complete" ? 100 : d.percentage;
      if (pct !== undefined) { c.bar.style.width = `${pct}%`; c.pct.textContent = `${pct}%`; }
    } },
  { id: "feed", title: "Live feed", route: "/aim/feed", types: ["post", "like", "comment"], max: 3,
    show: (d) => (d.author ? `${d.author}: ${d.text}` : text(d)) },
  { id: "notifications", title: "Chat notifications", route: "/aim/notifications/dashboard", types: ["notification"],
    note: "send one: it is delivered while this stream is open",
    show: (d) => (d.from ? `${d.from}: ${d.message}` : text(d)) },
];
const hubCards = [
  { id: "room", title: `Room “${room}”`, route: `/chat/${room}?user=${me}`, types: ["message", "user-joined", "user-left"],
    note: "members, who joins and leaves, messages (resumable)",
    show: (d) => (d.text !== undefined ? `${d.from}: ${d.text}` : d.user || text(d)) },
  { id: "ticker", title: "Resumable ticker", route: "/ticker", types: ["tick"], mirrored: true,
    note: "forced reconnect with the last id: the gap is replayed",
    show: (d) => (d.n !== undefined ? `n = ${d.n}` : text(d)) },
  { id: "hub", title: "Several topics, one stream", route: "/hub?topics=broadcast,ticker", types: ["broadcast", "message", "tick"],
    note: "one connection carries every topic; send a broadcast",
    show: (d) => (d.text !== undefined ? d.text : d.n !== undefined ? `n = ${d.n}` : text(d)) },
];
const authCards = [
  { id: "secure", title: "401 before streaming", route: "/secure/feed", types: ["welcome", "tick"], mirrored: true,
    note: "without ?token=let-me-in: refused; with it: a welcome" },
];

for (const def of seed000) new Card("seed000", { ...def, mirrored: true });
for (const def of seed001) new Card("seed001", { ...def, mirrored: true });
for (const def of hubCards) new Card("hub", def);
for (const def of authCards) new Card("hub", def);

// Extras. Follower tabs get them through `onData` like the leader.
{
  const c = cards.counter;
  c.big = el("div", { class: "big" }, "–");
  c.extra.append(c.big);
  const p = cards.progress;
  p.bar = el("div");
  p.pct = el("span", { class: "muted" }, "0%");
  p.extra.append(el("div", { class: "bar" }, p.bar), p.pct);
}

// A form with a button that says what happened to the last send.
function sendForm(card, placeholder, send) {
  const input = el("input", { value: placeholder, "aria-label": "text" });
  const button = el("button", { type: "submit" }, "Send");
  const form = el("form", {}, input, button);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    button.disabled = true;
    button.className = "";
    button.textContent = "Sending…";
    try {
      button.textContent = await send(input.value);
      button.className = "ok";
    } catch (err) {
      button.textContent = "Failed";
      button.className = "bad";
      card.note(`send failed: ${err.message}`);
    } finally {
      button.disabled = false;
      setTimeout(() => { button.textContent = "Send"; button.className = ""; }, 2500);
    }
  });
  card.extra.append(form);
  return (value) => { input.value = value; form.requestSubmit(); };
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  return response.status === 204 ? {} : response.json();
}

// --------------------------------------------------- the room and the hub

const hubAvailable = fetch(`/chat/${room}/members`).then((r) => r.ok, () => false);

// Test mode: say hello once someone else is in the room (they listen by
// then: a member is counted once its subscription has started).
let sayInRoom = null;
let greeted = false;

function members(list) {
  const c = cards.room;
  c.members.replaceChildren(...list.map((m) => el("span", { class: m === me ? "me" : "" }, m)));
  report({ card: "room", members: list });
  if (reportUrl && sayInRoom && !greeted && list.length >= 2) {
    greeted = true;
    sayInRoom(`hello from tab ${tab}`);
  }
}

async function refreshMembers() {
  try {
    const response = await fetch(`/chat/${room}/members`);
    if (response.ok) {
      const list = await response.json();
      members(list.map((m) => (typeof m === "string" ? m : m.user || m.name || text(m))));
    }
  } catch { /* the next join or leave tries again */ }
}

async function startHub() {
  if (!(await hubAvailable)) {
    for (const id of ["room", "ticker", "hub"]) cards[id].state("closed", "not in this build");
    return;
  }
  const r = cards.room;
  r.members = el("div", { class: "members" });
  r.extra.append(r.members);
  sayInRoom = sendForm(r, `Hello from ${me}`, async (value) => {
    const { id } = await postJson(`/chat/${room}`, { from: me, text: value });
    return id ? `Sent #${id}` : "Sent";
  });
  play(r, r.def.route, r.def.types, {
    onOpen: refreshMembers,
    onEvent: (e) => { if (e.type !== "message") refreshMembers(); },
  });

  const h = cards.hub;
  const broadcast = sendForm(h, "Hello, everyone", async (value) => {
    await postJson("/broadcast", { text: value });
    return "Broadcast ✓";
  });
  play(h, h.def.route, h.def.types, { onOpen: () => { if (reportUrl) broadcast(`broadcast from tab ${tab}`); } });
}

// -------------------------------------------- the guides, one at a time

const notifyQueue = [];
{
  const n = cards.notifications;
  sendForm(n, "Hi there!", async (value) => {
    const message = { from: me, message: value };
    if (leading) notifyQueue.push(message); else if (channel) channel.postMessage({ notify: message });
    return "Queued ✓";
  });
}

async function turnNotifications(card) {
  const message = notifyQueue.shift() || { from: me, message: "automatic hello" };
  let handle;
  handle = play(card, card.def.route, card.def.types, {
    onOpen: async () => {
      card.note(`sending “${message.message}”…`);
      try {
        const { delivered } = await postJson(card.def.route, message);
        card.note(`delivered to ${delivered} connection(s)`);
      } catch (err) {
        card.note(`send failed: ${err.message}`);
        handle.close();
      }
    },
    until: untilCount(1),
  });
  await withTimeout(handle, 8000);
}

// The ticker: three ticks, close, wait two and a half tick intervals, then
// reconnect with `?lastEventId=` (the polyfill form the server accepts); the
// ticks that arrive in the first burst were replayed from the topic's
// history.
async function turnTicker(card) {
  const seen = [];
  let lastId = "";
  let lastAt = 0;
  let gap = 500;
  const first = play(card, card.def.route, card.def.types, {
    onEvent: (e) => {
      const now = performance.now();
      if (lastAt) gap = now - lastAt;
      lastAt = now;
      lastId = e.lastEventId;
      seen.push(parse(e.data).n);
    },
    until: untilCount(3),
  });
  await withTimeout(first, 10000);
  if (!lastId) return;
  card.reconnecting(gap * 2.5);
  await sleep(gap * 2.5);
  const before = seen.slice();
  // The replayed ticks come as one burst right after the response starts;
  // the first pause of half a tick interval ends it.
  let previous = 0;
  let burst = true;
  const after = [];
  const second = play(card, `${card.def.route}?lastEventId=${encodeURIComponent(lastId)}`, card.def.types, {
    onOpen: () => { previous = performance.now(); },
    classify: () => {
      const now = performance.now();
      if (now - previous >= gap / 2) burst = false;
      previous = now;
      return burst ? "replayed" : "";
    },
    onEvent: (e) => { after.push(parse(e.data).n); },
    until: (_e, received) => received >= 6,
  });
  await withTimeout(second, 10000);
  const replayed = card.list.querySelectorAll("li.replayed").length;
  card.note(`resumed after id ${lastId}: ${replayed} replayed, ` +
    (after[0] === before[before.length - 1] + 1 ? "no gap" : `GAP (${before.at(-1)} → ${after[0]})`));
  report({ card: "ticker", resumed: { before, after, replayed } });
}

async function turnSecure(card) {
  card.state("connecting", "connecting");
  const refused = await fetch(card.def.route);
  const reason = await refused.text();
  card.push(`${refused.status}`, `${refused.statusText || "refused"}: ${reason}`, "", "error");
  card.state("refused", `refused ${refused.status}`);
  report({ card: "secure", refused: refused.status });
  await sleep(1500);
  const handle = play(card, `${card.def.route}?token=let-me-in`, card.def.types, { until: untilCount(2) });
  await withTimeout(handle, 8000);
  card.state("refused", "401 without token");
}

async function turn(card) {
  const def = card.def;
  if (def.id === "notifications") return turnNotifications(card);
  if (def.id === "ticker") return turnTicker(card);
  if (def.id === "secure") return turnSecure(card);
  const finite = !def.max;
  const handle = play(card, def.route, def.types || ["message"], {
    finite, until: def.max ? untilCount(def.max) : undefined,
  });
  await withTimeout(handle, 15000);
}

async function lead() {
  leading = true;
  document.getElementById("leader").textContent = "this tab plays the guides' streams";
  const order = [...seed000, ...seed001].map((d) => cards[d.id]);
  if (await hubAvailable) order.push(cards.ticker);
  order.push(cards.secure);
  for (;;) {
    for (const card of order) {
      // A queued notification goes next.
      const next = notifyQueue.length ? cards.notifications : card;
      next.playing(true);
      try { await turn(next); } catch (err) { next.state("failed", "failed"); next.note(String(err)); }
      next.playing(false);
      report({ card: next.id, turn: "done" });
      await sleep(300);
    }
    report({ cycle: "done" });
  }
}

document.getElementById("me").textContent = me;
startHub();
if (navigator.locks) {
  document.getElementById("leader").textContent = "another tab plays the guides' streams (mirrored here)";
  navigator.locks.request("sse-dashboard-player", () => lead());
} else {
  lead();
}
