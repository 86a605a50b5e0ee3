import { Writable } from 'node:stream';
import { createLogger, type Logger } from './logger.ts';

/** A logger whose JSON lines are kept in memory, so tests can assert on what was logged. */
export function memoryLogger(service = 'test'): { log: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const log = createLogger({ service, instanceId: 'test', level: 'debug', destination });
  return {
    log,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Resolves once `count` calls were seen, or rejects with what was seen after `timeoutMs`. */
export function expectCalls<T>(count: number, timeoutMs = 10_000): { push: (v: T) => void; done: Promise<T[]>; seen: T[] } {
  const seen: T[] = [];
  let resolve!: (v: T[]) => void;
  let reject!: (e: Error) => void;
  const done = new Promise<T[]>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(() => reject(new Error(`expected ${count} calls, saw ${seen.length}`)), timeoutMs);
  return {
    seen,
    done,
    push(v: T) {
      seen.push(v);
      if (seen.length === count) {
        clearTimeout(timer);
        resolve(seen);
      }
    },
  };
}
