import { formatLoc, type SourceLoc } from './source.ts';

/** Base of every elaboration error: the message starts with the user's source line. */
export class ElaborationError extends Error {
  override name = 'ElaborationError';
  constructor(
    readonly loc: SourceLoc | undefined,
    readonly detail: string,
  ) {
    super(`${formatLoc(loc)}: ${detail}`);
  }
}

export class WidthMismatchError extends ElaborationError {
  override name = 'WidthMismatchError';
}
export class UndrivenError extends ElaborationError {
  override name = 'UndrivenError';
}
export class MultipleDriversError extends ElaborationError {
  override name = 'MultipleDriversError';
}
export class CombinationalLoopError extends ElaborationError {
  override name = 'CombinationalLoopError';
}
export class UnboundPortError extends ElaborationError {
  override name = 'UnboundPortError';
}
export class UnusedSignalError extends ElaborationError {
  override name = 'UnusedSignalError';
}
export class NameError extends ElaborationError {
  override name = 'NameError';
}
