/**
 * External memory image (HBM and DDR byte arrays) and its allocator, plus the `memory.bin` file
 * format: magic "FGMEM001", u64 HBM bytes, u64 DDR bytes (little-endian), then both images.
 */
export type Space = 'hbm' | 'ddr';

export interface Region {
  readonly space: Space;
  readonly addr: number;
  readonly bytes: number;
}

const ALIGN = 64;
const MAGIC = 'FGMEM001';

export class MemoryLayout {
  private top: Record<Space, number> = { hbm: 0, ddr: 0 };
  readonly regions = new Map<string, Region>();

  alloc(name: string, space: Space, bytes: number): Region {
    if (this.regions.has(name)) throw new Error(`memory region '${name}' allocated twice`);
    const addr = this.top[space];
    const r = { space, addr, bytes };
    this.top[space] = Math.ceil((addr + bytes) / ALIGN) * ALIGN;
    this.regions.set(name, r);
    return r;
  }

  get(name: string): Region {
    const r = this.regions.get(name);
    if (!r) throw new Error(`no memory region '${name}'`);
    return r;
  }

  size(space: Space): number {
    return this.top[space];
  }
}

export class MemoryImage {
  readonly hbm: Uint8Array;
  readonly ddr: Uint8Array;

  constructor(hbmBytes: number, ddrBytes: number) {
    this.hbm = new Uint8Array(hbmBytes);
    this.ddr = new Uint8Array(ddrBytes);
  }

  space(s: Space): Uint8Array {
    return s === 'hbm' ? this.hbm : this.ddr;
  }

  write(r: Region, data: Uint8Array, offset = 0): void {
    if (offset + data.length > r.bytes) throw new Error(`write of ${data.length} bytes at +${offset} overflows a ${r.bytes}-byte region`);
    this.space(r.space).set(data, r.addr + offset);
  }

  writeInt32(r: Region, values: ArrayLike<number>): void {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) dv.setInt32(i * 4, values[i]!, true);
    this.write(r, b);
  }

  readInt32(r: Region, count: number, offset = 0): Int32Array {
    const src = this.space(r.space);
    const dv = new DataView(src.buffer, src.byteOffset + r.addr + offset, count * 4);
    return Int32Array.from({ length: count }, (_, i) => dv.getInt32(i * 4, true));
  }

  serialize(): Uint8Array {
    const out = new Uint8Array(24 + this.hbm.length + this.ddr.length);
    out.set(new TextEncoder().encode(MAGIC), 0);
    const dv = new DataView(out.buffer);
    dv.setBigUint64(8, BigInt(this.hbm.length), true);
    dv.setBigUint64(16, BigInt(this.ddr.length), true);
    out.set(this.hbm, 24);
    out.set(this.ddr, 24 + this.hbm.length);
    return out;
  }

  static parse(bytes: Uint8Array, name = 'memory.bin'): MemoryImage {
    if (bytes.length < 24 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new RangeError(`${name}: not a flightgen memory image (magic ${MAGIC} missing)`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const h = Number(dv.getBigUint64(8, true));
    const d = Number(dv.getBigUint64(16, true));
    if (bytes.length !== 24 + h + d) throw new RangeError(`${name}: ${bytes.length} bytes, the header announces ${24 + h + d}`);
    const m = new MemoryImage(h, d);
    m.hbm.set(bytes.subarray(24, 24 + h));
    m.ddr.set(bytes.subarray(24 + h));
    return m;
  }
}
