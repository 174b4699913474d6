// Annotations: click the entry and the exit candle, review the trade, save; list, edit, delete.
import { del, get, patch, post } from "./api.js";
import { fmtDuration, fmtPct, fmtPrice, fmtTime, TF_MS } from "./format.js";
import { $, el, showError, showOk, showUndo } from "./ui.js";

export class Annotator {
  constructor(chart) {
    this.chart = chart;
    this.marking = false;
    this.entry = null;
    this.exit = null;
    this.items = [];
    this.selectedId = null;
    chart.onCandleClick((bar) => this.onClick(bar));
    $("#mark-toggle").addEventListener("click", () => this.toggle());
    $("#draft-save").addEventListener("click", () => this.save());
    $("#draft-cancel").addEventListener("click", () => this.cancel());
    $("#sel-save").addEventListener("click", () => this.saveSelected());
    $("#sel-delete").addEventListener("click", () => this.deleteSelected());
    $("#export").addEventListener("click", () => this.exportAll());
    $("#import").addEventListener("change", (e) => this.importFile(e.target.files[0]));
    // Enter in a notes box saves; Shift+Enter is a new line
    this.onEnter("#draft-notes", () => this.save());
    this.onEnter("#sel-notes", () => this.saveSelected());
  }

  onEnter(sel, action) {
    $(sel).addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
      e.preventDefault();
      action();
    });
  }

  get selected() {
    return this.items.find((a) => a.annotation_id === this.selectedId) || null;
  }

  toggle(on = !this.marking) {
    this.marking = on;
    this.entry = this.exit = null;
    $("#mark-toggle").classList.toggle("active", on);
    $("#draft").hidden = !on;
    this.renderDraft();
    this.renderMarkers();
  }

  cancel() {
    this.toggle(false);
  }

  onClick(bar) {
    if (!this.marking) return;
    if (this.chart.isForming(bar.time)) {
      // its close is not known yet: the trade could not be saved
      showError("That candle is still forming: pick a closed candle");
      return;
    }
    if (!this.entry || this.exit) {
      this.entry = bar;
      this.exit = null;
    } else if (bar.time <= this.entry.time) {
      this.entry = bar; // clicked before the entry: start over from here
    } else {
      this.exit = bar;
    }
    this.preview = null;
    this.renderDraft();
    this.renderMarkers();
    if (this.entry && this.exit) this.checkCase();
  }

  // Ask the server what saving would store: missing candles are rolled up or fetched first.
  async checkCase() {
    const key = `${this.entry.time}|${this.exit.time}`;
    this.previewKey = key;
    $("#draft-case").textContent = "checking the test case's candles…";
    $("#draft-case").className = "small muted";
    try {
      const p = await post("/api/annotations/preview", {
        symbol: this.chart.symbol,
        timeframe: this.chart.timeframe,
        entry_time: this.entry.time,
        exit_time: this.exit.time,
      });
      if (this.previewKey !== key) return;
      this.preview = p;
    } catch (e) {
      if (this.previewKey === key) showError(e);
    }
    this.renderDraft();
  }

  figures() {
    if (!this.entry || !this.exit) return null;
    const entry = this.entry.close;
    const exit = this.exit.close;
    const direction = exit >= entry ? "LONG" : "SHORT";
    const sign = direction === "LONG" ? 1 : -1;
    return {
      direction,
      pnl: (sign * (exit - entry) / entry) * 100,
      held: (this.exit.time - this.entry.time) / 1000,
    };
  }

  renderDraft() {
    const hint = $("#hint");
    if (!this.marking) {
      hint.hidden = true;
      return;
    }
    hint.hidden = false;
    hint.textContent = !this.entry
      ? "Click the ENTRY candle (the trade opens at its close)"
      : !this.exit
        ? "Now click the EXIT candle"
        : "Review the trade on the right, then press Enter to save";
    const tf = this.chart.timeframe;
    $("#draft-entry").textContent = this.entry
      ? `${fmtTime(this.entry.time + TF_MS[tf])} @ ${fmtPrice(this.entry.close)}`
      : "click a candle";
    $("#draft-exit").textContent = this.exit
      ? `${fmtTime(this.exit.time + TF_MS[tf])} @ ${fmtPrice(this.exit.close)}`
      : "click a later candle";
    const f = this.figures();
    const dir = $("#draft-direction");
    dir.textContent = f ? f.direction : "—";
    dir.className = f ? (f.direction === "LONG" ? "up" : "down") : "";
    const pnl = $("#draft-pnl");
    pnl.textContent = f ? fmtPct(f.pnl) : "—";
    pnl.className = f ? (f.pnl >= 0 ? "up" : "down") : "";
    $("#draft-held").textContent = f ? fmtDuration(f.held) : "—";
    $("#draft-save").disabled = !f;
    const box = $("#draft-case");
    const p = f ? this.preview : null;
    if (!p) {
      if (!f) box.textContent = "";
      return;
    }
    const short = Object.entries(p.completeness).filter(([, n]) => n < p.wanted);
    box.className = short.length ? "warnbox" : "small muted";
    box.textContent = short.length
      ? `Incomplete test case: ${short.map(([tf, n]) => `${tf} ${n}/${p.wanted}`).join(" · ")} closed candles ` +
        "(neither stored, rolled up nor fetched). Saving keeps what there is and records it."
      : `Test case complete: ${p.wanted} closed candles of each timeframe.`;
  }

  async save() {
    if (!this.entry || !this.exit) return;
    const btn = $("#draft-save");
    btn.disabled = true;
    try {
      const ann = await post("/api/annotations", {
        symbol: this.chart.symbol,
        timeframe: this.chart.timeframe,
        entry_time: this.entry.time,
        exit_time: this.exit.time,
        notes: $("#draft-notes").value.trimEnd(),
      });
      $("#draft-notes").value = "";
      this.toggle(false);
      await this.refresh();
      this.select(ann.annotation_id);
      showOk(`Saved ${ann.direction} ${fmtPct(ann.profit_loss_pct)}; test case annotation_${ann.annotation_id}.json written`);
    } catch (e) {
      btn.disabled = false;
      showError(e);
    }
  }

  async refresh() {
    if (!this.chart.symbol) return;
    try {
      this.items = await get(`/api/annotations?symbol=${encodeURIComponent(this.chart.symbol)}`);
    } catch (e) {
      showError(e);
      return;
    }
    if (this.selectedId && !this.selected) this.selectedId = null;
    this.renderList();
    this.renderSelected();
    this.renderMarkers();
  }

  renderList() {
    const body = $("#ann-table tbody");
    body.replaceChildren(
      ...this.items
        .slice()
        .reverse()
        .map((a) => {
          const tr = el(
            "tr",
            { "data-id": a.annotation_id, class: a.annotation_id === this.selectedId ? "selected" : "" },
            el("td", {}, fmtTime(a.decision_time)),
            el("td", { class: a.direction === "LONG" ? "up" : "down" }, a.direction),
            el("td", { class: a.profit_loss_pct >= 0 ? "up" : "down" }, fmtPct(a.profit_loss_pct)),
            el("td", {}, fmtDuration(a.holding_period_seconds)),
            el("td", {}, a.timeframe),
          );
          tr.addEventListener("click", () => this.select(a.annotation_id, true));
          return tr;
        }),
    );
    $("#ann-count").textContent = this.items.length ? `(${this.items.length})` : "";
    $("#ann-empty").hidden = this.items.length > 0;
  }

  select(id, scroll = false) {
    this.selectedId = id;
    this.renderList();
    this.renderSelected();
    this.renderMarkers();
    const a = this.selected;
    if (a && scroll) this.chart.scrollToTime(a.entry_time);
  }

  renderSelected() {
    const a = this.selected;
    $("#selected").hidden = !a;
    if (!a) return;
    $("#sel-id").textContent = a.annotation_id;
    const rows = [
      ["Entry", `${fmtTime(a.decision_time)} @ ${fmtPrice(a.entry_price)}`],
      ["Exit", `${fmtTime(a.decision_time + a.holding_period_seconds * 1000)} @ ${fmtPrice(a.exit_price)}`],
      ["P&L", fmtPct(a.profit_loss_pct)],
      ["Held", fmtDuration(a.holding_period_seconds)],
    ];
    $("#sel-figures").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    $("#sel-direction").value = a.direction;
    $("#sel-notes").value = a.notes;
    $("#sel-file").textContent = `test case: ${a.test_case_file}`;
  }

  async saveSelected() {
    const a = this.selected;
    if (!a) return;
    try {
      await patch(`/api/annotations/${a.annotation_id}`, {
        direction: $("#sel-direction").value,
        notes: $("#sel-notes").value.trimEnd(),
      });
      await this.refresh();
      showOk("Trade updated; its test case was rebuilt");
    } catch (e) {
      showError(e);
    }
  }

  // Delete the selected trade at once and offer Undo, which marks the same trade again.
  async deleteSelected() {
    const a = this.selected;
    if (!a) return;
    try {
      await del(`/api/annotations/${a.annotation_id}`);
      this.selectedId = null;
      await this.refresh();
      showUndo(`Trade ${a.direction} ${fmtPct(a.profit_loss_pct)} deleted with its test case.`, () => this.restore(a));
    } catch (e) {
      showError(e);
    }
  }

  async restore(a) {
    try {
      const ann = await post("/api/annotations", {
        symbol: a.symbol,
        timeframe: a.timeframe,
        entry_time: a.entry_time,
        exit_time: a.exit_time,
        direction: a.direction,
        notes: a.notes,
      });
      await this.refresh();
      this.select(ann.annotation_id);
      showOk(`Trade restored; test case annotation_${ann.annotation_id}.json written`);
    } catch (e) {
      showError(e);
    }
  }

  renderMarkers() {
    const markers = [];
    const d = TF_MS[this.chart.timeframe];
    const align = (t) => t - (t % d);
    for (const a of this.items) {
      const long = a.direction === "LONG";
      const sel = a.annotation_id === this.selectedId;
      const exitTime = a.decision_time + a.holding_period_seconds * 1000 - TF_MS[a.timeframe];
      markers.push({
        time: align(a.entry_time),
        position: long ? "belowBar" : "aboveBar",
        shape: long ? "arrowUp" : "arrowDown",
        color: sel ? "#f0b429" : long ? "#26a69a" : "#ef5350",
        text: `${a.direction} ${fmtPct(a.profit_loss_pct)}`,
      });
      markers.push({
        time: align(exitTime),
        position: long ? "aboveBar" : "belowBar",
        shape: "circle",
        color: sel ? "#f0b429" : "#9aa4b5",
        text: "exit",
      });
    }
    if (this.marking && this.entry)
      markers.push({ time: this.entry.time, position: "belowBar", shape: "arrowUp", color: "#f0b429", text: "entry?" });
    if (this.marking && this.exit)
      markers.push({ time: this.exit.time, position: "aboveBar", shape: "circle", color: "#f0b429", text: "exit?" });
    this.chart.setMarkers(markers.filter((m) => this.chart.byTime.has(m.time)));
  }

  async exportAll() {
    try {
      const data = await get("/api/test-cases/export");
      const blob = new Blob([JSON.stringify(data, null, 1)], { type: "application/json" });
      const a = el("a", { href: URL.createObjectURL(blob), download: "ghostcandle-test-cases.json" });
      a.click();
      URL.revokeObjectURL(a.href);
    } catch (e) {
      showError(e);
    }
  }

  async importFile(file) {
    if (!file) return;
    try {
      let data;
      try {
        data = JSON.parse(await file.text());
      } catch {
        throw new Error(`${file.name} is not JSON: choose a file made by Export`);
      }
      const cases = Array.isArray(data) ? data : data.test_cases;
      const made = await post("/api/test-cases/import", { test_cases: cases });
      await this.refresh();
      showOk(`Imported ${made.length} trade(s)`);
    } catch (e) {
      showError(e);
    } finally {
      $("#import").value = "";
    }
  }
}
