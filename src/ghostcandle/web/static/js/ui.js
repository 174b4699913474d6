// Small page helpers: the error toast and element lookups.

export const $ = (sel) => document.querySelector(sel);

let toastTimer = null;

export function showError(err) {
  const el = $("#error");
  el.textContent = err && err.message ? err.message : String(err);
  el.className = "toast";
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 9000);
}

export function showOk(text) {
  const el = $("#error");
  el.textContent = text;
  el.className = "toast ok";
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 3500);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c);
  return node;
}

// Say what was done and offer to take it back: the Undo button lives as long as the toast.
export function showUndo(text, undo, ms = 10000) {
  const box = $("#error");
  const btn = document.createElement("button");
  btn.id = "undo";
  btn.textContent = "Undo";
  btn.addEventListener("click", async () => {
    box.hidden = true;
    await undo();
  });
  box.replaceChildren(`${text} `, btn);
  box.className = "toast ok";
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.hidden = true), ms);
}
