// The leaderboard: every model of every session, each session's models on the same targets.
import { fmtDuration, fmtPct } from "./format.js";
import { el } from "./ui.js";

const HEAD = [
  ["#", "rank: skill against the strongest baseline (lower is better), then direction"],
  ["Model", "the model and its session"],
  ["TF", "timeframe predicted"],
  ["n", "resolved targets: within a session, those every model of it resolved"],
  ["Skill", "close MAE ÷ the strongest baseline's on the same targets (< 1 beats every baseline)"],
  ["Dir", "direction of the predicted move right"],
  ["Net P&L", "its actions through the broker, fees paid"],
  ["ECE", "expected calibration error of its confidences (0 = calibrated)"],
  ["Age", "optimiser steps of its weights · how long its session ran"],
];

function skillCell(e) {
  if (e.skill_vs_strongest == null) return el("td", { class: "muted" }, "—");
  const beats = e.skill_vs_strongest < 1;
  const sig = e.skill_p_value != null && e.skill_p_value < 0.05 ? "" : " (n.s.)";
  return el(
    "td",
    { class: beats ? "up" : e.skill_vs_strongest > 1 ? "down" : "", title: `vs ${e.strongest_baseline}, p=${e.skill_p_value == null ? "—" : e.skill_p_value.toPrecision(2)}` },
    `${e.skill_vs_strongest.toFixed(3)}${sig}`,
  );
}

function ageText(e) {
  const time = e.age_ms == null ? "" : fmtDuration(e.age_ms / 1000);
  if (!e.learns) return `never learns · ${time}`;
  return `${e.age_steps == null ? "—" : e.age_steps} steps · ${time}`;
}

function row(e) {
  const pnl = e.net_pnl == null ? "—" : `${e.net_pnl.toFixed(2)} (${fmtPct(e.net_return_pct)})`;
  return el(
    "tr",
    { class: e.learns ? "learns" : "baseline", "data-model": e.model, "data-session": e.session_id },
    el("td", {}, String(e.rank)),
    el("td", {}, el("div", {}, e.learns ? e.model : `${e.model} (baseline)`), el("div", { class: "muted small session-id", title: "session · its stored status" }, e.session_status ? `${e.session_id} · ${e.session_status}` : e.session_id)),
    el("td", {}, e.timeframe),
    el("td", { class: e.status === "ok" ? "" : "muted", title: e.status }, String(e.n)),
    skillCell(e),
    el("td", {}, e.direction_accuracy == null ? "—" : `${(e.direction_accuracy * 100).toFixed(0)}%`),
    el("td", { class: e.net_pnl > 0 ? "up" : e.net_pnl < 0 ? "down" : "" }, pnl),
    el("td", {}, e.calibration_ece == null ? "—" : e.calibration_ece.toFixed(3)),
    el("td", { class: "small" }, ageText(e)),
  );
}

export function showLeaderboard(box, board) {
  const only = el("input", { type: "checkbox", id: "lb-learning-only" });
  const body = el("tbody", {});
  const fill = () => body.replaceChildren(...board.entries.filter((e) => !only.checked || e.learns).map(row));
  only.addEventListener("change", fill);
  fill();
  const parts = [
    el("p", { class: "muted small" }, `${board.sessions.length} session(s). Within a session every model is scored on the targets all of its models resolved; across sessions compare the skill against each session's strongest baseline.`),
    el("label", { class: "check" }, only, "Learning models only"),
    el("table", { class: "grid compact", id: "leaderboard" }, el("thead", {}, el("tr", {}, ...HEAD.map(([h, t]) => el("th", { title: t }, h)))), body),
  ];
  if (!board.entries.length) parts.push(el("p", { class: "muted" }, "No resolved predictions yet."));
  for (const n of board.notes) parts.push(el("p", { class: "muted small" }, `note: ${n}`));
  box.replaceChildren(...parts);
}
