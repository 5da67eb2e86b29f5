// Shared plumbing of the operator console: JSON calls with the CSRF token, toasts, the theme
// toggle, the shortcut help and a keyboard dispatcher that keeps out of the way of form fields.

import { statusBadge } from "/static/cockpit/live.js";

const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
  get fieldText() {
    const fields = this.body.fields || {};
    return Object.values(fields).flat().join("；");
  }
}

export async function api(path, { method = "GET", body = undefined } = {}) {
  const init = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRFToken": csrf() },
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const type = res.headers.get("content-type") || "";
  const data = type.includes("application/json") ? await res.json() : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return { status: res.status, data, response: res };
}

export function toast(message, kind = "") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  el.textContent = message;
  box.appendChild(el);
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}

export function showError(err) {
  if (err instanceof ApiError) {
    const detail = err.fieldText;
    toast(detail ? `${err.message}（${detail}）` : err.message, "error");
  } else {
    toast(String(err), "error");
  }
}

export function newActionId() {
  return (crypto.randomUUID && crypto.randomUUID()) || `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

const typing = (el) =>
  el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));

// keys: { "j": fn, "Enter": fn, … }. Ignored while typing in a field, with modifiers, or while a
// dialog is open (except Escape, which the dialog handles itself).
export function onKeys(keys) {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (document.querySelector("dialog[open]")) return;
    const fn = keys[event.key];
    if (fn) {
      event.preventDefault();
      fn(event);
    }
  });
}

function setupChrome() {
  const toggle = document.getElementById("theme-toggle");
  const flip = () => {
    const root = document.documentElement;
    const next = root.dataset.theme === "dark" ? "light" : "dark";
    root.dataset.theme = next;
    try { localStorage.setItem("cockpit.theme", next); } catch (e) { /* private mode */ }
  };
  if (toggle) toggle.addEventListener("click", flip);
  const help = document.getElementById("help");
  const openHelp = () => help && !help.open && help.showModal();
  const helpButton = document.getElementById("help-open");
  if (helpButton) helpButton.addEventListener("click", openHelp);
  return { flip, openHelp };
}

export const chrome = setupChrome();
export const liveBadge = statusBadge(document.getElementById("live-badge"));

export const baseKeys = {
  "?": chrome.openHelp,
  t: chrome.flip,
};

export const STATUS_LABELS = {
  reported: "已上报", registered: "已立案", rejected: "不予立案", dispatched: "已派遣",
  accepted: "已签收", on_site: "已到场", resolved: "已处置", rework: "返工", verified: "已核查",
  closed: "已结案", returned: "已回退", parked: "挂账", merged: "已合并",
};
