import { createHash } from 'node:crypto';

// The status page: one document with its style and script inline, so that it needs nothing but
// the service (no CDN, no font: the demo runs offline). The script builds the DOM with
// textContent only: a client name from the key ring is text, never markup.

const STYLE = `
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --text: #1b1f24; --muted: #5b6573; --line: #dde1e6;
  --ok: #1a7f37; --warn: #b35900; --bad: #c62828; --accent: #2f6feb; --accent-bg: #e8f0fe; }
@media (prefers-color-scheme: dark) { :root { --bg: #0f1216; --card: #171b21; --text: #e6e9ee; --muted: #98a2b0; --line: #2a313a;
  --ok: #3fb950; --warn: #e3a008; --bad: #f85149; --accent: #58a6ff; --accent-bg: #15243a; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--text); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1.25rem; padding: 1rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { margin: 0; font-size: 1.15rem; }
header .meta { color: var(--muted); }
header .live { margin-left: auto; color: var(--muted); }
header .live::before { content: ""; display: inline-block; width: .55rem; height: .55rem; margin-right: .4rem; border-radius: 50%; background: var(--warn); }
header .live.on::before { background: var(--ok); }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1rem; padding: 1rem 1.5rem 2rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .9rem 1rem; min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { margin: 0 0 .6rem; font-size: .8rem; letter-spacing: .06em; text-transform: uppercase; color: var(--muted); }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: middle; white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: .78rem; }
td.lease { width: 40%; min-width: 180px; white-space: normal; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .85em; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .75rem; font-weight: 600; border: 1px solid currentColor; }
.s-ok, .s-active { color: var(--ok); } .s-degraded, .s-failing, .s-draining, .s-warming { color: var(--warn); } .s-down, .s-closed, .s-absent { color: var(--bad); }
.bar { position: relative; height: .55rem; border-radius: 999px; background: var(--line); overflow: hidden; }
.bar > div { position: absolute; inset: 0 auto 0 0; border-radius: 999px; background: var(--ok); transition: width .25s linear; }
.bar.low > div { background: var(--warn); } .bar.out > div { background: var(--bad); }
.lease-text { display: block; margin-top: .2rem; color: var(--muted); font-size: .78rem; }
.pool h3 { margin: 0 0 .5rem; font-size: .95rem; font-weight: 600; }
.gens { display: flex; flex-wrap: wrap; gap: .6rem; }
.gen { flex: 0 0 auto; min-width: 150px; border: 1px solid var(--line); border-radius: 8px; padding: .5rem .7rem; }
.gen .id { font-size: 1.05rem; font-weight: 700; }
.gen .counts { color: var(--muted); font-size: .8rem; }
.gen.active { border: 2px solid var(--accent); background: var(--accent-bg); }
.gen.fresh { animation: flash 1.6s ease-out; }
@keyframes flash { from { box-shadow: 0 0 0 6px var(--accent); } to { box-shadow: 0 0 0 0 transparent; } }
.switches { margin: .6rem 0 0; padding-left: 1.1rem; color: var(--muted); font-size: .8rem; }
.empty { color: var(--muted); font-style: italic; margin: .2rem 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; }
footer { padding: 0 1.5rem 1.5rem; color: var(--muted); font-size: .8rem; }
`;

