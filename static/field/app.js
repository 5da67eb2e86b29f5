// 网格通 — the grid worker's phone app (/m/). One shell, four views routed on the path:
//   /m/              my tasks (inbox), same-circle calls, cases to claim
//   /m/cases/<id>/   a case: details, photos, map and distance, the actions
//   /m/report        report what I see on patrol (the same intake as residents)
//   /m/me            on/off duty, the outbox ("待发送"), logout
// Every write goes through the outbox (outbox.js) so it survives having no network.

import * as outbox from "./outbox.js";
import * as position from "./position.js";
import { beep, unlock } from "./alert.js";
import { bearingLabel, distanceM, formatDistance, miniMap } from "./map.js";

const body = document.body;
const ME = Number(body.dataset.me);
const $ = (sel, root = document) => root.querySelector(sel);
const view = $("#view");
const sheet = $("#sheet");
const ARRIVE_WARNING_M = 200;
const MAX_PHOTOS = 3;

const GRADE_CLASS = { 1: "g1", 2: "g2", 3: "g3" };
const ACTION_LABEL = { accept: "签收", arrive: "到场", resolve: "处置完毕", return: "回退", extension_request: "申请延期", join: "加入联动", report: "巡查上报" };
const STATUS_LABEL = { dispatched: "已派遣", accepted: "已签收", on_site: "已到场", resolved: "已处置", rework: "返工", returned: "已回退", verified: "已核查", closed: "已结案" };
// English beside the Chinese where the labels are shown (the Chinese stay the labels kept and sent).
const ACTION_EN = { accept: "Accept", arrive: "On site", resolve: "Resolved", return: "Return", extension_request: "Extension", join: "Join", report: "Patrol report", call: "Same-circle call" };
const STATUS_EN = { registered: "registered", dispatched: "dispatched", accepted: "accepted", on_site: "on site", resolved: "resolved", rework: "rework", returned: "returned", verified: "verified", closed: "closed" };
const OUTBOX_STATE = { pending: ["待发送", "waiting"], sending: ["发送中", "sending"], failed: ["发送失败", "failed"], auth: ["待登录", "log in"] };
// What the handler can do next in each status: used to keep working while offline, when the
// server cannot tell us (the server still decides when the action arrives).
const NEXT = { accept: "accepted", arrive: "on_site", resolve: "resolved", return: "returned" };
const HANDLER_ACTIONS = {
  dispatched: ["accept", "return"],
  accepted: ["arrive", "resolve", "return", "extension_request"],
  on_site: ["resolve", "extension_request"],
  rework: ["arrive", "resolve", "extension_request"],
};


// Icons drawn inline (phones without an emoji font still show them): the drawings are the
// residents' pages' (events/templatetags/icons.py), embedded in the page as #icons.
const svg = (d, cls = "i") => `<svg class="${cls}" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${d}</svg>`;
const PATHS = JSON.parse($("#icons")?.textContent || "{}");
const ICON = Object.fromEntries(
  [["pin"], ["camera"], ["hand"], ["call"], ["stop", "i big"], ["cloud", "i big"], ["done", "i big"]]
    .map(([name, cls]) => [name, svg(PATHS[name] || "", cls)]),
);
// Category icons by name, the same drawings as the residents' pages (events/templatetags/
// category_icons.py, embedded in the page); "" is the generic one for a blank or unknown name.
const CATEGORY_ICONS = JSON.parse($("#category-icons")?.textContent || "{}");
const categoryIcon = (name) => svg(CATEGORY_ICONS[name] || CATEGORY_ICONS[""] || "");

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
// Chinese first, English beside it, small and muted (text already escaped or our own).
const en = (text) => (text ? `<span class="en" lang="en">${text}</span>` : "");
const labelEn = (item) => ACTION_EN[item.action || item.kind] || "";

let current = { name: "", caseId: null };
let cache = { inbox: null, cases: new Map(), grids: new Map(), categories: null };
let refreshTimer = null;

// --- small UI helpers -------------------------------------------------------------------------

function toast(text, kind = "") {
  const el = $("#toast");
  el.textContent = text;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toast.t);
  toast.t = setTimeout(() => { el.hidden = true; }, kind === "warn" ? 6000 : 3500);
}

function setTitle(text, back = false, english = "") {
  $("#title").innerHTML = esc(text) + en(english);
  $("#back").hidden = !back;
  document.title = `${text} · 网格通`;
}

