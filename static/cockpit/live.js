// The live feed of case updates over a websocket (protocol: notes/EVENTS.md).
//
//   import { connectLive } from "/static/cockpit/live.js";
//   const live = connectLive({ path: "/ws/live/", after: 1234,
//     onMessage: (msg) => { … msg.type === "case.updated" … },
//     onStatus: (s) => { … "connecting" | "open" | "lost" … } });
//   live.close();
//
// The server sends every entry after `after` first, then live ones. We keep the highest seq we
// have seen and, after a drop, reconnect with it (exponential backoff with jitter, so a restarted
// server is not hit by every screen at once): nothing pushed while we were away is missed.

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
const PING_MS = 25000;
// Close codes the server uses for "not allowed" (dispatch/consumers.py): retrying cannot help.
const FATAL_CODES = new Set([4401, 4403]);

export function wsUrl(path, { location = window.location, body = document.body } = {}) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const port = (body && body.dataset && body.dataset.wsPort) || "";
  const host = port ? `${location.hostname}:${port}` : location.host;
  return `${scheme}//${host}${path}`;
}

export function connectLive({ path, after = null, onMessage = () => {}, onStatus = () => {} }) {
  let seen = after === null || after === undefined || after === "" ? null : Number(after);
  let socket = null;
  let attempts = 0;
  let closedByUs = false;
  let retryTimer = null;
  let pingTimer = null;
  let status = null;

  const setStatus = (s) => {
    if (s !== status) {
      status = s;
      try { onStatus(s); } catch (e) { console.error(e); }
    }
  };

  const url = () => {
    const u = new URL(wsUrl(path));
    if (seen !== null && !Number.isNaN(seen)) u.searchParams.set("after", String(seen));
    return u.toString();
  };

  const schedule = () => {
    if (closedByUs) return;
    setStatus("lost");
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempts);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2); // "equal jitter"
    attempts += 1;
    retryTimer = setTimeout(open, delay);
  };

  function open() {
    retryTimer = null;
    if (closedByUs) return;
    setStatus(status === "lost" ? "lost" : "connecting");
    let ws;
    try {
      ws = new WebSocket(url());
    } catch (e) {
      schedule();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      attempts = 0;
      setStatus("open");
      clearInterval(pingTimer);
      pingTimer = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" }));
      }, PING_MS);
    };
    ws.onmessage = (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (typeof msg.seq === "number" && (seen === null || msg.seq > seen)) seen = msg.seq;
      // "ready": the catch-up is complete up to last_seq; resume from there next time even if
      // none of those entries were ours to see.
      if (msg.type === "ready" && typeof msg.last_seq === "number" && (seen === null || msg.last_seq > seen)) {
        seen = msg.last_seq;
      }
      if (msg.type === "pong") return;
      try { onMessage(msg); } catch (e) { console.error(e); }
    };
    ws.onclose = (event) => {
      clearInterval(pingTimer);
      if (socket === ws) socket = null;
      if (closedByUs) return;
      if (FATAL_CODES.has(event.code)) {
        setStatus("lost");
        return;
      }
      schedule();
    };
    ws.onerror = () => { /* onclose follows and decides */ };
  }

  // A laptop waking up or a phone back online: try at once instead of waiting out the backoff.
  const wake = () => {
    if (!socket && retryTimer) {
      clearTimeout(retryTimer);
      attempts = 0;
      open();
    }
  };
  window.addEventListener("online", wake);

  open();

  return {
    get lastSeq() { return seen; },
    get status() { return status; },
    close() {
      closedByUs = true;
      clearTimeout(retryTimer);
      clearInterval(pingTimer);
      window.removeEventListener("online", wake);
      if (socket) socket.close(1000);
    },
  };
}

// A small badge for pages: shows "连接中断 · connection lost" while the feed is down.
export function statusBadge(el) {
  return (s) => {
    if (!el) return;
    el.dataset.state = s;
    el.hidden = s === "open";
    el.textContent = s === "lost" ? "连接中断 · connection lost" : s === "connecting" ? "连接中… · connecting" : "";
  };
}
