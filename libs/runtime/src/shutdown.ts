import type { Logger } from 'pino';

type Hook = () => unknown | Promise<unknown>;

/**
 * Graceful shutdown on SIGINT/SIGTERM: hooks run last-registered first (stop taking input,
 * finish actors, drain the bus, flush telemetry), then the process exits 0. A second signal
 * exits at once with 130, for the impatient.
 */
export class Shutdown {
  private readonly hooks: { name: string; hook: Hook }[] = [];
  private running: Promise<void> | undefined;
  private signalled = false;
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  add(name: string, hook: Hook): void {
    this.hooks.push({ name, hook });
  }

  installSignalHandlers(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        // Only a second *signal* is impatience; a shutdown the service began itself is not.
        if (this.signalled) {
          this.log.warn({ signal }, 'second signal: exiting now');
          process.exit(130);
        }
        this.signalled = true;
        this.log.info({ signal }, 'shutting down');
        void this.run().then(() => process.exit(0));
      });
    }
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const { name, hook } of [...this.hooks].reverse()) {
        try {
          await hook();
        } catch (err) {
          this.log.warn({ err, hook: name }, 'shutdown hook failed');
        }
      }
    })();
    return this.running;
  }
}
