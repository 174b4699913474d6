// The live panel: start/stop a session, its signals, paper account, metrics and ghost candles.
import { get, post } from "./api.js";
import { fmtMoney, fmtPct, fmtPrice, fmtTime } from "./format.js";
import { LiveTimeframes, liveTimeframesAfter } from "./live_timeframes.js";
import { PaperSettings } from "./paper_settings.js";
import { $, el, showError, showOk } from "./ui.js";
const MAX_GHOSTS = 400; // per timeframe: the seconds' ghosts never push out the hours'

export class LivePanel {
  constructor(chart) {
    this.chart = chart;
    this.ghostsByTf = new Map(); // timeframe -> Map(target_time -> ghost candle)
    this.rows = new Map(); // prediction id -> table row
    this.closed = new Set(); // open times of the closed candles pushed while live
    this.signalMarkers = [];
    this.timeframes = new LiveTimeframes(liveTimeframesAfter());
    $("#live-model").addEventListener("change", (e) => this.timeframes.onPick(e.target.selectedOptions[0]));
    $("#live-start").addEventListener("click", () => this.start());
    $("#live-stop").addEventListener("click", () => this.stop());
    $("#live-paper-reset").addEventListener("click", () => this.resetPaper());
    this.paperSettings = new PaperSettings((p) => {
      this.status = { ...this.status, paper: p };
      this.showPaper(p);
    });
    document.querySelectorAll("#live-manual button").forEach((b) =>
      b.addEventListener("click", () => this.label(b.dataset.label)),
    );
  }

  async refresh() {
    try {
      this.onStatus(await get("/api/live-training/status"));
      const res = await get("/api/live-training/predictions?limit=50");
      const model = this.status && this.status.model;
      for (const p of res.predictions.slice().reverse()) if (p.model === model) this.onPrediction(p);
      await this.loadGhosts(); // the chart's timeframe may be one the newest predictions lack
    } catch (e) {
      showError(e);
    }
  }

  async start() {
    if (!this.timeframes.checked().length) {
      showError(new Error("pick at least one timeframe to predict"));
      return;
    }
    try {
      const st = await post("/api/live-training/start", {
        symbol: this.chart.symbol,
        ...this.picked(),
        ...this.timeframes.body(),
        mode: $("#live-mode").value,
      });
      this.onStatus(st);
      // stay on a predicted timeframe; else show the finest (the one paper trades)
      if (!st.timeframes.includes(this.chart.timeframe) && this.onWantTimeframe) this.onWantTimeframe(st.timeframes[0]);
      else this.loadGhosts();
    } catch (e) {
      showError(e);
      await this.refreshState(); // a session that failed to start shows why
    }
  }

  // A saved checkpoint holds its own family: the start names it and no model.
  picked() {
    const v = $("#live-model").value;
    if (v.startsWith("ckpt:")) return { model: "", start_from: v.slice(5) };
    return { model: v, start_from: $("#live-from-ckpt").checked ? "annotations" : "fresh" };
  }

  // Offer the saved (offline-trained, named) checkpoints beside the families in the picker.
  async loadCheckpoints() {
    try {
      const { checkpoints } = await get("/api/checkpoints");
      $("#live-model optgroup[data-ckpts]")?.remove();
      if (!checkpoints.length) return;
      const group = el("optgroup", { label: "Saved checkpoints", "data-ckpts": "1" });
      group.append(
        ...checkpoints.map((c) =>
          el("option", { value: `ckpt:${c.name}`, "data-timeframes": c.timeframes.join(","), title: `${c.model} on ${c.symbol} ${c.timeframes.join("+")}, ${fmtTime(c.created_at)} UTC` }, `${c.name} (${c.model}, ${c.timeframes.join("+")})`),
        ),
      );
      $("#live-model").append(group);
    } catch (e) {
      showError(e);
    }
  }

  async refreshState() {
    try {
      this.onStatus(await get("/api/live-training/status"));
    } catch (e) {
      showError(e);
    }
  }

  async stop() {
    try {
      this.onStatus(await post("/api/live-training/stop"));
    } catch (e) {
      showError(e);
      await this.refreshState(); // refused (409): show the state that refused it
    }
  }

  // Start the paper account of the shown session again (positions and trades are dropped).
  async resetPaper() {
    const p = this.status && this.status.paper;
    if (!p) return;
    if (!window.confirm(`Reset the paper account of ${p.session_id}? Its positions and trades are dropped and it starts again at ${fmtPrice(p.initial_equity)}.`)) return;
    try {
      const res = await post("/api/paper/reset", { session_id: p.session_id });
      this.status = { ...this.status, paper: res };
      this.showPaper(res);
      showOk(`paper account of ${p.session_id} reset`);
    } catch (e) {
      showError(e);
    }
  }

