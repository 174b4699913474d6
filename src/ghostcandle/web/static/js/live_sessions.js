// The live sessions side by side: the list picks the one the live panel and the ghosts show;
// each running one has its own Stop, and "New session" frees the form to start another.
import { $, el } from "./ui.js";

export class LiveSessions {
  // onPick(sessionId), onStop(sessionId), onNew(): what the panel does on a click
  constructor({ onPick, onStop, onNew }) {
    this.onPick = onPick;
    this.onStop = onStop;
    this.onNew = onNew;
    this.list = [];
  }

  // Show `sessions` (oldest first, from every live status), `selected` highlighted; `fresh`:
  // the form is set for a new session, so none is highlighted.
  show(sessions, selected, fresh) {
    this.list = sessions || [];
    const box = $("#live-sessions");
    const running = this.list.filter((s) => s.running);
    box.hidden = !this.list.length;
    const rows = this.list.map((s) => {
      const pick = el("button", { class: "pick", title: s.session_id }, `${s.model} · ${s.symbols.join(",")} · ${s.timeframes.join("+")}`);
      pick.addEventListener("click", () => this.onPick(s.session_id));
      const pill = el("span", { class: `pill ${s.running ? "on" : s.state === "failed" ? "failed" : "off"}` }, `${s.state} · ${s.mode}`);
      const row = el("div", { class: `live-session${!fresh && s.session_id === selected ? " selected" : ""}`, "data-session": s.session_id, "data-state": s.state }, pick, pill);
      if (s.running) {
        const stop = el("button", { class: "stop", title: `stop ${s.session_id}; the others keep running` }, "Stop");
        stop.addEventListener("click", () => this.onStop(s.session_id));
        row.append(stop);
      }
      return row;
    });
    const add = el("button", { id: "live-new", title: "set the form for another session beside the running ones" }, "+ New session");
    add.hidden = fresh || !running.length;
    add.addEventListener("click", () => this.onNew());
    box.replaceChildren(...rows, add);
  }

  // The id of the newest running session (null if none runs).
  newestRunning() {
    const running = this.list.filter((s) => s.running);
    return running.length ? running[running.length - 1].session_id : null;
  }
}
