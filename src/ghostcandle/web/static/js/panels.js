// Training and backtest panels: controls that call the engine endpoints, updated by push.
import { get, post } from "./api.js";
import { fmtDrawdown, fmtMoney, fmtPct, fmtPrice, fmtTime } from "./format.js";
import { $, el, showError, showOk } from "./ui.js";

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
    const learning = res.models.filter((m) => m.learns);
    $("#train-model").replaceChildren(...learning.map((m) => el("option", { value: m.name }, m.name)));
    // live runs a learning model; the server's default (what a start naming none runs) is preselected
    const live = learning.map((m) =>
      el("option", { value: m.name }, m.name === res.default_live ? `${m.name} (default)` : m.name),
    );
    $("#live-model").replaceChildren(...live);
    $("#live-model").value = res.default_live;
    // a backtest can run any model, baselines included
    $("#bt-model").replaceChildren(
      ...res.models.map((m) => el("option", { value: m.name }, m.learns ? m.name : `${m.name} (baseline)`)),
    );
  } catch (e) {
    showError(e);
  }
}

// A job's states carry an increasing seq: a late HTTP answer must not undo a newer pushed state.
function staleEvent(panel, ev) {
  if (ev.seq == null) return false;
  if (panel.seq != null && ev.seq < panel.seq) return true;
  panel.seq = ev.seq;
  return false;
}

export class TrainingPanel {
  constructor(annotator) {
    this.annotator = annotator;
    $("#train-start").addEventListener("click", () => this.start());
  }

  showCases() {
    const n = this.annotator.items.length;
    $("#train-cases").textContent = n
      ? `${n} annotated trade${n === 1 ? "" : "s"} of this symbol; training uses all stored test cases unless one is selected.`
      : "No annotated trades of this symbol yet.";
  }

  async start() {
    if ($("#train-selected").checked && !this.annotator.selectedId)
      return showError("“Only the selected trade” is ticked but no trade is selected: select one in the Annotations list, or untick it");
    const ids = $("#train-selected").checked ? [this.annotator.selectedId] : null;
    // sent as typed: the server names the field and the problem if it is not usable
    const raw = $("#train-epochs").value;
    const epochs = raw === "" || Number.isNaN(Number(raw)) ? raw : Number(raw);
    try {
      $("#train-epochs-table tbody").replaceChildren();
      const res = await post("/api/train-model", { model: $("#train-model").value, epochs, annotation_ids: ids });
      this.onEvent(res);
    } catch (e) {
      showError(e);
    }
  }

  onEvent(ev) {
    if (staleEvent(this, ev)) return;
    const line = $("#train-status");
    line.className = `status-line ${ev.status || ""}`;
    line.textContent = ev.status === "failed" ? `failed: ${ev.reason}` : ev.message || ev.status;
    $("#train-start").disabled = ev.status === "running";
    if (ev.event === "epoch") {
      line.textContent = `running: epoch ${ev.epoch}/${ev.epochs} · loss ${ev.loss.toFixed(4)}`;
      $("#train-epochs-table tbody").prepend(
        el(
          "tr",
          {},
          el("td", {}, `${ev.epoch}/${ev.epochs}`),
          el("td", {}, ev.loss.toFixed(4)),
          el("td", {}, `${(ev.accuracy * 100).toFixed(0)}%`),
          el(
            "td",
            { title: ev.held_out ? `${ev.held_out} newest annotation(s), never trained on` : "held out from 5 annotations on" },
            ev.held_out_accuracy == null ? "—" : `${(ev.held_out_accuracy * 100).toFixed(0)}% of ${ev.held_out}`,
          ),
          el("td", {}, `${ev.duration_s.toFixed(2)}s`),
        ),
      );
    }
    if (ev.status === "completed") showOk(ev.message);
  }
}

export class BacktestPanel {
  constructor(chart) {
    this.chart = chart;
    $("#bt-run").addEventListener("click", () => this.run());
  }

  showRange() {
    const r = this.chart.visibleRange();
    $("#bt-range").textContent = r ? `Visible range: ${fmtTime(r.start)} → ${fmtTime(r.end)} UTC (${this.chart.timeframe})` : "";
  }

  async run() {
    const r = this.chart.visibleRange();
    if (!r) return showError(new Error("no candles are visible: load a symbol first"));
    this.showRange();
    this.clear();
    $("#bt-status").textContent = "starting…";
    $("#bt-status").className = "status-line running";
    try {
      const res = await post("/api/backtest", {
        model: $("#bt-model").value,
        symbol: this.chart.symbol,
        timeframe: this.chart.timeframe,
        start: Math.floor(r.start),
        end: Math.ceil(r.end),
        start_from: $("#bt-from-ckpt").checked ? "annotations" : "fresh",
      });
      this.onEvent(res);
    } catch (e) {
      $("#bt-status").textContent = "";
      showError(e);
    }
  }

