// The big screen (数字驾驶舱大屏): a MapLibre map of the town's own geography in the centre,
// ECharts panels on both sides, everything kept live over /ws/live/ (live.js: reconnect with
// catch-up by seq). Data come from /api/screen/* (rollups, see cockpit/screen/selectors.py).
import { connectLive, statusBadge } from "./live.js";

const $ = (sel) => document.querySelector(sel);
const stage = $("#stage");
const GRADE_COLOURS = { 1: "#ff3b3b", 2: "#ffb020", 3: "#29b6ff" };
const GRADE_LABELS = { 1: "特急", 2: "紧急", 3: "一般" };
const LEVEL_LABELS = { red: "红", orange: "橙", yellow: "黄", blue: "蓝", green: "绿" };
const LEVEL_COLOURS = { red: "#e5484d", orange: "#f08c2e", yellow: "#f5d90a", blue: "#3e8ef7", green: "#30a46c" };
const FINAL = new Set(["closed", "rejected", "merged", "parked"]);
const TICKER_SIZE = 20;

const state = {
  ready: false,
  cases: new Map(), // id → GeoJSON feature (open cases on the map)
  ticker: [], // newest first
  grids: new Map(), // id → {name, level, open, overdue, week}
  pulses: [],
  charts: {},
  drill: null, // {kind: "grid"|"case", id}
};

// ---------------------------------------------------------------- helpers
async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const rem = () => parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
const hhmm = (iso) => { const d = new Date(iso); return d.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false }); };
const fmtMinutes = (m) => {
  if (m === null || m === undefined) return "–";
  if (m < 60) return `${Math.round(m)}分`;
  if (m < 60 * 48) return `${(m / 60).toFixed(1)}时`;
  return `${(m / 1440).toFixed(1)}天`;
};
const pct = (r) => (r === null || r === undefined ? "–" : `${(r * 100).toFixed(1)}%`);
function debounce(fn, ms) {
  let t = null;
  return () => { clearTimeout(t); t = setTimeout(fn, ms); };
}

// ---------------------------------------------------------------- clock
function tickClock() {
  const now = new Date();
  const d = now.toLocaleDateString("zh-CN", { year: "numeric", month: "2-digit", day: "2-digit", weekday: "short" });
  const t = now.toLocaleTimeString("zh-CN", { hour12: false });
  $("#clock").textContent = `${d} ${t}`;
}

// ---------------------------------------------------------------- charts
function chart(id) {
  if (!state.charts[id]) state.charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
  return state.charts[id];
}
const axisText = () => ({ color: "#8fb0d8", fontSize: 0.75 * rem() });
const baseGrid = () => ({ left: "2%", right: "10%", top: "4%", bottom: "2%", containLabel: true });

function barOption(rows, colour) {
  const data = rows.slice().reverse();
  return {
    backgroundColor: "transparent",
    grid: baseGrid(),
    xAxis: { type: "value", axisLabel: axisText(), splitLine: { lineStyle: { color: "#17335c" } } },
    yAxis: { type: "category", data: data.map((r) => r.name), axisLabel: axisText(), axisLine: { lineStyle: { color: "#2a4f82" } } },
    series: [{
      type: "bar", data: data.map((r) => r.n), barMaxWidth: 0.9 * rem(),
      itemStyle: { borderRadius: [0, 4, 4, 0], color: new echarts.graphic.LinearGradient(0, 0, 1, 0, [{ offset: 0, color: "#0b3a78" }, { offset: 1, color: colour }]) },
      label: { show: true, position: "right", color: "#cfeaff", fontSize: 0.75 * rem() },
    }],
    animationDuration: 400,
  };
}

