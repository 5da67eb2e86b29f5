// The outbox: every action taken on the phone goes here first (IndexedDB), with the id made on
// the phone (client_action_id), then is sent. Without a network it stays, shown as "待发送",
// and goes out when the network returns (the "online" event and a periodic retry). The server
// treats a repeated id as the same action, so sending again after a lost answer is safe:
// nothing is lost and nothing happens twice. Photos are kept as Blobs in the same record.

const DB_NAME = "field-outbox";
const STORE = "items";
const RETRY_MS = 20000;

let dbPromise = null;
let flushing = null;
let retryTimer = null;
const listeners = new Set();

function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        const store = req.result.createObjectStore(STORE, { keyPath: "id" });
        store.createIndex("created", "createdAt");
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

function tx(mode, fn) {
  return db().then(
    (d) =>
      new Promise((resolve, reject) => {
        const t = d.transaction(STORE, mode);
        const store = t.objectStore(STORE);
        let result;
        Promise.resolve(fn(store)).then((r) => { result = r; });
        t.oncomplete = () => resolve(result);
        t.onerror = () => reject(t.error);
        t.onabort = () => reject(t.error);
      }),
  );
}

const req2p = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Older WebViews: RFC 4122 v4 from getRandomValues.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }
function changed(detail = {}) { for (const fn of listeners) { try { fn(detail); } catch (e) { console.error(e); } } }

export async function list() {
  const items = await tx("readonly", (s) => req2p(s.getAll()));
  return (items || []).sort((a, b) => a.createdAt - b.createdAt);
}

export async function remove(id) {
  await tx("readwrite", (s) => req2p(s.delete(id)));
  changed({ removed: id });
}

async function put(item) { await tx("readwrite", (s) => req2p(s.put(item))); }

// item: { kind: "action" | "report", url, label, caseId?, action?, fields: {}, photos: [Blob] }
export async function enqueue(item) {
  const record = {
    id: item.id || newId(),
    createdAt: Date.now(),
    state: "pending",
    tries: 0,
    error: "",
    fields: {},
    photos: [],
    ...item,
  };
  record.fields = { ...record.fields, client_action_id: record.id };
  await put(record);
  changed({ queued: record });
  flush();
  return record;
}

export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

function body(record) {
  const form = new FormData();
  for (const [k, v] of Object.entries(record.fields || {})) {
    if (v !== null && v !== undefined && v !== "") form.append(k, String(v));
  }
  (record.photos || []).forEach((blob, i) => {
    form.append("photos", blob, `photo-${i + 1}.jpg`);
  });
  return form;
}

function errorText(data, status) {
  if (!data) return `错误 ${status} · error ${status}`;
  const fields = data.fields ? Object.values(data.fields).flat().join("；") : "";
  return [data.message || data.detail || "", fields].filter(Boolean).join(" · ") || `错误 ${status} · error ${status}`;
}

async function sendOne(record) {
  let response;
  try {
    response = await fetch(record.url, {
      method: "POST",
      body: body(record),
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    });
  } catch (e) {
    return { outcome: "offline" };
  }
  let data = null;
  try { data = await response.json(); } catch (e) { /* not JSON */ }
  if (response.ok) return { outcome: "sent", data };
  if (response.status >= 500 || response.status === 429 || response.status === 408) return { outcome: "later", status: response.status };
  if (response.status === 401 || response.status === 403) {
    // Logged out (idle timeout) or truly not allowed: ask who we are.
    try {
      const me = await fetch("/accounts/api/me", { credentials: "same-origin" });
      if (me.status === 401 || me.status === 403) return { outcome: "auth" };
    } catch (e) { return { outcome: "offline" }; }
  }
  return { outcome: "failed", status: response.status, error: errorText(data, response.status) };
}

// Send everything pending, oldest first; stops at the first "no network" so order is kept.
export function flush() {
  if (flushing) return flushing;
  flushing = (async () => {
    const results = [];
    await null; // let `flushing` be assigned before the finally below can clear it
    try {
      if (!navigator.onLine) return results;
      const items = await list();
      for (const record of items) {
        if (record.state === "failed") continue;
        record.state = "sending";
        record.tries += 1;
        await put(record);
        changed({ sending: record });
        const r = await sendOne(record);
        if (r.outcome === "sent") {
          await tx("readwrite", (s) => req2p(s.delete(record.id)));
          results.push({ record, data: r.data });
          changed({ sent: record, data: r.data });
          continue;
        }
        if (r.outcome === "failed") {
          record.state = "failed";
          record.error = r.error;
          await put(record);
          changed({ failed: record });
          continue;
        }
        record.state = r.outcome === "auth" ? "auth" : "pending";
        await put(record);
        changed({ waiting: record, reason: r.outcome });
        break;
      }
    } finally {
      flushing = null;
    }
    return results;
  })();
  return flushing;
}

// Back to pending (after logging in again, or "重试" on a failed one).
export async function retry(id) {
  const items = await list();
  for (const record of items) {
    if (id ? record.id === id : record.state !== "sending") {
      record.state = "pending";
      record.error = "";
      await put(record);
    }
  }
  changed({});
  return flush();
}

export function start() {
  window.addEventListener("online", () => retry());
  document.addEventListener("visibilitychange", () => { if (!document.hidden) flush(); });
  clearInterval(retryTimer);
  retryTimer = setInterval(() => { if (navigator.onLine) flush(); }, RETRY_MS);
  // Items left "sending" by a page closed mid-request go back to pending: the server answers a
  // repeat of the same id with the first result.
  list().then(async (items) => {
    for (const r of items) if (r.state === "sending" || r.state === "auth") { r.state = "pending"; await put(r); }
    changed({});
    flush();
  });
}
