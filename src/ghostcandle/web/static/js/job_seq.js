// A job's states carry an increasing seq: a late HTTP answer must not undo a newer pushed state.
export function staleEvent(panel, ev) {
  if (ev.seq == null) return false;
  if (panel.seq != null && ev.seq < panel.seq) return true;
  panel.seq = ev.seq;
  return false;
}
