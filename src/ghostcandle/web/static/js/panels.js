// Feature availability, the model pickers and the training panel (the backtest panel is
// backtest_panel.js): controls that call the engine endpoints, updated by push.
import { get, post } from "./api.js";
import { staleEvent } from "./job_seq.js";
import { $, el, showError, showOk } from "./ui.js";

// Show each panel's engine availability; a missing engine part disables its controls and says why.
export function applyFeatures(features) {
  for (const [name, f] of Object.entries(features)) {
    const note = document.querySelector(`[data-feature="${name}"]`);
    const body = document.querySelector(`[data-feature-body="${name}"]`);
    if (!note || !body) continue;
    note.hidden = f.available;
    note.textContent = f.available ? "" : `Not available in this build: ${f.reason}.`;
    body.classList.toggle("disabled", !f.available);
    body.querySelectorAll("button, select, input").forEach((c) => (c.disabled = !f.available));
  }
}

export async function loadModels() {
  try {
    const res = await get("/api/models");
    const learning = res.models.filter((m) => m.learns);
    $("#train-model").replaceChildren(...learning.map((m) => el("option", { value: m.name }, m.name)));
    // live runs a learning model; the server's default (what a start naming none runs) is preselected
    const live = learning.map((m) =>
      el("option", { value: m.name }, m.name === res.default_live ? `${m.name} (default)` : m.name),
    );
    $("#live-model").replaceChildren(...live);
    $("#live-model").value = res.default_live;
    // a backtest can run any model, baselines included
    $("#bt-model").replaceChildren(
      ...res.models.map((m) => el("option", { value: m.name }, m.learns ? m.name : `${m.name} (baseline)`)),
    );
  } catch (e) {
    showError(e);
  }
}

export class TrainingPanel {
  constructor(annotator) {
    this.annotator = annotator;
    $("#train-start").addEventListener("click", () => this.start());
  }

  showCases() {
    const n = this.annotator.items.length;
    $("#train-cases").textContent = n
      ? `${n} annotated trade${n === 1 ? "" : "s"} of this symbol; training uses all stored test cases unless one is selected.`
      : "No annotated trades of this symbol yet.";
  }

  async start() {
    if ($("#train-selected").checked && !this.annotator.selectedId)
      return showError("“Only the selected trade” is ticked but no trade is selected: select one in the Annotations list, or untick it");
    const ids = $("#train-selected").checked ? [this.annotator.selectedId] : null;
    // sent as typed: the server names the field and the problem if it is not usable
    const raw = $("#train-epochs").value;
    const epochs = raw === "" || Number.isNaN(Number(raw)) ? raw : Number(raw);
    try {
      $("#train-epochs-table tbody").replaceChildren();
      const res = await post("/api/train-model", { model: $("#train-model").value, epochs, annotation_ids: ids });
      this.onEvent(res);
    } catch (e) {
      showError(e);
    }
  }

  onEvent(ev) {
    if (staleEvent(this, ev)) return;
    const line = $("#train-status");
    line.className = `status-line ${ev.status || ""}`;
    line.textContent = ev.status === "failed" ? `failed: ${ev.reason}` : ev.message || ev.status;
    $("#train-start").disabled = ev.status === "running";
    if (ev.event === "epoch") {
      line.textContent = `running: epoch ${ev.epoch}/${ev.epochs} · loss ${ev.loss.toFixed(4)}`;
      $("#train-epochs-table tbody").prepend(
        el(
          "tr",
          {},
          el("td", {}, `${ev.epoch}/${ev.epochs}`),
          el("td", {}, ev.loss.toFixed(4)),
          el("td", {}, `${(ev.accuracy * 100).toFixed(0)}%`),
          el(
            "td",
            { title: ev.held_out ? `${ev.held_out} newest annotation(s), never trained on` : "held out from 5 annotations on" },
            ev.held_out_accuracy == null ? "—" : `${(ev.held_out_accuracy * 100).toFixed(0)}% of ${ev.held_out}`,
          ),
          el("td", {}, `${ev.duration_s.toFixed(2)}s`),
        ),
      );
    }
    if (ev.status === "completed") showOk(ev.message);
  }
}
