// The workspace page: wires the chart, the annotations, the panels, push updates and the keys.
import { Annotator } from "./annotations.js";
import { get } from "./api.js";
import { BacktestPanel } from "./backtest_panel.js";
import { ChartView } from "./chart.js";
import { DepthView } from "./depth_view.js";
import { IndicatorPanes } from "./indicator_panes.js";
import { LearningPanel } from "./learning_panel.js";
import { LivePanel } from "./live_panel.js";
import { applyFeatures, loadModels, TrainingPanel } from "./panels.js";
import { gateLiveStart } from "./feed_gate.js";
import { LiveQuality, settleStopped } from "./live_quality.js";
import { $, showError } from "./ui.js";

const TFS = ["1s", "1m", "1h", "1d"];
const state = { symbol: null, timeframe: "1m", status: null };

const chart = new ChartView($("#chart"), $("#legend"));
const annotator = new Annotator(chart);
const training = new TrainingPanel(annotator);
const live = new LivePanel(chart);
const backtest = new BacktestPanel(chart);
const learning = new LearningPanel(); // adds its tab before the tabs are wired
const panes = new IndicatorPanes(chart);
const depth = new DepthView(chart);
live.onWantTimeframe = (tf) => show(state.symbol, tf);
const quality = new LiveQuality();
const settle = settleStopped(() => live.status);
const liveStatus = live.onStatus.bind(live);
live.onStatus = (st) => {
  liveStatus(st);
  gateLiveStart(st);
  quality.onStatus(st);
  settle();
};
window.ghostcandle = { chart, annotator, state, live, backtest, learning, panes, depth }; // for the browser tests and the console

function seriesOf(symbol, tf) {
  return state.status.series.find((s) => s.symbol === symbol && s.timeframe === tf);
}

async function show(symbol, tf) {
  state.symbol = symbol;
  state.timeframe = tf;
  // the candles do not wait for the status (the first paint is the page's slowest step)
  const loading = chart.load(symbol, tf).then(
    () => null,
    (e) => e,
  );
  try {
    state.status = await get("/api/status"); // a live feed adds series while the page is open
  } catch (e) {
    showError(e);
  }
  document.querySelectorAll(".tf").forEach((b) => {
    b.classList.toggle("active", b.dataset.tf === tf);
    b.title = seriesOf(symbol, b.dataset.tf) ? b.title.replace(/ — no data$/, "") : `${b.title.replace(/ — no data$/, "")} — no data`;
  });
  const empty = $("#empty");
  if (!seriesOf(symbol, tf)) {
    empty.hidden = false;
    empty.textContent = `No ${tf} candles of ${symbol} are stored. Pick another timeframe, or ingest data (ghostcandle ingest / make demo).`;
  } else {
    empty.hidden = true;
  }
  try {
    const failed = await loading;
    if (failed) throw failed;
    await annotator.refresh();
    live.onChartLoaded();
    training.showCases();
    backtest.showRange();
    await chart.loadStructure();
  } catch (e) {
    showError(e);
  }
}

// A live feed fills a fresh database series by series: offer each symbol as soon as it streams.
function noteSymbol(c) {
  const sel = $("#symbol");
  if (c.symbol && ![...sel.options].some((o) => o.value === c.symbol)) {
    sel.add(new Option(c.symbol, c.symbol));
    if (state.status && !state.status.symbols.includes(c.symbol)) state.status.symbols.push(c.symbol);
  }
  return c;
}

// What a pushed candle does (the browser tests call these as the stream would).
const push = {
  candle(c) {
    chart.noteClosed(c);
    live.onCandle(noteSymbol(c));
  },
  forming(c) {
    chart.noteForming(c);
    live.onForming(noteSymbol(c));
  },
};
window.ghostcandle.push = push;

// Each pushed chart update: publish time (the event's id: server epoch ms), receipt, and the
// animation frame after the chart took it (bench/bench_web_paint.py reads the newest 5,000).
const paints = (window.__gc_paints = []);
function timed(kind, handle) {
  return (m) => {
    const now = () => performance.timeOrigin + performance.now();
    const recv = now();
    const c = JSON.parse(m.data);
    handle(c);
    const shown = c.symbol === chart.symbol && c.timeframe === chart.timeframe;
    requestAnimationFrame(() => {
      if (paints.length >= 5000) paints.shift();
      paints.push({ kind, shown, sent: Number(m.lastEventId), recv, painted: now() });
    });
  };
}

function connectPush() {
  const es = new EventSource("/api/events");
  const badge = $("#push-status");
  es.onopen = () => {
    badge.textContent = "connected";
    badge.className = "push on";
  };
  es.onerror = () => {
    badge.textContent = "reconnecting";
    badge.className = "push off";
  };
  es.addEventListener("annotations", () => annotator.refresh().then(() => training.showCases()));
  es.addEventListener("candle", timed("candle", push.candle));
  es.addEventListener("forming", timed("forming", push.forming));
  es.addEventListener("backtest", (m) => backtest.onEvent(JSON.parse(m.data)));
  es.addEventListener("training", (m) => training.onEvent(JSON.parse(m.data)));
  es.addEventListener("live", (m) => live.onLive(JSON.parse(m.data)));
  es.addEventListener("prediction", (m) => live.onPrediction(JSON.parse(m.data)));
}

