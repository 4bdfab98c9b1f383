import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

const DIR = fileURLToPath(new URL('../rtl-templates/', import.meta.url));
const cache = new Map<string, HandlebarsTemplateDelegate>();

/** Renders `rtl-templates/<name>.hbs` (plain text: no HTML escaping). */
export function render(name: string, context: object): string {
  let t = cache.get(name);
  if (!t) {
    t = Handlebars.compile(readFileSync(`${DIR}${name}.hbs`, 'utf8'), { noEscape: true, strict: true });
    cache.set(name, t);
  }
  return t(context);
}
