// Indicator panes under the price: RSI 14 (30/70 lines), MACD (line, signal, histogram), ATR 14.
// They share the chart's time axis; their data is the /api/indicators series the chart loads.
import { HistogramSeries, LineSeries, LineStyle } from "/vendor/lightweight-charts.standalone.production.mjs";
import { useViewStyles } from "./styles.js";
import { $, el } from "./ui.js";

const PANE_SHARE = 0.2;
const LINE = { lineWidth: 1, lastValueVisible: true, priceLineVisible: false, crosshairMarkerVisible: false };
// pane -> its series: [indicator column, series type, options]
const PANES = [
  ["rsi", [["rsi_14", LineSeries, { ...LINE, color: "#b48cff", title: "RSI 14" }]]],
  [
    "macd",
    [
      ["macd_hist", HistogramSeries, { lastValueVisible: false, priceLineVisible: false, title: "" }],
      ["macd", LineSeries, { ...LINE, color: "#4c8dff", title: "MACD" }],
      ["macd_signal", LineSeries, { ...LINE, color: "#f0b429", title: "signal" }],
    ],
  ],
  ["atr", [["atr_14", LineSeries, { ...LINE, color: "#36c5f0", title: "ATR 14" }]]],
];

export class IndicatorPanes {
  constructor(chart) {
    useViewStyles();
    this.chart = chart;
    this.on = false;
    this.series = {}; // column -> series, while the panes are shown
    this.button = el("button", { id: "panes-toggle", class: "toggle", title: "indicator panes under the price: RSI 14, MACD 12/26/9, ATR 14 (key O)" }, "Panes ", el("kbd", {}, "O"));
    $("#ind-toggle").after(this.button);
    this.button.addEventListener("click", () => this.toggle());
    $("#help table").append(el("tr", {}, el("td", {}, el("kbd", {}, "O")), el("td", {}, "indicator panes (RSI, MACD, ATR) on or off")));
    chart.onIndicatorData = () => this.draw();
  }

  toggle(on = !this.on) {
    this.on = on;
    this.button.classList.toggle("active", on);
    const lwc = this.chart.chart;
    if (on) {
      PANES.forEach(([, defs], i) => {
        for (const [col, type, opts] of defs) this.series[col] = lwc.addSeries(type, opts, i + 1);
      });
      for (const level of [30, 70]) {
        this.series.rsi_14.createPriceLine({ price: level, color: "rgba(160,170,190,0.4)", lineWidth: 1, lineStyle: LineStyle.Dashed, axisLabelVisible: false });
      }
      // the price keeps most of the height: each pane gets a share of PANE_SHARE of it
      lwc.panes().forEach((p, i) => p.setStretchFactor(i === 0 ? 1 : PANE_SHARE));
      this.draw();
    } else {
      // removing a pane's last series removes the pane: the price gets its height back
      for (const s of Object.values(this.series)) lwc.removeSeries(s);
      this.series = {};
    }
    return on;
  }

  // The panes' points: the loaded candles' indicator values, none where not yet defined.
  draw() {
    const d = this.chart.indicatorData;
    if (!this.on) return;
    for (const [col, s] of Object.entries(this.series)) {
      const pts = [];
      if (d && d[col]) {
        d.time.forEach((t, i) => {
          const v = d[col][i];
          if (v == null || !this.chart.byTime.has(t)) return;
          const p = { time: t / 1000, value: v };
          if (col === "macd_hist") p.color = v >= 0 ? "rgba(38,166,154,0.6)" : "rgba(239,83,80,0.6)";
          pts.push(p);
        });
      }
      s.setData(pts);
    }
  }

  // What the browser tests read: points per pane column and the panes' count.
  summary() {
    return {
      panes: this.chart.chart.panes().length,
      heights: this.chart.chart.panes().map((p) => p.getHeight()),
      points: Object.fromEntries(Object.entries(this.series).map(([c, s]) => [c, s.data().length])),
    };
  }
}
