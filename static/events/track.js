// The reporter's tracking page: renders the state, follows it live over /ws/track/<token>/
// (static/cockpit/live.js) or, where that is unavailable, polls GET /api/track/<token> every
// 10 s; rating after closure, dispute within 7 days.

const root = document.getElementById("track");
const token = root.dataset.token;
const T = JSON.parse(document.getElementById("track-i18n").textContent);
let state = JSON.parse(document.getElementById("track-state").textContent);
const POLL_MS = 10000;

function $(id) {
  return document.getElementById(id);
}

function fmt(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getMonth() + 1}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function text(tag, value, className) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (className) el.className = className;
  return el;
}

function render() {
  $("t-status").textContent = state.status_label;
  $("t-status").classList.toggle("final", ["closed", "rejected", "merged"].includes(state.status));
  const steps = $("t-steps");
  steps.replaceChildren(
    ...state.steps.map((s) => {
      const li = text("li", s.label, s.done ? "done" : "");
      if (s.at) {
        const t = text("time", fmt(s.at));
        t.dateTime = s.at;
        li.append(t);
      }
      return li;
    }),
  );
  steps.classList.toggle("short", state.steps.length < 5);
  const timeline = $("t-timeline");
  timeline.replaceChildren(
    ...state.entries
      .slice()
      .reverse()
      .map((e) => {
        const li = document.createElement("li");
        const t = text("time", fmt(e.at));
        t.dateTime = e.at;
        li.append(t, text("span", e.action_label || e.status_label));
        if (e.public_note) li.append(text("p", e.public_note, "r-note"));
        return li;
      }),
  );
  $("t-rate").hidden = !state.can_rate;
  $("t-rated").hidden = !state.rating;
  $("t-rating").textContent = state.rating_label || "";
  $("t-dispute").hidden = !state.can_dispute;
}

async function refresh() {
  try {
    const r = await fetch(`/api/track/${encodeURIComponent(token)}`, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (r.ok) {
      state = await r.json();
      render();
    }
  } catch (e) {
    /* offline for a moment: the next tick or message catches up */
  }
}

function setLive(kind) {
  const el = $("t-live");
  el.textContent = kind === "up" ? "● " + T.live : kind === "down" ? T.down : T.polling;
  el.classList.toggle("down", kind === "down");
  el.classList.toggle("up", kind === "up");
}

let pollTimer = null;
function poll() {
  setLive("poll");
  if (!pollTimer) pollTimer = setInterval(refresh, POLL_MS);
}

async function follow() {
  // The shared live client lands with the console; until then (or if it fails) we poll.
  let live;
  try {
    live = await import(root.dataset.liveModule);
  } catch (e) {
    return poll();
  }
  if (!live || typeof live.connectLive !== "function") return poll();
  try {
    live.connectLive({
      path: `/ws/track/${encodeURIComponent(token)}/`,
      after: state.last_seq || 0,
      onMessage: (msg) => {
        // Any pushed step: fetch the whole (small) state, so steps, timers and forms stay consistent.
        if (msg && msg.type === "case.updated") refresh();
      },
      onStatus: (s) => {
        const up = s === "open" || s === "connected" || s === true || (s && s.connected);
        setLive(up ? "up" : "down");
      },
    });
  } catch (e) {
    poll();
  }
}

async function post(path, body) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({}));
  return { ok: r.ok, data };
}

$("rate-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const rating = f.querySelector('input[name="rating"]:checked');
  if (!rating) {
    $("rate-error").textContent = T.need_rating;
    return;
  }
  try {
    const { ok, data } = await post(`/api/track/${encodeURIComponent(token)}/rate`, { rating: rating.value, comment: f.comment.value.trim() });
    if (ok) {
      state = data;
      render();
    } else {
      $("rate-error").textContent = data.message || "";
    }
  } catch (err) {
    $("rate-error").textContent = T.network;
  }
});

$("dispute-open").addEventListener("click", () => {
  $("dispute-form").hidden = false;
  $("dispute-open").hidden = true;
  $("dispute-form").reason.focus();
});

$("dispute-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const { ok, data } = await post(`/api/track/${encodeURIComponent(token)}/dispute`, { reason: e.target.reason.value.trim() });
    if (ok) {
      state = data;
      $("dispute-form").hidden = true;
      render();
    } else {
      $("dispute-error").textContent = [data.message, ...Object.values(data.fields || {}).flat()].filter(Boolean).join(" ");
    }
  } catch (err) {
    $("dispute-error").textContent = T.network;
  }
});

render();
follow();
