// The shape of the schema: what a key can be (integer, boolean, string, one of a set, a
// mapping, a list of mappings), and the TypeScript type a schema's values have, inferred from
// the schema itself so the two cannot drift.

/**
 * What a change needs when the file is reloaded (SIGHUP): 'live' is applied to the running
 * broker (to connections made afterwards where the value is advertised in CONNACK), 'restart'
 * is reported and keeps its old value until the broker restarts.
 */
export type Reload = 'live' | 'restart';

interface LeafBase {
  readonly description: string;
  readonly reload: Reload;
  /** For the docs, when the default depends on other keys (and `default` is absent). */
  readonly defaultText?: string;
  /** The environment variable, where the name derived from the key reads badly. */
  readonly env?: string;
  /** A secret (a token): shown redacted wherever the effective config is shown. */
  readonly secret?: boolean;
}

export interface IntegerSpec extends LeafBase {
  readonly type: 'integer';
  readonly default?: number;
  readonly min: number;
  readonly max?: number;
  readonly unit?: string;
}

export interface BooleanSpec extends LeafBase {
  readonly type: 'boolean';
  readonly default?: boolean;
}

export interface StringSpec extends LeafBase {
  readonly type: 'string';
  readonly default?: string;
  /** A rule beyond "a non-empty string", with what to tell a user who breaks it. */
  readonly pattern?: { readonly regex: RegExp; readonly expected: string };
}

export interface EnumSpec extends LeafBase {
  readonly type: 'enum';
  readonly values: readonly (string | number)[];
  readonly default?: string | number;
}

export type LeafSpec = IntegerSpec | BooleanSpec | StringSpec | EnumSpec;

export interface ObjectSpec {
  readonly type: 'object';
  readonly description: string;
  readonly fields: Readonly<Record<string, Spec>>;
  /** Absent unless written (listeners[].tls); otherwise always present, defaults filled. */
  readonly optional?: boolean;
}

export interface ListSpec {
  readonly type: 'list';
  readonly description: string;
  readonly items: ObjectSpec;
  readonly reload: Reload;
  readonly minItems: number;
  readonly default: readonly Readonly<Record<string, unknown>>[];
}

export type Spec = LeafSpec | ObjectSpec | ListSpec;

// A key with a default (or a mapping, or a list) is always present; others are optional.
type ValueOf<S> = S extends { type: 'integer' }
  ? number
  : S extends { type: 'boolean' }
    ? boolean
    : S extends { type: 'string' }
      ? string
      : S extends { type: 'enum'; values: readonly (infer V)[] }
        ? V
        : S extends { type: 'object'; fields: infer F }
          ? ObjectValue<F>
          : S extends { type: 'list'; items: infer I }
            ? readonly ValueOf<I>[]
            : never;
type AlwaysPresent<S> = S extends { default: unknown }
  ? true
  : S extends { type: 'list' }
    ? true
    : S extends { type: 'object'; optional: true }
      ? false
      : S extends { type: 'object' }
        ? true
        : false;
type Flatten<T> = { [K in keyof T]: T[K] } & {};
export type ObjectValue<F> = Flatten<
  { readonly [K in keyof F as AlwaysPresent<F[K]> extends true ? K : never]: ValueOf<F[K]> } & {
    readonly [K in keyof F as AlwaysPresent<F[K]> extends true ? never : K]?: ValueOf<F[K]>;
  }
>;
