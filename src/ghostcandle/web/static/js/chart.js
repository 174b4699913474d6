// The candle chart: candles + volume, lazy history when panning back, markers, ghost candles.
import {
  createChart,
  CandlestickSeries,
  HistogramSeries,
  LineSeries,
  LineStyle,
  createSeriesMarkers,
  CrosshairMode,
} from "/vendor/lightweight-charts.standalone.production.mjs";
import { get } from "./api.js";
import { fmtPrice, fmtTime, fmtVolume } from "./format.js";

const PAGE = 1000;
const UP = "#26a69a";
const DOWN = "#ef5350";
// Indicator overlays on the price scale, and how each is drawn.
const OVERLAYS = {
  sma_20: { color: "#f0b429", lineWidth: 1 },
  sma_50: { color: "#b48cff", lineWidth: 1 },
  ema_12: { color: "#4c8dff", lineWidth: 1, lineStyle: LineStyle.Dotted },
  ema_26: { color: "#36c5f0", lineWidth: 1, lineStyle: LineStyle.Dotted },
  bb_upper: { color: "rgba(200,200,220,0.35)", lineWidth: 1, lineStyle: LineStyle.Dashed },
  bb_lower: { color: "rgba(200,200,220,0.35)", lineWidth: 1, lineStyle: LineStyle.Dashed },
};
// Pivot levels: higher levels are rarer swings, drawn larger and brighter.
const PIVOT_STYLE = {
  1: { color: "rgba(160,170,190,0.55)", size: 0.6 },
  2: { color: "#f0b429", size: 1 },
  3: { color: "#ff7ad9", size: 1.5 },
  4: { color: "#ffffff", size: 2 },
};

