// The stylesheet of the views the modules build themselves (tabs, panes, ladder), linked once.
export function useViewStyles() {
  if (document.querySelector("link[data-views]")) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/static/views.css";
  link.dataset.views = "1";
  document.head.append(link);
}
