// hookrelay operator console. Plain DOM, no framework, nothing fetched
// from elsewhere. Everything a delivery carries is attacker-controlled
// text: it is only ever set with textContent, never parsed as HTML.

const $ = (sel) => document.querySelector(sel);
const API = "/console/api";
let csrf = "";
let timers = [];

function el(tag, props = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") n.className = v;
    else if (k === "text") n.textContent = v;
    else if (k.startsWith("data-")) n.setAttribute(k, v);
    else n[k] = v;
  }
  for (const c of children) if (c != null) n.append(c);
  return n;
}

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (method !== "GET") {
    opts.headers["Content-Type"] = "application/json";
    opts.headers["X-Console-CSRF"] = csrf;
    opts.body = JSON.stringify(body || {});
  }
  const res = await fetch(API + path, opts);
  const data = await res.json().catch(() => ({}));
  if (res.status === 401 && path !== "/login") {
    showLogin("Your session ended: sign in again.");
    throw new Error("no session");
  }
  if (!res.ok) throw new Error((data.error && data.error.message) || res.statusText);
  return data;
}

// ---- sign-in ---------------------------------------------------------------

function showLogin(msg) {
  timers.forEach(clearInterval);
  timers = [];
  $("#nav").hidden = true;
  document.querySelectorAll(".page").forEach((p) => (p.hidden = true));
  $("#login").hidden = false;
  $("#login-error").textContent = msg || "";
  $("#key").focus();
}

async function start() {
  try {
    const s = await fetch(API + "/session", { credentials: "same-origin" });
    if (!s.ok) return showLogin();
    csrf = (await s.json()).csrf;
  } catch {
    return showLogin("The relay did not answer.");
  }
  $("#login").hidden = true;
  $("#nav").hidden = false;
  await loadSources();
  route();
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    const r = await api("POST", "/login", { key: $("#key").value });
    csrf = r.csrf;
    $("#key").value = "";
    start();
  } catch (e) {
    $("#login-error").textContent = e.message;
  }
});

$("#logout").addEventListener("click", async () => {
  await api("POST", "/logout").catch(() => {});
  csrf = "";
  showLogin("Signed out.");
});

// ---- routing ---------------------------------------------------------------

const pages = { deliveries: showDeliveries, test: showTest, fleet: showFleet, tail: showTail };

function route() {
  if (!csrf) return;
  timers.forEach(clearInterval);
  timers = [];
  const name = (location.hash || "#deliveries").slice(1);
  const page = pages[name] ? name : "deliveries";
  document.querySelectorAll(".page").forEach((p) => (p.hidden = p.id !== "page-" + page));
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === page));
  pages[page]();
}
window.addEventListener("hashchange", route);

// ---- sources ---------------------------------------------------------------

let sources = [];

async function loadSources() {
  sources = (await api("GET", "/sources")).sources;
  for (const sel of [$("#f-source"), $("#t-source")]) {
    const keep = sel.id === "f-source" ? [sel.options[0]] : [];
    sel.replaceChildren(...keep);
    for (const s of sources) sel.append(el("option", { value: s.name, text: `${s.name} (${s.provider})` }));
  }
  if ($("#f-source")) $("#f-source").append(el("option", { value: "_unknown", text: "unknown source names" }));
}

// ---- deliveries ------------------------------------------------------------

