// Shared helpers for the demo pages (not part of the client library).

/** demoToken asks `relay dev` for a demo token for sub; null when the relay runs without a token key. */
export async function demoToken(sub) {
  const r = await fetch("/demo/token?sub=" + encodeURIComponent(sub));
  if (!r.ok) return null;
  return (await r.json()).token;
}

/** simulate asks `relay dev` to post a signed sample webhook of this kind to itself. */
export async function simulate(kind) {
  const r = await fetch("/demo/simulate", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ kind }),
  });
  if (!r.ok) throw new Error("simulate " + kind + ": " + r.status + " " + (await r.text()));
}

/** showState mirrors a client's connection state in el (text + data-state for the dot). */
export function showState(client, el) {
  client.onState((state, detail) => {
    if (state === "truncated") {
      el.title = "Older events of " + detail.topic + " are no longer available";
      return;
    }
    if (state === "error") return;
    el.dataset.state = state;
    el.textContent = { open: "live", connecting: "connecting…", reconnecting: "reconnecting…", offline: "offline", closed: "closed", idle: "idle" }[state] || state;
  });
}

export function hhmmss(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** el creates an element with text (never innerHTML: event data is untrusted). */
export function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** wireSimulateButtons hooks every [data-simulate] button to simulate(). */
export function wireSimulateButtons(root = document) {
  for (const b of root.querySelectorAll("[data-simulate]")) {
    b.addEventListener("click", () => simulate(b.dataset.simulate).catch((e) => alert(e.message)));
  }
}
