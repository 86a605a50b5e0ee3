import { describe, expect, it } from 'vitest';
import { booleanFlag, choiceFlag, listFlag, numberFlag, parseFlags, stringFlag, UsageError, type FlagSpecs } from './flags.ts';

interface Settings {
  endOfTurnSilenceMs: number;
  engine: 'a' | 'b';
  transcripts: boolean;
  fast: boolean;
  device: string[];
  apiKey: string | undefined;
}

const SPECS: FlagSpecs<Settings> = {
  endOfTurnSilenceMs: numberFlag('silence', { env: 'EOT_MS', default: 700, min: 100, max: 10_000 }),
  engine: choiceFlag('engine', ['a', 'b'] as const, { env: 'ENGINE', default: 'a' }),
  transcripts: booleanFlag('transcripts', { default: true }),
  fast: booleanFlag('fast', { env: 'FAST' }),
  device: listFlag('device'),
  apiKey: stringFlag('key', { env: ['KEY_ONE', 'KEY_TWO'], envOnly: true }),
};

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseFlags('svc', 'test', SPECS, argv, env);

describe('parseFlags', () => {
  it('names each flag after its option; flag, then environment, then default', () => {
    expect(parse([]).values).toEqual({ endOfTurnSilenceMs: 700, engine: 'a', transcripts: true, fast: false, device: [], apiKey: undefined });
    expect(parse(['--end-of-turn-silence-ms', '500']).values.endOfTurnSilenceMs).toBe(500);
    expect(parse([], { EOT_MS: '900' }).values.endOfTurnSilenceMs).toBe(900);
    const both = parse(['--end-of-turn-silence-ms', '500'], { EOT_MS: '900' });
    expect(both.values.endOfTurnSilenceMs).toBe(500);
    expect(both.sourceOf('endOfTurnSilenceMs')).toBe('cli');
    expect(parse([], { EOT_MS: '900' }).sourceOf('endOfTurnSilenceMs')).toBe('env');
    expect(parse([]).sourceOf('engine')).toBe('default');
  });

  it('booleans, negated booleans, repeatable lists and secrets from the environment only', () => {
    const p = parse(['--no-transcripts', '--fast', '--device', 'a=mic', '--device', 'b=stdin'], { KEY_TWO: 'secret' });
    expect(p.values).toMatchObject({ transcripts: false, fast: true, device: ['a=mic', 'b=stdin'], apiKey: 'secret' });
    expect(parse([], { FAST: 'yes', KEY_ONE: 'first', KEY_TWO: 'second' }).values).toMatchObject({ fast: true, apiKey: 'first' });
    expect(() => parse(['--api-key', 'x'])).toThrow(UsageError);
  });

  it('a bad value is a UsageError naming the flag or the variable it came from', () => {
    expect(() => parse(['--end-of-turn-silence-ms', '5'])).toThrow(/--end-of-turn-silence-ms: expected a number from 100 to 10000, got "5"/);
    expect(() => parse([], { EOT_MS: 'soon' })).toThrow(/EOT_MS: expected a number/);
    expect(() => parse([], { ENGINE: 'c' })).toThrow(/ENGINE: expected one of a, b/);
    expect(() => parse(['--engine', 'c'])).toThrow(UsageError);
    expect(() => parse(['--nope'])).toThrow(/unknown option '--nope'/);
    expect(() => parse([], { FAST: 'maybe' })).toThrow(/FAST: expected true or false/);
  });
});
