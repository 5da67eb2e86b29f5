// Site map and five-colour grid map with MapLibre GL: our own GeoJSON only, no basemap from the
// internet (a plain background, grid outlines for orientation).
const el = document.getElementById("map");
const maplibregl = window.maplibregl;
const CODE = { red: "#d62728", yellow: "#f2b705", green: "#2ca02c" };
const LEVEL = { red: "#d62728", orange: "#ff7f0e", yellow: "#f2d600", blue: "#1f77b4", green: "#2ca02c" };

function bounds(fc) {
  const b = new maplibregl.LngLatBounds();
  const walk = (c) => (typeof c[0] === "number" ? b.extend(c) : c.forEach(walk));
  fc.features.forEach((f) => walk(f.geometry.coordinates));
  return b;
}

async function main() {
  if (!el || !maplibregl) return;
  const map = new maplibregl.Map({
    container: el,
    style: { version: 8, sources: {}, layers: [{ id: "bg", type: "background", paint: { "background-color": "#eef1f5" } }] },
    center: [120.09, 30.33],
    zoom: 12,
    attributionControl: false,
  });
  await new Promise((resolve) => map.on("load", resolve));
  const grids = await (await fetch(el.dataset.grids)).json();
  map.addSource("grids", { type: "geojson", data: grids });
  const risk = el.dataset.mode === "risk";
  map.addLayer({
    id: "grid-fill",
    type: "fill",
    source: "grids",
    paint: {
      "fill-color": ["match", ["get", "level"], ...Object.entries(LEVEL).flat(), "#ccc"],
      "fill-opacity": risk ? 0.55 : 0.12,
    },
  });
  map.addLayer({ id: "grid-line", type: "line", source: "grids", paint: { "line-color": "#556", "line-width": 0.6 } });
  if (grids.features.length) map.fitBounds(bounds(grids), { padding: 20, animate: false });
  if (el.dataset.sites) {
    const sites = await (await fetch(el.dataset.sites)).json();
    map.addSource("sites", { type: "geojson", data: sites });
    map.addLayer({
      id: "sites",
      type: "circle",
      source: "sites",
      // Red on top and larger: 10,000 green dots must not hide the few that matter.
      layout: { "circle-sort-key": ["match", ["get", "code"], "red", 3, "yellow", 2, 1] },
      paint: {
        "circle-radius": [
          "interpolate", ["linear"], ["zoom"],
          11, ["match", ["get", "code"], "red", 3.5, "yellow", 2.5, 1.2],
          16, ["match", ["get", "code"], "red", 8, "yellow", 6, 4],
        ],
        "circle-color": ["match", ["get", "code"], ...Object.entries(CODE).flat(), "#888"],
        "circle-stroke-width": 0.5,
        "circle-stroke-color": "#fff",
      },
    });
    map.on("click", "sites", (e) => (location.href = `/safety/sites/${e.features[0].properties.id}`));
  }
  map.on("click", "grid-fill", (e) => {
    const p = e.features[0].properties;
    new maplibregl.Popup().setLngLat(e.lngLat).setText(`${p.name} · ${p.level_label} · 红${p.red} 黄${p.yellow} 事件${p.cases}`).addTo(map);
  });
  map.once("idle", () => (el.dataset.ready = "1")); // drawn, for people and for tests
}
main();
