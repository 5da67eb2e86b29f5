// 随手拍: photos (downscaled on the phone), the place from geolocation, a category, words, an
// optional phone → POST /api/report. One client_action_id per report, so a retry after a lost
// answer never files the same report twice.

const form = document.getElementById("report-form");
const T = JSON.parse(document.getElementById("report-i18n").textContent);
const MAX_PHOTOS = Number(form.dataset.maxPhotos || 3);
const MAX_BYTES = Number(form.dataset.maxBytes || 10 * 1024 * 1024);
const MAX_EDGE = 2560; // px: big enough to read a plate, small enough for a slow uplink
const TYPES = ["image/jpeg", "image/png", "image/webp"];
// Inside WeChat the position may come back as GCJ-02 (standards.md §3): tag it so the server converts.
const CRS = /MicroMessenger/i.test(navigator.userAgent) ? "gcj02" : "wgs84";

const photos = []; // {blob, name, url}
let position = null; // {lng, lat, accuracy}
let actionId = newId();

function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return "r-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
}

function $(id) {
  return document.getElementById(id);
}

function fieldError(field, message) {
  const el = form.querySelector(`.r-err[data-field="${field}"]`);
  if (el) el.textContent = message || "";
  return el;
}

function showFirstError() {
  // On a phone the field at fault is often off screen: bring the first message into view.
  const first = Array.from(form.querySelectorAll(".r-err")).find((el) => el.textContent.trim());
  if (first) first.scrollIntoView({ behavior: "smooth", block: "center" });
}

function clearErrors() {
  form.querySelectorAll(".r-err").forEach((el) => (el.textContent = ""));
}

// --- photos ------------------------------------------------------------------------------

async function loadImage(file) {
  if (window.createImageBitmap) {
    try {
      return await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (e) {
      /* fall back to an <img> below */
    }
  }
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = reject;
    img.src = URL.createObjectURL(file);
  });
}

async function prepare(file) {
  // Small photos go as they are; big ones are re-encoded as JPEG with the long edge ≤ 2560 px.
  let image;
  try {
    image = await loadImage(file);
  } catch (e) {
    return { blob: file, name: file.name || "photo.jpg" }; // the server decides (415)
  }
  const w = image.width;
  const h = image.height;
  const scale = Math.min(1, MAX_EDGE / Math.max(w, h));
  if (scale === 1 && file.size <= MAX_BYTES && TYPES.includes(file.type)) {
    return { blob: file, name: file.name || "photo.jpg" };
  }
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(h * scale);
  canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  return { blob: blob || file, name: (file.name || "photo").replace(/\.\w+$/, "") + ".jpg" };
}

async function addFiles(files) {
  fieldError("photos", "");
  for (const file of files) {
    if (photos.length >= MAX_PHOTOS) {
      fieldError("photos", T.too_many);
      break;
    }
    if (file.type && !file.type.startsWith("image/")) {
      fieldError("photos", T.bad_type);
      continue;
    }
    const prepared = await prepare(file);
    prepared.url = URL.createObjectURL(prepared.blob);
    photos.push(prepared);
  }
  renderPhotos();
}

function renderPhotos() {
  const box = $("photos");
  box.querySelectorAll(".r-thumb").forEach((el) => el.remove());
  photos.forEach((p, i) => {
    const fig = document.createElement("figure");
    fig.className = "r-thumb";
    fig.innerHTML = `<img alt="" src="${p.url}"><button type="button" aria-label="${T.remove}">×</button>`;
    fig.querySelector("button").addEventListener("click", () => {
      URL.revokeObjectURL(p.url);
      photos.splice(i, 1);
      renderPhotos();
    });
    box.insertBefore(fig, $("add-camera"));
  });
  const full = photos.length >= MAX_PHOTOS;
  $("add-camera").hidden = full;
  $("add-album").hidden = full;
}

for (const id of ["photo-camera", "photo-album"]) {
  $(id).addEventListener("change", (e) => {
    addFiles(Array.from(e.target.files || []));
    e.target.value = "";
  });
}

// --- place -------------------------------------------------------------------------------

