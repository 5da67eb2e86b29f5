// The queue: j/k move, Enter opens, r registers, d dispatches as recommended, v verifies,
// c closes the selected case; "/" searches. Rows and the per-status counters change live over
// /ws/live/ (catching up from the page's last seq), new reports appear on top of the first page, and the export buttons
// ask for a background export and download it when the worker has built it.

import { connectLive } from "/static/cockpit/live.js";
import { api, baseKeys, liveBadge, newActionId, onKeys, showError, toast, STATUS_LABELS } from "./console.js";

const root = document.getElementById("queue");
const tbody = document.getElementById("queue-rows");
const filters = document.getElementById("filters");
const OPEN = new Set(["reported", "registered", "dispatched", "accepted", "on_site", "resolved", "rework", "verified", "returned"]);
let gridNames = {};
try { gridNames = JSON.parse(document.getElementById("grid-names").textContent); } catch (e) { /* none */ }

const rows = () => [...tbody.querySelectorAll("tr[data-id]")];
let selected = null;

function select(row, { scroll = true } = {}) {
  if (!row) return;
  if (selected) { selected.classList.remove("sel"); selected.removeAttribute("aria-selected"); }
  selected = row;
  row.classList.add("sel");
  row.setAttribute("aria-selected", "true");
  if (scroll) row.scrollIntoView({ block: "nearest" });
}

function move(step) {
  const all = rows();
  if (!all.length) return;
  const i = selected ? all.indexOf(selected) : -1;
  const next = all[Math.min(all.length - 1, Math.max(0, i < 0 ? 0 : i + step))];
  select(next);
}

tbody.addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-id]");
  if (row) select(row, { scroll: false });
});
tbody.addEventListener("dblclick", (event) => {
  const row = event.target.closest("tr[data-id]");
  if (row) location.href = row.dataset.href;
});

function setStatus(row, status, label) {
  row.dataset.status = status;
  const badge = row.querySelector(".st");
  if (badge) {
    badge.className = `badge st st-${status}`;
    badge.textContent = label || STATUS_LABELS[status] || status;
  }
}

async function act(action) {
  if (!selected) { toast("请先用 j / k 选择一条事件 · select a case with j / k first", "error"); return; }
  const id = selected.dataset.id;
  const number = selected.querySelector("td a").textContent;
  try {
    let result;
    if (action === "dispatch") {
      result = await api(`/api/cases/${id}/dispatch`, { method: "POST", body: { suggested: true, client_action_id: newActionId() } });
    } else {
      result = await api(`/api/cases/${id}/actions/${action}`, { method: "POST", body: { client_action_id: newActionId() } });
    }
    const c = result.data.case;
    setStatus(selected, c.status, c.status_label);
    if (c.handler) selected.querySelector(".c-handler").textContent = c.handler.name;
    toast(`${number} · ${c.status_label}`, "ok");
  } catch (err) {
    showError(err);
  }
}

const keys = {
  ...baseKeys,
  j: () => move(1),
  k: () => move(-1),
  ArrowDown: () => move(1),
  ArrowUp: () => move(-1),
  Enter: () => { if (selected) location.href = selected.dataset.href; },
  r: () => act("register"),
  d: () => act("dispatch"),
  v: () => act("verify"),
  c: () => act("close"),
  "/": () => { const q = document.getElementById("q"); if (q) q.focus(); },
};
onKeys(keys);

// --- live ----------------------------------------------------------------------------------

function matchesFilters(c) {
  const form = new FormData(filters);
  const status = form.get("status") || "open";
  if (status === "open" ? !OPEN.has(c.status) : status !== "all" && status !== c.status) return false;
  return matchesOtherFilters(c, form);
}

// The filters but the status: the ones the per-status counters are counted under.
function matchesOtherFilters(c, form = new FormData(filters)) {
  const source = form.get("source");
  if (source && source !== c.source) return false;
  const grid = form.get("grid");
  if (grid && String(c.grid_id) !== grid) return false;
  const category = (form.get("category") || "").trim();
  if (category && category !== c.category_code) return false;
  if (form.get("overdue") || (form.get("q") || "").trim()) return false; // the server decides those
  return true;
}

function cell(text, cls = "") {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  td.textContent = text;
  return td;
}

