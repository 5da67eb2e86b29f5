// Bulk import: upload, then poll the job for progress; the bar moves as rows are checked, and
// the per-row errors are listed if any (nothing is imported then).
import { csrf } from "./csrf.js";

const $ = (id) => document.getElementById(id);
const form = $("import-form");

function render(job) {
  $("progress").hidden = false;
  $("bar").style.width = `${job.percent}%`;
  $("bar").setAttribute("aria-valuenow", job.percent);
  $("status").textContent = `${job.status_label} · ${job.processed}/${job.total}` + (job.status === "done" ? ` · +${job.created}` : "");
  const tbody = $("errors").querySelector("tbody");
  tbody.replaceChildren();
  for (const e of job.errors) {
    for (const [field, messages] of Object.entries(e.fields)) {
      const tr = document.createElement("tr");
      for (const text of [e.row, field, messages.join(" ")]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      tbody.append(tr);
    }
  }
  $("errors").hidden = job.errors.length === 0;
}

async function poll(url) {
  const response = await fetch(url);
  const job = await response.json();
  render(job);
  if (job.status === "queued" || job.status === "running") setTimeout(() => poll(url), 500);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = new FormData(form);
  const response = await fetch("/api/safety/imports", { method: "POST", body, headers: { "X-CSRFToken": csrf() } });
  const data = await response.json();
  if (!response.ok) {
    $("status").textContent = data.message + " " + Object.values(data.fields || {}).flat().join(" ");
    return;
  }
  render(data);
  poll(`/api/safety/imports/${data.id}`);
});
