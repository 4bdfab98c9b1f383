import { LD_PORTS_MAX } from '../arch/config.ts';
import { parsePattern, type Pattern } from '../sparsity/pattern.ts';

/** An error meant for the user: printed as one line, exit status 2, no stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses a strictly positive integer option, naming the option in the error. */
export function positiveInt(flag: string) {
  return (text: string): number => {
    if (!/^\+?\d+$/.test(text.trim())) throw new UsageError(`${flag} must be a positive integer, got '${text}'`);
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${text}'`);
    return n;
  };
}

/** Parses the LD read-port count: a power of two from 1 to LD_PORTS_MAX. */
export function ldPortCount(flag: string) {
  return (text: string): number => {
    const n = /^\+?\d+$/.test(text.trim()) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < 1 || n > LD_PORTS_MAX || (n & (n - 1)) !== 0) throw new UsageError(`${flag} must be a power of two from 1 to ${LD_PORTS_MAX}, got '${text}'`);
    return n;
  };
}

export function nonNegativeInt(flag: string) {
  return (text: string): number => {
    if (!/^\+?\d+$/.test(text.trim())) throw new UsageError(`${flag} must be a non-negative integer, got '${text}'`);
    const n = Number(text);
    if (!Number.isSafeInteger(n)) throw new UsageError(`${flag} must be a non-negative integer, got '${text}'`);
    return n;
  };
}

export function positiveNumber(flag: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\s*\+?\d+(\.\d+)?\s*$/.test(text) || !(n > 0)) throw new UsageError(`${flag} must be a positive number, got '${text}'`);
    return n;
  };
}

/** Parses a comma-separated list, each item checked by `item`. */
export function list<T>(flag: string, item: (s: string) => T) {
  return (text: string): T[] => {
    const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    if (parts.length === 0) throw new UsageError(`${flag} needs at least one value`);
    return parts.map(item);
  };
}

/** Parses `dense` or `N:M`, naming the option in the error. */
export function sparsityPattern(flag: string) {
  return (text: string): Pattern => {
    try {
      return parsePattern(text);
    } catch (e) {
      throw new UsageError(`${flag}: ${(e as Error).message}`);
    }
  };
}
