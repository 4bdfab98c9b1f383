import type { Design } from '../design.ts';
import { canonicalJson } from '../design.ts';
import type { ModuleDef } from '../module.ts';
import { shortLoc } from '../source.ts';
import type { Line } from './lower.ts';
import { render } from '../../templates.ts';
import { VERSION } from '../../version.ts';

export interface EmitOptions {
  /** Append `// file.ts:line` to lines that come from a user declaration (default true). */
  locators?: boolean;
}

function line(l: Line, locators: boolean): string {
  if (!locators || !l.loc || l.text.trim() === '') return l.text;
  return `${l.text}  // ${shortLoc(l.loc)}`;
}

/** One module as a Verilog-2005 file: header comment, ANSI port list, body. */
export function emitModule(def: ModuleDef, opts: EmitOptions = {}): string {
  const locators = opts.locators ?? true;
  const header = render('module-header', {
    version: VERSION,
    name: def.name,
    generator: def.generator,
    source: locators ? shortLoc(def.loc) : '',
    params: canonicalJson(def.params),
    description: def.description ? def.description.split('\n') : [],
  });
  if (def.extern) return `${header}${def.extern.source.endsWith('\n') ? def.extern.source : `${def.extern.source}\n`}`;
  const ports = def.lowered.ports.map((p, i) => {
    const sep = i < def.lowered.ports.length - 1 ? ',' : '';
    return line({ text: `  ${p.text}${sep}`, loc: p.loc }, locators);
  });
  const body = def.lowered.body.map((l) => line(l, locators));
  return `${header}module ${def.name} (\n${ports.join('\n')}\n);\n${body.length ? '\n' : ''}${body.join('\n')}${body.length ? '\n' : ''}\nendmodule\n`;
}

/** Every module under `top`, one file each (`<module>.v`, as Verilator's DECLFILENAME expects). */
export function emitDesign(design: Design, top: ModuleDef, opts: EmitOptions = {}): Map<string, string> {
  const files = new Map<string, string>();
  for (const def of design.reachable(top)) files.set(`${def.name}.v`, emitModule(def, opts));
  return files;
}
