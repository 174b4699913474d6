// The live panel: start/stop sessions side by side; the selected one's signals, paper account,
// metrics and ghost candles.
import { get, post } from "./api.js";
import { fmtPrice, fmtTime } from "./format.js";
import { showMetrics, showPaperFigures } from "./live_figures.js";
import { LiveSessions } from "./live_sessions.js";
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
    this.fresh = false; // the form is set for a new session beside the running ones
    this.sessions = new LiveSessions({
      onPick: (sid) => this.pick(sid),
      onStop: (sid) => this.stop(sid),
      onNew: () => this.newSession(),
    });
    $("#live-model").addEventListener("change", (e) => this.timeframes.onPick(e.target.selectedOptions[0]));
    $("#live-start").addEventListener("click", () => this.start());
    $("#live-stop").addEventListener("click", () => this.stop(this.sid()));
    $("#live-paper-reset").addEventListener("click", () => this.resetPaper());
    this.paperSettings = new PaperSettings((p) => {
      this.status = { ...this.status, paper: p };
      this.showPaper(p);
    });
    document.querySelectorAll("#live-manual button").forEach((b) =>
      b.addEventListener("click", () => this.label(b.dataset.label)),
    );
  }

  // The id of the session the panel shows (undefined before any was started).
  sid() {
    return this.status ? this.status.session_id : undefined;
  }

  // `?session_id=…` of the shown session ("" before any: the server's newest).
  query(sep = "?") {
    const sid = this.sid();
    return sid ? `${sep}session_id=${encodeURIComponent(sid)}` : "";
  }

  async refresh() {
    try {
      let st = await get("/api/live-training/status");
      // open on the newest session that runs (the newest started may have stopped)
      const running = (st.sessions || []).filter((s) => s.running).pop();
      if (!st.running && running) st = await get(`/api/live-training/status?session_id=${encodeURIComponent(running.session_id)}`);
      this.onStatus(st);
    } catch (e) {
      showError(e);
      return;
    }
    // not awaited: the chart's first paint does not wait for the ghosts
    this.loadPredictions().catch(showError);
  }

  // The shown session's newest predictions (table and ghosts), then the chart timeframe's.
  async loadPredictions() {
    const res = await get(`/api/live-training/predictions?limit=50${this.query("&")}`);
    const model = this.status && this.status.model;
    for (const p of res.predictions.slice().reverse()) if (p.model === model) this.onPrediction(p);
    await this.loadGhosts(); // the chart's timeframe may be one the newest predictions lack
  }

  // Forget what the panel drew of the session shown before (ghosts, table rows, arrows).
  clearShown() {
    this.ghostsByTf = new Map();
    this.rows = new Map();
    $("#live-table tbody").replaceChildren();
    $("#live-signals").replaceChildren();
    this.signalMarkers = [];
    this.chart.setMarkerLayer("signals", []);
    this.drawGhosts();
  }

  // Show another session of the list: its status, predictions and ghosts.
  async pick(sid) {
    try {
      const st = await get(`/api/live-training/status?session_id=${encodeURIComponent(sid)}`);
      this.fresh = false;
      this.clearShown();
      this.onStatus(st);
      await this.loadPredictions();
    } catch (e) {
      showError(e);
    }
  }

  // Set the form for another session beside the running ones (the chart shows no ghosts).
  newSession() {
    this.fresh = true;
    this.clearShown();
    const state = $("#live-state");
    state.dataset.state = "new";
    state.textContent = "new session";
    state.title = "";
    state.className = "pill off";
    $("#live-start").disabled = false;
    $("#live-stop").disabled = true;
    $("#live-manual").hidden = true;
    $("#live-signal").innerHTML = "";
    $("#live-paper").hidden = true;
    this.timeframes.disable(false);
    this.sessions.show(this.sessions.list, null, true);
  }

  // A live status pushed by the server (any session's): the list follows every one, the
  // panel only the shown session's.
  onLive(st) {
    if (!this.fresh && (!this.sid() || st.session_id === this.sid())) this.onStatus(st);
    else this.sessions.show(st.sessions, this.sid(), this.fresh);
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
      this.fresh = false;
      this.clearShown();
      this.onStatus(st);
      // stay on a predicted timeframe; else show the finest (the one paper trades)
      if (!st.timeframes.includes(this.chart.timeframe) && this.onWantTimeframe) this.onWantTimeframe(st.timeframes[0]);
      else this.loadGhosts();
    } catch (e) {
      showError(e);
      await this.refreshState(true); // a session that failed to start (the newest) shows why
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

  // Show the shown session's state again (`failed`: the newest session's if it failed to start).
  async refreshState(failed = false) {
    try {
      const newest = failed ? await get("/api/live-training/status") : null;
      this.onStatus(newest && newest.state === "failed" ? newest : await get(`/api/live-training/status${this.query()}`));
    } catch (e) {
      showError(e);
    }
  }

  // Stop one session (the shown one from the Stop button); the others keep running.
  async stop(sid) {
    try {
      const q = sid ? `?session_id=${encodeURIComponent(sid)}` : "";
      this.onLive(await post(`/api/live-training/stop${q}`));
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
      const res = await post(`/api/realtime-inference/train-manual${this.query()}`, { action });
      showOk(`queued: train on the candle of ${fmtTime(res.decision_time)} as ${action}`);
    } catch (e) {
      showError(e);
    }
  }

  onStatus(st) {
    this.status = st;
    this.fresh = false;
    this.sessions.show(st.sessions, st.session_id, false);
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

  // The paper account of the shown session: pushed with every live status, never polled.
  showPaper(p) {
    showPaperFigures(p);
    this.paperSettings.show(p);
  }

  showMetrics(st) {
    showMetrics(st);
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
      const res = await get(`/api/live-training/predictions?timeframe=${tf}&limit=500${this.query("&")}`);
      for (const p of res.predictions.slice().reverse()) if (p.model === st.model) this.keepGhost(p);
      this.drawGhosts();
    } catch (e) {
      showError(e);
    }
  }

  onPrediction(p) {
    // another session's prediction: the panel shows one session's (the list shows them all)
    if (this.fresh || (p.session_id && p.session_id !== this.sid())) return;
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
