// The backtest panel: settings (range, costs, confidence, long-only, HOLD, training, start),
// a run through POST /api/backtest, its result pushed as `backtest` events, the last two
// results kept to compare.
import { get, post } from "./api.js";
import { compareRows, downloadCsv, drawEquity, tradeRows } from "./backtest_results.js";
import { fmtDrawdown, fmtMoney, fmtPct, fmtTime } from "./format.js";
import { staleEvent } from "./job_seq.js";
import { $, el, showError } from "./ui.js";

// datetime-local speaks wall time without a zone: the panel reads and writes it as UTC.
const toInput = (ms) => new Date(ms).toISOString().slice(0, 19);
const fromInput = (v) => (v ? Date.parse(v.length === 16 ? `${v}:00Z` : `${v}Z`) : NaN);
// a number field is sent as typed: the server names the field and the problem if it is unusable
const typed = (id) => {
  const raw = $(id).value;
  return raw === "" || Number.isNaN(Number(raw)) ? raw : Number(raw);
};

export class BacktestPanel {
  constructor(chart) {
    this.chart = chart;
    this.runs = []; // the last two completed results, oldest first
    this.edited = false; // the trader typed a range: the visible one no longer replaces it
    $("#bt-run").addEventListener("click", () => this.run());
    $("#bt-visible").addEventListener("click", () => {
      this.edited = false;
      this.showRange();
    });
    for (const id of ["#bt-from", "#bt-to"]) $(id).addEventListener("input", () => (this.edited = true));
    $("#bt-csv").addEventListener("click", () => this.last() && downloadCsv(this.last()));
    // the checkbox is the quick way to the annotation-trained checkpoint; the picker says all
    $("#bt-from-ckpt").addEventListener("change", (e) => ($("#bt-start").value = e.target.checked ? "annotations" : "fresh"));
    $("#bt-start").addEventListener("change", () => this.onStartPicked());
    this.loadCheckpoints();
  }

  last() {
    return this.runs[this.runs.length - 1];
  }

  // Offer the checkpoints saved by `ghostcandle train --name` beside fresh and annotation-trained.
  async loadCheckpoints() {
    try {
      const { checkpoints } = await get("/api/checkpoints");
      if (!checkpoints.length) return;
      const group = el("optgroup", { label: "Saved checkpoints" });
      group.append(
        ...checkpoints.map((c) => el("option", { value: c.name, "data-model": c.model }, `${c.name} (${c.model}, ${c.timeframes.join("/")})`)),
      );
      $("#bt-start").append(group);
    } catch (e) {
      showError(e);
    }
  }

  onStartPicked() {
    const opt = $("#bt-start").selectedOptions[0];
    $("#bt-from-ckpt").checked = opt.value === "annotations";
    // a saved checkpoint holds its own family
    if (opt.dataset.model) $("#bt-model").value = opt.dataset.model;
  }

  // Fill From/To with the chart's visible range unless the trader typed their own.
  showRange() {
    const r = this.chart.visibleRange();
    $("#bt-range").textContent = r ? `Visible range: ${fmtTime(r.start)} → ${fmtTime(r.end)} UTC (${this.chart.timeframe})` : "";
    if (!r || this.edited) return;
    this.visible = { start: Math.floor(r.start), end: Math.ceil(r.end) };
    $("#bt-from").value = toInput(this.visible.start);
    $("#bt-to").value = toInput(this.visible.end);
  }

  // The range to send: the visible one to the millisecond, or the typed one.
  range() {
    if (!this.edited) return this.visible;
    const start = fromInput($("#bt-from").value);
    const end = fromInput($("#bt-to").value);
    if (Number.isNaN(start) || Number.isNaN(end)) throw new Error("give both From and To (UTC), or press “Use visible range”");
    return { start, end };
  }

  async run() {
    this.showRange();
    let r;
    try {
      r = this.range();
      if (!r) throw new Error("no candles are visible: load a symbol first");
    } catch (e) {
      return showError(e);
    }
    this.clear();
    $("#bt-status").textContent = "starting…";
    $("#bt-status").className = "status-line running";
    try {
      const res = await post("/api/backtest", {
        model: $("#bt-model").value,
        symbol: this.chart.symbol,
        timeframe: this.chart.timeframe,
        start: r.start,
        end: r.end,
        start_from: $("#bt-start").value,
        fee_bps: typed("#bt-fee"),
        slippage_bps: typed("#bt-slippage"),
        min_confidence: typed("#bt-min-conf"),
        long_only: $("#bt-long-only").checked,
        hold: $("#bt-hold").value,
        train: $("#bt-train").value,
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
    $("#bt-legend").hidden = true;
    $("#bt-trades").hidden = true;
    $("#bt-csv").hidden = true;
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
    this.keep(ev);
    this.show(ev.result);
  }

  // Keep the last two results; the same state pushed twice is one run.
  keep(ev) {
    const run = { ...ev.result, seq: ev.seq };
    if (this.runs.length && ev.seq != null && this.last().seq === ev.seq) this.runs.pop();
    this.runs = [...this.runs, run].slice(-2);
    const [prev, last] = this.runs;
    $("#bt-compare-title").hidden = !last;
    $("#bt-compare").hidden = !last;
    $("#bt-compare tbody").replaceChildren(...(last ? compareRows(prev, last) : []));
  }

  show(r) {
    const from = r.checkpoint ? ` from ${r.checkpoint.key} (step ${r.checkpoint.step})` : "";
    $("#bt-status").textContent = `completed: ${r.model}${from} on ${r.candles} candles`;
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
    $("#bt-legend").hidden = !drawEquity($("#bt-equity"), r.equity, r.buy_and_hold_equity);
    $("#bt-trades tbody").replaceChildren(...tradeRows(r.trades));
    $("#bt-trades").hidden = !r.trades.length;
    $("#bt-csv").hidden = !r.trades.length;
    this.markTrades(r.trades);
  }

  markTrades(trades) {
    const d = this.chart.durationMs();
    this.chart.setMarkerLayer(
      "trades",
      trades.flatMap((t) => [
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
}
