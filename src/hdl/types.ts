/** A hardware value type: a bit width and a signedness. */
export interface HwType {
  readonly width: number;
  readonly signed: boolean;
}

function checkWidth(width: number): void {
  if (!Number.isInteger(width) || width < 1 || width > 1 << 20) {
    throw new RangeError(`signal width must be an integer in [1, 2^20], got ${width}`);
  }
}

export function UInt(width: number): HwType {
  checkWidth(width);
  return { width, signed: false };
}

export function SInt(width: number): HwType {
  checkWidth(width);
  return { width, signed: true };
}

export const Bool: HwType = UInt(1);

export function typeName(t: HwType): string {
  return `${t.signed ? 'SInt' : 'UInt'}(${t.width})`;
}

export function sameType(a: HwType, b: HwType): boolean {
  return a.width === b.width && a.signed === b.signed;
}

/** Number of bits needed to hold `value` in the given signedness (at least 1). */
export function bitsFor(value: bigint, signed: boolean): number {
  if (!signed) {
    if (value < 0n) throw new RangeError(`negative value ${value} does not fit an unsigned type`);
    return Math.max(1, value.toString(2).length);
  }
  const mag = value < 0n ? -value - 1n : value;
  return (mag === 0n ? 0 : mag.toString(2).length) + 1;
}

/** Address width for a memory or selector of `n` entries (at least 1 bit). */
export function log2Ceil(n: number): number {
  let w = 0;
  while (2 ** w < n) w++;
  return Math.max(1, w);
}
