// The Cluster tab (serve --ray): each symbol group's actor, the node and process that run it,
// its restarts and session, with Start / Stop per group. Hidden when the server runs without Ray.
// Loaded by its own script tag after main.js, so it wires its tab itself.
import { get, post } from "./api.js";
import { fmtTime } from "./format.js";
import { $, el, showError } from "./ui.js";

const MODES = ["none", "every_candle", "pivots_only", "manual"];
const POLL_MS = 2000;

export class ClusterPanel {
  constructor() {
    this.tab = el("button", { class: "tab", "data-tab": "cluster", title: "live groups as Ray actors (serve --ray)", hidden: true }, "Cluster");
    $(".tabs").append(this.tab);
    this.mode = el("select", { id: "cluster-mode", title: "training mode of a started session" }, ...MODES.map((m) => el("option", { value: m }, m)));
    this.body = el("div", { id: "cluster-actors", style: "overflow-x: auto" }, el("div", { class: "muted" }, "loading…"));
    const panel = el(
      "section",
      { class: "panel", id: "panel-cluster", hidden: true },
      el("div", { class: "row" }, el("label", {}, "Start in mode ", this.mode)),
      this.body,
    );
    $(".side").append(panel);
    this.tab.addEventListener("click", () => {
      document.querySelectorAll(".tab").forEach((x) => x.classList.toggle("active", x === this.tab));
      document.querySelectorAll(".panel").forEach((p) => (p.hidden = p !== panel));
      $(".side").classList.remove("wide");
    });
    this.timer = null;
    this.load();
  }

  async load() {
    let data;
    try {
      data = await get("/api/cluster");
    } catch (e) {
      this.body.replaceChildren(el("div", { class: "warnbox" }, e.message));
      return;
    }
    if (!data.enabled) return; // no Ray: the tab stays hidden
    this.tab.hidden = false;
    this.render(data.actors);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), POLL_MS);
  }

  render(actors) {
    const head = ["Group", "Node", "PID", "State", "Restarts", "Preds", ""];
    const rows = actors.map((a) => {
      const last = (a.last_candles || []).filter((c) => c.timeframe === "1s").map((c) => c.open_time);
      const counts = a.session && a.session.predictions ? Object.values(a.session.predictions).reduce((x, y) => x + y, 0) : 0;
      const running = a.state === "running";
      const button = el("button", { class: running ? "danger" : "", disabled: a.state === "unresponsive" || !a.ready }, running ? "Stop" : "Start");
      button.addEventListener("click", () => this.toggle(a.group, running, button));
      const when = last.length ? `last 1s candle ${fmtTime(Math.max(...last))} UTC` : "no candle yet";
      const about = [a.session ? a.session.session_id : "", when, a.error || ""].filter(Boolean).join(" · ");
      return el(
        "tr",
        { "data-group": a.group, title: about },
        el("td", {}, (a.symbols || []).join(", ")),
        el("td", { title: a.node_id || "" }, a.node_id ? a.node_id.slice(0, 6) : "—"),
        el("td", {}, a.pid == null ? "—" : String(a.pid)),
        el("td", { class: `state ${a.state}` }, a.state + (a.error ? " ⚠" : "")),
        el("td", {}, a.restarts == null ? "—" : String(a.restarts)),
        el("td", {}, String(counts)),
        el("td", {}, button),
      );
    });
    this.body.replaceChildren(
      el("table", { class: "grid compact", id: "cluster-table" }, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))), el("tbody", {}, ...rows)),
    );
  }

  async toggle(group, running, button) {
    button.disabled = true;
    try {
      const path = `/api/cluster/${encodeURIComponent(group)}/${running ? "stop" : "start"}`;
      await post(path, running ? {} : { mode: this.mode.value });
    } catch (e) {
      showError(e);
    }
    this.load();
  }
}

new ClusterPanel();
