// The depth ladder: the newest stored top-20 book of the chart's symbol over the chart, polled.
import { get } from "./api.js";
import { fmtDuration, fmtPrice, fmtTime } from "./format.js";
import { useViewStyles } from "./styles.js";
import { $, el } from "./ui.js";

const POLL_MS = 1000;

function side(levels, cls, peak) {
  return levels.map(([p, q]) =>
    el(
      "div",
      { class: `lvl ${cls}` },
      el("span", { class: "depth-bar", style: `width:${((q / peak) * 100).toFixed(1)}%` }),
      el("span", { class: "px" }, fmtPrice(p)),
      el("span", { class: "qty" }, q.toPrecision(4)),
    ),
  );
}

export class DepthView {
  constructor(chart) {
    useViewStyles();
    this.chart = chart;
    this.timer = null;
    this.box = el("div", { id: "depth", class: "depth", hidden: true });
    $(".chart-area").append(this.box);
    this.button = el("button", { id: "depth-toggle", class: "toggle", title: "order book ladder of this symbol: top 20 levels per side (key D)" }, "Depth ", el("kbd", {}, "D"));
    $("#piv-toggle").after(this.button);
    this.button.addEventListener("click", () => this.toggle());
    $("#help table").append(el("tr", {}, el("td", {}, el("kbd", {}, "D")), el("td", {}, "order book ladder on or off")));
  }

  get visible() {
    return !this.box.hidden;
  }

  toggle(on = !this.visible) {
    this.box.hidden = !on;
    this.button.classList.toggle("active", on);
    clearInterval(this.timer);
    this.timer = null;
    if (on) {
      this.refresh();
      this.timer = setInterval(() => this.refresh(), POLL_MS);
    }
    return on;
  }

  async refresh() {
    const symbol = this.chart.symbol;
    if (!symbol) return;
    try {
      this.show(await get(`/api/depth?symbol=${encodeURIComponent(symbol)}&levels=20`));
    } catch (e) {
      this.box.dataset.state = "missing";
      this.box.replaceChildren(el("h3", {}, `Order book · ${symbol}`), el("p", { class: "muted small" }, e.message));
    }
  }

  show(book) {
    const peak = Math.max(1e-12, ...book.bids.map((l) => l[1]), ...book.asks.map((l) => l[1]));
    const age = Math.max(0, (book.now - book.time) / 1000);
    this.box.dataset.state = "book";
    this.box.dataset.time = String(book.time);
    this.box.replaceChildren(
      el("h3", {}, `Order book · ${book.symbol} `, el("span", { class: "muted" }, `${fmtTime(book.time).slice(11)} UTC${age > 5 ? ` · ${fmtDuration(age)} old` : ""}`)),
      el("div", { class: "ladder asks" }, ...side(book.asks.slice().reverse(), "ask", peak)),
      el("div", { class: "spread" }, `spread ${fmtPrice(book.spread)} · mid ${fmtPrice(book.mid)}`),
      el("div", { class: "ladder bids" }, ...side(book.bids, "bid", peak)),
      el("div", { class: "muted small totals" }, `Σ bids ${book.bid_qty.toPrecision(5)} · Σ asks ${book.ask_qty.toPrecision(5)}`),
    );
  }
}
