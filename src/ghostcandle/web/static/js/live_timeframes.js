// The timeframes a live session predicts: one checkbox each, under the model picker.
// The boxes show what the picked model predicts unless told otherwise (a family: 1s and 1m;
// a saved checkpoint: the ones it reads); a start names timeframes only when the trader changed
// them, so an unchanged start is the one the server has always run.
import { $, el } from "./ui.js";

export const LIVE_TIMEFRAMES = ["1s", "1m", "1h", "1d"];
const USUAL = ["1s", "1m"];

export class LiveTimeframes {
  constructor(after) {
    this.box = el("fieldset", { id: "live-timeframes", class: "check-row", title: "the timeframes predicted, each with ghost candles and signals on its chart; hourly and daily windows need their history stored" });
    this.box.append(el("legend", {}, "Predict"));
    for (const tf of LIVE_TIMEFRAMES) {
      const input = el("input", { type: "checkbox", value: tf });
      input.addEventListener("change", () => (this.touched = true));
      const label = el("label", { class: "check" }, input, ` ${tf}`);
      label.style.display = "inline-block"; // one row of four boxes, not four rows
      label.style.marginRight = "1em";
      this.box.append(label);
    }
    after.after(this.box);
    this.usual = USUAL;
    this.touched = false;
    this.show(USUAL);
  }

  inputs() {
    return [...this.box.querySelectorAll("input")];
  }

  // Show ``tfs`` checked; ``usual``: they are what the picked model predicts by itself.
  show(tfs, { usual = false } = {}) {
    for (const i of this.inputs()) i.checked = tfs.includes(i.value);
    if (usual) {
      this.usual = [...tfs];
      this.touched = false;
    }
  }

  // The picker changed: a saved checkpoint predicts the timeframes it reads, a family 1s+1m.
  onPick(option) {
    const own = option && option.dataset.timeframes;
    this.show(own ? own.split(",") : USUAL, { usual: true });
  }

  checked() {
    return this.inputs().filter((i) => i.checked).map((i) => i.value);
  }

  // What the start request carries: nothing unless the trader changed the boxes.
  body() {
    const tfs = this.checked();
    const same = tfs.length === this.usual.length && tfs.every((t) => this.usual.includes(t));
    return this.touched && !same ? { timeframes: tfs } : {};
  }

  disable(on) {
    for (const i of this.inputs()) i.disabled = on;
  }
}

export const liveTimeframesAfter = () => $("#live-model").closest("label");
