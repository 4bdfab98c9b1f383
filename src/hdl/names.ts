import { NameError } from './errors.ts';
import type { SourceLoc } from './source.ts';

// Verilog-2005 and SystemVerilog keywords, plus C++ keywords that Verilator rejects (SYMRSVDWORD).
const RESERVED = new Set(
  `always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default
defparam design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive
endspecify endtable endtask event for force forever fork function generate genvar highz0 highz1 if ifnone
incdir include initial inout input instance integer join large liblist library localparam macromodule
medium module nand negedge nmos nor noshowcancelled not notif0 notif1 or output parameter pmos posedge
primitive pull0 pull1 pulldown pullup pulsestyle_onevent pulsestyle_ondetect rcmos real realtime reg
release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small specify specparam
strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1 triand trior trireg
unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
bit byte logic int shortint longint enum struct union typedef class interface modport package import export
virtual extends static const ref string chandle void this super new null unique priority final alias
assert assume cover property sequence bind let type
auto break catch char continue delete do double explicit extern float friend goto inline long mutable
namespace operator private protected public register return short sizeof switch template throw try
typename using volatile`.split(/\s+/),
);

const IDENT = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Names declared in one module: every name valid, not reserved and unique. */
export class NameScope {
  private readonly used = new Map<string, SourceLoc | undefined>();

  constructor(private readonly moduleName: string) {}

  claim(name: string, loc: SourceLoc | undefined, what: string): string {
    if (!IDENT.test(name)) {
      throw new NameError(loc, `${what} name '${name}' in module '${this.moduleName}' is not a valid identifier (letters, digits, _; starting with a letter)`);
    }
    if (RESERVED.has(name)) throw new NameError(loc, `${what} name '${name}' in module '${this.moduleName}' is a Verilog/C++ keyword`);
    if (this.used.has(name)) {
      throw new NameError(loc, `${what} name '${name}' is declared twice in module '${this.moduleName}'`);
    }
    this.used.set(name, loc);
    return name;
  }

  /** A fresh name for a generator-made temporary (leading underscore marks it as such). */
  fresh(base: string): string {
    for (let i = 0; ; i++) {
      const n = `_${base}_${i}`;
      if (!this.used.has(n)) {
        this.used.set(n, undefined);
        return n;
      }
    }
  }

  has(name: string): boolean {
    return this.used.has(name);
  }
}

export function checkModuleName(name: string, loc: SourceLoc | undefined): void {
  if (!IDENT.test(name) || RESERVED.has(name)) throw new NameError(loc, `module name '${name}' is not a valid, non-reserved identifier`);
}
