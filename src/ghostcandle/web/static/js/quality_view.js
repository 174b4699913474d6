// The data-quality view: samples by source and status, completeness, quarantined, top setups.
import { fmtTime } from "./format.js";
import { el } from "./ui.js";

const STATUSES = ["ok", "quarantined", "excluded"];

function table(id, head, rows) {
  return el(
    "table",
    { class: "grid compact", id },
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => (c instanceof Node ? c : el("td", {}, String(c))))))),
  );
}

// One bar per completeness bin, its height the bin's share of the tallest.
function histogram(bins) {
  const peak = Math.max(1, ...bins.map((b) => b.samples));
  return el(
    "div",
    { class: "histogram", id: "quality-histogram" },
    ...bins.map((b) =>
      el(
        "div",
        { class: "bin", title: `${b.from.toFixed(1)}–${b.to.toFixed(1)}: ${b.samples} samples` },
        el("span", { class: "count" }, b.samples ? String(b.samples) : ""),
        el("div", { class: "bar", style: `height:${(b.samples / peak) * 100}%` }),
        el("span", { class: "label" }, b.from.toFixed(1)),
      ),
    ),
  );
}

export function showSampleStats(box, s) {
  const sources = Object.keys(s.by_source).sort();
  const counts = sources.map((src) => [src, ...STATUSES.map((st) => s.by_source[src][st] || 0)]);
  counts.push([el("td", { class: "muted" }, "all"), ...STATUSES.map((st) => s.by_status[st] || 0)]);
  const parts = [
    el("h3", {}, `${s.total} training sample${s.total === 1 ? "" : "s"} `, el("span", { class: "muted" }, "by source and status")),
    table("quality-sources", ["Source", ...STATUSES], counts),
    el("h3", { class: "gap" }, "Completeness ", el("span", { class: "muted" }, "(share of expected candles stored and complete)")),
    histogram(s.completeness_histogram),
  ];
  if (s.left_out_by_reason.length) {
    parts.push(
      el("h3", { class: "gap" }, "Left out, by reason"),
      table("quality-reasons", ["Status", "Reason", "Samples"], s.left_out_by_reason.map((r) => [r.status, r.reason, r.samples])),
    );
  }
  parts.push(el("h3", { class: "gap" }, `Quarantined `, el("span", { class: "muted" }, `(newest ${s.quarantined.length})`)));
  parts.push(
    s.quarantined.length
      ? table(
          "quality-quarantined",
          ["Decided (UTC)", "Source", "TF", "Reason"],
          s.quarantined.map((q) => [fmtTime(q.decision_time).slice(5, 16), q.source, q.timeframe, el("td", { class: "reason", title: q.reason }, q.reason)]),
        )
      : el("p", { class: "muted" }, "none: every sample still reads the candles it was recorded with"),
  );
  parts.push(el("h3", { class: "gap" }, "Top profitable setups"));
  parts.push(
    s.top_profitable_setups.length
      ? table(
          "quality-setups",
          ["Decided (UTC)", "Source", "TF", "Best", "Profitability"],
          s.top_profitable_setups.map((t) => [fmtTime(t.decision_time).slice(5, 16), t.source, t.timeframe, t.best_action || "—", t.profitability.toFixed(3)]),
        )
      : el("p", { class: "muted" }, "none yet"),
  );
  for (const n of s.notes) parts.push(el("p", { class: "muted small" }, `note: ${n}`));
  box.replaceChildren(...parts);
}
