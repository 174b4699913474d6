// Training, live and backtest panels: controls that call the engine endpoints, updated by push.
import { get, post } from "./api.js";
import { fmtPct, fmtPrice, fmtTime } from "./format.js";
import { $, el, showError } from "./ui.js";

// Show each panel's engine availability; a missing engine part disables its controls and says why.
export function applyFeatures(features) {
  for (const [name, f] of Object.entries(features)) {
    const note = document.querySelector(`[data-feature="${name}"]`);
    const body = document.querySelector(`[data-feature-body="${name}"]`);
    if (!note || !body) continue;
    note.hidden = f.available;
    note.textContent = f.available ? "" : `Not available in this build: ${f.reason}.`;
    body.classList.toggle("disabled", !f.available);
    body.querySelectorAll("button, select, input").forEach((c) => (c.disabled = !f.available));
  }
}

export async function loadModels() {
  try {
    const res = await get("/api/models");
    for (const id of ["#train-model", "#bt-model"]) {
      const sel = $(id);
      sel.replaceChildren(...res.models.map((m) => el("option", { value: m.name }, m.name)));
    }
  } catch (e) {
    showError(e);
  }
}

export class TrainingPanel {
  constructor(annotator) {
    this.annotator = annotator;
    $("#train-start").addEventListener("click", () => this.start());
  }

  async start() {
    const ids = $("#train-selected").checked && this.annotator.selectedId ? [this.annotator.selectedId] : null;
    try {
      $("#train-epochs-table tbody").replaceChildren();
      const res = await post("/api/train-model", {
        model: $("#train-model").value,
        epochs: Number($("#train-epochs").value),
        annotation_ids: ids,
      });
      this.onEvent(res);
    } catch (e) {
      showError(e);
    }
  }

  onEvent(ev) {
    const line = $("#train-status");
    line.className = `status-line ${ev.status || ""}`;
    line.textContent = ev.message || `${ev.status}${ev.reason ? `: ${ev.reason}` : ""}`;
    if (ev.epoch != null) {
      $("#train-epochs-table tbody").append(
        el(
          "tr",
          {},
          el("td", {}, `${ev.epoch}/${ev.epochs}`),
          el("td", {}, ev.loss.toFixed(4)),
          el("td", {}, ev.accuracy == null ? "—" : fmtPct(ev.accuracy * 100).replace("+", "")),
          el("td", {}, `${ev.duration_s.toFixed(2)}s`),
        ),
      );
    }
  }
}

export class LivePanel {
  constructor(chart) {
    this.chart = chart;
    $("#live-start").addEventListener("click", () => this.start());
    $("#live-stop").addEventListener("click", () => this.stop());
    document.querySelectorAll("#live-manual button").forEach((b) =>
      b.addEventListener("click", () => this.label(b.dataset.label)),
    );
  }

  async start() {
    try {
      const st = await post("/api/live-training/start", { symbol: this.chart.symbol, mode: $("#live-mode").value });
      this.onStatus(st);
    } catch (e) {
      showError(e);
    }
  }

  async stop() {
    try {
      this.onStatus(await post("/api/live-training/stop"));
    } catch (e) {
      showError(e);
    }
  }

  async label(action) {
    try {
      await post("/api/realtime-inference/train-manual", { action });
    } catch (e) {
      showError(e);
    }
  }

  onStatus(st) {
    $("#live-manual").hidden = !(st.running && st.mode === "manual");
    const sig = st.latest_signal;
    $("#live-signal").innerHTML = sig
      ? `<span class="${sig.action === "BUY" ? "up" : sig.action === "SELL" ? "down" : ""}">${sig.action}</span> ` +
        `${(sig.confidence * 100).toFixed(0)}% · ${fmtPrice(sig.price)} · ${fmtTime(sig.time)}`
      : st.running ? "waiting for the first signal…" : "";
  }

  onPrediction(p) {
    const body = $("#live-table tbody");
    body.prepend(
      el(
        "tr",
        {},
        el("td", {}, fmtTime(p.time)),
        el("td", {}, p.timeframe),
        el("td", {}, fmtPrice(p.predicted)),
        el("td", {}, p.actual == null ? "…" : fmtPrice(p.actual)),
        el("td", {}, p.error == null ? "—" : fmtPct(p.error)),
        el("td", {}, p.action),
      ),
    );
    while (body.children.length > 50) body.lastChild.remove();
  }
}

export class BacktestPanel {
  constructor(chart) {
    this.chart = chart;
    $("#bt-run").addEventListener("click", () => this.run());
  }

  showRange() {
    const r = this.chart.visibleRange();
    $("#bt-range").textContent = r ? `Visible range: ${fmtTime(r.start)} → ${fmtTime(r.end)} UTC` : "";
  }

  async run() {
    const r = this.chart.visibleRange();
    if (!r) return showError(new Error("no candles are visible: load a symbol first"));
    try {
      const res = await post("/api/backtest", {
        model: $("#bt-model").value,
        symbol: this.chart.symbol,
        timeframe: this.chart.timeframe,
        start: Math.floor(r.start),
        end: Math.ceil(r.end),
      });
      $("#bt-result").textContent = res.message || res.status;
    } catch (e) {
      showError(e);
    }
  }
}