function keys(e) {
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(e.target.tagName);
  if (e.key === "Escape") {
    $("#help").hidden = true;
    if (annotator.marking) annotator.cancel();
    if (typing) e.target.blur();
    return;
  }
  if (typing) return;
  if (e.key >= "1" && e.key <= "4") show(state.symbol, TFS[Number(e.key) - 1]);
  else if (e.key === "a" || e.key === "A") annotator.toggle();
  else if (e.key === "i" || e.key === "I") toggleIndicators();
  else if (e.key === "p" || e.key === "P") togglePivots();
  else if (e.key === "o" || e.key === "O") panes.toggle();
  else if (e.key === "d" || e.key === "D") depth.toggle();
  else if (e.key === "Enter" && annotator.marking) annotator.save();
  else if (e.key === "Delete" || e.key === "Backspace") {
    // never while a new trade is being drawn: the key was meant for the draft, not the list
    if (annotator.marking) showError("A new trade is being marked: save it (Enter) or cancel it (Esc) first");
    else annotator.deleteSelected();
  }
  else if (e.key === "ArrowLeft") chart.scrollBars(-10);
  else if (e.key === "ArrowRight") chart.scrollBars(10);
  else if (e.key === "End") chart.scrollToLatest();
  else if (e.key === "?") $("#help").hidden = !$("#help").hidden;
  else return;
  e.preventDefault();
}

function tabs() {
  document.querySelectorAll(".tab").forEach((t) =>
    t.addEventListener("click", () => {
      document.querySelectorAll(".tab").forEach((x) => x.classList.toggle("active", x === t));
      document.querySelectorAll(".panel").forEach((p) => (p.hidden = p.id !== `panel-${t.dataset.tab}`));
      if (t.dataset.tab === "backtest") backtest.showRange();
    }),
  );
}

function toggleIndicators() {
  $("#ind-toggle").classList.toggle("active", chart.toggleIndicators());
}

function togglePivots() {
  $("#piv-toggle").classList.toggle("active", chart.togglePivots());
}

async function boot() {
  tabs();
  $("#ind-toggle").addEventListener("click", toggleIndicators);
  $("#piv-toggle").addEventListener("click", togglePivots);
  document.addEventListener("keydown", keys);
  document.querySelectorAll(".tf").forEach((b) => b.addEventListener("click", () => show(state.symbol, b.dataset.tf)));
  $("#help-toggle").addEventListener("click", () => ($("#help").hidden = !$("#help").hidden));
  const params = new URLSearchParams(location.search);
  // ?bars=N: the first page of candles holds N (up to 10,000; the default 1,000)
  if (Number(params.get("bars")) > 0) chart.firstPage = Math.min(Number(params.get("bars")), 10000);
  // an address naming the series fetches its candles beside the status (first paint sooner)
  if (params.get("symbol") && TFS.includes(params.get("timeframe"))) chart.prefetch(params.get("symbol"), params.get("timeframe"));
  try {
    state.status = await get("/api/status");
  } catch (e) {
    showError(e);
    return;
  }
  applyFeatures(state.status.features);
  loadModels().then(() => live.loadCheckpoints());
  const sel = $("#symbol");
  const symbols = state.status.symbols;
  sel.replaceChildren(...symbols.map((s) => new Option(s, s)));
  sel.addEventListener("change", () => show(sel.value, state.timeframe));
  connectPush();
  // the live panel loads beside the chart: only a page naming no symbol waits for it (it opens
  // on the live session's symbol)
  const liveLoaded = live.refresh();
  while (!state.status.symbols.length) {
    // a fresh database fills from the feed a few seconds after start-up: wait for it
    $("#empty").hidden = false;
    $("#empty").textContent = "No candles stored yet: waiting for the exchange feed… (or run `ghostcandle ingest`)";
    await new Promise((r) => setTimeout(r, 2000));
    try {
      state.status = await get("/api/status");
    } catch (e) {
      showError(e);
    }
    sel.replaceChildren(...state.status.symbols.map((s) => new Option(s, s)));
  }
  symbols.splice(0, symbols.length, ...state.status.symbols);
  // open on the symbol the live session trades, unless the address names another
  const named = symbols.includes(params.get("symbol")) ? params.get("symbol") : null;
  if (!named) await liveLoaded;
  const liveSymbol = live.status && live.status.running ? live.status.symbol : null;
  const symbol = named || (symbols.includes(liveSymbol) ? liveSymbol : symbols[0]);
  const tf = TFS.includes(params.get("timeframe")) ? params.get("timeframe") : "1m";
  sel.value = symbol;
  await show(symbol, tf);
  await liveLoaded;
  document.body.dataset.ready = "1";
}

boot();
