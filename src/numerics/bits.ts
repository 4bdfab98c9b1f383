/**
 * Two's-complement integer helpers shared by every model in the project (reference models,
 * golden model, simulator harness). Values up to 53 bits use plain numbers (exact in a double);
 * wider ones use bigint.
 */

const POW2: number[] = Array.from({ length: 54 }, (_, i) => 2 ** i);

/** Wraps an integer (|x| < 2^53) to a signed `width`-bit value (width <= 53), as hardware does. */
export function wrapSigned(x: number, width: number): number {
  const m = POW2[width]!;
  let r = x % m;
  if (r < 0) r += m;
  return r >= m / 2 ? r - m : r;
}

/** Wraps an integer (|x| < 2^53) to an unsigned `width`-bit value (width <= 53). */
export function wrapUnsigned(x: number, width: number): number {
  const m = POW2[width]!;
  const r = x % m;
  return r < 0 ? r + m : r;
}

/** Reads a raw `width`-bit pattern as a signed value. */
export function toSignedBig(raw: bigint, width: number): bigint {
  const m = 1n << BigInt(width);
  const r = ((raw % m) + m) % m;
  return r >= m >> 1n ? r - m : r;
}

/** Reduces any integer to its raw `width`-bit pattern (two's complement for negatives). */
export function toRawBig(value: bigint, width: number): bigint {
  const m = 1n << BigInt(width);
  return ((value % m) + m) % m;
}

/** Inclusive range of a `width`-bit integer. */
export function intRange(width: number, signed: boolean): { min: number; max: number } {
  return signed ? { min: -(2 ** (width - 1)), max: 2 ** (width - 1) - 1 } : { min: 0, max: 2 ** width - 1 };
}

/** Packs integers into one bus value, element 0 in the least significant bits (as the DSL's pack()). */
export function packFields(values: ArrayLike<number>, width: number): bigint {
  let v = 0n;
  for (let i = values.length - 1; i >= 0; i--) v = (v << BigInt(width)) | toRawBig(BigInt(values[i]!), width);
  return v;
}
