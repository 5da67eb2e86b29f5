// Staff pages: JSON requests with the session's CSRF token.
export const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: JSON.stringify(body || {}),
  });
  return { ok: response.ok, data: await response.json().catch(() => ({})) };
}
