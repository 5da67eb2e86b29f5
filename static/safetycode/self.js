// The owner's self-check (/s/<token>): every item answered, optional photos, one POST; then the
// new code and the factors behind it. No login; the token in the URL is the key.
const $ = (id) => document.getElementById(id);
const t = JSON.parse($("self-i18n").textContent);
const form = $("self-form");

function showErrors(root, fields) {
  root.querySelectorAll(".r-err[data-field]").forEach((p) => (p.textContent = ""));
  for (const [name, messages] of Object.entries(fields || {})) {
    const p = root.querySelector(`.r-err[data-field="${CSS.escape(name)}"]`);
    if (p) p.textContent = messages.join(" ");
  }
}

function renderFactors(list, ul) {
  ul.replaceChildren(
    ...list.map((f) => {
      const li = document.createElement("li");
      li.textContent = f.label + (f.n > 1 ? ` × ${f.n}` : "") + (f.points ? `（−${f.points}）` : "");
      return li;
    }),
  );
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const answers = {};
  let missing = false;
  form.querySelectorAll("fieldset.sc-item").forEach((fs) => {
    const checked = fs.querySelector("input:checked");
    if (checked) answers[fs.dataset.code] = checked.value;
    else missing = true;
  });
  $("form-error").textContent = "";
  if (missing) {
    $("form-error").textContent = t.missing;
    return;
  }
  const body = new FormData();
  body.append("answers", JSON.stringify(answers));
  body.append("note", $("note").value);
  for (const file of $("photos").files) body.append("photos", file);
  $("submit").disabled = true;
  $("submit").textContent = t.sending;
  try {
    // The owner's page sends no cookie (the token is the key); a staff inspection (data-staff)
    // is the logged-in user's, with the page's CSRF token.
    const staff = form.dataset.staff === "1";
    if (staff && navigator.geolocation) {
      const pos = await new Promise((ok) =>
        navigator.geolocation.getCurrentPosition(ok, () => ok(null), { timeout: 5000 }),
      );
      if (pos) {
        body.append("lng", pos.coords.longitude);
        body.append("lat", pos.coords.latitude);
      }
    }
    const csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
    const response = await fetch(form.dataset.api, {
      method: "POST",
      body,
      credentials: staff ? "same-origin" : "omit",
      headers: staff && csrf ? { "X-CSRFToken": csrf.value } : {},
    });
    const data = await response.json();
    if (!response.ok) {
      showErrors(form, data.fields);
      $("form-error").textContent = data.message || t.network;
      return;
    }
    form.hidden = true;
    $("done").hidden = false;
    const n = data.hazards_opened.length;
    $("done-summary").textContent = n ? t.found.replace("%(n)s", n) : t.none;
    $("done-code").textContent = data.site.code_label;
    $("done-code").className = `sc-code ${data.site.code}`;
    renderFactors(data.site.factors, $("done-factors"));
  } catch (e) {
    $("form-error").textContent = t.network;
  } finally {
    $("submit").disabled = false;
  }
});

const appeal = $("appeal-form");
appeal?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch(appeal.dataset.api, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ reason: $("reason").value }),
    credentials: "omit",
  });
  const data = await response.json();
  showErrors(appeal, data.fields);
  $("appeal-done").textContent = response.ok ? t.appealed : data.message;
});
