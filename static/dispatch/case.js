// The case page: lifecycle buttons (r register, d dispatch as recommended, v verify, c close),
// the dispatch / re-dispatch form, replies with a template, the map of our own geometry and a
// timeline that grows live over /ws/case/<id>/.

import { connectLive } from "/static/cockpit/live.js";
import { api, baseKeys, liveBadge, newActionId, onKeys, showError, toast, STATUS_LABELS } from "./console.js";

const root = document.getElementById("case");
const caseId = root.dataset.id;
const timeline = document.getElementById("timeline");
const statusBadge = document.getElementById("case-status");
const DISPATCHABLE = new Set(["reported", "registered", "returned", "dispatched", "accepted", "on_site", "rework"]);

function setStatus(status, label) {
  root.dataset.status = status;
  statusBadge.dataset.status = status;
  statusBadge.className = `badge st st-${status}`;
  statusBadge.textContent = label || STATUS_LABELS[status] || status;
  const suggested = document.getElementById("dispatch-suggested");
  if (suggested) suggested.hidden = !(root.dataset.suggested && DISPATCHABLE.has(status));
  const form = document.getElementById("dispatch-form");
  if (form) form.hidden = !DISPATCHABLE.has(status);
}

// After any step the API says which actions the user may take now.
async function refreshActions() {
  try {
    const { data } = await api(`/api/cases/${caseId}/`);
    const allowed = new Set(data.allowed_actions || []);
    for (const b of document.querySelectorAll("#actions .act")) b.hidden = !allowed.has(b.dataset.action);
    setStatus(data.status, data.status_label);
    const handler = document.getElementById("case-handler");
    if (handler) handler.textContent = data.handler ? data.handler.name : "—";
    drawTimers(data.deadlines || []);
  } catch (err) { /* the page stays as it is; the next push tries again */ }
}

const short = (iso) => {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

// The deadlines after a step (a dispatch starts the accept / arrive / resolve clocks).
function drawTimers(deadlines) {
  const table = document.getElementById("timers");
  if (table) {
    table.replaceChildren(...deadlines.map((t) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = t.label;
      const td = document.createElement("td");
      const span = document.createElement("span");
      span.className = `timer timer-${t.state}`;
      span.textContent = t.done ? `✓ ${short(t.done)}` : t.due ? short(t.due) : "—";
      td.appendChild(span);
      tr.append(th, td);
      return tr;
    }));
  }
  const head = document.getElementById("case-timer");
  const rank = { critical: 3, warning: 2, green: 1, none: 0 };
  const running = deadlines.filter((t) => !t.done && t.due && t.state !== "none");
  running.sort((a, b) => (rank[b.state] - rank[a.state]) || (Date.parse(a.due) - Date.parse(b.due)));
  if (head) {
    const worst = running[0];
    head.className = `timer timer-${worst ? worst.state : "none"}`;
    head.dataset.state = worst ? worst.state : "none";
    head.textContent = worst ? `${worst.label} ${short(worst.due)}` : "—";
  }
}

async function act(action, button) {
  if (button && button.hidden) return;
  let note = "";
  if (button && button.dataset.needsNote) {
    note = window.prompt(`${button.textContent.trim()}：请填写理由 · give the reason`) || "";
    if (!note.trim()) return;
  }
  const body = { client_action_id: newActionId(), note };
  if (action === "merge") {
    body.into = window.prompt("并入的事件编号（如 SD-20261123-000123）· number of the case to merge into") || "";
    if (!body.into.trim()) return;
  }
  try {
    const { data } = await api(`/api/cases/${caseId}/actions/${action}`, { method: "POST", body });
    setStatus(data.case.status, data.case.status_label);
    toast(`${data.entry.action_label} · ${data.case.status_label}`, "ok");
    refreshActions();
  } catch (err) { showError(err); }
}

async function dispatch(body) {
  try {
    const { data } = await api(`/api/cases/${caseId}/dispatch`, { method: "POST", body: { ...body, client_action_id: newActionId() } });
    setStatus(data.case.status, data.case.status_label);
    toast(data.case.handler ? `已派遣 · dispatched · ${data.case.handler.name}` : "已派遣 · dispatched", "ok");
    refreshActions();
  } catch (err) { showError(err); }
}

for (const b of document.querySelectorAll("#actions .act")) {
  b.addEventListener("click", () => act(b.dataset.action, b));
}
const suggestedButton = document.getElementById("dispatch-suggested");
if (suggestedButton) suggestedButton.addEventListener("click", () => dispatch({ suggested: true }));

const dispatchForm = document.getElementById("dispatch-form");
if (dispatchForm) {
  dispatchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(dispatchForm);
    const body = { note: form.get("note") || "" };
    for (const key of ["department", "team", "user", "plan"]) {
      const v = form.get(key);
      if (v) body[key] = Number(v);
    }
    dispatch(body);
  });
}

