// The per-row numeric kernels of the cluster stage, in plain JavaScript so that the similarity
// workers (which run without a TypeScript loader) and the main thread run the very same code:
// normalising as scikit-learn does and quantising for the int8 prefilter. Types: row-kernels.d.ts.
//
// Each loop exists once per element type on purpose: V8 keeps a loop's element access
// monomorphic only when one function sees one array type (3-4x faster than a shared loop).

/**
 * sklearn's `normalize` on rows [from, to), in place: norm = sqrt(sum of squares) in the input
 * dtype, zero norms replaced by 1, then x / norm in the input dtype (a Float32Array store rounds
 * the double quotient exactly as a float32 division would). Marks zero rows in `zeroRow`.
 * Stops at the first row whose sum of squares is not finite, leaving it untouched.
 * @returns {{ maxAbs: number, badRow: number }} the largest |stored value| and the bad row or -1
 */
export function normalizeRows32(data, dims, from, to, zeroRow) {
  let maxAbs = 0;
  for (let r = from, base = from * dims; r < to; r++, base += dims) {
    const end = base + dims;
    let sum = 0;
    for (let k = base; k < end; k++) {
      const x = data[k];
      sum += x * x;
    }
    if (!Number.isFinite(sum)) return { maxAbs, badRow: r };
    let norm = Math.fround(Math.sqrt(Math.fround(sum)));
    if (norm === 0) {
      zeroRow[r] = 1;
      norm = 1;
    }
    let rowMax = 0;
    for (let k = base; k < end; k++) {
      const v = Math.fround(data[k] / norm); // the value the float32 store keeps
      data[k] = v;
      const a = Math.abs(v);
      if (a > rowMax) rowMax = a;
    }
    if (rowMax > maxAbs) maxAbs = rowMax;
  }
  return { maxAbs, badRow: -1 };
}

/** `normalizeRows32` for float64 rows (all arithmetic in doubles). */
export function normalizeRows64(data, dims, from, to, zeroRow) {
  let maxAbs = 0;
  for (let r = from, base = from * dims; r < to; r++, base += dims) {
    const end = base + dims;
    let sum = 0;
    for (let k = base; k < end; k++) sum += data[k] * data[k];
    if (!Number.isFinite(sum)) return { maxAbs, badRow: r };
    let norm = Math.sqrt(sum);
    if (norm === 0) {
      zeroRow[r] = 1;
      norm = 1;
    }
    for (let k = base; k < end; k++) {
      const v = data[k] / norm;
      data[k] = v;
      if (v > maxAbs) maxAbs = v;
      else if (-v > maxAbs) maxAbs = -v;
    }
  }
  return { maxAbs, badRow: -1 };
}

/** Adding and subtracting 1.5 * 2^52 rounds a double of magnitude < 2^51 to an integer, far faster than Math.round. */
const ROUNDER = 6755399441055744;

/**
 * Writes q + 128 = round(v * scale) + 128 for the unit values of rows [from, to) into `out` (same
 * layout; |v| * scale <= 127 by the choice of scale, so no clamping is needed).
 * @returns {number} the largest squared rounding-error norm of a row, |x - q / scale|^2
 */
export function quantizeRows32(unit, dims, from, to, scale, out) {
  const inverse = 1 / scale;
  let worst = 0;
  for (let r = from, at = from * dims; r < to; r++) {
    let err = 0;
    for (const end = at + dims; at < end; at++) {
      const v = unit[at];
      const q = v * scale + ROUNDER - ROUNDER;
      out[at] = q + 128;
      const e = v - q * inverse;
      err += e * e;
    }
    if (err > worst) worst = err;
  }
  return worst;
}

/** `quantizeRows32` for float64 unit rows. */
export function quantizeRows64(unit, dims, from, to, scale, out) {
  const inverse = 1 / scale;
  let worst = 0;
  for (let r = from, at = from * dims; r < to; r++) {
    let err = 0;
    for (const end = at + dims; at < end; at++) {
      const v = unit[at];
      const q = v * scale + ROUNDER - ROUNDER;
      out[at] = q + 128;
      const e = v - q * inverse;
      err += e * e;
    }
    if (err > worst) worst = err;
  }
  return worst;
}

