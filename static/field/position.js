// On duty / off duty. While on duty and the app is open, the phone's position goes to
// /api/grids/positions every 30 s (the forces layer of the cockpit map). Bounded: one report
// per interval however often the GPS fires; paused when the app has been hidden for a while;
// slower on a low battery and stopped on a nearly empty one (where the Battery API exists).
// Off duty: one last report saying so, then nothing is sent.
// Offline (or the network fails), each report is kept on the phone (the last QUEUE_MAX, about
// two hours) and sent, oldest first and with its own time, as soon as the network is back; the
// server keeps the history and never moves the latest position back to an old fix.

import { csrfToken } from "./outbox.js";

const KEY = "field.duty";
const DEFAULT_INTERVAL_MS = 30000;
const HIDDEN_PAUSE_MS = 5 * 60 * 1000;
const LOW_BATTERY = 0.15;
const EMPTY_BATTERY = 0.05;
const QUEUE_KEY = "field.positionQueue";
const QUEUE_MAX = 240;

const state = {
  onDuty: localStorage.getItem(KEY) === "1",
  fix: null, // { lng, lat, accuracy, at }
  watchId: null,
  timer: null,
  hiddenSince: null,
  paused: "", // "" | "hidden" | "battery"
  battery: null,
  sent: 0,
  lastSentAt: null,
  lastError: "",
  flushing: false,
};

function queued() {
  try { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { return []; }
}

function queueSave(items) {
  localStorage.setItem(QUEUE_KEY, JSON.stringify(items.slice(-QUEUE_MAX)));
}
const listeners = new Set();
const emit = () => { for (const fn of listeners) { try { fn(snapshot()); } catch (e) { console.error(e); } } };

export function onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

export function snapshot() {
  return { intervalMs: interval(), onDuty: state.onDuty, fix: state.fix, paused: state.paused, sent: state.sent, queued: queued().length, lastSentAt: state.lastSentAt, lastError: state.lastError, battery: state.battery ? { level: state.battery.level, charging: state.battery.charging } : null };
}

export function lastFix() { return state.fix; }

function baseInterval() {
  const override = Number(localStorage.getItem("field.positionIntervalMs") || "");
  return override > 0 ? override : DEFAULT_INTERVAL_MS;
}

function interval() {
  const b = state.battery;
  if (b && !b.charging && b.level < LOW_BATTERY) return baseInterval() * 4;
  return baseInterval();
}

function remember(pos) {
  state.fix = { lng: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy, at: pos.timestamp || Date.now() };
  emit();
}

// A fresh fix for an action ("到场", a patrol report): the watched one if recent, else ask.
export function currentFix({ maxAgeMs = 60000, timeoutMs = 8000 } = {}) {
  if (maxAgeMs > 0 && state.fix && Date.now() - state.fix.at < maxAgeMs) return Promise.resolve(state.fix);
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(state.fix);
    navigator.geolocation.getCurrentPosition(
      (pos) => { remember(pos); resolve(state.fix); },
      () => resolve(state.fix),
      { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: maxAgeMs },
    );
  });
}

// One report to the server: "sent", "refused" (the server said no: not kept) or "offline".
async function post(record) {
  try {
    const r = await fetch("/api/grids/positions", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(record),
    });
    if (!r.ok) { state.lastError = `定位上报失败（${r.status}）· position refused`; return "refused"; }
    state.sent += 1;
    state.lastError = "";
    return "sent";
  } catch (e) {
    return "offline";
  }
}

// The kept reports, oldest first; stops at the first network failure and keeps the rest.
async function flush() {
  if (state.flushing || !navigator.onLine) return;
  state.flushing = true;
  try {
    let items = queued();
    while (items.length) {
      if ((await post(items[0])) === "offline") break;
      items = queued().slice(1); // the head went (or was refused); others may have been added
      queueSave(items);
    }
  } finally {
    state.flushing = false;
    emit();
  }
}

async function send(onDuty) {
  const fix = state.fix;
  if (!fix) return false;
  const record = { lng: fix.lng, lat: fix.lat, accuracy: Math.min(fix.accuracy ?? 0, 99999), on_duty: onDuty, recorded_at: new Date().toISOString() };
  state.lastSentAt = Date.now();
  const outcome = navigator.onLine ? await post(record) : "offline";
  if (outcome === "offline") {
    queueSave([...queued(), record]);
    state.lastError = "网络不可用，定位已暂存，联网后补传 · offline: kept, sent when back online";
  } else if (queued().length) {
    flush();
  }
  emit();
  return outcome === "sent";
}

function tick() {
  if (!state.onDuty || state.paused) return;
  if (state.lastSentAt && Date.now() - state.lastSentAt < interval() * 0.8) return;
  send(true);
}

function schedule() {
  clearTimeout(state.timer);
  if (!state.onDuty || state.paused) return;
  state.timer = setTimeout(() => { tick(); schedule(); }, interval());
}

function startWatching() {
  if (state.watchId !== null || !navigator.geolocation) return;
  state.watchId = navigator.geolocation.watchPosition(
    (pos) => {
      const first = !state.fix;
      remember(pos);
      if (first) tick(); // the first fix goes at once; later ones wait for the interval
    },
    (err) => { state.lastError = err.code === 1 ? "未获得定位权限，请在浏览器设置中允许定位 · location not allowed: allow it in the browser settings" : "暂时无法定位 · no position yet"; emit(); },
    { enableHighAccuracy: true, maximumAge: 15000, timeout: 30000 },
  );
}

function stopWatching() {
  if (state.watchId !== null) navigator.geolocation.clearWatch(state.watchId);
  state.watchId = null;
  clearTimeout(state.timer);
  state.timer = null;
}

function resume() {
  if (!state.onDuty || state.paused) return;
  startWatching();
  tick();
  schedule();
}

export async function setDuty(on) {
  state.onDuty = on;
  localStorage.setItem(KEY, on ? "1" : "0");
  if (on) {
    state.paused = "";
    checkBattery();
    resume();
  } else {
    stopWatching();
    await send(false); // the forces map shows me off duty; after this nothing is sent
  }
  emit();
}

function checkBattery() {
  const b = state.battery;
  const was = state.paused;
  if (b && !b.charging && b.level < EMPTY_BATTERY) state.paused = "battery";
  else if (state.paused === "battery") state.paused = "";
  if (was !== state.paused) {
    if (state.paused) stopWatching(); else resume();
    emit();
  }
}

export function start() {
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      state.hiddenSince = Date.now();
      // A phone in the pocket keeps reporting for a while, then stops to save the battery.
      setTimeout(() => {
        if (document.hidden && state.hiddenSince && Date.now() - state.hiddenSince >= HIDDEN_PAUSE_MS && state.onDuty) {
          state.paused = "hidden";
          stopWatching();
          emit();
        }
      }, HIDDEN_PAUSE_MS + 50);
    } else {
      state.hiddenSince = null;
      if (state.paused === "hidden") { state.paused = ""; emit(); }
      resume();
    }
  });
  window.addEventListener("online", () => { flush(); tick(); });
  if (navigator.getBattery) {
    navigator.getBattery().then((b) => {
      state.battery = b;
      b.addEventListener("levelchange", checkBattery);
      b.addEventListener("chargingchange", checkBattery);
      checkBattery();
      emit();
    }).catch(() => {});
  }
  if (state.onDuty) resume();
  flush(); // what an earlier visit kept
  emit();
}
