// A new task or a same-circle call: a short beep (WebAudio) and a vibration where the browser
// allows. Browsers let a page play sound only after the user has touched it, so the audio
// context is made on the first tap.

let ctx = null;

export function unlock() {
  const make = () => {
    if (!ctx) {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (AC) { try { ctx = new AC(); } catch (e) { ctx = null; } }
    }
    if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
  };
  window.addEventListener("pointerdown", make, { passive: true });
  window.addEventListener("keydown", make);
}

export function beep({ urgent = false } = {}) {
  const pattern = urgent ? [0, 0.18, 0.36] : [0, 0.2];
  if (ctx && ctx.state === "running") {
    const now = ctx.currentTime;
    for (const t of pattern) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = urgent ? 1320 : 880;
      gain.gain.setValueAtTime(0.0001, now + t);
      gain.gain.exponentialRampToValueAtTime(0.3, now + t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + t + 0.15);
      osc.connect(gain).connect(ctx.destination);
      osc.start(now + t);
      osc.stop(now + t + 0.16);
    }
  }
  if (navigator.vibrate) {
    try { navigator.vibrate(urgent ? [200, 100, 200, 100, 400] : [200, 80, 200]); } catch (e) { /* not allowed */ }
  }
  document.body.dataset.alerted = String(Number(document.body.dataset.alerted || 0) + 1);
}
