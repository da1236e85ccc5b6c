// hookrelay.js: the browser client for hookrelay relays. Dependency-free ES
// module; no build step. See docs/client.md.
//
//   import { connect } from "/hookrelay.js";
//   const hr = connect({ topics: ["order:1042"], token });
//   hr.on("order.shipped", (ev) => render(ev));
//   hr.onState((s) => badge(s));
//
// Reconnects with exponential backoff and full jitter, resumes from the last
// cursor so nothing is lost or duplicated, refreshes tokens before expiry and
// follows the browser's online/offline and visibility signals.

const DEFAULTS = {
  url: "",              // relay base URL; "" = same origin
  topics: [],
  transport: "sse",     // "sse" (default) or "ws" (needed to publish)
  token: null,          // string, or null for dev relays without tokens
  refreshToken: null,   // async () => string: called before expiry and on 4001
  refreshBefore: 30000, // ms before exp to refresh
  positions: null,      // {topic: lastEventId}: start after these ids (e.g. after a history fetch)
  persist: false,       // true: keep the cursor in sessionStorage across reloads
  storageKey: null,     // default: "hookrelay:" + sorted topics
  minBackoff: 500,
  maxBackoff: 30000,
  healthyAfter: 10000,  // a connection open this long resets the backoff
  connectTimeout: 15000,
  presence: false,      // true: ask for presence (who is online) of the topics; see presence(topic)
};

const CLOSE_TOKEN_EXPIRED = 4001;
// Close codes after which reconnecting unchanged cannot help (docs/protocol.md):
// the client stops ("closed" with final: true). Every other code, and a
// connection lost without one, is retried with backoff.
const FINAL_CODES = new Set([1002, 1003, 1007, 1008, 1009, 1010]);
// Subscribe errors worth a reconnect; the others (forbidden, bad_topic,
// bad_cursor, bad_request) would be refused again.
const RETRY_ERRORS = new Set(["bus_unavailable", "internal"]);
const MAX_TIMEOUT = 2 ** 31 - 1;

export class Client {
  constructor(options) {
    this.opts = { ...DEFAULTS, ...options };
    if (!Array.isArray(this.opts.topics) || this.opts.topics.length === 0) {
      throw new Error("hookrelay: topics must be a non-empty array");
    }
    this.state = "idle";
    this.cursor = "";         // opaque cursor: SSE's last id: line, WS's last resume
    this.lastIds = {};        // last event id per topic (first WS subscribe without a cursor)
    this.handlers = new Map(); // type -> Set(fn); "*" = every event
    this.stateHandlers = new Set();
    this.pending = new Map(); // ref -> {resolve, reject} for WS requests
    this.ref = 0;
    this.attempt = 0;
    this.conn = null;
    this.timers = {};
    this.closed = false;
    this.token = this.opts.token;
    this.presences = new Map(); // topic -> Presence
    if (this.opts.positions) {
      this.lastIds = { ...this.opts.positions };
      // For a single topic the protocol's cursor is that topic's last id.
      const t = this.opts.topics;
      if (t.length === 1 && this.lastIds[t[0]]) this.cursor = this.lastIds[t[0]];
    }
    this._load();
    this._onOnline = () => this._reconnectNow();
    this._onOffline = () => this._drop("offline");
    this._onVisible = () => {
      if (document.visibilityState === "visible" && !this.conn) this._reconnectNow();
    };
    if (typeof window !== "undefined") {
      window.addEventListener("online", this._onOnline);
      window.addEventListener("offline", this._onOffline);
      document.addEventListener("visibilitychange", this._onVisible);
    }
  }