function renderSummary(s) {
  $("#k-today").textContent = s.total_today;
  $("#k-open").textContent = s.open_now;
  $("#k-overdue").textContent = s.overdue_now;
  $("#k-rate").textContent = pct(s.closure.today.rate);
  $("#k-median").textContent = fmtMinutes(s.closure.today.median_minutes);
  $("#k-rate7").textContent = pct(s.closure.week.rate);
  $("#k-median7").textContent = fmtMinutes(s.closure.week.median_minutes);
  chart("c-source").setOption(barOption(s.by_source.slice(0, 8), "#2bb3ff"), true);
  chart("c-category").setOption(barOption(s.by_category.slice(0, 8), "#3ddc97"), true);
  chart("c-status").setOption({
    backgroundColor: "transparent",
    tooltip: { trigger: "item" },
    legend: { orient: "vertical", right: 0, top: "middle", textStyle: axisText(), itemWidth: 0.7 * rem(), itemHeight: 0.7 * rem() },
    series: [{
      type: "pie", radius: ["45%", "72%"], center: ["32%", "52%"],
      label: { show: false }, itemStyle: { borderColor: "#071226", borderWidth: 2 },
      data: s.by_status.map((r) => ({ name: r.name, value: r.n })),
    }],
    color: ["#2bb3ff", "#3ddc97", "#ffb020", "#b58cff", "#ff5d5d", "#5ce1e6", "#f5d90a", "#8fb0d8", "#ff8fab"],
  }, true);
  const codes = $("#codes");
  if (s.safety_codes.available) {
    codes.innerHTML = ["red", "yellow", "green"].map((k) =>
      `<div class="code ${k}"><b>${s.safety_codes[k]}</b><span>${{ red: "红码", yellow: "黄码", green: "绿码" }[k]}</span></div>`).join("");
  } else {
    codes.innerHTML = `<div class="na">${esc(s.safety_codes.label || "暂未接入")}</div>`;
  }
}

function renderIndices(data) {
  const today = data.today;
  const avg = today.reduce((a, r) => a + r.value, 0) / (today.length || 1);
  $("#idx-avg").textContent = `今日综合 ${avg.toFixed(1)} · today overall`;
  chart("c-radar").setOption({
    backgroundColor: "transparent",
    radar: {
      indicator: today.map((r) => ({ name: `${r.name}\n${r.value}`, max: 100 })),
      radius: "54%", center: ["50%", "53%"],
      axisName: { color: "#cfeaff", fontSize: 0.75 * rem() },
      splitLine: { lineStyle: { color: "#1c3d6e" } }, splitArea: { areaStyle: { color: ["rgba(20,60,120,.15)", "rgba(20,60,120,.3)"] } },
      axisLine: { lineStyle: { color: "#1c3d6e" } },
    },
    series: [{ type: "radar", data: [{ value: today.map((r) => r.value), name: "今日",
      areaStyle: { color: "rgba(43,179,255,.35)" }, lineStyle: { color: "#2bb3ff", width: 2 }, itemStyle: { color: "#7fd3ff" } }] }],
  }, true);
  const names = Object.fromEntries(today.map((r) => [r.key, r.name]));
  const days = data.trend.days;
  chart("c-trend").setOption({
    backgroundColor: "transparent",
    legend: { top: 0, textStyle: { ...axisText(), fontSize: 0.68 * rem() }, itemWidth: 0.9 * rem(), itemHeight: 0.5 * rem() },
    grid: { left: "1%", right: "3%", top: "22%", bottom: "2%", containLabel: true },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: days.map((d) => d.slice(5)), axisLabel: axisText(), axisLine: { lineStyle: { color: "#2a4f82" } } },
    yAxis: { type: "value", min: (v) => Math.max(0, Math.floor(v.min / 10) * 10), max: 100, axisLabel: axisText(), splitLine: { lineStyle: { color: "#17335c" } } },
    series: Object.keys(names).map((k) => {
      const by = Object.fromEntries((data.trend.series[k] || []).map(([d, v]) => [d, v]));
      return { name: names[k], type: "line", smooth: true, showSymbol: false, data: days.map((d) => by[d] ?? null) };
    }),
    color: ["#2bb3ff", "#ff5d5d", "#ffb020", "#b58cff", "#3ddc97", "#5ce1e6"],
  }, true);
}