export class ChartView {
  constructor(container, legend) {
    this.legend = legend;
    this.symbol = null;
    this.timeframe = null;
    this.bars = []; // oldest first, time in ms
    this.byTime = new Map();
    this.hasMore = false;
    this.loading = false;
    this.generation = 0;
    this.clickHandlers = [];
    this.chart = createChart(container, {
      autoSize: true,
      layout: {
        background: { color: "#0b0e14" },
        textColor: "#9aa4b5",
        fontSize: 12,
        attributionLogo: false,
      },
      grid: { vertLines: { color: "#161b25" }, horzLines: { color: "#161b25" } },
      crosshair: { mode: CrosshairMode.Normal },
      rightPriceScale: { borderColor: "#232a36" },
      timeScale: { borderColor: "#232a36", timeVisible: true, secondsVisible: false, rightOffset: 6 },
      localization: { timeFormatter: (t) => fmtTime(t * 1000) },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderUpColor: UP,
      borderDownColor: DOWN,
      wickUpColor: UP,
      wickDownColor: DOWN,
    });
    this.ghosts = this.chart.addSeries(CandlestickSeries, {
      upColor: "rgba(38,166,154,0.18)",
      downColor: "rgba(239,83,80,0.18)",
      borderUpColor: "rgba(38,166,154,0.7)",
      borderDownColor: "rgba(239,83,80,0.7)",
      wickUpColor: "rgba(38,166,154,0.5)",
      wickDownColor: "rgba(239,83,80,0.5)",
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.volume = this.chart.addSeries(HistogramSeries, {
      priceFormat: { type: "volume" },
      priceScaleId: "volume",
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
    this.candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.22 } });
    this.markers = createSeriesMarkers(this.candles, []);
    this.markerLayers = {}; // name -> markers (annotations, pivots, signals, trades)
    this.overlaySeries = {};
    for (const [name, style] of Object.entries(OVERLAYS)) {
      this.overlaySeries[name] = this.chart.addSeries(LineSeries, {
        ...style,
        lastValueVisible: false,
        priceLineVisible: false,
        crosshairMarkerVisible: false,
        visible: false,
        title: "",
      });
    }
    this.showIndicators = false;
    this.showPivots = true;
    this.hovering = false; // the mouse is over a candle: the legend shows that one
    this.chart.subscribeCrosshairMove((p) => {
      this.hovering = Boolean(p && p.time !== undefined);
      this.showLegend(p);
    });
    this.chart.subscribeClick((p) => {
      if (p.time === undefined) return;
      const bar = this.byTime.get(p.time * 1000);
      if (bar) this.clickHandlers.forEach((h) => h(bar));
    });
    this.chart.timeScale().subscribeVisibleLogicalRangeChange((r) => {
      if (r && r.from < 30 && this.hasMore && !this.loading) this.loadOlder();
    });
  }

  // The still-forming candle of the shown series (pushed by the feed) until it closes.
  noteForming(c) {
    if (c.symbol === this.symbol && c.timeframe === this.timeframe) this.formingTime = c.time;
  }

  noteClosed(c) {
    if (c.symbol === this.symbol && c.timeframe === this.timeframe && c.time >= (this.formingTime ?? Infinity))
      this.formingTime = null;
  }

  isForming(t) {
    return this.formingTime != null && t >= this.formingTime;
  }

  onCandleClick(handler) {
    this.clickHandlers.push(handler);
  }

  firstPageUrl(symbol, timeframe) {
    return `/api/candles?${new URLSearchParams({ symbol, timeframe, limit: String(this.firstPage || PAGE) })}`;
  }

  // Start fetching the first page of a series the page is about to show (load() takes it).
  prefetch(symbol, timeframe) {
    const url = this.firstPageUrl(symbol, timeframe);
    const page = get(url);
    page.catch(() => {}); // load() reports it, if it takes this page
    this.early = { url, page };
  }

  async load(symbol, timeframe) {
    const gen = ++this.generation;
    this.symbol = symbol;
    this.timeframe = timeframe;
    this.formingTime = null;
    this.loading = true;
    try {
      const url = this.firstPageUrl(symbol, timeframe);
      const early = this.early && this.early.url === url ? this.early.page : null;
      this.early = null;
      const page = await (early || get(url));
      if (gen !== this.generation) return;
      this.bars = page.candles;
      this.hasMore = page.has_more;
      this.index();
      this.chart.applyOptions({ timeScale: { secondsVisible: timeframe === "1s" } });
      this.render();
      this.ghosts.setData([]);
      this.markerLayers = { annotations: this.markerLayers.annotations || [] };
      this.indicatorData = null;
      this.drawOverlays();
      this.chart.timeScale().setVisibleLogicalRange({
        from: Math.max(0, this.bars.length - 150),
        to: this.bars.length + 5,
      });
      this.showLegend({});
      // the chart draws its new data in its next animation frame: this callback runs after it
      // (bench/bench_web_paint.py reads the first one, ms since navigation start)
      if (!window.__gc_firstPaint) {
        const bars = this.bars.length;
        requestAnimationFrame(() => (window.__gc_firstPaint ??= { ms: performance.now(), bars }));
      }
    } finally {
      if (gen === this.generation) this.loading = false;
    }
  }

  async loadOlder() {
    if (!this.bars.length) return;
    const gen = this.generation;
    this.loading = true;
    try {
      const q = new URLSearchParams({
        symbol: this.symbol,
        timeframe: this.timeframe,
        limit: String(PAGE),
        before: String(this.bars[0].time),
      });
      const page = await get(`/api/candles?${q}`);
      if (gen !== this.generation || !page.candles.length) {
        this.hasMore = gen === this.generation ? false : this.hasMore;
        return;
      }
      const range = this.chart.timeScale().getVisibleLogicalRange();
      this.bars = page.candles.concat(this.bars);
      this.hasMore = page.has_more;
      this.index();
      this.render();
      // prepending shifts every logical index: keep the trader's view where it was
      if (range) {
        const n = page.candles.length;
        this.chart.timeScale().setVisibleLogicalRange({ from: range.from + n, to: range.to + n });
      }
      this.onHistory && this.onHistory(this.bars[0].time);
      this.loadStructure().catch(() => {});
    } finally {
      if (gen === this.generation) this.loading = false;
    }
  }

  index() {
    this.byTime = new Map(this.bars.map((b) => [b.time, b]));
  }

  render() {
    this.candles.setData(
      this.bars.map((b) => ({ time: b.time / 1000, open: b.open, high: b.high, low: b.low, close: b.close })),
    );
    this.volume.setData(
      this.bars.map((b) => ({
        time: b.time / 1000,
        value: b.volume,
        color: b.close >= b.open ? "rgba(38,166,154,0.45)" : "rgba(239,83,80,0.45)",
      })),
    );
  }

  // Update or append one candle (a forming candle changes in place until it closes).
  upsert(bar) {
    const last = this.bars[this.bars.length - 1];
    if (last && bar.time < last.time) return;
    if (last && last.time === bar.time) this.bars[this.bars.length - 1] = bar;
    else this.bars.push(bar);
    this.byTime.set(bar.time, bar);
    this.candles.update({ time: bar.time / 1000, open: bar.open, high: bar.high, low: bar.low, close: bar.close });
    this.volume.update({
      time: bar.time / 1000,
      value: bar.volume,
      color: bar.close >= bar.open ? "rgba(38,166,154,0.45)" : "rgba(239,83,80,0.45)",
    });
    if (!this.hovering) this.showLegend({}); // the mouse is away: follow the newest candle
  }

  setGhosts(ghosts) {
    this.ghosts.setData(
      ghosts.map((g) => ({ time: g.time / 1000, open: g.open, high: g.high, low: g.low, close: g.close })),
    );
  }

  // Set one named layer of markers (annotations, pivots, signals, trades) and redraw them all.
  setMarkerLayer(name, markers) {
    this.markerLayers[name] = markers;
    const all = Object.entries(this.markerLayers)
      .filter(([n]) => n !== "pivots" || this.showPivots)
      .flatMap(([, ms]) => ms)
      .filter((m) => this.byTime.has(m.time));
    all.sort((a, b) => a.time - b.time);
    this.markers.setMarkers(all.map((m) => ({ ...m, time: m.time / 1000 })));
  }

  setMarkers(markers) {
    this.setMarkerLayer("annotations", markers);
  }

  redrawMarkers() {
    this.setMarkerLayer("annotations", this.markerLayers.annotations || []);
  }

  // Load and draw the pivots (by level) and the indicator overlays of the loaded range.
  async loadStructure() {
    if (!this.bars.length) return;
    const gen = this.generation;
    const q = new URLSearchParams({
      symbol: this.symbol,
      timeframe: this.timeframe,
      start: String(this.bars[0].time),
      end: String(this.bars[this.bars.length - 1].time),
    });
    const [piv, ind] = await Promise.all([get(`/api/pivots?${q}`), get(`/api/indicators?${q}`)]);
    if (gen !== this.generation) return;
    // a swing that is also a higher-level pivot is drawn once, at its highest level
    const top = new Map();
    for (const p of piv.pivots) {
      const key = `${p.time}|${p.high}`;
      if (!top.has(key) || top.get(key).level < p.level) top.set(key, p);
    }
    this.pivots = [...top.values()];
    this.setMarkerLayer(
      "pivots",
      this.pivots.map((p) => {
        const st = PIVOT_STYLE[Math.min(p.level, 4)];
        return {
          time: p.time,
          position: p.high ? "aboveBar" : "belowBar",
          shape: "circle",
          color: st.color,
          size: st.size,
          text: p.level >= 2 ? `L${p.level}` : "",
          id: `pivot-${p.type}-${p.time}`,
        };
      }),
    );
    this.indicatorData = ind.series;
    this.drawOverlays();
  }

  drawOverlays() {
    const d = this.indicatorData;
    for (const [name, series] of Object.entries(this.overlaySeries)) {
      series.applyOptions({ visible: this.showIndicators });
      if (!d || !d[name]) {
        series.setData([]);
        continue;
      }
      const pts = [];
      d.time.forEach((t, i) => {
        if (d[name][i] != null && this.byTime.has(t)) pts.push({ time: t / 1000, value: d[name][i] });
      });
      series.setData(pts);
    }
    if (this.onIndicatorData) this.onIndicatorData(); // the indicator panes, when shown
  }

  toggleIndicators(on = !this.showIndicators) {
    this.showIndicators = on;
    this.drawOverlays();
    return on;
  }

  togglePivots(on = !this.showPivots) {
    this.showPivots = on;
    this.redrawMarkers();
    return on;
  }

  // Return the candle of the current timeframe that contains time t (ms), if loaded.
  barAt(t) {
    const d = this.durationMs();
    return this.byTime.get(t - (t % d));
  }

  durationMs() {
    return { "1s": 1000, "1m": 60000, "1h": 3600000, "1d": 86400000 }[this.timeframe];
  }

  visibleRange() {
    const r = this.chart.timeScale().getVisibleRange();
    if (!r) return null;
    return { start: r.from * 1000, end: r.to * 1000 };
  }

  scrollBars(n) {
    const ts = this.chart.timeScale();
    ts.scrollToPosition(ts.scrollPosition() + n, false);
  }

  scrollToTime(t) {
    const idx = this.bars.findIndex((b) => b.time >= t);
    if (idx < 0) return;
    const r = this.chart.timeScale().getVisibleLogicalRange();
    const width = r ? r.to - r.from : 150;
    this.chart.timeScale().setVisibleLogicalRange({ from: idx - width / 2, to: idx + width / 2 });
  }

  scrollToLatest() {
    this.chart.timeScale().scrollToRealTime();
  }

  showLegend(p) {
    let bar = null;
    if (p && p.time !== undefined) bar = this.byTime.get(p.time * 1000);
    if (!bar) bar = this.bars[this.bars.length - 1];
    if (!bar) {
      this.legend.textContent = "";
      return;
    }
    const cls = bar.close >= bar.open ? "up" : "down";
    const chg = ((bar.close - bar.open) / bar.open) * 100;
    this.legend.innerHTML =
      `<b>${this.symbol}</b> · ${this.timeframe} · ${fmtTime(bar.time)} UTC &nbsp; ` +
      `O <span class="${cls}">${fmtPrice(bar.open)}</span> ` +
      `H <span class="${cls}">${fmtPrice(bar.high)}</span> ` +
      `L <span class="${cls}">${fmtPrice(bar.low)}</span> ` +
      `C <span class="${cls}">${fmtPrice(bar.close)}</span> ` +
      `<span class="${cls}">${chg >= 0 ? "+" : ""}${chg.toFixed(2)}%</span> ` +
      `Vol ${fmtVolume(bar.volume)}`;
  }
}