function locate() {
  const state = $("place-state");
  state.textContent = T.locating;
  $("place").classList.remove("ok", "bad");
  if (!navigator.geolocation) {
    return failed();
  }
  navigator.geolocation.getCurrentPosition(
    (p) => {
      position = { lng: p.coords.longitude, lat: p.coords.latitude, accuracy: Math.round(p.coords.accuracy || 0) };
      state.textContent = `${T.located} ±${position.accuracy} m`;
      $("place").classList.add("ok");
      fieldError("location", "");
    },
    failed,
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}

function failed() {
  position = null;
  $("place-state").textContent = T.denied;
  $("place").classList.add("bad");
  $("address").required = true;
  $("address").focus({ preventScroll: true });
}

$("relocate").addEventListener("click", locate);
locate();

// --- submit ------------------------------------------------------------------------------

function validate() {
  clearErrors();
  let ok = true;
  if (!form.querySelector('input[name="category"]:checked')) {
    fieldError("category", T.need_category);
    ok = false;
  }
  if (!position && !$("address").value.trim()) {
    fieldError("location", T.need_place);
    ok = false;
  }
  if (!photos.length && !$("description").value.trim()) {
    fieldError("photos", T.need_content);
    ok = false;
  }
  return ok;
}

function send(data) {
  // XMLHttpRequest, not fetch: it reports upload progress, which matters on a slow uplink.
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/report");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) $("progress").firstElementChild.style.width = `${(100 * e.loaded) / e.total}%`;
    };
    xhr.onload = () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch (e) {
        /* an HTML error page */
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error("network"));
    xhr.send(data);
  });
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!validate()) {
    showFirstError();
    return;
  }
  const data = new FormData();
  photos.forEach((p, i) => data.append("photos", p.blob, p.name || `photo-${i + 1}.jpg`));
  data.append("category", form.querySelector('input[name="category"]:checked').value);
  data.append("description", $("description").value.trim());
  data.append("address", $("address").value.trim());
  data.append("phone", $("phone").value.trim());
  data.append("client_action_id", actionId);
  if (position) {
    data.append("lng", position.lng);
    data.append("lat", position.lat);
    data.append("accuracy", position.accuracy);
    data.append("crs", CRS);
  }
  const button = $("submit");
  button.disabled = true;
  button.dataset.label = button.dataset.label || button.innerHTML;
  button.textContent = T.sending;
  $("progress").hidden = false;
  try {
    const { status, body } = await send(data);
    if (status === 200 || status === 201) {
      done(body);
      return;
    }
    $("form-error").textContent = body.message || `HTTP ${status}`;
    const alias = { lng: "location", lat: "location", crs: "location" };
    for (const [field, messages] of Object.entries(body.fields || {})) {
      if (!fieldError(alias[field] || field, messages.join(" "))) $("form-error").textContent += " " + messages.join(" ");
    }
    showFirstError();
  } catch (err) {
    $("form-error").textContent = T.network; // same client_action_id on retry: still one case
  } finally {
    button.disabled = false;
    button.innerHTML = button.dataset.label;
    $("progress").hidden = true;
  }
});

function done(body) {
  form.hidden = true;
  $("done").hidden = false;
  $("case-number").textContent = body.number;
  $("track-link").href = body.tracking_url;
  if (body.warnings && body.warnings.length) {
    $("done-warning").textContent = body.warnings.join(" ");
    $("done-warning").hidden = false;
  }
  try {
    // Keep the last few links on this phone, so "my reports" survives a closed tab.
    const mine = JSON.parse(localStorage.getItem("cockpit.reports") || "[]");
    mine.unshift({ number: body.number, url: body.tracking_url, at: new Date().toISOString() });
    localStorage.setItem("cockpit.reports", JSON.stringify(mine.slice(0, 10)));
  } catch (e) {
    /* private mode */
  }
  window.scrollTo({ top: 0 });
}

$("again").addEventListener("click", () => {
  photos.splice(0).forEach((p) => URL.revokeObjectURL(p.url));
  renderPhotos();
  form.reset();
  actionId = newId();
  $("done").hidden = true;
  form.hidden = false;
  locate();
});