// ---------------------------------------------------------------- ticker
function tickerItem(c) {
  return `<li data-case="${c.id}" class="${c.fresh ? "fresh" : ""}"><span class="t">${hhmm(c.reported_at)}</span>`
    + `<span class="what">${esc(c.category)}<small>${esc(c.grid || c.address || "")} · ${esc(c.source_label)}</small></span>`
    + `<span class="tag g${c.grade}">${esc(c.status_label)}</span></li>`;
}
function renderTicker() {
  $("#ticker").innerHTML = state.ticker.slice(0, TICKER_SIZE).map(tickerItem).join("");
}

// ---------------------------------------------------------------- map
let map = null;
const emptyFC = () => ({ type: "FeatureCollection", features: [] });

function caseFeature(c) {
  return { type: "Feature", id: c.id, geometry: { type: "Point", coordinates: [c.lng, c.lat] },
    properties: { id: c.id, grade: c.grade, status: c.status, category: c.category, overdue: !!c.overdue } };
}
function pushCases() {
  const src = map && map.getSource("cases");
  if (src) src.setData({ type: "FeatureCollection", features: [...state.cases.values()] });
}
function pushPulses() {
  const src = map && map.getSource("pulse");
  if (!src) return;
  const now = performance.now();
  state.pulses = state.pulses.filter((p) => now - p.born < 9000);
  src.setData({ type: "FeatureCollection", features: state.pulses.map((p) => {
    const t = ((now - p.born) % 1500) / 1500;
    return { type: "Feature", geometry: { type: "Point", coordinates: [p.lng, p.lat] },
      properties: { grade: p.grade, r: 6 + t * 28, o: 0.85 * (1 - t) } };
  }) });
  if (state.pulses.length) requestAnimationFrame(pushPulses);
}
function pulse(c) {
  if (c.lng === null || c.lng === undefined) return;
  const idle = state.pulses.length === 0;
  state.pulses.push({ lng: c.lng, lat: c.lat, grade: c.grade, born: performance.now() });
  if (idle) requestAnimationFrame(pushPulses);
}

function applyGridStates() {
  if (!map) return;
  for (const [id, g] of state.grids) {
    map.setFeatureState({ source: "town", sourceLayer: "grids", id }, { level: g.level, overdue: g.overdue });
  }
}

