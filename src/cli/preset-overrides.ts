/**
 * `--chains`, `--weight-depth`, ... as overrides of a preset's hardware (the `perf` and `report`
 * commands): one option per PRESET_OVERRIDES entry, collected back into HwOverrides.
 */
import type { Command } from 'commander';
import { PRESET_OVERRIDES, type HwOverrides, type PresetOverrideKey } from '../targets/presets.ts';
import { ldPortCount, positiveInt } from './errors.ts';

const attr = (flag: string) => flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function addPresetOverrideOptions(cmd: Command, keys: readonly PresetOverrideKey[] = PRESET_OVERRIDES.map((x) => x.key)): Command {
  for (const x of PRESET_OVERRIDES) if (keys.includes(x.key)) cmd.option(`${x.flag} <n>`, `override the preset: ${x.what}`, x.key === 'ldPorts' ? ldPortCount(x.flag) : positiveInt(x.flag));
  return cmd;
}

/** The overrides given on the command line (options from addPresetOverrideOptions). */
export function presetOverrides(o: Record<string, unknown>): HwOverrides {
  const out: HwOverrides = {};
  for (const x of PRESET_OVERRIDES) {
    const v = o[attr(x.flag)];
    if (typeof v === 'number') out[x.key] = v;
  }
  return out;
}
