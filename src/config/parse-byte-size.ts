/**
 * "500MB" -> 500_000_000. Decimal units as `datasets`' `max_shard_size` ("500MB" = 500 * 10^6,
 * see ../shared/docs/hf-parquet-and-card.md); binary units (KiB, MiB, GiB) also accepted.
 */
const UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};

export function parseByteSize(value: number | string): number {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value <= 0) throw new Error(`must be a positive whole number of bytes, got ${value}`);
    return value;
  }
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/.exec(value.trim());
  if (!match) throw new Error(`cannot read "${value}" as a size (e.g. 500MB, 2GiB, 1048576)`);
  const bytes = Math.round(Number(match[1]) * UNITS[match[2] ?? ""]!);
  if (bytes <= 0) throw new Error(`must be more than 0 bytes, got "${value}"`);
  return bytes;
}