function buildMap(bbox) {
  const k = rem() / 16; // marker and line sizes follow the stage (× 2 on a 3840-wide wall)
  const [lng, lat] = (stage.dataset.center || "120.09,30.33").split(",").map(Number);
  const basemap = stage.dataset.basemap;
  const style = {
    version: 8,
    sources: {
      town: { type: "vector", tiles: [`${location.origin}/api/tiles/{z}/{x}/{y}.pbf`], minzoom: 8, maxzoom: 16 },
      cases: { type: "geojson", data: emptyFC() },
      pulse: { type: "geojson", data: emptyFC() },
      heat: { type: "geojson", data: emptyFC() },
      forces: { type: "geojson", data: emptyFC() },
    },
    layers: [{ id: "bg", type: "background", paint: { "background-color": "#06101f" } }],
  };
  if (basemap) {
    style.sources.basemap = { type: "raster", tiles: [basemap], tileSize: 256 };
    style.layers.push({ id: "basemap", type: "raster", source: "basemap", paint: { "raster-opacity": 0.45, "raster-saturation": -0.6 } });
  }
  const levelColour = ["match", ["coalesce", ["feature-state", "level"], "green"],
    "red", LEVEL_COLOURS.red, "orange", LEVEL_COLOURS.orange, "yellow", LEVEL_COLOURS.yellow, "blue", LEVEL_COLOURS.blue, LEVEL_COLOURS.green];
  style.layers.push(
    { id: "town-fill", type: "fill", source: "town", "source-layer": "town", paint: { "fill-color": "#0a1c38", "fill-opacity": 0.9 } },
    { id: "communities-fill", type: "fill", source: "town", "source-layer": "communities", paint: { "fill-color": "#0f2a52", "fill-opacity": 0.35 } },
    { id: "grids-fill", type: "fill", source: "town", "source-layer": "grids",
      paint: { "fill-color": levelColour, "fill-opacity": ["case", ["boolean", ["feature-state", "hover"], false], 0.7,
        ["match", ["coalesce", ["feature-state", "level"], "green"], "red", 0.5, "orange", 0.45, "yellow", 0.38, "blue", 0.3, 0.16]] } },
    { id: "grids-line", type: "line", source: "town", "source-layer": "grids", paint: { "line-color": "#2f7fd1", "line-width": 0.8 * k, "line-opacity": 0.7 } },
    { id: "communities-line", type: "line", source: "town", "source-layer": "communities", paint: { "line-color": "#5cc8ff", "line-width": 1.4 * k, "line-dasharray": [3, 2], "line-opacity": 0.6 } },
    { id: "addresses", type: "circle", source: "town", "source-layer": "addresses", minzoom: 14, paint: { "circle-radius": 1.6 * k, "circle-color": "#3b6ea8", "circle-opacity": 0.8 } },
    { id: "town-glow", type: "line", source: "town", "source-layer": "town", paint: { "line-color": "#2bb3ff", "line-width": 9 * k, "line-opacity": 0.15, "line-blur": 4 } },
    { id: "town-line", type: "line", source: "town", "source-layer": "town", paint: { "line-color": "#7fd3ff", "line-width": 2.2 * k } },
    { id: "heat", type: "heatmap", source: "heat", layout: { visibility: "none" },
      paint: { "heatmap-weight": ["get", "w"], "heatmap-radius": 28 * k, "heatmap-intensity": 1.1, "heatmap-opacity": 0.75,
        "heatmap-color": ["interpolate", ["linear"], ["heatmap-density"], 0, "rgba(0,0,0,0)", 0.2, "#1f4fff", 0.45, "#2bb3ff", 0.65, "#3ddc97", 0.85, "#ffb020", 1, "#ff3b3b"] } },
    { id: "forces", type: "circle", source: "forces",
      paint: { "circle-radius": 4 * k, "circle-color": ["case", ["get", "on_duty"], "#b58cff", "#5a4a80"], "circle-stroke-color": "#eadcff", "circle-stroke-width": k } },
    { id: "pulse", type: "circle", source: "pulse",
      paint: { "circle-radius": ["*", ["get", "r"], k], "circle-opacity": 0, "circle-stroke-width": 2.5 * k,
        "circle-stroke-color": ["match", ["get", "grade"], 1, GRADE_COLOURS[1], 2, GRADE_COLOURS[2], GRADE_COLOURS[3]], "circle-stroke-opacity": ["get", "o"] } },
    { id: "cases", type: "circle", source: "cases",
      paint: { "circle-radius": ["match", ["get", "grade"], 1, 7 * k, 2, 6 * k, 5 * k],
        "circle-color": ["match", ["get", "grade"], 1, GRADE_COLOURS[1], 2, GRADE_COLOURS[2], GRADE_COLOURS[3]],
        "circle-stroke-color": ["case", ["get", "overdue"], "#ff3b3b", "#e8f6ff"], "circle-stroke-width": ["case", ["get", "overdue"], 2.5 * k, k] } },
  );
  map = new maplibregl.Map({
    container: "map", style, center: [lng, lat], zoom: 13, attributionControl: false,
    dragRotate: false, pitchWithRotate: false, maxZoom: 18,
  });
  if (bbox) map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 40, duration: 0 });
  let hovered = null;
  map.on("mousemove", "grids-fill", (e) => {
    const f = e.features && e.features[0];
    if (!f) return;
    if (hovered !== null && hovered !== f.id) map.setFeatureState({ source: "town", sourceLayer: "grids", id: hovered }, { hover: false });
    hovered = f.id;
    map.setFeatureState({ source: "town", sourceLayer: "grids", id: hovered }, { hover: true });
    map.getCanvas().style.cursor = "pointer";
  });
  map.on("mouseleave", "grids-fill", () => {
    if (hovered !== null) map.setFeatureState({ source: "town", sourceLayer: "grids", id: hovered }, { hover: false });
    hovered = null;
    map.getCanvas().style.cursor = "";
  });
  map.on("click", (e) => {
    const pad = 6;
    const box = [[e.point.x - pad, e.point.y - pad], [e.point.x + pad, e.point.y + pad]];
    const hit = map.queryRenderedFeatures(box, { layers: ["cases"] });
    if (hit.length) return openCase(hit[0].properties.id);
    const grid = map.queryRenderedFeatures(e.point, { layers: ["grids-fill"] });
    if (grid.length) return openGrid(grid[0].id);
  });
  return new Promise((resolve) => map.on("load", resolve));
}

