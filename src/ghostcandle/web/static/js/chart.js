// The candle chart: candles + volume, lazy history when panning back, markers, ghost candles.
import {
  createChart,
  CandlestickSeries,
  HistogramSeries,
  createSeriesMarkers,
  CrosshairMode,
} from "/vendor/lightweight-charts.standalone.production.mjs";
import { get } from "./api.js";
import { fmtPrice, fmtTime, fmtVolume } from "./format.js";

const PAGE = 1000;
const UP = "#26a69a";
const DOWN = "#ef5350";

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
    this.chart.subscribeCrosshairMove((p) => this.showLegend(p));
    this.chart.subscribeClick((p) => {
      if (p.time === undefined) return;
      const bar = this.byTime.get(p.time * 1000);
      if (bar) this.clickHandlers.forEach((h) => h(bar));
    });
    this.chart.timeScale().subscribeVisibleLogicalRangeChange((r) => {
      if (r && r.from < 30 && this.hasMore && !this.loading) this.loadOlder();
    });
  }

  onCandleClick(handler) {
    this.clickHandlers.push(handler);
  }

  async load(symbol, timeframe) {
    const gen = ++this.generation;
    this.symbol = symbol;
    this.timeframe = timeframe;
    this.loading = true;
    try {
      const q = new URLSearchParams({ symbol, timeframe, limit: String(PAGE) });
      const page = await get(`/api/candles?${q}`);
      if (gen !== this.generation) return;
      this.bars = page.candles;
      this.hasMore = page.has_more;
      this.index();
      this.chart.applyOptions({ timeScale: { secondsVisible: timeframe === "1s" } });
      this.render();
      this.ghosts.setData([]);
      this.chart.timeScale().setVisibleLogicalRange({
        from: Math.max(0, this.bars.length - 150),
        to: this.bars.length + 5,
      });
      this.showLegend({});
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
  }

  setGhosts(ghosts) {
    this.ghosts.setData(
      ghosts.map((g) => ({ time: g.time / 1000, open: g.open, high: g.high, low: g.low, close: g.close })),
    );
  }

  setMarkers(markers) {
    const sorted = [...markers].sort((a, b) => a.time - b.time);
    this.markers.setMarkers(sorted.map((m) => ({ ...m, time: m.time / 1000 })));
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