function timeText(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return `${sameDay ? "今天" : `${d.getMonth() + 1}月${d.getDate()}日`} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function dueOf(c) {
  const step = { dispatched: ["accept_due", "签收", "accept"], accepted: ["arrive_due", "到场", "arrive"], on_site: ["resolve_due", "处置", "resolve"], rework: ["resolve_due", "处置", "resolve"] }[c.status];
  if (!step) return null;
  const due = c[step[0]] || c.resolve_due;
  return due ? { due: new Date(due), step: step[1], stepEn: step[2] } : null;
}

function dueText(c) {
  const d = dueOf(c);
  if (!d) return "";
  const mins = Math.round((d.due - Date.now()) / 60000);
  const span = (m) => (Math.abs(m) >= 1440 ? `${Math.floor(Math.abs(m) / 1440)} 天` : Math.abs(m) >= 60 ? `${Math.floor(Math.abs(m) / 60)} 小时 ${Math.abs(m) % 60} 分` : `${Math.abs(m)} 分钟`);
  const spanEn = (m) => (Math.abs(m) >= 1440 ? `${Math.floor(Math.abs(m) / 1440)} d` : Math.abs(m) >= 60 ? `${Math.floor(Math.abs(m) / 60)} h ${Math.abs(m) % 60} min` : `${Math.abs(m)} min`);
  if (mins < 0) return `<span class="due late">${d.step}已超时 ${span(mins)}${en(`${d.stepEn} ${spanEn(mins)} late`)}</span>`;
  return `<span class="due ${mins < 30 ? "soon" : ""}">${d.step}剩 ${span(mins)}${en(`${spanEn(mins)} to ${d.stepEn}`)}</span>`;
}

function gradeBadge(c) {
  return `<span class="grade ${GRADE_CLASS[c.grade] || "g3"}">${esc(c.grade_label || "一般")}</span>`;
}

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  let data = null;
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  if (r.status === 403 && !data?.fields) {
    // maybe the session timed out
  }
  return { ok: r.ok, status: r.status, data, offline: r.headers.get("X-Field-Offline") === "1" };
}

async function postJSON(url, payload) {
  const r = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": outbox.csrfToken() },
    body: JSON.stringify(payload),
  });
  let data = null;
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  return { ok: r.ok, status: r.status, data };
}

function errorText(data, status) {
  if (!data) return `出错了（${status}）· error ${status}`;
  const fields = data.fields ? Object.values(data.fields).flat().join("；") : "";
  return [data.message, fields].filter(Boolean).join(" · ") || `出错了（${status}）· error ${status}`;
}

// --- outbox badges ----------------------------------------------------------------------------

let pending = [];

async function refreshOutbox() {
  pending = await outbox.list();
  const waiting = pending.filter((p) => p.state !== "failed").length;
  const failed = pending.length - waiting;
  const badge = $("#outbox-count");
  badge.hidden = pending.length === 0;
  badge.textContent = String(pending.length);
  badge.classList.toggle("crit", failed > 0);
  const banner = $("#banner");
  if (pending.length) {
    banner.hidden = false;
    const auth = pending.some((p) => p.state === "auth");
    banner.className = `banner ${failed ? "crit" : "warn"}`;
    banner.innerHTML = auth
      ? `登录已过期：${waiting} 项待发送。<a href="/accounts/login/?next=${encodeURIComponent(location.pathname)}">重新登录</a>后自动发送${en(`signed out: ${waiting} waiting, sent once you log in again`)}`
      : failed
        ? `${failed} 项发送失败，请到“我的”查看${en(`${failed} not sent: see Me`)}`
        : `<span class="dot"></span>${waiting} 项待发送${navigator.onLine ? "，正在发送…" : "，联网后自动发送"}${en(`${waiting} waiting, ${navigator.onLine ? "sending…" : "sent when back online"}`)}`;
  } else {
    banner.hidden = true;
  }
}

function pendingFor(caseId) {
  return pending.filter((p) => p.caseId === caseId);
}

// --- routing ----------------------------------------------------------------------------------

function route() {
  const path = location.pathname;
  const m = path.match(/^\/m\/cases\/(\d+)\/?$/);
  closeSheet();
  if (m) return showCase(Number(m[1]));
  if (path.startsWith("/m/report")) return showReport();
  if (path.startsWith("/m/me")) return showMe();
  return showInbox();
}

function go(url) {
  if (url === location.pathname) return route();
  history.pushState({}, "", url);
  route();
}

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[href]");
  if (!a || a.target || e.metaKey || e.ctrlKey) return;
  const href = a.getAttribute("href");
  if (/^\/m\/(?!sw\.js|manifest|api\/)/.test(href)) {
    e.preventDefault();
    go(href);
  }
});
window.addEventListener("popstate", route);
$("#back").addEventListener("click", () => (history.length > 1 ? history.back() : go("/m/")));

function markTab(name) {
  current.name = name;
  body.dataset.view = name;
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("on", t.dataset.tab === name));
}

// --- inbox ------------------------------------------------------------------------------------

function caseCard(c, { extra = "" } = {}) {
  const fix = position.lastFix();
  const dist = fix && c.lat != null ? formatDistance(distanceM(fix, c)) : "";
  const waiting = pendingFor(c.id);
  return `<a class="card case-card ${c.grade === 1 ? "urgent" : ""}" href="/m/cases/${c.id}/" data-case-id="${c.id}">
    <div class="card-top">${gradeBadge(c)}<span class="cat">${esc(c.category?.name || "")}</span><span class="status s-${esc(c.status)}">${esc(c.status_label)}${en(STATUS_EN[c.status])}</span></div>
    <div class="card-title">${esc(c.title || c.address || c.number)}</div>
    <div class="card-meta">${c.address && c.title ? `<span>${esc(c.address)}</span>` : ""}${dist ? `<span class="dist">${ICON.pin}${esc(dist)}</span>` : ""}${dueText(c)}</div>
    ${waiting.length ? `<div class="chip warn">待发送${en("waiting")} · ${waiting.map((w) => esc(w.label)).join("、")}</div>` : ""}
    ${extra}
  </a>`;
}

async function loadInbox() {
  const r = await getJSON("/m/api/inbox");
  if (r.ok) {
    cache.inbox = r.data;
    const n = r.data.mine.length + r.data.unclaimed.length;
    const badge = $("#inbox-count");
    badge.hidden = n === 0;
    badge.textContent = String(n);
  }
  return r;
}

async function showInbox() {
  markTab("inbox");
  setTitle("我的任务", false, "My tasks");
  if (!cache.inbox) view.innerHTML = `<p class="muted center pad">正在加载…${en("loading…")}</p>`;
  else renderInbox();
  const r = await loadInbox();
  if (current.name !== "inbox") return;
  if (!r.ok && !cache.inbox) {
    view.innerHTML = `<section class="empty"><div class="empty-ico">${ICON.cloud}</div><h2>暂时无法加载${en("Cannot load now")}</h2><p class="muted">${navigator.onLine ? esc(errorText(r.data, r.status)) : `当前离线，联网后自动刷新。${en("Offline: refreshed when back online.")}`}</p></section>`;
    return;
  }
  renderInbox();
}

function renderInbox() {
  const d = cache.inbox;
  if (!d) return;
  const calls = d.calls.filter((c) => !c.joined);
  const parts = [];
  if (calls.length) {
    parts.push(`<h2 class="section crit">同圈呼叫${en("same-circle calls")} <small>${calls.length}</small></h2>`);
    for (const call of calls) {
      parts.push(`<div class="card call-card" data-case-id="${call.case.id}">
        <div class="card-top">${gradeBadge(call.case)}<span class="cat">${esc(call.case.category?.name || "")}</span><span class="status">${esc(call.caller)} 呼叫${en("calling")}</span></div>
        <div class="card-title">${esc(call.case.title || call.case.address || call.case.number)}</div>
        <div class="card-meta">${call.distance_m != null ? `<span class="dist">${ICON.pin}约 ${esc(formatDistance(call.distance_m))}</span>` : ""}<span>${esc(timeText(call.at))}</span></div>
        <div class="row"><button class="btn btn-danger grow" data-join="${call.case.id}">加入联动${en("Join")}</button><a class="btn" href="/m/cases/${call.case.id}/">查看${en("View")}</a></div>
      </div>`);
    }
  }
  parts.push(`<h2 class="section">待办${en("to do")} <small>${d.mine.length}</small></h2>`);
  if (d.mine.length) parts.push(d.mine.map((c) => caseCard(c)).join(""));
  else parts.push(`<section class="empty small"><div class="empty-ico">${ICON.done}</div><p class="muted">暂无待办任务，新任务会实时提醒。${en("Nothing to do; new tasks arrive here at once.")}</p></section>`);
  if (d.unclaimed.length) {
    parts.push(`<h2 class="section">本网格待认领${en("to claim in your grid")} <small>${d.unclaimed.length}</small></h2>`);
    parts.push(d.unclaimed.map((c) => caseCard(c)).join(""));
  }
  view.innerHTML = `<div class="list" id="inbox">${parts.join("")}</div>`;
  view.querySelectorAll("[data-join]").forEach((b) => b.addEventListener("click", (e) => {
    e.preventDefault();
    join(Number(b.dataset.join));
  }));
}

async function join(caseId) {
  await outbox.enqueue({ kind: "action", caseId, action: "join", label: ACTION_LABEL.join, url: `/api/cases/${caseId}/actions/join` });
  toast(navigator.onLine ? "已加入同圈联动 · joined the same-circle call" : "已记录，联网后发送 · saved, sent when back online", navigator.onLine ? "ok" : "warn");
  if (cache.inbox) cache.inbox.calls.forEach((c) => { if (c.case.id === caseId) c.joined = true; });
  renderInbox();
}

// --- a case -----------------------------------------------------------------------------------

async function loadCase(id) {
  let r = await getJSON(`/api/cases/${id}/`);
  if (r.status === 404) {
    const j = await getJSON(`/m/api/cases/${id}/joint`);
    if (j.ok) r = j;
  }
  if (r.ok) cache.cases.set(id, r.data);
  return r;
}

async function gridOutline(gridId) {
  if (!gridId) return null;
  if (cache.grids.has(gridId)) return cache.grids.get(gridId);
  const r = await getJSON(`/api/grids/${gridId}/`).catch(() => null);
  const g = r && r.ok ? r.data.geometry : null;
  cache.grids.set(gridId, g);
  return g;
}

// The case as the phone believes it is: the server's copy with the actions still waiting in
// the outbox applied on top (so the next step is offered while offline).
function effective(c) {
  const out = { ...c };
  for (const p of pendingFor(c.id)) {
    if (p.state === "failed") continue;
    if (NEXT[p.action]) {
      out.status = NEXT[p.action];
      out.status_label = STATUS_LABEL[out.status] || out.status;
      out.pendingStatus = true;
    }
  }
  if (out.pendingStatus) out.allowed_actions = HANDLER_ACTIONS[out.status] || [];
  return out;
}

async function showCase(id) {
  markTab("case");
  current.caseId = id;
  setTitle("事件详情", true, "Case");
  const known = cache.cases.get(id);
  if (known) renderCase(known);
  else view.innerHTML = `<p class="muted center pad">正在加载…${en("loading…")}</p>`;
  const r = await loadCase(id);
  if (current.name !== "case" || current.caseId !== id) return;
  if (!r.ok) {
    if (r.status === 404 || r.status === 403) {
      cache.cases.delete(id);
      view.innerHTML = `<section class="empty" id="forbidden"><div class="empty-ico">${ICON.stop}</div><h2>无权查看${en("Not allowed")}</h2><p class="muted">${esc(errorText(r.data, r.status))}</p><a class="btn btn-primary btn-block" href="/m/">回到我的任务${en("Back to my tasks")}</a></section>`;
      return;
    }
    if (!known) view.innerHTML = `<section class="empty"><div class="empty-ico">${ICON.cloud}</div><h2>暂时无法加载${en("Cannot load now")}</h2><p class="muted">当前离线或网络不佳，请稍后再试。${en("Offline or a weak network: try again later.")}</p></section>`;
    return;
  }
  renderCase(r.data);
  if (!position.lastFix() && r.data.lat != null) {
    // off duty nothing is watched: one fix for the distance on this screen (sent nowhere)
    position.currentFix().then((f) => { if (f && current.name === "case" && current.caseId === id && !sheet.open) renderCase(cache.cases.get(id) || r.data); });
  }
}

function renderCase(raw) {
  const c = effective(raw);
  setTitle(c.number || "事件详情", true, c.number ? "" : "Case");
  const fix = position.lastFix();
  const target = c.lat != null ? { lng: c.lng, lat: c.lat } : null;
  const dist = fix && target ? distanceM(fix, target) : null;
  const waiting = pendingFor(c.id);
  const photos = (c.photos || []).filter((p) => p.stage === "report" || p.stage === "resolve" || !p.stage);
  const timeline = (c.timeline || []).slice(-6).reverse();
  const allowed = c.allowed_actions || [];
  const mineOpen = c.handler?.id === ME && !["resolved", "verified", "closed", "returned"].includes(c.status);

  view.innerHTML = `<article class="case" data-case-id="${c.id}" data-status="${esc(c.status)}">
    <section class="card">
      <div class="card-top">${gradeBadge(c)}<span class="cat">${esc(c.category?.name || "")}</span><span class="status s-${esc(c.status)}" id="case-status">${esc(c.status_label)}${c.pendingStatus ? "（待发送）" : ""}${en(STATUS_EN[c.status] ? STATUS_EN[c.status] + (c.pendingStatus ? ", waiting" : "") : "")}</span></div>
      <h2 class="case-title">${esc(c.title || c.category?.name || c.number)}</h2>
      ${c.description ? `<p class="desc">${esc(c.description)}</p>` : ""}
      <dl class="facts">
        <dt>地点${en("Place")}</dt><dd>${esc(c.address || "—")}${c.grid ? ` · ${esc(c.grid.name)}` : ""}</dd>
        <dt>来源${en("Source")}</dt><dd>${esc(c.source_label || "")} · ${esc(timeText(c.reported_at))}</dd>
        ${dueOf(c) ? `<dt>时限${en("Due")}</dt><dd>${dueText(c)}</dd>` : ""}
        ${c.handler ? `<dt>处置人${en("Handler")}</dt><dd>${esc(c.handler.name)}</dd>` : ""}
      </dl>
    </section>
    ${waiting.length ? `<section class="card pending-card" id="pending">${waiting.map((w) => `<div class="pending-row ${w.state}"><span class="chip ${w.state === "failed" ? "crit" : "warn"}">${(OUTBOX_STATE[w.state] || OUTBOX_STATE.pending)[0]}${en((OUTBOX_STATE[w.state] || OUTBOX_STATE.pending)[1])}</span> ${esc(w.label)}${en(labelEn(w))}${w.photos?.length ? ` <span class="nowrap">· ${w.photos.length} 张照片${en("photos")}</span>` : ""}${w.error ? `<div class="small crit-text">${esc(w.error)}</div>` : ""}</div>`).join("")}</section>` : ""}
    <section class="card map-card">
      <div id="map">${miniMap({ target, me: fix, grid: cache.grids.get(c.grid?.id) })}</div>
      <div class="map-foot"><span id="distance">${dist != null ? `距您 <b>${esc(formatDistance(dist))}</b> · 在您${esc(bearingLabel(fix, target))}方${en(`${esc(formatDistance(dist, "en"))} away, ${esc(bearingLabel(fix, target, "en"))} of you`)}` : target ? `正在获取您的位置…${en("finding you…")}` : `事件没有坐标${en("no coordinates")}`}</span>
      ${target ? `<a class="btn btn-small" href="https://uri.amap.com/marker?position=${c.lng},${c.lat}&coordinate=wgs84&name=${encodeURIComponent(c.address || c.number)}" target="_blank" rel="noopener">导航${en("Navigate")}</a>` : ""}</div>
    </section>
    ${photos.length ? `<section class="card"><h3>照片${en("Photos")}</h3><div class="thumbs">${photos.map((p) => `<a href="${esc(p.url)}" target="_blank"><img src="${esc(p.url)}" alt="事件照片 · case photo" loading="lazy"></a>`).join("")}</div></section>` : ""}
    ${timeline.length ? `<section class="card"><h3>处置记录${en("History")}</h3><ol class="timeline">${timeline.map((e) => `<li><b>${esc(e.action_label)}</b> <span class="muted">${esc(e.actor || "")} · ${esc(timeText(e.at))}</span>${e.note ? `<div class="small">${esc(e.note)}</div>` : ""}</li>`).join("")}</ol></section>` : ""}
  </article>
  <div class="actions" id="actions">${actionButtons(c, allowed, mineOpen)}</div>`;

  view.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click", () => startAction(c, b.dataset.action)));
  if (c.grid?.id && !cache.grids.has(c.grid.id)) {
    gridOutline(c.grid.id).then((g) => {
      if (g && current.caseId === c.id) $("#map").innerHTML = miniMap({ target, me: position.lastFix(), grid: g });
    });
  }
}

function actionButtons(c, allowed, mineOpen) {
  const primary = ["accept", "arrive", "resolve"].filter((a) => allowed.includes(a));
  const rows = [];
  if (c.joint) {
    rows.push(`<button class="btn btn-danger btn-big" data-action="join">加入同圈联动${en("Join the same-circle call")}</button>`);
    return rows.join("");
  }
  const main = primary.includes("accept") ? "accept" : primary.includes("arrive") ? "arrive" : primary[0];
  const secondary = [];
  for (const a of primary) if (a !== main) secondary.push(a);
  for (const a of ["return", "extension_request"]) if (allowed.includes(a)) secondary.push(a);
  if (mineOpen) secondary.push("call");
  if (secondary.length) rows.push(`<div class="row secondary">${secondary.map((a) => `<button class="btn ${a === "call" ? "btn-call" : ""}" data-action="${a}">${a === "call" ? "呼叫同圈" : a === "extension_request" ? "延期" : ACTION_LABEL[a]}${en(ACTION_EN[a])}</button>`).join("")}</div>`);
  if (main) rows.push(`<button class="btn btn-primary btn-big" data-action="${main}">${main === "arrive" ? `${ICON.pin}到场打卡` : main === "resolve" ? `${ICON.camera}处置完毕` : `${ICON.hand}签收`}${en(ACTION_EN[main])}</button>`);
  if (!rows.length) {
    const why = c.pendingStatus ? ["操作已记录，联网后自动发送", "Saved, sent when back online"] : c.status === "resolved" ? ["已处置，等待指挥中心核查", "Resolved, waiting for the centre to check"] : ["此事件暂无需您处理的操作", "Nothing for you to do here"];
    rows.push(`<p class="muted center small">${why[0]}${en(why[1])}</p>`);
  }
  return rows.join("");
}

async function queueAction(c, action, fields = {}, photos = []) {
  const record = await outbox.enqueue({
    kind: "action",
    caseId: c.id,
    action,
    label: ACTION_LABEL[action] || action,
    url: `/api/cases/${c.id}/actions/${action}`,
    fields,
    photos,
  });
  await refreshOutbox();
  if (!navigator.onLine) toast(`已保存“${record.label}”，联网后自动发送 · saved, sent when back online`, "warn");
  if (current.caseId === c.id) renderCase(cache.cases.get(c.id) || c);
  return record;
}

async function startAction(c, action) {
  if (action === "accept") return queueAction(c, "accept");
  if (action === "join") return join(c.id).then(() => showCase(c.id));
  if (action === "arrive") return arrive(c);
  if (action === "resolve") return resolveSheet(c);
  if (action === "return") return reasonSheet(c, "return", "回退（非本职责）", "Return (not ours)", "请说明原因，例如：不属于网格职责，应由××部门处理");
  if (action === "extension_request") return extensionSheet(c);
  if (action === "call") return callNearby(c);
}

async function arrive(c) {
  toast("正在定位… · locating…");
  const fix = await position.currentFix({ maxAgeMs: 0 }); // an arrival is a position record: a fresh fix
  if (!fix) { toast("无法获得定位，请开启定位权限后再试 · no position: allow location and try again", "warn"); return; }
  const dist = c.lat != null ? distanceM(fix, c) : null;
  const fields = { lng: fix.lng.toFixed(7), lat: fix.lat.toFixed(7), accuracy: Math.round(fix.accuracy || 0) };
  if (dist != null && dist > ARRIVE_WARNING_M) {
    openSheet(`<h2>确认到场？${en("On site?")}</h2>
      <p class="warn-box" id="far-warning">您的位置距事发地约 <b>${esc(formatDistance(dist))}</b>，超过 ${ARRIVE_WARNING_M} 米。请确认已到达现场。${en(`You are about ${esc(formatDistance(dist, "en"))} from the case, over ${ARRIVE_WARNING_M} m. Make sure you are there.`)}</p>
      <div class="row"><button class="btn grow" data-close>取消${en("Cancel")}</button><button class="btn btn-primary grow" id="arrive-anyway">仍然到场${en("On site anyway")}</button></div>`);
    $("#arrive-anyway").addEventListener("click", () => { closeSheet(); queueAction(c, "arrive", fields); });
    return;
  }
  queueAction(c, "arrive", fields);
}

function openSheet(html) {
  sheet.innerHTML = `<div class="sheet-body">${html}</div>`;
  sheet.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", closeSheet));
  if (!sheet.open) sheet.showModal();
}

function closeSheet() { if (sheet.open) sheet.close(); }
sheet.addEventListener("click", (e) => { if (e.target === sheet) closeSheet(); });

// Photos: downscaled on the phone (long side ≤ 1600 px, JPEG) before they are kept and sent.
async function shrink(file) {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && file.size < 1_500_000 && file.type === "image/jpeg") return file;
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((res) => canvas.toBlob(res, "image/jpeg", 0.85));
    return blob || file;
  } catch (e) {
    return file;
  }
}

function photoPicker(root, photos) {
  const input = $("input[type=file]", root);
  const thumbs = $(".thumbs", root);
  const draw = () => {
    thumbs.innerHTML = photos.map((b, i) => `<span class="thumb"><img src="${URL.createObjectURL(b)}" alt="照片 ${i + 1} · photo ${i + 1}"><button type="button" data-drop="${i}" aria-label="删除 · remove">×</button></span>`).join("")
      + (photos.length < MAX_PHOTOS ? `<label class="thumb add" for="${input.id}">${ICON.camera}${photos.length ? `再拍${en("Another")}` : `拍照${en("Photo")}`}</label>` : "");
    thumbs.querySelectorAll("[data-drop]").forEach((b) => b.addEventListener("click", () => { photos.splice(Number(b.dataset.drop), 1); draw(); }));
  };
  input.addEventListener("change", async () => {
    for (const f of [...input.files].slice(0, MAX_PHOTOS - photos.length)) photos.push(await shrink(f));
    input.value = "";
    draw();
  });
  draw();
}

function resolveSheet(c) {
  const photos = [];
  openSheet(`<h2>处置完毕${en("Resolved")}</h2>
    <form id="resolve-form" class="form">
      <input type="file" id="resolve-photos" accept="image/*" capture="environment" multiple hidden>
      <div class="thumbs picker"></div>
      <label>处置情况${en("What was done")}<textarea name="note" rows="3" required placeholder="例如：已清理完毕，恢复原状"></textarea></label>
      <label>给市民的答复（可选）${en("Reply to the resident (optional)")}<input name="public_note" maxlength="500" placeholder="市民在跟踪页能看到"></label>
      <p class="form-error" hidden></p>
      <div class="row"><button type="button" class="btn grow" data-close>取消${en("Cancel")}</button><button class="btn btn-primary grow" type="submit">提交处置${en("Submit")}</button></div>
    </form>`);
  const form = $("#resolve-form");
  photoPicker(form, photos);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const err = $(".form-error", form);
    const note = form.note.value.trim();
    if (!photos.length || !note) {
      err.hidden = false;
      err.textContent = !photos.length ? "请至少拍 1 张处置后的照片 · take at least 1 photo of the result" : "请填写处置情况 · say what was done";
      return;
    }
    closeSheet();
    const fix = position.lastFix();
    const fields = { note, public_note: form.public_note.value.trim() };
    if (fix) Object.assign(fields, { lng: fix.lng.toFixed(7), lat: fix.lat.toFixed(7), accuracy: Math.round(fix.accuracy || 0) });
    await queueAction(c, "resolve", fields, photos);
  });
}

function reasonSheet(c, action, title, titleEn, placeholder) {
  openSheet(`<h2>${esc(title)}${en(esc(titleEn))}</h2>
    <form id="reason-form" class="form">
      <label>理由${en("Reason")}<textarea name="note" rows="3" required placeholder="${esc(placeholder)}"></textarea></label>
      <div class="row"><button type="button" class="btn grow" data-close>取消${en("Cancel")}</button><button class="btn btn-primary grow" type="submit">提交${en("Submit")}</button></div>
    </form>`);
  $("#reason-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const note = e.target.note.value.trim();
    if (!note) return;
    closeSheet();
    queueAction(c, action, { note });
  });
}

function extensionSheet(c) {
  const base = c.resolve_due ? new Date(c.resolve_due) : new Date();
  const suggested = new Date(Math.max(base.getTime(), Date.now()) + 24 * 3600 * 1000);
  const local = new Date(suggested.getTime() - suggested.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  openSheet(`<h2>申请延期${en("Ask for more time")}</h2>
    <form id="ext-form" class="form">
      <p class="muted small">当前处置时限：${esc(timeText(c.resolve_due) || "—")}${en("the deadline now")}</p>
      <label>延至${en("Until")}<input type="datetime-local" name="new_due" value="${local}" required></label>
      <label>理由${en("Reason")}<textarea name="note" rows="3" required placeholder="例如：需等待材料到货"></textarea></label>
      <div class="row"><button type="button" class="btn grow" data-close>取消${en("Cancel")}</button><button class="btn btn-primary grow" type="submit">提交申请${en("Submit")}</button></div>
    </form>`);
  $("#ext-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const f = e.target;
    if (!f.new_due.value || !f.note.value.trim()) return;
    closeSheet();
    queueAction(c, "extension_request", { new_due: new Date(f.new_due.value).toISOString(), note: f.note.value.trim() });
  });
}

async function callNearby(c) {
  if (!navigator.onLine) { toast("呼叫同圈需要网络 · a same-circle call needs a network", "warn"); return; }
  const r = await postJSON(`/m/api/cases/${c.id}/call-nearby`, { client_action_id: outbox.newId() });
  if (!r.ok) { toast(errorText(r.data, r.status), "warn"); return; }
  const people = r.data.called || [];
  openSheet(`<h2>同圈联动${en("Same-circle call")}</h2>
    ${people.length ? `<p>已呼叫附近在岗人员：${en("called, on duty nearby:")}</p><ul class="people" id="called">${people.map((p) => `<li><b>${esc(p.name)}</b><span class="muted">约 ${esc(formatDistance(p.distance_m))}</span></li>`).join("")}</ul>` : `<p class="warn-box" id="called">附近没有在岗的同中队人员，已记录。请联系指挥中心。${en("No one of your squad is on duty nearby (logged). Call the command centre.")}</p>`}
    <button class="btn btn-primary btn-block" data-close>知道了${en("OK")}</button>`);
  loadCase(c.id).then((x) => { if (x.ok && current.caseId === c.id) renderCase(x.data); });
}

// --- patrol report ----------------------------------------------------------------------------

async function categories() {
  if (cache.categories) return cache.categories;
  const [short, all] = await Promise.all([getJSON("/api/categories?resident=1"), getJSON("/api/categories")]);
  cache.categories = { short: short.ok ? short.data : [], all: all.ok ? all.data : [] };
  return cache.categories;
}

async function showReport() {
  markTab("report");
  setTitle("巡查上报", false, "Patrol report");
  const photos = [];
  view.innerHTML = `<form id="report-form" class="form report">
    <input type="file" id="report-photos" accept="image/*" capture="environment" multiple hidden>
    <section class="card"><h3>现场照片${en("Photos")} <small class="muted">最多 3 张 · up to 3</small></h3><div class="thumbs picker"></div></section>
    <section class="card"><h3>问题类型${en("Type")}</h3><div class="chips" id="cats"><span class="muted small">正在加载分类…${en("loading…")}</span></div>
      <select name="category" id="category" aria-label="全部分类 · all categories"><option value="">更多分类… · more…</option></select></section>
    <section class="card"><h3>描述${en("What you see")}</h3><textarea name="description" rows="3" placeholder="看到了什么？例如：人行道上堆放建筑垃圾约 2 立方"></textarea></section>
    <section class="card"><h3>位置${en("Place")}</h3><div id="where" class="where muted">正在定位…${en("locating…")}</div>
      <input name="address" placeholder="补充地址（可选），如：兰里路 88 号门口"></section>
    <p class="form-error" hidden></p>
    <button class="btn btn-primary btn-big" type="submit">上报${en("Report")}</button>
  </form>`;
  const form = $("#report-form");
  photoPicker(form, photos);
  let chosen = "";
  categories().then(({ short, all }) => {
    if (current.name !== "report") return;
    const cats = $("#cats");
    cats.innerHTML = short.slice(0, 8).map((c) => `<button type="button" class="chip-btn" data-code="${esc(c.code)}">${categoryIcon(c.icon)}${esc(c.name)}</button>`).join("") || `<span class="muted small">请从下方选择分类${en("pick one below")}</span>`;
    const sel = $("#category");
    sel.innerHTML = `<option value="">更多分类… · more…</option>` + all.map((c) => `<option value="${esc(c.code)}">${esc(c.major_name ? `${c.major_name} · ` : "")}${esc(c.name)}</option>`).join("");
    cats.querySelectorAll("[data-code]").forEach((b) => b.addEventListener("click", () => {
      chosen = b.dataset.code;
      sel.value = "";
      cats.querySelectorAll("[data-code]").forEach((x) => x.classList.toggle("on", x === b));
    }));
    sel.addEventListener("change", () => { chosen = sel.value; cats.querySelectorAll("[data-code]").forEach((x) => x.classList.remove("on")); });
  });
  const where = $("#where");
  position.currentFix({ maxAgeMs: 60000 }).then(async (fix) => {
    if (current.name !== "report") return;
    if (!fix) { where.textContent = "无法定位：请允许定位，或填写地址 · no position: allow location or type the address"; return; }
    where.innerHTML = `${ICON.pin}${fix.lng.toFixed(5)}, ${fix.lat.toFixed(5)} <span class="small">±${Math.round(fix.accuracy || 0)} 米</span>`;
    if (navigator.onLine) {
      const r = await getJSON(`/api/grids/locate?lng=${fix.lng}&lat=${fix.lat}`).catch(() => null);
      if (r && r.ok && current.name === "report") where.innerHTML += ` · <b>${esc(r.data.grid.name)}</b>${r.data.community ? ` · ${esc(r.data.community.name)}` : ""}`;
    }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const err = $(".form-error", form);
    const description = form.description.value.trim();
    if (!chosen) { err.hidden = false; err.textContent = "请选择问题类型 · choose a type"; return; }
    if (!photos.length && !description) { err.hidden = false; err.textContent = "请拍照或描述问题 · add a photo or say what you see"; return; }
    const fix = position.lastFix();
    const fields = { source: "worker", category: chosen, description, address: form.address.value.trim() };
    if (fix) Object.assign(fields, { lng: fix.lng.toFixed(7), lat: fix.lat.toFixed(7), crs: "wgs84" });
    await outbox.enqueue({ kind: "report", label: ACTION_LABEL.report, url: "/api/cases/", fields, photos });
    await refreshOutbox();
    toast(navigator.onLine ? "正在上报… · reporting…" : "已保存，联网后自动上报 · saved, reported when back online", navigator.onLine ? "" : "warn");
    go("/m/me");
  });
}

// --- me: duty, outbox -------------------------------------------------------------------------

// The duty line, Chinese and English: [zh, en].
function dutyText(s) {
  if (!s.onDuty) return ["已下班：不上报位置", "Off duty: your position is not sent"];
  if (s.paused === "battery") return ["电量过低，已暂停位置上报", "Battery low: positions paused"];
  if (s.paused === "hidden") return ["应用在后台较久，已暂停位置上报", "In the background too long: positions paused"];
  const zh = [`在岗：每 ${Math.round(s.intervalMs / 1000)} 秒上报位置`];
  const english = [`On duty: position every ${Math.round(s.intervalMs / 1000)} s`];
  if (s.lastSentAt) {
    const at = timeText(new Date(s.lastSentAt).toISOString()).split(" ")[1];
    zh.push(`最近 ${at}`);
    english.push(`last ${at}`);
  }
  zh.push(`本次已上报 ${s.sent} 次`);
  english.push(`${s.sent} sent`);
  if (s.queued) {
    zh.push(`暂存 ${s.queued} 条待补传`);
    english.push(`${s.queued} kept to send`);
  }
  return [zh.join(" · "), english.join(" · ")];
}

function dutyHtml(s) {
  const [zh, english] = dutyText(s);
  return esc(zh) + en(esc(english));
}

async function showMe() {
  markTab("me");
  setTitle("我的", false, "Me");
  const s = position.snapshot();
  const items = await outbox.list();
  if (current.name !== "me") return;
  view.innerHTML = `<section class="card me">
      <div class="avatar" aria-hidden="true">${esc((body.dataset.meName || "?").slice(0, 1))}</div>
      <div><b>${esc(body.dataset.meName)}</b><div class="muted small">${esc(body.dataset.meRole)} · ${esc(body.dataset.meScope)}</div></div>
    </section>
    <section class="card duty-card ${s.onDuty ? "on" : ""}">
      <div class="row between"><h3>在岗状态${en("Duty")}</h3><button class="switch" id="duty-switch" role="switch" aria-checked="${s.onDuty}"><span></span></button></div>
      <p id="duty-text" class="small">${dutyHtml(s)}</p>
      ${s.lastError ? `<p class="small crit-text">${esc(s.lastError)}</p>` : ""}
      ${s.battery ? `<p class="small muted">电量 ${Math.round(s.battery.level * 100)}%${s.battery.charging ? "（充电中）" : ""}${en(`battery${s.battery.charging ? ", charging" : ""}`)}</p>` : ""}
    </section>
    <section class="card" id="outbox">
      <div class="row between"><h3>待发送${en("Outbox")} <small>${items.length}</small></h3>${items.length ? `<button class="btn btn-small" id="send-now">立即发送${en("Send now")}</button>` : ""}</div>
      ${items.length ? `<ul class="outbox">${items.map((i) => `<li class="ob-${i.state}" data-id="${esc(i.id)}">
          <div><b>${esc(i.label)}</b>${en(labelEn(i))}${i.caseId ? ` · <a href="/m/cases/${i.caseId}/">事件${en("case")}</a>` : ""} <span class="muted small">${esc(timeText(new Date(i.createdAt).toISOString()))}</span></div>
          <div class="small"><span class="chip ${i.state === "failed" ? "crit" : "warn"}">${OUTBOX_STATE[i.state] ? OUTBOX_STATE[i.state][0] + en(OUTBOX_STATE[i.state][1]) : esc(i.state)}</span>${i.photos?.length ? ` <span class="nowrap">${i.photos.length} 张照片${en("photos")}</span>` : ""} ${i.error ? `<span class="crit-text">${esc(i.error)}</span>` : ""}</div>
          ${i.state === "failed" ? `<div class="row"><button class="btn btn-small" data-retry="${esc(i.id)}">重试${en("Retry")}</button><button class="btn btn-small" data-drop="${esc(i.id)}">放弃${en("Drop")}</button></div>` : ""}
        </li>`).join("")}</ul>` : `<p class="muted small">没有待发送的操作。离线时的操作会保存在这里，联网后自动发送。${en("Nothing waiting. What you do offline is kept here and sent when back online.")}</p>`}
    </section>
    <section class="card">
      <a class="btn btn-block" href="/m/inspections">平安码巡检任务${en("Safety-code inspections")}</a>
    </section>
    <section class="card">
      <button class="btn btn-block" id="install" hidden>添加到手机桌面${en("Add to home screen")}</button>
      <form method="post" action="/accounts/logout/" id="logout"><input type="hidden" name="csrfmiddlewaretoken" value="${esc(outbox.csrfToken())}"><button class="btn btn-block">退出登录${en("Log out")}</button></form>
    </section>`;
  $("#duty-switch").addEventListener("click", toggleDuty);
  $("#send-now")?.addEventListener("click", () => outbox.retry());
  view.querySelectorAll("[data-retry]").forEach((b) => b.addEventListener("click", () => outbox.retry(b.dataset.retry)));
  view.querySelectorAll("[data-drop]").forEach((b) => b.addEventListener("click", async () => {
    if (confirm("放弃这项操作？它将不会被发送。\nDrop this action? It will not be sent.")) { await outbox.remove(b.dataset.drop); showMe(); }
  }));
  $("#logout").addEventListener("submit", async () => {
    // A shared phone: the next person must not see this one's cached cases.
    try { for (const k of await caches.keys()) if (k.startsWith("field-data")) await caches.delete(k); } catch (e) { /* no caches */ }
  });
  if (installPrompt) {
    const b = $("#install");
    b.hidden = false;
    b.addEventListener("click", () => { installPrompt.prompt(); installPrompt = null; b.hidden = true; });
  }
}

function renderDuty(s) {
  const b = $("#duty");
  b.dataset.on = s.onDuty ? "1" : "0";
  b.setAttribute("aria-pressed", String(s.onDuty));
  b.innerHTML = s.onDuty ? (s.paused ? `在岗·暂停${en("Paused")}` : `在岗${en("On duty")}`) : `下班${en("Off duty")}`;
  const t = $("#duty-text");
  if (t) t.innerHTML = dutyHtml(s);
  const sw = $("#duty-switch");
  if (sw) { sw.setAttribute("aria-checked", String(s.onDuty)); sw.closest(".duty-card").classList.toggle("on", s.onDuty); }
}

async function toggleDuty() {
  const on = !position.snapshot().onDuty;
  await position.setDuty(on);
  toast(on ? "已上岗：开始上报位置 · on duty: sending your position" : "已下班：停止上报位置 · off duty: position no longer sent", "ok");
}
$("#duty").addEventListener("click", toggleDuty);

// --- live: new tasks, same-circle calls, updates of what is on screen ---------------------------

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    if (sheet.open) return scheduleRefresh();
    if (current.name === "inbox") showInbox();
    else if (current.name === "case" && current.caseId) loadCase(current.caseId).then((r) => { if (r.ok && current.name === "case") renderCase(r.data); });
    else loadInbox();
  }, 400);
}

function onLive(msg) {
  if (msg.type !== "case.updated" || !msg.case) return;
  const c = msg.case;
  if (msg.linkage && msg.linkage.for_user === ME) {
    beep({ urgent: true });
    toast(`同圈呼叫 · same-circle call：${msg.linkage.caller || "同事"}请求支援 ${c.category || ""}（约 ${formatDistance(msg.linkage.distance_m)}）`, "warn");
    return scheduleRefresh();
  }
  const newTask = c.handler_id === ME && msg.entry?.action === "dispatch";
  const claimable = !c.handler_id && msg.entry?.action === "dispatch";
  if (newTask || claimable) {
    beep({ urgent: c.grade === 1 });
    toast(`${newTask ? "新任务 · new task" : "本网格新事件 · new case in your grid"}：${c.category || ""} ${c.address || ""}`, c.grade === 1 ? "warn" : "ok");
  }
  if (current.name === "case" && current.caseId !== c.id && !newTask) return;
  scheduleRefresh();
}

async function startLive() {
  try {
    const { connectLive } = await import(body.dataset.liveJs);
    connectLive({
      path: "/ws/live/",
      onMessage: onLive,
      onStatus: (s) => {
        body.dataset.live = s;
        if (s === "open") scheduleRefresh(); // back after a drop: the inbox may have changed
      },
    });
  } catch (e) {
    console.warn("live feed unavailable", e);
  }
}

// --- start ------------------------------------------------------------------------------------

let installPrompt = null;
window.addEventListener("beforeinstallprompt", (e) => { e.preventDefault(); installPrompt = e; });

function netState() {
  $("#net").hidden = navigator.onLine;
  body.dataset.online = navigator.onLine ? "1" : "0";
  refreshOutbox();
}
window.addEventListener("online", () => { netState(); scheduleRefresh(); });
window.addEventListener("offline", netState);

outbox.onChange(async (d) => {
  await refreshOutbox();
  if (d.sent) {
    const warnings = d.data?.warnings || [];
    if (warnings.length) toast(warnings.join("；"), "warn");
    else toast(`“${d.sent.label}”已发送 · sent`, "ok");
    const known = d.sent.caseId && cache.cases.get(d.sent.caseId);
    if (known && d.data?.case) {
      // the server's answer at once; the full detail follows (scheduleRefresh)
      cache.cases.set(d.sent.caseId, { ...known, ...d.data.case, allowed_actions: HANDLER_ACTIONS[d.data.case.status] || [] });
      if (current.caseId === d.sent.caseId && current.name === "case") renderCase(cache.cases.get(d.sent.caseId));
    }
    if (d.sent.kind === "report" && d.data?.number) toast(`已上报，编号 ${d.data.number} · reported, No. ${d.data.number}`, "ok");
    scheduleRefresh();
  } else if (d.failed) {
    toast(`“${d.failed.label}”发送失败 · not sent：${d.failed.error}`, "warn");
    if (current.name === "me") showMe();
  }
  if (current.name === "me" && (d.queued || d.sent || d.removed)) showMe();
  if (current.name === "case" && current.caseId && cache.cases.has(current.caseId) && !d.sent) renderCase(cache.cases.get(current.caseId));
});
position.onChange(renderDuty);

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/m/sw.js", { scope: "/m/" }).then(
    () => { body.dataset.sw = "registered"; },
    (e) => console.warn("service worker not registered", e),
  );
}

unlock();
netState();
outbox.start();
position.start();
route();
startLive();
