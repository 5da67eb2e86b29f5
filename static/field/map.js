// A small map without tiles (works offline): the grid outline, the case and me, to scale,
// with the distance between us. Good enough to say "it is 300 m north-east of you".

export function distanceM(a, b) {
  if (!a || !b || a.lat == null || b.lat == null) return null;
  const r = Math.PI / 180;
  const h = Math.sin(((b.lat - a.lat) * r) / 2) ** 2 + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(((b.lng - a.lng) * r) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

export function bearingLabel(from, to, lang = "zh") {
  if (!from || !to) return "";
  const dx = (to.lng - from.lng) * Math.cos((from.lat * Math.PI) / 180);
  const dy = to.lat - from.lat;
  const deg = (Math.atan2(dx, dy) * 180) / Math.PI;
  const names = lang === "en"
    ? ["north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"]
    : ["北", "东北", "东", "东南", "南", "西南", "西", "西北"];
  return names[Math.round(((deg + 360) % 360) / 45) % 8];
}

export function formatDistance(m, lang = "zh") {
  if (m == null) return "";
  if (lang === "en") return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(1)} km`;
  return m < 1000 ? `${Math.round(m)} 米` : `${(m / 1000).toFixed(1)} 公里`;
}

function rings(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return geometry.coordinates;
  if (geometry.type === "MultiPolygon") return geometry.coordinates.flat();
  return [];
}

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

export function miniMap({ target, me, grid, width = 320, height = 180 }) {
  // Frame the case and me (the grid outline is drawn around, clipped); the grid alone when
  // neither is known. At least ~400 m across, so a 30 m walk is still visible.
  const pts = [];
  if (target && target.lng != null) pts.push([target.lng, target.lat]);
  if (me) pts.push([me.lng, me.lat]);
  const outline = rings(grid);
  if (!pts.length) outline.forEach((ring) => ring.forEach((p) => pts.push(p)));
  if (!pts.length) return `<div class="map map-empty">无位置信息 · no location</div>`;
  const lat0 = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  const kx = Math.cos((lat0 * Math.PI) / 180);
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const [x, y] of pts) { minX = Math.min(minX, x * kx); maxX = Math.max(maxX, x * kx); minY = Math.min(minY, y); maxY = Math.max(maxY, y); }
  const pad = 24;
  const spanX = Math.max(maxX - minX, 0.004), spanY = Math.max(maxY - minY, 0.0036);
  const s = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
  const cx = (minX + maxX) / 2, cy = (minY + maxY) / 2;
  const P = (lng, lat) => [width / 2 + (lng * kx - cx) * s, height / 2 - (lat - cy) * s];
  const parts = [];
  for (const ring of outline) {
    const d = ring.map(([x, y], i) => { const [px, py] = P(x, y); return `${i ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`; }).join("") + "Z";
    parts.push(`<path d="${d}" class="map-grid"/>`);
  }
  if (target && me) {
    const [x1, y1] = P(me.lng, me.lat), [x2, y2] = P(target.lng, target.lat);
    parts.push(`<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" class="map-line"/>`);
  }
  if (target && target.lng != null) {
    const [x, y] = P(target.lng, target.lat);
    parts.push(`<g class="map-case" transform="translate(${x.toFixed(1)},${y.toFixed(1)})"><path d="M0,0 C-9,-12 -9,-22 0,-24 C9,-22 9,-12 0,0Z"/><circle cy="-16" r="3.5" fill="#fff"/></g>`);
  }
  if (me) {
    const [x, y] = P(me.lng, me.lat);
    const acc = Math.min((me.accuracy || 0) * (s / 111320), 60);
    if (acc > 4) parts.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${acc.toFixed(1)}" class="map-acc"/>`);
    parts.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="7" class="map-me"/>`);
  }
  // scale bar: a round number of metres about a quarter of the width
  const mPerPx = 111320 / s;
  const nice = [50, 100, 200, 500, 1000, 2000, 5000].find((m) => m / mPerPx > width / 6) || 5000;
  const barPx = nice / mPerPx;
  parts.push(`<g class="map-scale" transform="translate(10,${height - 12})"><line x1="0" y1="0" x2="${barPx.toFixed(1)}" y2="0"/><text x="${(barPx + 6).toFixed(1)}" y="4">${esc(formatDistance(nice))}</text></g>`);
  parts.push(`<text x="${width - 14}" y="20" class="map-north">北↑</text>`);
  return `<svg class="map" viewBox="0 0 ${width} ${height}" role="img" aria-label="事发位置示意图 · map of the case and you">${parts.join("")}</svg>`;
}