  /** on(type, fn): fn(event) for events of that type; "*" for all. Returns an unsubscribe function. */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type).delete(fn);
  }

  /** onState(fn): fn(state, detail) on "connecting" | "open" | "reconnecting" | "offline" | "closed" and "truncated". */
  onState(fn) {
    this.stateHandlers.add(fn);
    fn(this.state, {});
    return () => this.stateHandlers.delete(fn);
  }

  /** publish(topic, type, data): WebSocket transport with a publish grant. Resolves with the event ids. */
  publish(topic, type, data, idempotencyKey) {
    if (this.opts.transport !== "ws") return Promise.reject(new Error("hookrelay: publish needs transport: 'ws'"));
    if (!this.conn || this.state !== "open") return Promise.reject(new Error("hookrelay: not connected"));
    return this._request({ op: "publish", topic, type, data, idempotency_key: idempotencyKey });
  }

  /** presence(topic): who is online in topic (presence must be on for it on the relay). Asking for it on a
   * client started without `presence: true` turns it on and reconnects (resuming, so nothing is lost). */
  presence(topic) {
    if (!this.opts.topics.includes(topic)) throw new Error("hookrelay: presence of a topic this client does not subscribe: " + topic);
    let p = this.presences.get(topic);
    if (!p) { p = new Presence(topic); this.presences.set(topic, p); }
    if (!this.opts.presence) {
      this.opts.presence = true;
      if (this.conn) this._reconnectNow();
    }
    return p;
  }

  /** close(): stop for good. */
  close() {
    this.closed = true;
    this._clearTimers();
    this._teardown();
    if (typeof window !== "undefined") {
      window.removeEventListener("online", this._onOnline);
      window.removeEventListener("offline", this._onOffline);
      document.removeEventListener("visibilitychange", this._onVisible);
    }
    this._setState("closed", {});
  }

  start() {
    if (typeof navigator !== "undefined" && navigator.onLine === false) {
      this._setState("offline", {});
      return this;
    }
    this._connect();
    return this;
  }

  // --- connection lifecycle -------------------------------------------------

  _connect(refreshed) {
    if (this.closed) return;
    this._clearTimers();
    this._setState(this.attempt === 0 && !this.everOpen ? "connecting" : "reconnecting", { attempt: this.attempt });
    // A token that expired while the page slept (or that is about to) is
    // refreshed first: the relay would refuse the connection with a 401 that
    // EventSource does not show, and the client would retry it forever.
    if (!refreshed && this.opts.refreshToken && this.token) {
      const exp = tokenExpiry(this.token);
      if (exp && exp - Date.now() < this.opts.refreshBefore) {
        this._refresh().then(() => this._connect(true), () => this._retry("token refresh failed"));
        return;
      }
    }
    this.openedAt = 0;
    this.timers.connect = setTimeout(() => this._fail("connect timeout"), this.opts.connectTimeout);
    if (this.opts.transport === "ws") this._connectWS();
    else this._connectSSE();
  }

  _opened() {
    clearTimeout(this.timers.connect);
    this.everOpen = true;
    this.openedAt = Date.now();
    this.timers.healthy = setTimeout(() => { this.attempt = 0; }, this.opts.healthyAfter);
    this._scheduleRefresh();
    this._setState("open", {});
  }

  // _fail ends the connection; hint is the relay's retry delay (ms) when it
  // sent one (a refusal or a drain), which the next attempt waits at least.
  _fail(reason, code, hint) {
    if (this.closed) return;
    this._teardown();
    if (FINAL_CODES.has(code) || (code === CLOSE_TOKEN_EXPIRED && !this.opts.refreshToken)) {
      this._stop(reason, code);
      return;
    }
    if (code === CLOSE_TOKEN_EXPIRED) {
      // Through the backoff: a relay that keeps answering 4001 (a refresh
      // that returns a stale token) must not be hammered.
      this._refresh().then(() => this._retry(reason, code), () => this._retry(reason, code));
      return;
    }
    this._retry(reason, code, hint);
  }

  // _stop gives up: a final close code. The application sees "closed" with final: true.
  _stop(reason, code) {
    this.closed = true;
    this._clearTimers();
    this._setState("closed", { reason, code, final: true });
  }

  _retry(reason, code, hint) {
    this._clearTimers();
    // Full jitter: uniform in [0, min(max, min * 2^attempt)], and never
    // sooner than the relay asked (its hint is jittered already).
    const ceil = Math.min(this.opts.maxBackoff, this.opts.minBackoff * 2 ** Math.min(this.attempt, 16));
    const wait = Math.max(hint || 0, Math.random() * ceil);
    this.attempt++;
    this._setState("reconnecting", { reason, code, wait: Math.round(wait) });
    this.timers.retry = setTimeout(() => this._connect(), wait);
  }

  _reconnectNow() {
    if (this.closed) return;
    this.attempt = 0;
    this._teardown();
    this._connect();
  }

  _drop(state) {
    this._clearTimers();
    this._teardown();
    this._setState(state, {});
  }

  _teardown() {
    const c = this.conn;
    this.conn = null;
    for (const { reject } of this.pending.values()) reject(new Error("hookrelay: connection closed"));
    this.pending.clear();
    if (c) c.close();
  }

  _clearTimers() {
    for (const k of Object.keys(this.timers)) clearTimeout(this.timers[k]);
    this.timers = {};
  }

  // --- SSE ------------------------------------------------------------------

  _connectSSE() {
    const q = new URLSearchParams();
    for (const t of this.opts.topics) q.append("topic", t);
    if (this.cursor) q.set("cursor", this.cursor);
    if (this.token) q.set("token", this.token);
    if (this.opts.presence) q.set("presence", "1");
    const es = new EventSource(this.opts.url + "/v1/sse?" + q.toString());
    this.conn = es;
    // EventSource's own reconnect has no backoff and cannot change the
    // token, so the client closes it on error and reconnects itself.
    es.onerror = () => { if (this.conn === es) this._fail("network"); };
    es.onmessage = (m) => {
      if (m.lastEventId) this.cursor = m.lastEventId;
      this._deliver(m.data);
      this._save();
    };
    es.addEventListener("ready", (m) => {
      if (m.lastEventId) this.cursor = m.lastEventId;
      this._save();
      this._opened();
    });
    es.addEventListener("truncated", (m) => this._truncated(JSON.parse(m.data).topic));
    es.addEventListener("presence", (m) => this._presence(JSON.parse(m.data)));
    // The relay ends a stream (drain, token expiry) and refuses one it cannot
    // take now (restart, over_capacity, rate_limited, bus_unavailable) with
    // a close event: {"code", "reason", "retry"?}.
    es.addEventListener("close", (m) => {
      const c = JSON.parse(m.data);
      if (this.conn === es) this._fail(c.reason, c.code, c.retry);
    });
  }

  // --- WebSocket ------------------------------------------------------------

  _connectWS() {
    const base = this.opts.url || location.origin;
    // No ?token= here: URLs end up in access logs. The token goes in the
    // first frame (an "auth" op), which the relay answers before anything
    // else; only EventSource, which can send neither, keeps ?token=.
    const ws = new WebSocket(base.replace(/^http/, "ws") + "/v1/ws");
    this.conn = ws;
    ws.onopen = () => {
      if (!this.token) { this._subscribeWS(ws); return; }
      this._request({ op: "auth", token: this.token }).then(() => {
        if (this.conn === ws) this._subscribeWS(ws);
      }, (err) => {
        if (this.conn !== ws) return;
        this._emitState("error", { error: String(err.message || err), code: err.code });
        // A refused token is what a 4001 close says: refresh it (through
        // the backoff), or stop without refreshToken.
        if (err.code === "token_expired" || err.code === "unauthorized") this._fail(err.code, CLOSE_TOKEN_EXPIRED);
        else this._fail(err.code || "auth failed");
      });
    };
    ws.onmessage = (m) => this._onFrame(JSON.parse(m.data));
    // A refusal or a drain says when to come back: "<reason>;retry=<ms>".
    ws.onclose = (e) => {
      if (this.conn !== ws) return;
      const m = /^(.*);retry=(\d+)$/.exec(e.reason || "");
      this._fail(m ? m[1] : e.reason || "closed", e.code, m ? Number(m[2]) : 0);
    };
    // Browsers follow an error with a close event; some runtimes (Node 20's
    // WebSocket) do not after a failed handshake, which would stall the client.
    ws.onerror = () => { if (this.conn === ws) this._fail("network"); };
  }

  _subscribeWS(ws) {
    // One subscribe for every topic. Resuming, the cursor is the last
    // "resume" received: it covers every topic at what this client has
    // actually received. The first time, per-topic positions (a history
    // fetch) go in one subscribe per topic, each with its bare id.
    const frames = this.cursor || !Object.keys(this.lastIds).length
      ? [{ op: "subscribe", topics: this.opts.topics, cursor: this.cursor || undefined }]
      : this.opts.topics.map((t) => ({ op: "subscribe", topics: [t], cursor: this.lastIds[t] }));
    let acks = 0;
    for (const frame of frames) {
      if (this.opts.presence) frame.presence = true;
      this._request(frame).then((ack) => {
        if (++acks < frames.length || this.conn !== ws) return;
        // The last ack's resume covers every topic: only now is it a
        // cursor for all of them (before, it lacks the topics not yet acked).
        if (ack.resume) { this.cursor = ack.resume; this._save(); }
        this._opened();
      }, (err) => {
        this._emitState("error", { error: String(err.message || err), code: err.code });
        // The bus was down: reconnect and subscribe again (backoff).
        if (RETRY_ERRORS.has(err.code) && this.conn === ws) this._fail(err.code);
      });
    }
  }

  _onFrame(f) {
    switch (f.op) {
      case "events":
        for (const ev of f.events) {
          this.lastIds[ev.topic] = ev.id;
          this._emit(ev);
        }
        if (f.resume && this.state === "open") this.cursor = f.resume;
        this._save();
        return;
      case "truncated":
        this._truncated(f.topic);
        return;
      case "presence":
        this._presence(f);
        return;
    }
    const p = f.ref && this.pending.get(f.ref);
    if (!p) return;
    this.pending.delete(f.ref);
    if (f.op === "error") p.reject(Object.assign(new Error(f.message), { code: f.code }));
    else p.resolve(f);
  }

  _request(frame) {
    const ref = String(++this.ref);
    return new Promise((resolve, reject) => {
      this.pending.set(ref, { resolve, reject });
      this.conn.send(JSON.stringify({ ...frame, ref }));
    });
  }

  // --- tokens ---------------------------------------------------------------

  _scheduleRefresh() {
    if (!this.opts.refreshToken || !this.token) return;
    const exp = tokenExpiry(this.token);
    if (!exp) return;
    // setTimeout overflows past 2^31-1 ms (24.8 days) and would fire at once.
    const wait = Math.min(MAX_TIMEOUT, Math.max(1000, exp - Date.now() - this.opts.refreshBefore));
    this.timers.refresh = setTimeout(() => {
      this._refresh().then(() => {
        // WebSocket extends the open connection; SSE reconnects with its cursor.
        if (this.opts.transport === "ws" && this.conn) {
          this._request({ op: "auth", token: this.token }).then(() => this._scheduleRefresh(), () => this._reconnectNow());
        } else {
          this._reconnectNow();
        }
      }, () => {});
    }, wait);
  }

  async _refresh() {
    this.token = await this.opts.refreshToken();
  }

  // --- delivery -------------------------------------------------------------

  _deliver(data) {
    let ev;
    try { ev = JSON.parse(data); } catch { return; }
    this._emit(ev);
  }

  _emit(ev) {
    for (const key of [ev.type, "*"]) {
      const hs = this.handlers.get(key);
      if (hs) for (const fn of hs) { try { fn(ev); } catch (e) { console.error("hookrelay handler", e); } }
    }
  }

  _presence(f) {
    let p = this.presences.get(f.topic);
    if (!p) { p = new Presence(f.topic); this.presences.set(f.topic, p); }
    p._apply(f);
  }

  _truncated(topic) {
    this._emitState("truncated", { topic });
  }

  _setState(state, detail) {
    this.state = state;
    this._emitState(state, detail);
  }

  _emitState(state, detail) {
    for (const fn of this.stateHandlers) { try { fn(state, detail); } catch (e) { console.error("hookrelay state handler", e); } }
  }

  // --- persistence ----------------------------------------------------------

  _key() {
    return this.opts.storageKey || "hookrelay:" + this.opts.transport + ":" + [...this.opts.topics].sort().join(",");
  }

  _save() {
    if (!this.opts.persist) return;
    try {
      sessionStorage.setItem(this._key(), JSON.stringify({ cursor: this.cursor, lastIds: this.lastIds }));
    } catch { /* storage full or disabled: resume still works in memory */ }
  }

  _load() {
    if (!this.opts.persist) return;
    try {
      const s = JSON.parse(sessionStorage.getItem(this._key()) || "null");
      if (s) { this.cursor = s.cursor || ""; this.lastIds = s.lastIds || {}; }
    } catch { /* unreadable: start live */ }
  }
}