function setLayer(name, on) {
  const ids = { grids: ["grids-fill", "grids-line"], cases: ["cases", "pulse"], forces: ["forces"], heat: ["heat"] }[name] || [];
  for (const id of ids) if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
}

// ---------------------------------------------------------------- drill-down
function showDrill(html) {
  $("#drill-body").innerHTML = html;
  $("#drill").hidden = false;
}
async function openGrid(id) {
  state.drill = { kind: "grid", id };
  const g = await getJSON(`/api/screen/grids/${id}`);
  showDrill(`<h3 data-grid="${g.id}">网格 ${esc(g.name)} <span class="level ${esc(g.level)}">${LEVEL_LABELS[g.level] || ""}</span></h3>
    <div class="meta">${esc(g.community)} · ${esc(g.code)}${g.leader ? " · 网格长 " + esc(g.leader) : ""}</div>
    <div class="stats"><div><b>${g.today}</b>今日<span class="en">today</span></div><div><b>${g.week}</b>近7日<span class="en">7 days</span></div><div><b>${g.open}</b>在办<span class="en">open</span></div><div class="late"><b>${g.overdue}</b>超期<span class="en">overdue</span></div></div>
    <h4>在岗人员（${g.staff.filter((s) => s.on_duty).length}/${g.staff.length}）<span class="en">on duty</span></h4>
    <ul>${g.staff.map((s) => `<li><span class="duty${s.on_duty ? " on" : ""}" role="img" aria-label="${s.on_duty ? "在岗" : "不在岗"}"></span>${esc(s.name)} <small>${esc(s.role)}</small></li>`).join("") || "<li>—</li>"}</ul>
    <h4>在办事件<span class="en">open cases</span></h4>
    <ol>${g.cases.map((c) => `<li class="${c.overdue ? "late" : ""}" data-case="${c.id}"><span class="tag g${c.grade}">${GRADE_LABELS[c.grade]}</span> ${esc(c.category)} · ${esc(c.status)} <small>${esc(c.number)}</small></li>`).join("") || "<li>—</li>"}</ol>`);
}
async function openCase(id) {
  state.drill = { kind: "case", id };
  const c = await getJSON(`/api/screen/cases/${id}`);
  showDrill(`<h3 data-case-card="${c.id}">${esc(c.category)} <span class="tag g${c.grade}">${esc(c.grade_label)}</span></h3>
    <div class="meta">${esc(c.number)} · ${esc(c.source)} · ${esc(c.status_label)}</div>
    <div class="meta">${esc(c.grid)} ${esc(c.address)}${c.handler ? " · 处置人 " + esc(c.handler) : ""}</div>
    <p>${esc(c.description)}</p>
    <h4>处置时间轴<span class="en">timeline</span></h4>
    <ol class="timeline">${c.timeline.map((e) => `<li><span class="t">${esc(new Date(e.at).toLocaleString("zh-CN", { hour12: false, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }))}</span><span>${esc(e.action_label)} · ${esc(e.actor)}${e.note ? " · " + esc(e.note) : ""}</span></li>`).join("")}</ol>`);
}

// ---------------------------------------------------------------- loading and live
async function loadSummary() { renderSummary(await getJSON("/api/screen/summary")); }
async function loadIndices() { renderIndices(await getJSON("/api/screen/indices")); }
async function loadGrids() {
  const data = await getJSON("/api/screen/grids");
  state.grids = new Map(data.grids.map((g) => [g.id, g]));
  applyGridStates();
  return data;
}
async function loadHeat() { const d = await getJSON("/api/screen/heat"); map.getSource("heat").setData(d); }
async function loadForces() { const d = await getJSON("/api/screen/forces"); map.getSource("forces").setData(d); }
async function loadCases() {
  const d = await getJSON("/api/screen/cases");
  state.cases = new Map(d.features.map((f) => [f.properties.id, f]));
  pushCases();
}

