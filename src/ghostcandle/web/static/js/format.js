// Number and time formatting shared by the panels (times are shown in UTC, like the data).

export function fmtTime(ms) {
  if (ms == null) return "—";
  return new Date(ms).toISOString().replace("T", " ").replace(/\.000Z$|Z$/, "");
}

export function fmtPrice(p) {
  if (p == null || Number.isNaN(p)) return "—";
  const abs = Math.abs(p);
  const digits = abs >= 1000 ? 2 : abs >= 1 ? 4 : 6;
  return p.toFixed(digits);
}

export function fmtPct(p) {
  if (p == null || Number.isNaN(p)) return "—";
  return `${p >= 0 ? "+" : ""}${p.toFixed(2)}%`;
}

export function fmtDuration(seconds) {
  if (seconds == null) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60 ? (s % 60) + "s" : ""}`.trim();
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function fmtVolume(v) {
  if (v == null) return "—";
  if (v >= 1e6) return (v / 1e6).toFixed(2) + "M";
  if (v >= 1e3) return (v / 1e3).toFixed(2) + "K";
  return v.toFixed(2);
}

export const TF_MS = { "1s": 1000, "1m": 60000, "1h": 3600000, "1d": 86400000 };

// Money in the account's currency, always with cents (fees of 0.0123 read $0.01).
export function fmtMoney(v) {
  if (v == null || Number.isNaN(v)) return "—";
  return `${v < 0 ? "-" : ""}$${Math.abs(v).toFixed(2)}`;
}

// A drawdown is a fall: shown negative, and 0.00% (never +0.00%) when there was none.
export function fmtDrawdown(pct) {
  if (pct == null || Number.isNaN(pct)) return "—";
  return Math.abs(pct) < 0.005 ? "0.00%" : `-${Math.abs(pct).toFixed(2)}%`;
}