/** Presence is who is online in one topic, kept up to date from the relay's presence frames (docs/protocol.md). */
export class Presence {
  constructor(topic) {
    this.topic = topic;
    this.members = new Map(); // sub -> {sub, name}
    this.count = 0;
    this.countOnly = false;   // the room is above the relay's member limit: count only, no list, no join/leave
    this.ready = false;       // a first snapshot arrived
    this.handlers = new Map();
  }

  /** on("join" | "leave" | "change", fn): join/leave get the member {sub, name}; change gets this Presence. */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type).delete(fn);
  }

  /** list(): the members, ordered by subject. */
  list() {
    return [...this.members.values()].sort((a, b) => (a.sub < b.sub ? -1 : a.sub > b.sub ? 1 : 0));
  }

  _apply(f) {
    this.count = f.count;
    this.countOnly = !!f.count_only;
    if (this.countOnly) {
      this.members.clear();
      this.ready = true;
      this._emit("change", this);
      return;
    }
    if (f.members) {
      // A snapshot (first, after a reconnect, or after the relay lost
      // track): the first is the starting state; later ones are told as
      // the joins and leaves that happened meanwhile.
      const next = new Map(f.members.map((m) => [m.sub, m]));
      const told = this.ready;
      const before = this.members;
      this.members = next;
      this.ready = true;
      if (told) {
        for (const [sub, m] of before) if (!next.has(sub)) this._emit("leave", m);
        for (const [sub, m] of next) if (!before.has(sub)) this._emit("join", m);
      }
    }
    for (const m of f.join || []) {
      const had = this.members.has(m.sub);
      this.members.set(m.sub, m);
      if (!had) this._emit("join", m);
    }
    for (const sub of f.leave || []) {
      const m = this.members.get(sub);
      if (m) { this.members.delete(sub); this._emit("leave", m); }
    }
    this._emit("change", this);
  }

  _emit(type, arg) {
    const hs = this.handlers.get(type);
    if (hs) for (const fn of hs) { try { fn(arg); } catch (e) { console.error("hookrelay presence handler", e); } }
  }
}