function newRow(c) {
  const tr = document.createElement("tr");
  tr.dataset.id = c.id;
  tr.dataset.status = c.status;
  tr.dataset.source = c.source;
  tr.dataset.grid = c.grid_id || "";
  tr.dataset.href = `/console/cases/${c.id}/`;
  tr.className = "fresh";
  const num = document.createElement("td");
  num.className = "mono";
  const a = document.createElement("a");
  a.href = tr.dataset.href;
  a.tabIndex = -1;
  a.textContent = c.number;
  num.appendChild(a);
  const status = document.createElement("td");
  const badge = document.createElement("span");
  status.appendChild(badge);
  badge.className = `badge st st-${c.status}`;
  badge.textContent = c.status_label;
  const grade = document.createElement("td");
  const g = document.createElement("span");
  g.className = `grade g${c.grade}`;
  g.textContent = { 1: "特急", 2: "紧急", 3: "一般" }[c.grade] || c.grade;
  grade.appendChild(g);
  const reported = new Date(c.reported_at);
  const pad = (n) => String(n).padStart(2, "0");
  tr.append(
    num, cell(c.category, "c-cat"), cell(c.source_label), grade, status,
    cell(gridNames[c.grid_id] || "—"), cell("—", "c-handler"), cell(c.address || "—", "c-addr"),
    cell(`${pad(reported.getMonth() + 1)}-${pad(reported.getDate())} ${pad(reported.getHours())}:${pad(reported.getMinutes())}`),
    cell("—"),
  );
  return tr;
}

// The per-status counters follow each status change (a new case counts from nothing).
function bump(key, delta) {
  const el = root.querySelector(`[data-count="${key}"]`);
  if (el) el.textContent = String(Math.max(0, Number(el.textContent) + delta));
}

function countsFollow(entry, c) {
  if (!entry || entry.from_status === entry.to_status || !matchesOtherFilters(c)) return;
  if (entry.from_status) bump(entry.from_status, -1);
  else bump("all", 1);
  bump(entry.to_status, 1);
  const was = OPEN.has(entry.from_status), is = OPEN.has(entry.to_status);
  if (was !== is) bump("open", is ? 1 : -1);
}

function onMessage(msg) {
  if (msg.type !== "case.updated") return;
  const c = msg.case;
  countsFollow(msg.entry, c);
  let row = tbody.querySelector(`tr[data-id="${c.id}"]`);
  if (row) {
    setStatus(row, c.status, c.status_label);
    row.classList.remove("flash");
    void row.offsetWidth; // restart the highlight animation
    row.classList.add("flash");
    return;
  }
  if (root.dataset.live && matchesFilters(c)) {
    const empty = tbody.querySelector(".q-empty");
    if (empty) empty.remove();
    row = newRow(c);
    tbody.prepend(row);
    if (!selected) select(row, { scroll: false });
  }
}

connectLive({ path: "/ws/live/", after: root.dataset.after, onMessage, onStatus: liveBadge });

// --- timers tick without a reload ------------------------------------------------------------

function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll(".timer[data-due]")) {
    const due = Date.parse(el.dataset.due);
    const started = el.dataset.started ? Date.parse(el.dataset.started) : null;
    let state = "green";
    if (now >= due) state = "critical";
    else if (started !== null && (now - started) >= 0.75 * (due - started)) state = "warning";
    if (el.dataset.state !== state && el.dataset.state !== "none") {
      el.dataset.state = state;
      el.className = `timer timer-${state}`;
    }
  }
}
setInterval(tick, 15000);

// --- export ----------------------------------------------------------------------------------

for (const button of document.querySelectorAll("[data-export]")) {
  button.addEventListener("click", async () => {
    const form = new FormData(filters);
    const body = { format: button.dataset.export };
    for (const key of ["status", "source", "category", "grid", "q"]) body[key] = form.get(key) || "";
    body.overdue = form.get("overdue") === "1";
    button.disabled = true;
    try {
      const { data } = await api("/api/exports", { method: "POST", body });
      toast("正在生成导出文件… · building the export…");
      for (let i = 0; i < 120; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        const res = await fetch(data.url, { method: "HEAD", credentials: "same-origin" });
        if (res.status === 200) { location.href = data.url; toast("导出完成 · export ready", "ok"); return; }
        if (res.status !== 202) { toast("导出失败，请重试 · export failed, try again", "error"); return; }
      }
      toast("导出超时，请稍后重试 · export timed out, try again later", "error");
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
    }
  });
}

// --- the commander's order (指挥长指令) -----------------------------------------------------

const orderDialog = document.getElementById("order-dialog");
if (orderDialog) {
  const form = document.getElementById("order-form");
  const open = () => { if (!orderDialog.open) orderDialog.showModal(); };
  document.getElementById("order-open").addEventListener("click", open);
  document.getElementById("order-cancel").addEventListener("click", () => orderDialog.close());
  keys.o = open;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = { text: data.get("text"), address: data.get("address") || "", client_action_id: newActionId() };
    for (const key of ["department", "team"]) if (data.get(key)) body[key] = Number(data.get(key));
    if (data.get("due_at")) body.due_at = new Date(data.get("due_at")).toISOString();
    try {
      const { data: result } = await api("/api/orders", { method: "POST", body });
      orderDialog.close();
      form.reset();
      toast(`指令已下达 · order issued · ${result.case.number}`, "ok");
    } catch (err) { showError(err); }
  });
}

select(rows()[0], { scroll: false });