/**
 * Column block of rows [start, start + width): those rows of `rowsU8` (q + 128) transposed to
 * int8 q in `blocks` as [dims, width] at offset start * dims, in 16-row strips to stay in cache.
 */
export function transposeBlock(rowsU8, blocks, start, width, dims) {
  const base = start * dims;
  for (let c0 = 0; c0 < width; c0 += 16) {
    const c1 = Math.min(width, c0 + 16);
    for (let k = 0; k < dims; k++) {
      let at = base + k * width + c0;
      for (let c = c0, src = base + c0 * dims + k; c < c1; c++, src += dims) blocks[at++] = rowsU8[src] - 128;
    }
  }
}

/** Exact (float64) dot product of rows i and j of float32 rows. */
export function dot32(unit, dims, i, j) {
  let s = 0;
  for (let a = i * dims, b = j * dims, end = a + dims; a < end; a++, b++) s += unit[a] * unit[b];
  return s;
}

/** Exact (float64) dot product of rows i and j of float64 rows. */
export function dot64(unit, dims, i, j) {
  let s = 0;
  for (let a = i * dims, b = j * dims, end = a + dims; a < end; a++, b++) s += unit[a] * unit[b];
  return s;
}

/** The unit rows a job describes (a view on its shared buffer). */
export function unitView(job) {
  const count = job.rows * job.dims;
  return job.dtype === "float32" ? new Float32Array(job.unit, job.byteOffset, count) : new Float64Array(job.unit, job.byteOffset, count);
}

/**
 * One thread's share of normalising all the rows of a job: takes `chunkRows`-row pieces from the
 * shared counter control[0] until none is left, so whichever thread is free does the work (the
 * calling thread while the workers still start); records each piece's largest |value| and first
 * bad row (-1 if none), then counts the piece in control[1] and wakes its waiters.
 */
export function normalizeShare(job) {
  const unit = unitView(job);
  const zeroRow = new Uint8Array(job.zeroRow);
  const control = new Int32Array(job.control);
  const maxAbs = new Float64Array(job.maxAbs);
  const badRow = new Int32Array(job.badRow);
  const pieces = Math.ceil(job.rows / job.chunkRows);
  for (;;) {
    const piece = Atomics.add(control, 0, 1);
    if (piece >= pieces) return;
    const from = piece * job.chunkRows;
    const to = Math.min(job.rows, from + job.chunkRows);
    const result =
      unit instanceof Float32Array
        ? normalizeRows32(unit, job.dims, from, to, zeroRow)
        : normalizeRows64(unit, job.dims, from, to, zeroRow);
    maxAbs[piece] = result.maxAbs;
    badRow[piece] = result.badRow;
    Atomics.add(control, 1, 1);
    Atomics.notify(control, 1);
  }
}

/**
 * One thread's share of quantising a job's unit rows, a `tile`-row block at a time from the
 * shared counter control[0]: q + 128 into `rowsU8`, the block transposed into `blocks`, its
 * largest squared rounding error into worst[block]; then counts the block in control[1].
 */
export function quantizeShare(job) {
  const unit = unitView(job);
  const rowsU8 = new Uint8Array(job.rowsU8);
  const blocks = new Int8Array(job.blocks);
  const control = new Int32Array(job.control);
  const worst = new Float64Array(job.worst);
  const count = Math.ceil(job.rows / job.tile);
  for (;;) {
    const block = Atomics.add(control, 0, 1);
    if (block >= count) return;
    const start = block * job.tile;
    const width = Math.min(job.tile, job.rows - start);
    worst[block] =
      unit instanceof Float32Array
        ? quantizeRows32(unit, job.dims, start, start + width, job.scale, rowsU8)
        : quantizeRows64(unit, job.dims, start, start + width, job.scale, rowsU8);
    transposeBlock(rowsU8, blocks, start, width, job.dims);
    Atomics.add(control, 1, 1);
    Atomics.notify(control, 1);
  }
}