  async label(action) {
    try {
      const res = await post("/api/realtime-inference/train-manual", { action });
      showOk(`queued: train on the candle of ${fmtTime(res.decision_time)} as ${action}`);
    } catch (e) {
      showError(e);
    }
  }

  onStatus(st) {
    this.status = st;
    const badge = $("#market-badge");
    if (st.feed) {
      badge.hidden = false;
      badge.textContent = st.feed.synthetic ? "SYNTHETIC MARKET · exchange simulator" : `LIVE · ${st.feed.exchange}`;
      badge.className = st.feed.synthetic ? "market" : "market real";
      badge.title = st.feed.label;
      $("#live-feed").textContent = `Feed: ${st.feed.label} — ${st.feed.connected ? "connected" : "not connected"}`;
    } else {
      $("#live-feed").textContent = st.engine_error
        ? `Feed failed: ${st.engine_error}`
        : "No exchange feed: start `ghostcandle serve --exchange-url …` or `make demo`.";
    }
    // the session's state (none started yet reads as stopped); a failed one says why
    const state = $("#live-state");
    const now = st.state || "stopped";
    const from = st.checkpoint ? ` · from ${st.checkpoint.key} (step ${st.checkpoint.step})` : "";
    state.dataset.state = now;
    state.textContent = st.running
      ? `running · ${st.mode} · ${st.model}${from}`
      : now === "failed"
        ? `failed · ${st.state_reason}`
        : now;
    state.title = st.state_reason || "";
    state.className = `pill ${st.running ? "on" : now === "failed" ? "failed" : "off"}`;
    if (st.running) $("#live-mode").value = st.mode;
    $("#live-start").disabled = ["starting", "running", "stopping"].includes(now);
    this.timeframes.disable(st.running);
    if (st.running && st.timeframes) this.timeframes.show(st.timeframes);
    $("#live-stop").disabled = !st.running;
    $("#live-manual").hidden = !(st.running && st.mode === "manual");
    const sig = st.latest_signal;
    $("#live-signal").innerHTML = sig
      ? `<span class="${sig.action === "BUY" ? "up" : sig.action === "SELL" ? "down" : ""}">${sig.action}</span> ` +
        `<span class="muted">${(sig.confidence * 100).toFixed(0)}% · ${fmtPrice(sig.price)} · ${fmtTime(sig.time)} UTC</span>`
      : st.running
        ? '<span class="muted">waiting for the first closed candle…</span>'
        : "";
    if (st.signals) this.showSignals(st.signals);
    this.showPaper(st.paper);
    this.showMetrics(st);
  }

  // The paper account of the live session: pushed with every live status, never polled.
  showPaper(p) {
    const box = $("#live-paper");
    box.hidden = !p;
    this.paperSettings.show(p);
    if (!p) return;
    $("#live-paper-note").textContent = `(${p.timeframe} signals · ${fmtPrice(p.initial_equity)} start)`;
    const rows = [
      ["Equity", fmtPrice(p.equity)],
      ["P&L", `<span class="${p.pnl >= 0 ? "up" : "down"}">${fmtPct(p.return_pct)}</span> (${fmtPrice(p.pnl)})`],
      ["Trades", String(p.trades)],
      ["Win rate", p.trades ? `${(p.win_rate * 100).toFixed(0)}%` : "—"],
      ["Fees", fmtMoney(p.fees)],
    ];
    $("#live-paper-figures").replaceChildren(
      ...rows.flatMap(([k, v]) => {
        const dd = el("dd", {});
        dd.innerHTML = v;
        return [el("dt", {}, k), dd];
      }),
    );
    const table = $("#live-paper-positions");
    table.hidden = !p.positions.length;
    table.querySelector("tbody").replaceChildren(
      ...p.positions.map((q) =>
        el(
          "tr",
          {},
          el("td", { class: q.side === "LONG" ? "up" : "down" }, `${q.side} ${q.symbol}`),
          el("td", {}, q.size.toPrecision(4)),
          el("td", {}, fmtPrice(q.entry_price)),
          el("td", {}, fmtPrice(q.last_price)),
          el("td", { class: q.unrealised_pnl >= 0 ? "up" : "down" }, fmtPrice(q.unrealised_pnl)),
        ),
      ),
    );
  }

  showMetrics(st) {
    const m = st.metrics;
    const rows = [["CPU load", st.cpu_percent == null ? "—" : `${st.cpu_percent.toFixed(0)}%`]];
    if (st.gpu_percent != null) rows.push(["GPU load", `${st.gpu_percent.toFixed(0)}%`]);
    if (m) {
      rows.unshift(
        ["Predictions / s", m.predictions_per_s.toFixed(2)],
        ["Training batches / min", m.training_batches_per_min.toFixed(1)],
        ["Predictions · resolved", `${m.predictions} · ${m.resolved}`],
      );
      // no raw accuracy: live_quality.js shows skill and net P&L with their sample sizes
    }
    $("#live-metrics").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  }