/** presence(topic, opts): one page of who is online (HTTP API); pass `after: page.next` for the next page. */
export async function presence(topic, { url = "", token = null, after = "", limit = 100 } = {}) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (after) q.set("after", after);
  const r = await fetch(url + "/v1/topics/" + encodeURIComponent(topic) + "/presence?" + q, { headers: auth(token) });
  if (!r.ok) throw new Error("hookrelay: presence " + r.status);
  return r.json();
}

/** tokenExpiry returns the JWT's exp in ms, or 0 when it has none (the client never verifies tokens). */
export function tokenExpiry(token) {
  try {
    const b64 = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(b64)).exp;
    return typeof exp === "number" ? exp * 1000 : 0;
  } catch { return 0; }
}

/** connect(options): create a Client and start it. */
export function connect(options) {
  return new Client(options).start();
}

/** Read-cursor helpers for notification badges (HTTP API). */
export async function unread(topic, { url = "", token = null } = {}) {
  const r = await fetch(url + "/v1/topics/" + encodeURIComponent(topic) + "/unread", { headers: auth(token) });
  if (!r.ok) throw new Error("hookrelay: unread " + r.status);
  return r.json();
}

export async function markRead(topic, id, { url = "", token = null } = {}) {
  const r = await fetch(url + "/v1/topics/" + encodeURIComponent(topic) + "/read", {
    method: "PUT", headers: { ...auth(token), "Content-Type": "application/json" }, body: JSON.stringify({ id }),
  });
  if (!r.ok) throw new Error("hookrelay: mark read " + r.status);
}

export async function history(topic, { url = "", token = null, after = "", limit = 50 } = {}) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (after) q.set("after", after);
  const r = await fetch(url + "/v1/topics/" + encodeURIComponent(topic) + "/events?" + q, { headers: auth(token) });
  if (!r.ok) throw new Error("hookrelay: history " + r.status);
  return r.json();
}

function auth(token) {
  return token ? { Authorization: "Bearer " + token } : {};
}
