// What the live session's predictions are worth: skill against the strongest baseline and the
// net P&L of following its actions, each with its sample size (GET /api/evaluation). A raw
// "accuracy" is not shown: in `none` mode it is mostly HOLD matching HOLD.
import { get } from "./api.js";
import { fmtPct } from "./format.js";
import { $, el } from "./ui.js";

const EVERY_MS = 10_000; // the evaluation follows every resolved prediction through the broker

function box() {
  let dl = $("#live-quality");
  if (!dl) {
    dl = el("dl", { id: "live-quality", class: "figures metrics" });
    $("#live-metrics").before(dl);
  }
  return dl;
}

// Return the rows of one timeframe's figures (skill: model MAE / baseline MAE, < 1 beats it).
export function qualityRows(tf, f, symbol) {
  const rows = [];
  const vs = f.skill && f.skill.close && f.skill.close.vs_strongest;
  if (vs && vs.skill != null) {
    const better = vs.skill < 1 ? "beats it" : "does not beat it";
    rows.push([`Skill ${tf} vs ${vs.baseline}`, `${vs.skill.toFixed(2)} (close MAE ratio, ${better}) · n=${vs.n}`]);
  } else {
    rows.push([`Skill ${tf}`, `— (no baseline scored yet) · n=${f.n}`]);
  }
  const t = f.trading && (f.trading[symbol] || Object.values(f.trading)[0]);
  if (t) {
    const m = t.model;
    rows.push([
      `Net P&L ${tf}`,
      `${fmtPct(m.return_pct)} after $${m.fees.toFixed(2)} fees · ${m.trades} trades · n=${t.n} (buy & hold ${fmtPct(t.buy_and_hold.return_pct)})`,
    ]);
  }
  return rows;
}

export class LiveQuality {
  constructor() {
    this.at = 0;
    this.session = null;
  }

  // Refresh at most every EVERY_MS while a session has resolved predictions.
  async onStatus(st) {
    if (!st.session_id || !st.metrics || !st.metrics.resolved) {
      if (!st.session_id) box().replaceChildren();
      return;
    }
    const now = Date.now();
    if (this.busy || (st.session_id === this.session && now - this.at < EVERY_MS)) return;
    this.busy = true;
    this.at = now;
    this.session = st.session_id;
    try {
      const ev = await get(`/api/evaluation?session=${encodeURIComponent(st.session_id)}`);
      this.render(ev, st);
    } catch {
      // none resolved yet: the figures stay as they were
    } finally {
      this.busy = false;
    }
  }

  render(ev, st) {
    const figs = (ev.evaluation || {})[st.model] || {};
    const rows = Object.entries(figs).flatMap(([tf, f]) => qualityRows(tf, f, st.symbol));
    box().replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  }
}

// A stopped session resolves nothing more: its pending predictions say so instead of "…".
export function settleStopped(getStatus) {
  const body = $("#live-table tbody");
  const settle = () => {
    const st = getStatus();
    if (!st || st.running) return;
    for (const tr of body.querySelectorAll("tr.pending")) {
      tr.className = "stopped";
      tr.title = "the session stopped before this candle closed: never resolved";
      tr.children[3].textContent = "—";
      tr.children[4].textContent = "not resolved: stopped";
    }
  };
  new MutationObserver(settle).observe(body, { childList: true });
  return settle;
}
