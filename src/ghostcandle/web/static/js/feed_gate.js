// Start live needs an exchange feed: without one the button is disabled and says why.
import { $ } from "./ui.js";

function reasonLine() {
  let line = $("#live-start-why");
  if (!line) {
    line = document.createElement("div");
    line.id = "live-start-why";
    line.className = "warnbox";
    $("#live-start").closest(".row").after(line);
  }
  return line;
}

// Call after every live status: a stopped session without a feed cannot be started.
export function gateLiveStart(st) {
  const btn = $("#live-start");
  const line = reasonLine();
  const why = st.feed
    ? ""
    : st.engine_error
      ? `Start live needs the exchange feed, which failed: ${st.engine_error}`
      : "Start live needs an exchange feed, and none runs: start `ghostcandle serve --exchange-url URL` or `make demo`.";
  line.textContent = why;
  line.hidden = !why;
  if (why) btn.disabled = true;
  btn.title = why;
}