  // The chips list the signals of the chart's timeframe when the session predicts it (else of
  // the finest); the arrows are drawn on whichever predicted timeframe the chart shows.
  showSignals(signals) {
    const tfs = (this.status && this.status.timeframes) || [];
    const listed = tfs.includes(this.chart.timeframe) ? this.chart.timeframe : tfs[0];
    $("#live-signals").replaceChildren(
      ...signals.filter((s) => s.timeframe === listed).slice(0, 50).map((s) =>
        el("span", { class: s.action === "BUY" ? "up" : "down", title: fmtTime(s.time) }, `${s.action} ${(s.confidence * 100).toFixed(0)}%`),
      ),
    );
    this.signalMarkers = signals
      .filter((s) => s.timeframe === this.chart.timeframe && this.onChartSymbol())
      .map((s) => ({
        time: s.time - (s.time % this.chart.durationMs()),
        position: s.action === "BUY" ? "belowBar" : "aboveBar",
        shape: s.action === "BUY" ? "arrowUp" : "arrowDown",
        color: s.action === "BUY" ? "#26a69a" : "#ef5350",
        // a bare arrow: the panel lists each signal's confidence, labels would pile up at 1s
        text: "",
      }));
    this.chart.setMarkerLayer("signals", this.signalMarkers);
  }

  onForming(c) {
    if (c.symbol !== this.chart.symbol || c.timeframe !== this.chart.timeframe) return;
    this.chart.upsert(c);
  }

  onCandle(c) {
    if (c.symbol !== this.chart.symbol || c.timeframe !== this.chart.timeframe) return;
    this.chart.upsert(c);
    this.closed.add(c.time);
  }

  // A prediction: draw its ghost candle at the candle it predicts, and list it.
  // Live overlays belong to the live session's symbol only, never to another chart.
  onChartSymbol() {
    return Boolean(this.status && this.status.symbol === this.chart.symbol);
  }

  // The ghost candles of the chart's timeframe (target time -> ghost).
  get ghosts() {
    return this.ghostsByTf.get(this.chart.timeframe) || new Map();
  }

  // Keep the ghost candle of a prediction (per timeframe, the newest MAX_GHOSTS).
  keepGhost(p) {
    if (!this.ghostsByTf.has(p.timeframe)) this.ghostsByTf.set(p.timeframe, new Map());
    const kept = this.ghostsByTf.get(p.timeframe);
    kept.set(p.target_time, { time: p.target_time, open: p.open, high: p.high, low: p.low, close: p.close });
    if (kept.size > MAX_GHOSTS) kept.delete(kept.keys().next().value);
  }

  // The chart shows a timeframe the session predicts: fetch its ghosts (the pushed ones since
  // the page opened may be none: an hourly prediction comes once an hour).
  async loadGhosts() {
    const st = this.status;
    const tf = this.chart.timeframe;
    if (!st || !st.session_id || !(st.timeframes || []).includes(tf) || !this.onChartSymbol()) return;
    try {
      const res = await get(`/api/live-training/predictions?timeframe=${tf}&limit=500`);
      for (const p of res.predictions.slice().reverse()) if (p.model === st.model) this.keepGhost(p);
      this.drawGhosts();
    } catch (e) {
      showError(e);
    }
  }

  onPrediction(p) {
    this.keepGhost(p);
    if (p.timeframe === this.chart.timeframe) this.drawGhosts();
    const cells = [
      fmtTime(p.time).slice(11),
      p.timeframe,
      fmtPrice(p.predicted),
      p.actual == null ? "…" : fmtPrice(p.actual),
      p.error == null ? "—" : `${p.error.toFixed(3)}%`,
      `${p.action} ${(p.confidence * 100).toFixed(0)}%`,
    ];
    const row = el("tr", { class: p.status }, ...cells.map((c) => el("td", {}, c)));
    const body = $("#live-table tbody");
    const old = this.rows.get(p.id);
    if (old) old.replaceWith(row);
    else body.prepend(row);
    this.rows.set(p.id, row);
    while (body.children.length > 50) {
      const last = body.lastChild;
      for (const [id, r] of this.rows) if (r === last) this.rows.delete(id);
      last.remove();
    }
  }

  drawGhosts() {
    const list = this.onChartSymbol() ? [...this.ghosts.values()] : [];
    list.sort((a, b) => a.time - b.time);
    this.chart.setGhosts(list);
  }

  onChartLoaded() {
    this.drawGhosts();
    this.loadGhosts();
    if (this.status && this.status.signals) this.showSignals(this.status.signals);
  }
}
