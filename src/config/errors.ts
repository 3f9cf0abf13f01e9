// Configuration problems as values: where the bad setting came from (file:line:col, an
// environment variable or a flag), what was expected, and the nearest valid key for a typo.
// Start-up collects every problem before stopping, so one run shows them all.

export type Origin =
  | { readonly kind: 'file'; readonly file: string; readonly line: number; readonly col: number }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'flag'; readonly flag: string }
  | { readonly kind: 'default' };

export const DEFAULT_ORIGIN: Origin = Object.freeze({ kind: 'default' });

/** `starling.yaml:3:5`, `environment variable STARLING_LOG_LEVEL`, `flag --port`, `default`. */
export function formatOrigin(origin: Origin): string {
  switch (origin.kind) {
    case 'file':
      // Line 0: the file as a whole (it cannot be read, say).
      return origin.line === 0 ? origin.file : `${origin.file}:${origin.line}:${origin.col}`;
    case 'env':
      return `environment variable ${origin.name}`;
    case 'flag':
      return `flag ${origin.flag}`;
    case 'default':
      return 'default';
  }
}

export interface ConfigProblem {
  readonly origin: Origin;
  /** The key concerned, as `listeners[0].port`; '' for the file as a whole. */
  readonly key: string;
  /** The whole sentence after the origin, e.g. `limits.maxPacketSize: expected ...`. */
  readonly message: string;
  /** What a valid value looks like, when the problem is the value. */
  readonly expected?: string;
  /** The nearest valid key, when the problem is an unknown key. */
  readonly suggestion?: string;
}

export function formatProblem(p: ConfigProblem): string {
  return `${formatOrigin(p.origin)}: ${p.message}`;
}

/** Thrown by loadConfig: every problem found, one per line of the message. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}
