// The Learning tab: what the learning system knows — training runs, data quality, leaderboard.
// It builds its own tab and panel (the page's markup stays the trading workspace's).
import { get } from "./api.js";
import { fmtTime } from "./format.js";
import { showLeaderboard } from "./leaderboard_view.js";
import { showSampleStats } from "./quality_view.js";
import { useViewStyles } from "./styles.js";
import { $, el, showError } from "./ui.js";

const VIEWS = [
  ["runs", "Training runs"],
  ["quality", "Data quality"],
  ["leaderboard", "Leaderboard"],
];

// Draw [step, value] series as lines in one SVG, on shared axes, with a legend.
export function drawCurves(svg, series) {
  const pts = series.flatMap((s) => s.points);
  if (!pts.length) {
    svg.innerHTML = '<text x="8" y="20" fill="#7d8799" font-size="11">no curve recorded</text>';
    return;
  }
  const [w, h] = [340, 120];
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x) => 4 + ((x - x0) / (x1 - x0 || 1)) * (w - 8);
  const sy = (y) => h - 16 - ((y - y0) / (y1 - y0 || 1)) * (h - 30);
  const lines = series
    .filter((s) => s.points.length)
    .map(
      (s) =>
        `<polyline class="curve" data-series="${s.name}" fill="none" stroke="${s.color}" stroke-width="1.5" ` +
        `points="${s.points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ")}"/>`,
    );
  const legend = series
    .map((s, i) => `<text x="${8 + i * 110}" y="11" fill="${s.color}" font-size="10">${s.name}${s.points.length ? "" : " (none)"}</text>`)
    .join("");
  const axis =
    `<text x="4" y="${h - 3}" fill="#7d8799" font-size="9">step ${x0}</text>` +
    `<text x="${w - 4}" y="${h - 3}" fill="#7d8799" font-size="9" text-anchor="end">${x1}</text>` +
    `<text x="${w - 4}" y="11" fill="#7d8799" font-size="9" text-anchor="end">loss ${y0.toFixed(3)}–${y1.toFixed(3)}</text>`;
  svg.innerHTML = lines.join("") + legend + axis;
}

export class LearningPanel {
  constructor() {
    useViewStyles();
    const tab = el("button", { class: "tab", "data-tab": "learning", title: "training runs, data quality, leaderboard" }, "Learning");
    $(".tabs").append(tab);
    const nav = el(
      "div",
      { class: "subtabs", role: "tablist" },
      ...VIEWS.map(([key, label]) => el("button", { class: "subtab", "data-view": key }, label)),
    );
    const refresh = el("button", { id: "learn-refresh", title: "read again from the server" }, "Refresh");
    const views = VIEWS.map(([key]) => el("div", { class: "learn-view", id: `learn-${key}`, hidden: true }));
    const panel = el("section", { class: "panel", id: "panel-learning", hidden: true }, el("div", { class: "row learn-head" }, nav, refresh), ...views);
    $(".side").append(panel);
    this.view = "runs";
    this.loaded = new Set();
    nav.querySelectorAll(".subtab").forEach((b) => b.addEventListener("click", () => this.show(b.dataset.view)));
    refresh.addEventListener("click", () => this.load(this.view));
    tab.addEventListener("click", () => {
      $(".side").classList.add("wide");
      this.show(this.view);
    });
    // the other tabs give the chart its width back
    document.querySelectorAll(".tab").forEach((t) => {
      if (t !== tab) t.addEventListener("click", () => $(".side").classList.remove("wide"));
    });
  }

  show(view) {
    this.view = view;
    document.querySelectorAll(".subtab").forEach((b) => b.classList.toggle("active", b.dataset.view === view));
    document.querySelectorAll(".learn-view").forEach((v) => (v.hidden = v.id !== `learn-${view}`));
    if (!this.loaded.has(view)) this.load(view);
  }

  async load(view) {
    const box = $(`#learn-${view}`);
    box.replaceChildren(el("div", { class: "muted" }, "loading…"));
    try {
      if (view === "runs") await this.loadRuns(box);
      else if (view === "quality") showSampleStats(box, await get("/api/samples/stats"));
      else showLeaderboard(box, await get("/api/leaderboard"));
      this.loaded.add(view);
      box.dataset.loaded = "1";
    } catch (e) {
      box.replaceChildren(el("div", { class: "warnbox" }, e.message));
      showError(e);
    }
  }

  async loadRuns(box) {
    const { runs } = await get("/api/training-runs?limit=100");
    const detail = el("div", { id: "run-detail" });
    if (!runs.length) {
      box.replaceChildren(el("p", { class: "muted" }, "No training run is recorded yet: train on annotations, run `ghostcandle train`, or start a live session that learns."));
      return;
    }
    const rows = runs.map((r) => {
      const tr = el(
        "tr",
        { "data-run": r.run_id, title: r.run_id },
        el("td", {}, r.model),
        el("td", {}, r.kind),
        el("td", {}, String(r.steps)),
        el("td", { class: `conv ${r.convergence}` }, r.convergence),
        el("td", {}, r.value_per_1k_steps == null ? "—" : r.value_per_1k_steps.toFixed(3)),
        el("td", {}, fmtTime(r.started_at).slice(5, 16)),
      );
      tr.addEventListener("click", () => {
        box.querySelectorAll("tr.selected").forEach((x) => x.classList.remove("selected"));
        tr.classList.add("selected");
        this.showRun(detail, r.run_id);
      });
      return tr;
    });
    const head = ["Model", "Kind", "Steps", "Convergence", "Value/1k", "Started (UTC)"];
    box.replaceChildren(
      el("table", { class: "grid compact", id: "runs-table" }, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))), el("tbody", {}, ...rows)),
      detail,
    );
    rows[0].click();
  }

  async showRun(box, id) {
    try {
      const r = await get(`/api/training-runs/${encodeURIComponent(id)}`);
      const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("class", "curves");
      svg.setAttribute("viewBox", "0 0 340 120");
      svg.setAttribute("preserveAspectRatio", "none");
      drawCurves(svg, [
        { name: "training loss", color: "#4c8dff", points: r.train_curve },
        { name: "validation loss", color: "#f0b429", points: r.val_curve },
      ]);
      const s = r.samples;
      const figs = [
        ["Run", r.run_id],
        ["Status", `${r.status} · ${r.kind} · ${r.model}`],
        ["Steps", `${r.start_step} → ${r.start_step + r.steps} (${r.recorded_steps} recorded)`],
        ["Convergence", r.convergence],
        ["Value", r.value_per_1k_steps == null ? "—" : `${r.value_per_1k_steps.toFixed(4)} loss fallen / 1k steps`],
        ["Last loss", `train ${r.last_train_loss == null ? "—" : r.last_train_loss.toFixed(4)} · val ${r.last_val_loss == null ? "—" : r.last_val_loss.toFixed(4)}`],
        ["Samples", `${s.samples} · ${s.validated} validated · profitability ${s.mean_profitability == null ? "—" : s.mean_profitability.toFixed(3)}`],
      ];
      box.replaceChildren(
        el("h3", {}, "Loss curves"),
        svg,
        el("dl", { class: "figures wide-dt" }, ...figs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
      );
      box.dataset.run = id;
    } catch (e) {
      showError(e);
    }
  }
}