const SCRIPT = `
"use strict";
const q = (id) => document.querySelector('[data-testid="' + id + '"]');
const state = { snapshot: undefined, receivedAt: 0, offset: 0, active: {}, switches: {} };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined) continue;
    if (k === "class") e.className = v;
    else if (k === "testid") e.dataset.testid = v;
    else e.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  return e;
}
// Ages round down, time left rounds up: "0 s left" means it has ended.
function duration(ms, round = Math.floor) {
  const s = Math.max(0, round(ms / 1000));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
}
const serverNow = () => Date.now() + state.offset;
const badge = (status) => el("span", { class: "badge s-" + status }, status);

function secretsTable(secrets) {
  const rows = secrets.map((s) => {
    let lease = el("td", { class: "lease" }, "—");
    if (s.lease) {
      lease = el("td", { class: "lease", testid: "lease-" + s.name },
        el("div", { class: "bar", "data-expires": s.lease.expiresAt, "data-ttl": s.lease.ttlMs }, el("div")),
        el("span", { class: "lease-text" }));
      lease.dataset.renewable = String(s.lease.renewable);
    }
    return el("tr", { testid: "secret-" + s.name },
      el("td", {}, el("strong", {}, s.name)),
      el("td", {}, s.provider),
      el("td", { class: "mono", testid: "version-" + s.name }, s.version === undefined ? "—" : s.version),
      el("td", s.ageMs === undefined ? {} : { "data-age": s.ageMs }, "—"),
      el("td", {}, badge(s.status), s.error ? el("span", { class: "mono" }, " " + s.error) : undefined),
      lease);
  });
  return el("table", {}, el("thead", {}, el("tr", {}, ...["secret", "provider", "version", "age", "status", "lease"].map((h) => el("th", {}, h)))), el("tbody", {}, ...rows));
}

function poolBlock(pool) {
  const previous = state.active[pool.name];
  if (pool.active !== undefined && previous !== undefined && previous !== pool.active) {
    (state.switches[pool.name] = state.switches[pool.name] || []).unshift("generation " + previous + " → " + pool.active + " at " + new Date().toLocaleTimeString());
    state.switches[pool.name].length = Math.min(state.switches[pool.name].length, 5);
  }
  const fresh = previous !== undefined && previous !== pool.active;
  state.active[pool.name] = pool.active;
  const gens = pool.generations.map((g) => {
    const active = g.id === pool.active;
    return el("div", { class: "gen" + (active ? " active" : "") + (active && fresh ? " fresh" : ""), testid: active ? "pool-generation-active" : "pool-generation-" + g.id, "data-generation": g.id },
      el("div", {}, el("span", { class: "id" }, "generation " + g.id), " ", badge(g.state)),
      el("div", { class: "mono" }, "credentials " + g.version),
      el("div", { class: "counts" }, "idle " + g.idle + " · busy " + g.busy + " · opening " + g.opening));
  });
  const switches = state.switches[pool.name] || [];
  return el("div", { class: "pool", testid: "pool-" + pool.name },
    el("h3", {}, pool.name, " ", badge(pool.status), pool.waiting > 0 ? " " + pool.waiting + " waiting" : ""),
    gens.length > 0 ? el("div", { class: "gens" }, ...gens) : el("p", { class: "empty" }, "no generation"),
    switches.length > 0 ? el("ul", { class: "switches", testid: "pool-switches-" + pool.name }, ...switches.map((s) => el("li", {}, s))) : undefined);
}

function keysBlock(keys) {
  if (keys.length === 0) return el("p", { class: "empty", testid: "previous-keys-none" }, "No client is calling with a previous key.");
  const rows = keys.map((k) => el("tr", { testid: "previous-key-" + k.client },
    el("td", {}, el("strong", {}, k.client)),
    el("td", { class: "mono" }, k.keyId),
    el("td", {}, String(k.uses)),
    el("td", { "data-since": k.lastUsedAt }, "—"),
    el("td", { "data-until": k.sunset, testid: "grace-" + k.client }, "—")));
  return el("table", {}, el("thead", {}, el("tr", {}, ...["client", "key id", "uses", "last used", "grace left"].map((h) => el("th", {}, h)))), el("tbody", {}, ...rows));
}

function auditBlock(audit) {
  if (!audit) return el("p", { class: "empty" }, "No audit trail.");
  const item = (label, testid, value) => [el("dt", {}, label), el("dd", { testid }, value)];
  return el("dl", {},
    ...item("status", "audit-status", badge(audit.status)),
    ...item("head", "audit-head", el("span", {}, "#" + audit.head.seq + " ", el("code", { testid: "audit-head-hash" }, audit.head.hashPrefix + "…"))),
    ...item("pending", "audit-pending", String(audit.pending)),
    ...item("written", "audit-written", String(audit.written)),
    ...item("failed", "audit-failed", String(audit.failed) + (audit.lastFailure ? " (last: " + audit.lastFailure + ")" : "")));
}

function render(snapshot) {
  state.snapshot = snapshot;
  state.receivedAt = Date.now();
  state.offset = Date.parse(snapshot.checkedAt) - state.receivedAt;
  document.title = snapshot.service + " · status";
  q("service").textContent = snapshot.service;
  q("environment").textContent = "environment " + snapshot.environment;
  q("overall-status").replaceChildren(badge(snapshot.status));
  q("secrets").replaceChildren(secretsTable(snapshot.secrets));
  q("pools").replaceChildren(...(snapshot.pools.length > 0 ? snapshot.pools.map(poolBlock) : [el("p", { class: "empty" }, "No database configured.")]));
  q("previous-keys").replaceChildren(keysBlock(snapshot.previousKeys));
  q("audit").replaceChildren(auditBlock(snapshot.audit));
  q("checked-at").textContent = "updated " + new Date(state.receivedAt).toLocaleTimeString();
  tick();
}

// Between snapshots the clocks move on by themselves: ages, leases and grace periods count.
function tick() {
  const elapsed = Date.now() - state.receivedAt;
  for (const e of document.querySelectorAll("[data-age]")) e.textContent = duration(Number(e.dataset.age) + elapsed);
  for (const e of document.querySelectorAll("[data-since]")) e.textContent = duration(serverNow() - Date.parse(e.dataset.since)) + " ago";
  for (const e of document.querySelectorAll("[data-until]")) e.textContent = duration(Date.parse(e.dataset.until) - serverNow(), Math.ceil);
  for (const bar of document.querySelectorAll(".bar[data-expires]")) {
    const ttl = Number(bar.dataset.ttl);
    const left = Math.max(0, Date.parse(bar.dataset.expires) - serverNow());
    const share = ttl > 0 ? Math.min(1, left / ttl) : 0;
    bar.firstChild.style.width = (share * 100).toFixed(1) + "%";
    bar.classList.toggle("low", share < 0.5 && left > 0);
    bar.classList.toggle("out", left === 0);
    const cell = bar.parentElement;
    cell.querySelector(".lease-text").textContent = duration(left, Math.ceil) + " left of " + duration(ttl) + (cell.dataset.renewable === "true" ? " · renewable" : " · not renewable");
  }
}
setInterval(tick, 250);

const live = q("connection");
const source = new EventSource("status/events");
source.onopen = () => { live.textContent = "live"; live.classList.add("on"); };
source.onerror = () => { live.textContent = "reconnecting…"; live.classList.remove("on"); };
source.onmessage = (event) => render(JSON.parse(event.data));
`;

/** The page itself: the sections the script fills from each snapshot. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keyward · status</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
<h1 data-testid="service">keyward</h1>
<span class="meta" data-testid="environment"></span>
<span data-testid="overall-status"></span>
<span class="live" data-testid="connection">connecting…</span>
</header>
<main>
<section class="wide"><h2>Secrets</h2><div data-testid="secrets"><p class="empty">Waiting for the first snapshot…</p></div></section>
<section><h2>Database pool</h2><div data-testid="pools"></div></section>
<section><h2>API keys in grace</h2><div data-testid="previous-keys"></div></section>
<section><h2>Audit trail</h2><div data-testid="audit"></div></section>
</main>
<footer><span data-testid="checked-at"></span> · names, versions, ages and counts only: no secret value is ever sent to this page.</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Only this page's own style and script run, and it talks to its own origin only. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `style-src ${sha256(STYLE)}`,
  `script-src ${sha256(SCRIPT)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
