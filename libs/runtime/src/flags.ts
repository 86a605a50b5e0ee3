import { Command, Option } from 'commander';

/**
 * A service's settings, declared once: each is a command-line flag named after its option
 * (`endOfTurnSilenceMs` is `--end-of-turn-silence-ms`) and may also be set by environment
 * variables. Only `parseFlags` reads the environment, so libraries and actors never do.
 */
export interface FlagSpec<T> {
  description: string;
  /** Environment variables that set it when the flag is absent; the first one present wins. */
  env?: string | readonly string[] | undefined;
  default?: T | undefined;
  /** Shown in --help instead of the default value (e.g. "the pack's model"). */
  defaultText?: string | undefined;
  /** Text → value; throws an Error whose message says what was expected. */
  parse(raw: string, previous: T | undefined): T;
  /** No value: present means true. */
  boolean?: boolean | undefined;
  /** Repeatable: every occurrence goes through `parse` with the list so far. */
  repeatable?: boolean | undefined;
  /** Only from the environment (secrets: never on a command line, where `ps` shows it). */
  envOnly?: boolean | undefined;
  choices?: readonly string[] | undefined;
}

export type FlagSpecs<F> = { [K in keyof F]-?: FlagSpec<F[K]> };

/** A setting that is wrong: the process exits with this message and status 2, before connecting. */
export class UsageError extends Error {
  override name = 'UsageError' as const;
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const envNames = (spec: FlagSpec<unknown>): readonly string[] => (spec.env === undefined ? [] : typeof spec.env === 'string' ? [spec.env] : spec.env);

export function numberFlag(description: string, options: { env?: string; default?: number; min: number; max: number; integer?: boolean; defaultText?: string }): FlagSpec<number> {
  return { description, env: options.env, default: options.default, defaultText: options.defaultText, parse: numberIn(options.min, options.max, options.integer) };
}

export function stringFlag<T extends string | undefined = string | undefined>(description: string, options: { env?: string | readonly string[]; default?: T; defaultText?: string; envOnly?: boolean } = {}): FlagSpec<T> {
  return { ...options, description, parse: (raw) => raw as T };
}

export function choiceFlag<const C extends readonly string[]>(description: string, choices: C, options: { env?: string; default?: C[number]; defaultText?: string } = {}): FlagSpec<C[number]> {
  return {
    ...options,
    description,
    choices,
    parse: (raw) => {
      if (!(choices as readonly string[]).includes(raw)) throw new Error(`expected one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
      return raw as C[number];
    },
  };
}

export function booleanFlag(description: string, options: { env?: string; default?: boolean } = {}): FlagSpec<boolean> {
  return {
    description,
    env: options.env,
    default: options.default ?? false,
    boolean: true,
    parse: (raw) => {
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off|)$/i.test(raw)) return false;
      throw new Error(`expected true or false, got ${JSON.stringify(raw)}`);
    },
  };
}

export function listFlag(description: string, options: { env?: string } = {}): FlagSpec<string[]> {
  return { description, env: options.env, default: [], repeatable: true, parse: (raw, prev = []) => [...prev, raw] };
}

/** Parses a number with bounds. */
export function numberIn(min: number, max: number, integer = false) {
  return (raw: string): number => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new Error(`expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
}

export interface ParsedFlags<F> {
  values: F;
  /** Where each value came from, for settings whose default depends on another setting. */
  sourceOf(name: keyof F): 'cli' | 'env' | 'default';
}

/**
 * Flags from argv, then the environment for those not given, then the defaults. A bad value
 * throws UsageError naming the flag or the variable it came from.
 */
export function parseFlags<F>(name: string, description: string, specs: FlagSpecs<F>, argv: readonly string[], env: NodeJS.ProcessEnv): ParsedFlags<F> {
  const program = new Command(name).description(description).exitOverride().configureOutput({ writeErr: () => {} });
  const entries = Object.entries(specs) as [string, FlagSpec<unknown>][];
  for (const [key, spec] of entries) {
    if (spec.envOnly) continue;
    const names = envNames(spec);
    const shown = spec.defaultText ?? (spec.default === undefined || spec.boolean || (Array.isArray(spec.default) && spec.default.length === 0) ? undefined : String(spec.default));
    const help = `${spec.description}${names.length ? ` (env: ${names.join(', ')})` : ''}${shown === undefined ? '' : ` (default: ${shown})`}`;
    const negated = spec.boolean && spec.default === true;
    const option = new Option(spec.boolean ? `--${negated ? 'no-' : ''}${kebab(key)}` : `--${kebab(key)} <value>`, help);
    if (spec.choices) option.choices(spec.choices);
    if (!spec.boolean) {
      option.argParser((raw: string, prev: unknown) => {
        try {
          return spec.parse(raw, spec.repeatable ? (prev as never) : undefined);
        } catch (err) {
          throw new UsageError(`--${kebab(key)}: ${(err as Error).message}`);
        }
      });
    }
    program.addOption(option);
  }
  try {
    program.parse(argv as string[], { from: 'user' });
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const e = err as { code?: string; message: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') {
      process.stdout.write(program.helpInformation());
      process.exit(0);
    }
    throw new UsageError(e.message.replace(/^error: /, ''));
  }
  const given = program.opts<Record<string, unknown>>();
  const values: Record<string, unknown> = {};
  const sources: Record<string, 'cli' | 'env' | 'default'> = {};
  for (const [key, spec] of entries) {
    if (given[key] !== undefined && program.getOptionValueSource(key) === 'cli') {
      values[key] = given[key];
      sources[key] = 'cli';
      continue;
    }
    const variable = envNames(spec).find((n) => env[n] !== undefined && env[n] !== '');
    if (variable) {
      try {
        values[key] = spec.parse(env[variable]!, undefined);
      } catch (err) {
        throw new UsageError(`${variable}: ${(err as Error).message}`);
      }
      sources[key] = 'env';
      continue;
    }
    values[key] = spec.default;
    sources[key] = 'default';
  }
  return { values: values as F, sourceOf: (k) => sources[k as string]! };
}