  clear() {
    $("#bt-figures").replaceChildren();
    $("#bt-equity").setAttribute("hidden", ""); // an SVG element has no .hidden property
    $("#bt-trades").hidden = true;
    this.chart.setMarkerLayer("trades", []);
  }

  onEvent(ev) {
    if (staleEvent(this, ev)) return;
    const bar = $("#bt-progress");
    const line = $("#bt-status");
    line.className = `status-line ${ev.status}`;
    $("#bt-run").disabled = ev.status === "running";
    if (ev.status === "running") {
      bar.hidden = false;
      bar.firstElementChild.style.width = `${Math.round((ev.progress || 0) * 100)}%`;
      line.textContent = `running… ${Math.round((ev.progress || 0) * 100)}%`;
      return;
    }
    bar.hidden = true;
    if (ev.status === "failed") {
      line.textContent = `failed: ${ev.reason}`;
      return;
    }
    if (ev.status !== "completed") return;
    const r = ev.result;
    const from = r.checkpoint ? ` from ${r.checkpoint.key} (step ${r.checkpoint.step})` : "";
    line.textContent = `completed: ${r.model}${from} on ${r.candles} candles`;
    const figs = [
      ["P&L", `<span class="${r.pnl_pct >= 0 ? "up" : "down"}">${fmtPct(r.pnl_pct)}</span> (${fmtMoney(r.pnl)})`],
      ["Trades", String(r.trades.length)],
      ["Win rate", r.win_rate == null ? "—" : `${(r.win_rate * 100).toFixed(0)}%`],
      ["Buy & hold", fmtPct(r.buy_and_hold_pct)],
      ["Max drawdown", fmtDrawdown(r.max_drawdown_pct)],
      ["Fees", fmtMoney(r.fees)],
    ];
    $("#bt-figures").replaceChildren(
      ...figs.flatMap(([k, v]) => {
        const dd = el("dd", {});
        dd.innerHTML = v;
        return [el("dt", {}, k), dd];
      }),
    );
    this.drawEquity(r.equity);
    const body = $("#bt-trades tbody");
    body.replaceChildren(
      ...r.trades.map((t) =>
        el(
          "tr",
          {},
          el("td", {}, fmtTime(t.entry_time).slice(5)),
          el("td", { class: t.side === "LONG" ? "up" : "down" }, t.side),
          el("td", {}, fmtTime(t.exit_time).slice(11)),
          el("td", { class: t.pnl_pct >= 0 ? "up" : "down" }, fmtPct(t.pnl_pct)),
        ),
      ),
    );
    $("#bt-trades").hidden = !r.trades.length;
    const d = this.chart.durationMs();
    this.chart.setMarkerLayer(
      "trades",
      r.trades.flatMap((t) => [
        {
          time: t.entry_time - (t.entry_time % d),
          position: t.side === "LONG" ? "belowBar" : "aboveBar",
          shape: t.side === "LONG" ? "arrowUp" : "arrowDown",
          color: "#4c8dff",
          text: "", // bare markers: the trade table lists each trade, labels would pile up
        },
        {
          time: t.exit_time - (t.exit_time % d),
          position: t.side === "LONG" ? "aboveBar" : "belowBar",
          shape: "square",
          color: t.pnl_pct >= 0 ? "#26a69a" : "#ef5350",
          text: "",
        },
      ]),
    );
  }

  drawEquity(points) {
    const svg = $("#bt-equity");
    if (!points || points.length < 2) {
      svg.setAttribute("hidden", "");
      return;
    }
    const vals = points.map((p) => p.value);
    const lo = Math.min(...vals);
    const hi = Math.max(...vals);
    const span = hi - lo || 1;
    const t0 = points[0].time;
    const t1 = points[points.length - 1].time;
    const xy = points.map((p) => `${((p.time - t0) / (t1 - t0 || 1)) * 340},${86 - ((p.value - lo) / span) * 82}`);
    const up = vals[vals.length - 1] >= vals[0];
    svg.innerHTML =
      `<polyline fill="none" stroke="${up ? "#26a69a" : "#ef5350"}" stroke-width="1.5" points="${xy.join(" ")}"/>` +
      `<text x="4" y="12" fill="#7d8799" font-size="10">equity ${fmtPrice(vals[vals.length - 1])}</text>`;
    svg.removeAttribute("hidden");
  }
}