const replyForm = document.getElementById("reply-form");
if (replyForm) {
  const select = document.getElementById("reply-template");
  const text = document.getElementById("reply-text");
  select.addEventListener("change", () => {
    const option = select.selectedOptions[0];
    if (option && option.dataset.text) text.value = option.dataset.text;
  });
  replyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { text: text.value, client_action_id: newActionId() };
    if (select.value) body.template = Number(select.value);
    try {
      await api(`/api/cases/${caseId}/reply`, { method: "POST", body });
      toast("答复已发送 · reply sent", "ok");
      text.value = "";
      select.value = "";
    } catch (err) { showError(err); }
  });
}

const button = (action) => document.querySelector(`#actions .act[data-action="${action}"]`);
onKeys({
  ...baseKeys,
  r: () => act("register", button("register")),
  v: () => act("verify", button("verify")),
  c: () => act("close", button("close")),
  d: () => { if (suggestedButton && !suggestedButton.hidden) dispatch({ suggested: true }); },
  u: () => { location.href = "/console/"; },
  Escape: () => { location.href = "/console/"; },
});

// --- live timeline ---------------------------------------------------------------------------

function appendEntry(msg) {
  const e = msg.entry;
  if (timeline.querySelector(`li[data-seq="${msg.seq}"]`)) return;
  const li = document.createElement("li");
  li.dataset.seq = msg.seq;
  li.className = `tl-${e.action} fresh`;
  const at = new Date(e.at);
  const pad = (n) => String(n).padStart(2, "0");
  const time = document.createElement("time");
  time.dateTime = e.at;
  time.textContent = `${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
  const label = document.createElement("strong");
  label.textContent = e.action_label;
  const actor = document.createElement("span");
  actor.className = "muted";
  actor.textContent = e.actor || "";
  li.append(time, " ", label, " ", actor);
  if (e.from_status !== e.to_status) {
    const badge = document.createElement("span");
    badge.className = `badge st st-${e.to_status}`;
    badge.textContent = STATUS_LABELS[e.to_status] || e.to_status;
    li.append(" ", badge);
  }
  if (e.note) {
    const p = document.createElement("p");
    p.textContent = e.note;
    li.append(p);
  }
  timeline.appendChild(li);
}

connectLive({
  path: `/ws/case/${caseId}/`,
  after: root.dataset.after,
  onStatus: liveBadge,
  onMessage: (msg) => {
    if (msg.type !== "case.updated" || String(msg.case.id) !== caseId) return;
    appendEntry(msg);
    if (msg.case.status !== root.dataset.status) {
      setStatus(msg.case.status, msg.case.status_label);
      refreshActions();
    }
  },
});

// --- map: our own geometry on a plain background, no basemap tiles -------------------------

function drawMap() {
  const el = document.getElementById("case-map");
  const data = JSON.parse(document.getElementById("map-data").textContent);
  if (!el || !window.maplibregl || (!data.point && !data.grids.features.length)) {
    if (el) el.textContent = "无位置信息 · no location";
    return;
  }
  const dark = document.documentElement.dataset.theme === "dark";
  const coords = [];
  for (const f of data.grids.features) {
    const rings = f.geometry.type === "Polygon" ? f.geometry.coordinates : f.geometry.coordinates.flat();
    for (const ring of rings) coords.push(...ring);
  }
  if (data.point) coords.push([data.point.lng, data.point.lat]);
  const lngs = coords.map((c) => c[0]);
  const lats = coords.map((c) => c[1]);
  const bounds = [[Math.min(...lngs), Math.min(...lats)], [Math.max(...lngs), Math.max(...lats)]];
  let map;
  try {
    map = new window.maplibregl.Map({
      container: el,
      style: {
        version: 8,
        sources: {
          grids: { type: "geojson", data: data.grids },
          point: {
            type: "geojson",
            data: { type: "FeatureCollection", features: data.point ? [{ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: [data.point.lng, data.point.lat] } }] : [] },
          },
        },
        layers: [
          { id: "bg", type: "background", paint: { "background-color": dark ? "#0f1724" : "#eef2f6" } },
          { id: "grid-fill", type: "fill", source: "grids", paint: { "fill-color": ["case", ["get", "own"], "#3b82f6", "#94a3b8"], "fill-opacity": ["case", ["get", "own"], 0.18, 0.06] } },
          { id: "grid-line", type: "line", source: "grids", paint: { "line-color": ["case", ["get", "own"], "#2563eb", "#64748b"], "line-width": ["case", ["get", "own"], 2, 1] } },
          { id: "case-point", type: "circle", source: "point", paint: { "circle-radius": 8, "circle-color": "#ef4444", "circle-stroke-width": 2, "circle-stroke-color": "#ffffff" } },
        ],
      },
      bounds: coords.length > 1 ? bounds : undefined,
      center: data.point ? [data.point.lng, data.point.lat] : undefined,
      zoom: coords.length > 1 ? undefined : 15,
      fitBoundsOptions: { padding: 24, maxZoom: 17 },
      attributionControl: false,
    });
    map.addControl(new window.maplibregl.NavigationControl({ showCompass: false }), "top-right");
    el.dataset.ready = "1";
  } catch (err) {
    // No WebGL (an old screen, a headless test browser): the rest of the page works without it.
    el.textContent = "地图不可用（浏览器不支持 WebGL）· map unavailable (no WebGL)";
  }
}
drawMap();
