// The paper account's minimum confidence and cooldown, changed from the live panel.
// The inputs show the account's stored settings unless the trader is editing them; Apply sends
// both (PATCH /api/paper/settings), and the server refuses a value out of range in one line.
import { patch } from "./api.js";
import { $, el, showError, showOk } from "./ui.js";

export class PaperSettings {
  constructor(onSaved) {
    this.onSaved = onSaved;
    this.account = null;
    this.conf = el("input", { id: "paper-min-confidence", type: "number", min: "0", max: "1", step: "0.05" });
    this.cool = el("input", { id: "paper-cooldown", type: "number", min: "0", step: "1" });
    this.unit = el("span", { class: "muted" }, "candles");
    this.apply = el("button", { id: "paper-settings-apply", type: "button" }, "Apply");
    this.box = el(
      "div",
      { id: "paper-settings", class: "row", title: "an action less sure than the minimum confidence counts as HOLD (flat); the cooldown is the fewest candles between two position changes" },
      el("label", {}, "Min confidence ", this.conf),
      el("label", {}, "Cooldown ", this.cool, " ", this.unit),
      this.apply,
    );
    for (const i of [this.conf, this.cool]) i.addEventListener("input", () => (this.dirty = true));
    this.apply.addEventListener("click", () => this.save());
    $("#live-paper-figures").after(this.box);
    this.dirty = false;
  }

  // Show the account's settings (not while the trader is changing them).
  show(p) {
    this.account = p;
    if (!p) return;
    this.unit.textContent = `candles of ${p.timeframe}`;
    if (this.dirty) return;
    this.conf.value = p.min_confidence ?? "";
    this.cool.value = p.cooldown ?? "";
  }

  async save() {
    const p = this.account;
    if (!p) return;
    const body = { session_id: p.session_id };
    if (this.conf.value !== "") body.min_confidence = Number(this.conf.value);
    if (this.cool.value !== "") body.cooldown = Number(this.cool.value);
    try {
      const res = await patch("/api/paper/settings", body);
      this.dirty = false;
      this.show(res);
      if (this.onSaved) this.onSaved(res);
      showOk(`paper account of ${p.session_id}: minimum confidence ${res.min_confidence}, cooldown ${res.cooldown} candles`);
    } catch (e) {
      showError(e);
    }
  }
}
