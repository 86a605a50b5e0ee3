import { trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: string;
  instanceId: string;
  level: string;
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination: NodeJS.WritableStream | undefined;
}

export const LOGGER_DEFAULTS: Omit<LoggerOptions, 'service' | 'instanceId'> = {
  level: 'info',
  destination: undefined,
};

/**
 * One JSON line per event. The active span's trace id is mixed into every line so a log line
 * leads to its trace; actors add `deviceId` through child loggers.
 */
export function createLogger(options: Pick<LoggerOptions, 'service' | 'instanceId'> & Partial<LoggerOptions>): Logger {
  const opts = { ...LOGGER_DEFAULTS, ...options };
  return pino(
    {
      level: opts.level,
      base: { service: opts.service, instance: opts.instanceId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const ctx = trace.getActiveSpan()?.spanContext();
        return ctx && ctx.traceFlags !== undefined ? { traceId: ctx.traceId, spanId: ctx.spanId } : {};
      },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
