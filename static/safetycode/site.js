// A site's page: the audited reveal of the owner's contact, and deciding appeals.
import { postJSON } from "./csrf.js";

const reveal = document.getElementById("reveal");
reveal?.addEventListener("click", async () => {
  const { ok, data } = await postJSON(reveal.dataset.url);
  if (ok) {
    document.getElementById("owner").textContent = data.owner || "—";
    document.getElementById("phone").textContent = data.phone || "—";
    reveal.hidden = true;
  } else alert(data.message);
});

document.querySelectorAll("form.decide").forEach((form) => {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = new FormData(form);
    const { ok, data } = await postJSON(form.dataset.url, {
      upheld: f.get("upheld") === "true",
      new_code: f.get("new_code"),
      note: f.get("note"),
    });
    if (ok) location.reload();
    else form.querySelector(".err").textContent = data.message + " " + Object.values(data.fields || {}).flat().join(" ");
  });
});