function fmtTime(t) {
  const d = new Date(t);
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

function fmtLatency(us) {
  return us >= 1000 ? (us / 1000).toFixed(1) + " ms" : us + " µs";
}

function why(e) {
  const td = el("td", { class: "why" });
  if (e.outcome === "refused" || e.outcome === "failed" || e.outcome === "ignored") {
    td.append(e.detail || e.reason || "");
    if (e.header) td.append(" ", el("span", { class: "hdr", text: e.header }));
  } else if (e.events) {
    td.textContent = e.events.map((x) => `${x.topic} #${x.id}${x.duplicate ? " (dup)" : ""}`).join(", ");
  }
  return td;
}

async function refreshDeliveries() {
  const q = new URLSearchParams();
  if ($("#f-source").value) q.set("source", $("#f-source").value);
  if ($("#f-status").value) q.set("status", $("#f-status").value);
  if ($("#f-id").value.trim()) q.set("delivery_id", $("#f-id").value.trim());
  q.set("limit", "100");
  let data;
  try {
    data = await api("GET", "/deliveries?" + q);
  } catch (e) {
    $("#log-state").textContent = e.message;
    return;
  }
  $("#log-state").textContent = `${data.deliveries.length} deliveries shown (newest first)`;
  const rows = data.deliveries.map((e) => {
    const tr = el("tr", { "data-source": e.source, "data-id": e.id, "data-outcome": e.outcome },
      el("td", { text: fmtTime(e.time) }),
      el("td", {}, e.source === "_unknown" ? `? ${e.requested}` : e.source, el("span", { class: "via", text: e.via || "" })),
      el("td", { text: String(e.status) }),
      el("td", {}, el("span", { class: "pill o-" + e.outcome, text: e.outcome })),
      el("td", {}, el("code", { text: e.delivery_id || "" })),
      el("td", { text: e.type || "" }),
      why(e),
      el("td", { text: fmtLatency(e.latency_us) }));
    tr.addEventListener("click", () => openDetail(e.source, e.id));
    return tr;
  });
  $("#deliveries tbody").replaceChildren(...rows);
}

function showDeliveries() {
  refreshDeliveries();
  timers.push(setInterval(() => { if ($("#f-live").checked && !document.hidden) refreshDeliveries(); }, 500));
}
$("#filters").addEventListener("change", refreshDeliveries);
$("#filters").addEventListener("submit", (ev) => { ev.preventDefault(); refreshDeliveries(); });

let current = null;

async function openDetail(source, id) {
  const e = await api("GET", `/deliveries/${encodeURIComponent(source)}/${encodeURIComponent(id)}`);
  current = e;
  $("#detail").hidden = false;
  $("#d-id").textContent = e.delivery_id || e.id;
  const fields = [
    ["Time", new Date(e.time).toISOString()], ["Source", e.source + (e.requested ? ` (asked for "${e.requested}")` : "")],
    ["Provider", e.provider], ["Via", `${e.via || ""} ${e.node ? "on " + e.node : ""}`], ["Verification", e.verification],
    ["Answer", `${e.status} · ${e.outcome}`], ["Reason", e.reason], ["In plain words", e.detail], ["Header at fault", e.header],
    ["Event type", e.type], ["Events", (e.events || []).map((x) => `${x.topic} #${x.id} ${x.type || ""}${x.duplicate ? " (duplicate)" : ""}`).join("\n")],
    ["Latency", fmtLatency(e.latency_us)], ["Body note", e.body_note],
  ];
  $("#d-fields").replaceChildren(...fields.filter(([, v]) => v).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  $("#d-headers").textContent = e.headers ? Object.entries(e.headers).map(([k, v]) => `${k}: ${v}`).join("\n") : "(not kept: HOOKRELAY_DELIVERY_LOG_BODIES is off)";
  $("#d-body").textContent = e.body ? JSON.stringify(e.body, null, 2) : "(not kept)";
  $("#d-answer").textContent = "";
  const canReplay = !!e.body && e.source !== "_unknown";
  $("#replay-same").disabled = $("#replay-new").disabled = !canReplay;
  $("#detail").scrollIntoView({ block: "nearest" });
}

async function replay(newID) {
  if (!current) return;
  try {
    const r = await api("POST", `/deliveries/${encodeURIComponent(current.source)}/${encodeURIComponent(current.id)}/replay`, { new_id: newID });
    const dup = r.body && r.body.events && r.body.events.every((x) => x.duplicate);
    $("#d-answer").textContent = `replayed as ${r.delivery_id}: ${r.status}${dup ? " duplicate" : ""}\n` + JSON.stringify(r.body, null, 2);
    refreshDeliveries();
  } catch (e) {
    $("#d-answer").textContent = "replay failed: " + e.message;
  }
}
$("#replay-same").addEventListener("click", () => replay(false));
$("#replay-new").addEventListener("click", () => replay(true));
$("#d-close").addEventListener("click", () => { $("#detail").hidden = true; current = null; });

// ---- test delivery ---------------------------------------------------------

const samples = {
  shopify: ["fulfillments/update", { id: 5512345678901, order_id: 1042, name: "#1042.1", status: "success", shipment_status: "out_for_delivery", tracking_company: "UPS", tracking_number: "1Z999AA10123456784" }],
  stripe: ["", { id: "evt_test", type: "invoice.paid", data: { object: { id: "in_test", customer: "cus_test", amount_paid: 3995 } } }],
  github: ["push", { ref: "refs/heads/main", repository: { full_name: "acme/app" }, head_commit: { message: "test" } }],
  bearer: ["", { receiver: "oncall", status: "firing", alerts: [{ status: "firing", labels: { alertname: "Test", severity: "info" }, annotations: { summary: "Test alert from the console" } }] }],
};

function fillSample() {
  const s = sources.find((x) => x.name === $("#t-source").value);
  const [typ, body] = samples[s && s.provider] || ["", { test: true }];
  $("#t-type").value = typ;
  $("#t-body").value = JSON.stringify(body, null, 2);
}
$("#t-source").addEventListener("change", fillSample);

function showTest() {
  if (!$("#t-body").value) fillSample();
}

$("#test-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  let body;
  try {
    body = JSON.parse($("#t-body").value);
  } catch (e) {
    $("#t-answer").textContent = "the body is not JSON: " + e.message;
    return;
  }
  try {
    const r = await api("POST", `/sources/${encodeURIComponent($("#t-source").value)}/test`, { type: $("#t-type").value, body });
    $("#t-answer").textContent = `delivery ${r.delivery_id}: ${r.status}\n` + JSON.stringify(r.body, null, 2);
  } catch (e) {
    $("#t-answer").textContent = "failed: " + e.message;
  }
});

// ---- fleet -----------------------------------------------------------------

const HISTORY = 60;
const series = { connections: [], publish: [], deliver: [], webhooks: [] };
let lastFleet = null;

function rate(prev, cur, key) {
  if (!prev) return 0;
  const dt = (new Date(cur.updated) - new Date(prev.updated)) / 1000;
  return dt > 0 && cur[key] >= prev[key] ? (cur[key] - prev[key]) / dt : 0;
}

function spark(name, label, values, unit) {
  const w = 300, h = 48, max = Math.max(1, ...values);
  // Newest at the right edge; the line grows leftwards as history fills.
  const x = (i) => (((HISTORY - values.length + i) / (HISTORY - 1)) * w).toFixed(1);
  const pts = values.map((v, i) => `${x(i)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("preserveAspectRatio", "none");
  if (pts.length > 1) {
    const area = document.createElementNS(ns, "polygon");
    area.setAttribute("class", "area");
    area.setAttribute("points", `${x(0)},${h} ${pts.join(" ")} ${w},${h}`);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts.join(" "));
    svg.append(area, line);
  }
  const last = values.length ? values[values.length - 1] : 0;
  return el("div", { class: "chart", "data-chart": name },
    el("div", { class: "label" }, el("span", { text: label }), el("span", { text: "max " + fmtNum(max) })),
    el("div", { class: "value", text: fmtNum(last) + unit }), svg);
}

function fmtNum(v) {
  return v >= 100 ? Math.round(v).toString() : v.toFixed(v >= 10 ? 1 : 2).replace(/\.?0+$/, "") || "0";
}

async function refreshFleet() {
  let data;
  try {
    data = await api("GET", "/fleet");
  } catch (e) {
    $("#fleet-summary").textContent = e.message;
    return;
  }
  const prevByID = Object.fromEntries(((lastFleet && lastFleet.relays) || []).map((r) => [r.id, r]));
  let conns = 0, pub = 0, del = 0, hooks = 0;
  const rows = data.relays.map((r) => {
    const prev = prevByID[r.id];
    const rp = rate(prev, r, "published"), rd = rate(prev, r, "delivered"), rw = rate(prev, r, "webhooks");
    const sse = r.connections.sse || 0, ws = r.connections.ws || 0;
    conns += sse + ws; pub += rp; del += rd; hooks += rw;
    const state = r.draining ? "draining" : r.ready ? "ready" : "down";
    const seen = Math.max(0, (new Date(data.now) - new Date(r.updated)) / 1000);
    return el("tr", { "data-relay": r.id },
      el("td", {}, el("code", { text: r.id })), el("td", { text: r.addr }), el("td", { text: r.version }),
      el("td", { class: "state-" + state, text: state }), el("td", { text: String(sse) }), el("td", { text: String(ws) }),
      el("td", { text: String(r.topics) }), el("td", { text: r.redis_latency_us ? fmtLatency(r.redis_latency_us) : "memory" }),
      el("td", { text: fmtNum(rp) }), el("td", { text: fmtNum(rd) }), el("td", { text: fmtNum(rw) }),
      el("td", { text: seen.toFixed(0) + " s ago" }));
  });
  lastFleet = data;
  for (const [k, v] of Object.entries({ connections: conns, publish: pub, deliver: del, webhooks: hooks })) {
    series[k].push(v);
    if (series[k].length > HISTORY) series[k].shift();
  }
  $("#fleet tbody").replaceChildren(...rows);
  $("#fleet-summary").textContent = `${data.relays.length} relay${data.relays.length === 1 ? "" : "s"} reporting · a relay that stops reporting leaves this list when its record expires`;
  $("#charts").replaceChildren(
    spark("connections", "Connections (SSE + WS)", series.connections, ""),
    spark("publish", "Events published", series.publish, "/s"),
    spark("deliver", "Events delivered to clients", series.deliver, "/s"),
    spark("webhooks", "Webhooks answered", series.webhooks, "/s"));
}

function showFleet() {
  refreshFleet();
  timers.push(setInterval(() => { if (!document.hidden) refreshFleet(); }, 2000));
}

// ---- live tail -------------------------------------------------------------

let tail = null;

function stopTail(msg) {
  if (tail) tail.close();
  tail = null;
  $("#tail-state").textContent = msg || "stopped";
}

$("#tail-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  stopTail();
  const topic = $("#tail-topic").value.trim();
  $("#tail-events").replaceChildren();
  tail = new EventSource(`${API}/tail?topic=${encodeURIComponent(topic)}`);
  tail.onopen = () => ($("#tail-state").textContent = `tailing ${topic}: new events appear at the top`);
  tail.onerror = () => stopTail(`tail of ${topic} ended (session over, bad topic, or relay gone)`);
  tail.addEventListener("closing", () => stopTail(`the relay serving the tail of ${topic} is shutting down: tail again to continue on another`));
  tail.addEventListener("dropped", (m) => ($("#tail-state").textContent = `${m.data} events dropped: this page reads too slowly`));
  tail.onmessage = (m) => {
    let e;
    try { e = JSON.parse(m.data); } catch { return; }
    const li = el("li", { "data-type": e.type || "" },
      el("div", { class: "meta", text: `${fmtTime(e.time)} · ${e.topic} #${e.id} · ${e.type} · from ${e.source || "api"}` }),
      el("pre", { text: JSON.stringify(e.data, null, 2) }));
    $("#tail-events").prepend(li);
    while ($("#tail-events").children.length > 200) $("#tail-events").lastChild.remove();
  };
});
$("#tail-stop").addEventListener("click", () => stopTail());

function showTail() {}

start();
