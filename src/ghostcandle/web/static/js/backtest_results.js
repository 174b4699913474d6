// What a finished backtest shows: its equity curve against buy-and-hold, its trades (as a
// table and as CSV), and two runs' settings and figures side by side.
import { fmtDrawdown, fmtMoney, fmtPct, fmtPrice, fmtTime } from "./format.js";
import { el } from "./ui.js";

const W = 340;
const H = 90;

// Draw the model's equity and buy-and-hold's on one scale (same start equity, same candles).
export function drawEquity(svg, model, hold) {
  const curves = [model || [], hold || []].filter((c) => c.length >= 2);
  if (!model || model.length < 2) {
    svg.setAttribute("hidden", ""); // an SVG element has no .hidden property
    return false;
  }
  const all = curves.flat();
  const vals = all.map((p) => p.value);
  const lo = Math.min(...vals);
  const span = Math.max(...vals) - lo || 1;
  const t0 = Math.min(...all.map((p) => p.time));
  const t1 = Math.max(...all.map((p) => p.time));
  const line = (pts) =>
    pts.map((p) => `${(((p.time - t0) / (t1 - t0 || 1)) * W).toFixed(1)},${(H - 4 - ((p.value - lo) / span) * (H - 8)).toFixed(1)}`).join(" ");
  const last = model[model.length - 1].value;
  let out = "";
  if (hold && hold.length >= 2)
    out += `<polyline class="bt-hold" fill="none" stroke="#9aa3b2" stroke-dasharray="3 2" stroke-width="1" points="${line(hold)}"/>`;
  out += `<polyline class="bt-model" fill="none" stroke="#4c8dff" stroke-width="1.5" points="${line(model)}"/>`;
  out += `<text x="4" y="12" fill="#7d8799" font-size="10">equity ${fmtPrice(last)}</text>`;
  svg.innerHTML = out;
  svg.removeAttribute("hidden");
  return true;
}

const signed = (v) => ({ class: v >= 0 ? "up" : "down" });

// One row per trade: times, side, fill prices, fees with cents, P&L and return.
export function tradeRows(trades) {
  return trades.map((t) =>
    el(
      "tr",
      {},
      el("td", {}, fmtTime(t.entry_time)),
      el("td", {}, fmtTime(t.exit_time)),
      el("td", { class: t.side === "LONG" ? "up" : "down" }, t.side),
      el("td", {}, fmtPrice(t.entry_price)),
      el("td", {}, fmtPrice(t.exit_price)),
      el("td", {}, fmtMoney(t.fees)),
      el("td", signed(t.pnl), fmtMoney(t.pnl)),
      el("td", signed(t.pnl_pct), fmtPct(t.pnl_pct)),
    ),
  );
}

export const CSV_COLUMNS = ["entry_time", "exit_time", "side", "size", "entry_price", "exit_price", "fees", "pnl", "return_pct", "exit_reason"];

// The trades as CSV: ISO times in UTC and the numbers at full precision (a spreadsheet rounds).
export function tradesCsv(trades) {
  const iso = (ms) => new Date(ms).toISOString();
  const rows = trades.map((t) =>
    [iso(t.entry_time), iso(t.exit_time), t.side, t.size, t.entry_price, t.exit_price, t.fees, t.pnl, t.pnl_pct, t.exit_reason].join(","),
  );
  return [CSV_COLUMNS.join(","), ...rows].join("\n") + "\n";
}

// Hand the CSV to the browser as a file download (nothing goes to the server).
export function downloadCsv(result) {
  const blob = new Blob([tradesCsv(result.trades)], { type: "text/csv" });
  const a = el("a", { href: URL.createObjectURL(blob) });
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  a.download = `backtest-${result.symbol.replace("/", "")}-${result.timeframe}-${result.model}-${day(result.start)}-${day(result.end)}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

const START_NAMES = { fresh: "fresh weights", annotations: "annotation-trained" };

// The rows of the comparison: each run's settings, then its figures.
const COMPARED = [
  ["Model", (r) => r.model],
  ["Range (UTC)", (r) => `${fmtTime(r.start).slice(0, 16)} → ${fmtTime(r.end).slice(0, 16)}`],
  ["Timeframe", (r) => r.timeframe],
  ["Fee", (r) => `${r.settings.fee_bps} bps`],
  ["Slippage", (r) => `${r.settings.slippage_bps} bps`],
  ["Min confidence", (r) => String(r.settings.min_confidence)],
  ["Long only", (r) => (r.settings.long_only ? "yes" : "no")],
  ["HOLD", (r) => (r.settings.hold === "keep" ? "keeps" : "closes")],
  ["Training", (r) => r.settings.train],
  ["Start", (r) => START_NAMES[r.settings.start_from] || r.settings.start_from],
  ["P&L", (r) => `${fmtPct(r.pnl_pct)} (${fmtMoney(r.pnl)})`],
  ["Buy & hold", (r) => fmtPct(r.buy_and_hold_pct)],
  ["Trades", (r) => String(r.trades.length)],
  ["Win rate", (r) => (r.win_rate == null ? "—" : `${(r.win_rate * 100).toFixed(0)}%`)],
  ["Max drawdown", (r) => fmtDrawdown(r.max_drawdown_pct)],
  ["Fees", (r) => fmtMoney(r.fees)],
];

// A row per setting or figure, the previous run beside the latest; differing values stand out.
export function compareRows(prev, last) {
  return COMPARED.map(([name, of]) => {
    const a = of(prev);
    const b = of(last);
    const diff = a !== b ? { class: "changed" } : {};
    return el("tr", diff, el("td", {}, name), el("td", {}, a), el("td", {}, b));
  });
}
