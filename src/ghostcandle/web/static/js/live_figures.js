// The live panel's figures: the shown session's paper account and its throughput metrics.
import { fmtMoney, fmtPct, fmtPrice } from "./format.js";
import { $, el } from "./ui.js";

// The paper account of the shown session's figures and positions.
export function showPaperFigures(p) {
  const box = $("#live-paper");
  box.hidden = !p;
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

// The session's throughput and the machine's load.
export function showMetrics(st) {
  const m = st.metrics;
  const rows = [["CPU load", st.cpu_percent == null ? "—" : `${st.cpu_percent.toFixed(0)}%`]];
  if (st.gpu_percent != null) rows.push(["GPU load", `${st.gpu_percent.toFixed(0)}%`]);
  if (m) {
    rows.unshift(
      ["Predictions / s", m.predictions_per_s.toFixed(2)],
      ["Training batches / min", m.training_batches_per_min.toFixed(1)],
      ["Predictions · resolved", `${m.predictions} · ${m.resolved}`],
    );
    // training behind the candles: the oldest waiting batches gave way to newer ones
    if (m.batches_superseded > 0) rows.splice(2, 0, ["Batches skipped (training behind)", `${m.batches_superseded}`]);
    // no raw accuracy: live_quality.js shows skill and net P&L with their sample sizes
  }
  $("#live-metrics").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}