const refreshSummary = debounce(() => loadSummary().catch(console.warn), 1200);
const refreshGrids = debounce(() => loadGrids().catch(console.warn), 4000);

function onLive(msg) {
  if (msg.type !== "case.updated" || !msg.case) return;
  const c = msg.case;
  const gridName = c.grid_id && state.grids.get(c.grid_id) ? state.grids.get(c.grid_id).name : "";
  const item = { id: c.id, number: c.number, category: c.category, grade: c.grade, status: c.status,
    status_label: c.status_label, source_label: c.source_label, reported_at: c.reported_at,
    grid: gridName, address: c.address, lng: c.lng, lat: c.lat };
  const at = state.ticker.findIndex((t) => t.id === c.id);
  if (at >= 0) state.ticker[at] = { ...state.ticker[at], ...item, fresh: false };
  else if (msg.entry && msg.entry.action === "report") {
    state.ticker.unshift({ ...item, fresh: true });
    state.ticker.length = Math.min(state.ticker.length, TICKER_SIZE);
  }
  renderTicker();
  state.ticker.forEach((t) => { t.fresh = false; });
  if (c.lng !== null && c.lng !== undefined) {
    if (FINAL.has(c.status)) state.cases.delete(c.id);
    else state.cases.set(c.id, caseFeature({ ...item, overdue: false }));
    pushCases();
    if (msg.entry && msg.entry.action === "report") pulse(item);
  }
  if (state.drill && state.drill.kind === "case" && state.drill.id === c.id) openCase(c.id).catch(console.warn);
  refreshSummary();
  refreshGrids();
}

async function main() {
  tickClock();
  setInterval(tickClock, 1000);
  const badge = statusBadge($("#live-badge"));
  const [grids, ticker] = await Promise.all([getJSON("/api/screen/grids"), getJSON("/api/screen/ticker")]);
  state.grids = new Map(grids.grids.map((g) => [g.id, g]));
  state.ticker = ticker.items;
  renderTicker();
  await buildMap(grids.bbox);
  applyGridStates();
  await Promise.all([loadSummary(), loadCases(), loadForces(), loadHeat(), loadIndices()]);
  connectLive({ path: "/ws/live/", after: ticker.last_seq, onMessage: onLive, onStatus: badge });
  document.querySelectorAll("#layers input").forEach((input) => {
    input.addEventListener("change", () => setLayer(input.dataset.layer, input.checked));
  });
  $("#drill-close").addEventListener("click", () => { $("#drill").hidden = true; state.drill = null; });
  $("#ticker").addEventListener("click", (e) => { const li = e.target.closest("[data-case]"); if (li) openCase(Number(li.dataset.case)); });
  $("#drill-body").addEventListener("click", (e) => { const li = e.target.closest("[data-case]"); if (li) openCase(Number(li.dataset.case)); });
  setInterval(() => loadSummary().catch(console.warn), 30000); // overdue counts move with the clock
  setInterval(() => loadForces().catch(console.warn), 30000);
  setInterval(() => loadCases().catch(console.warn), 60000); // overdue rings move with the clock
  setInterval(() => loadHeat().catch(console.warn), 300000);
  setInterval(() => loadIndices().catch(console.warn), 300000);
  window.addEventListener("resize", debounce(() => {
    Object.values(state.charts).forEach((c) => c.resize());
    loadSummary().catch(console.warn);
    loadIndices().catch(console.warn);
  }, 300));
  state.ready = true;
}

window.__screen = {
  state,
  get map() { return map; },
  caseIds: () => [...state.cases.keys()],
  renderedCaseIds: () => (map ? map.queryRenderedFeatures({ layers: ["cases"] }).map((f) => f.properties.id) : []),
};
main().catch((e) => { console.error(e); });
