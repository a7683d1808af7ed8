/**
 * Number formatting for the card. Written out instead of `Intl.NumberFormat` so the card's bytes
 * never depend on the ICU data a Node build ships with.
 */

/** 27996 -> "27,996". */
export function formatInteger(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const sign = value < 0 ? "-" : "";
  const digits = String(Math.round(Math.abs(value)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Fixed decimals, with "-0.000" normalised to "0.000". */
export function formatDecimal(value: number, decimals: number): string {
  const text = value.toFixed(decimals);
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

/** 0.123456 -> "12.3%". */
export function formatPercent(share: number, decimals = 1): string {
  return `${formatDecimal(share * 100, decimals)}%`;
}

/** Bytes in decimal units as the Hub shows them: "1.23 GB", "512 kB", "17 B". */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${formatInteger(value)} B` : `${formatDecimal(value, value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}
