// clients.mjs runs third-party npm clients against a relay for the interop
// suite (relay/interop). Each client follows only its own library's rules
// plus what docs/protocol.md says about it; nothing here works around a
// relay behaviour.
//
//   node clients.mjs <kind> <name> <base url> <token> <topic>...
//
// kind: eventsource5 | eventsource4 (plain EventSource, its own reconnect),
// fetch-event-source (docs/protocol.md's recipe), ws (the documented
// WebSocket contract: resume cursor, retry hint, final close codes).
//
// One line per observation on stdout, "<ms> <name> <what> ...":
//   open                  the replay is done (SSE ready, WS subscribed)
//   event <topic> <seq>   an event (data {"seq":N})
//   down <why>            the connection ended or failed; the client retries
//   gaveup <why>          the client stopped for good (EventSource CLOSED)
//   spurious <what>       the application was handed a message that is not an event
const [kind, name, base, token, ...topics] = process.argv.slice(2);

// An application keeps Node running; without this, eventsource@5 lets the
// process exit while it waits to reconnect (its timer does not hold it).
setInterval(() => {}, 1 << 30);

const say = (...parts) => process.stdout.write([Date.now(), name, ...parts].join(" ") + "\n");

function onEventData(data) {
  const ev = JSON.parse(data);
  say("event", ev.topic, ev.data.seq);
}

function sseURL() {
  const q = new URLSearchParams();
  for (const t of topics) q.append("topic", t);
  q.set("token", token);
  return base + "/v1/sse?" + q;
}

async function plainEventSource(pkg) {
  const { EventSource } = await import(pkg);
  const es = new EventSource(sseURL());
  es.addEventListener("ready", () => say("open"));
  es.onmessage = (m) => onEventData(m.data);
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) say("gaveup", "readyState=CLOSED");
    else say("down", "error");
  };
}

async function fetchEventSource() {
  // fetch-event-source is written for browsers: it reaches setTimeout
  // through window.
  globalThis.window ??= globalThis;
  const { fetchEventSource, EventStreamContentType } = await import("@microsoft/fetch-event-source");
  class Fatal extends Error {}
  let retry = 1000;
  try {
    await fetchEventSource(sseURL(), {
      openWhenHidden: true, // no document in Node
      async onopen(res) {
        const type = res.headers.get("content-type") || "";
        if (res.ok && type.startsWith(EventStreamContentType)) return;
        throw new Fatal(`answer ${res.status}`); // 4xx: permanent (docs/protocol.md)
      },
      onmessage(m) {
        switch (m.event) {
          case "": // an event; anything else without data was dispatched for nothing
            if (m.data) onEventData(m.data);
            else say("spurious", JSON.stringify(m));
            return;
          case "ready":
            say("open");
            return;
          case "close": // the relay ends the stream or refuses it: come back after retry
            retry = JSON.parse(m.data).retry || retry;
            return;
          case "truncated":
            return;
        }
        say("spurious", JSON.stringify(m));
      },
      onclose() {
        throw new Error("stream ended"); // retry through onerror
      },
      onerror(err) {
        if (err instanceof Fatal) throw err;
        say("down", String(err.message || err).replace(/\s+/g, "_"));
        const wait = retry;
        retry = 1000;
        return wait;
      },
    });
    say("gaveup", "resolved");
  } catch (err) {
    say("gaveup", String(err.message || err).replace(/\s+/g, "_"));
  }
}

async function wsClient() {
  const { default: WebSocket } = await import("ws");
  let cursor = "";
  let attempt = 0;
  const FINAL = new Set([1002, 1003, 1007, 1008, 1009, 1010]);
  const run = () => {
    const ws = new WebSocket(base.replace(/^http/, "ws") + "/v1/ws?token=" + encodeURIComponent(token));
    let done = false;
    let healthy;
    ws.on("open", () => {
      const f = { op: "subscribe", ref: "1", topics };
      if (cursor) f.cursor = cursor;
      ws.send(JSON.stringify(f));
    });
    ws.on("message", (raw) => {
      const f = JSON.parse(raw);
      if (f.op === "events") {
        for (const ev of f.events) say("event", ev.topic, ev.data.seq);
        cursor = f.resume;
      } else if (f.op === "subscribed") {
        cursor = f.resume;
        say("open");
        healthy = setTimeout(() => { attempt = 0; }, 5000);
      } else if (f.op === "error" && f.code === "bus_unavailable") {
        ws.close();
      }
    });
    const retry = (code, reason) => {
      if (done) return;
      done = true;
      clearTimeout(healthy);
      if (FINAL.has(code)) return say("gaveup", "close_" + code);
      say("down", "close_" + code);
      const hint = Number(/;retry=(\d+)$/.exec(reason || "")?.[1] ?? 0);
      setTimeout(run, Math.max(hint, Math.random() * Math.min(5000, 250 * 2 ** attempt++)));
    };
    ws.on("error", () => retry(1006, ""));
    ws.on("close", (code, reason) => retry(code, String(reason)));
  };
  run();
}

switch (kind) {
  case "eventsource5": await plainEventSource("eventsource5"); break;
  case "eventsource4": await plainEventSource("eventsource4"); break;
  case "fetch-event-source": await fetchEventSource(); break;
  case "ws": await wsClient(); break;
  default:
    console.error("unknown client kind " + kind);
    process.exit(2);
}
