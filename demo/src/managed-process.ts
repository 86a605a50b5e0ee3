import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface ManagedProcessOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string | undefined;
  /** Where stdout and stderr go (appended); undefined discards them. */
  logFile: string | undefined;
  /** Restart when it exits without being asked to. */
  restart: boolean;
  /** Give up after this many restarts within `restartWindowMs`. */
  maxRestarts: number;
  restartWindowMs: number;
  restartDelayMs: number;
  stopTimeoutMs: number;
}

export const MANAGED_PROCESS_DEFAULTS: Omit<ManagedProcessOptions, 'name' | 'command' | 'args'> = {
  env: process.env,
  cwd: undefined,
  logFile: undefined,
  restart: true,
  maxRestarts: 5,
  restartWindowMs: 60_000,
  restartDelayMs: 300,
  stopTimeoutMs: 8000,
};

export type ManagedProcessEvent =
  | { type: 'started'; name: string; pid: number | undefined; restarts: number }
  | { type: 'exited'; name: string; code: number | null; signal: NodeJS.Signals | null; expected: boolean }
  | { type: 'restarting'; name: string; restarts: number; delayMs: number }
  | { type: 'gave-up'; name: string; restarts: number }
  | { type: 'line'; name: string; line: string };

/**
 * One supervised child process, the way compose's `restart: on-failure` would run it: a crash
 * restarts it after a short delay (with a cap so a broken service does not spin), a stop asks
 * with SIGTERM and insists with SIGKILL. Output lines go to a log file and to listeners.
 */
export class ManagedProcess extends EventEmitter<{ event: [ManagedProcessEvent] }> {
  readonly options: ManagedProcessOptions;
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimes: number[] = [];
  private log: WriteStream | undefined;
  restarts = 0;

  constructor(options: Pick<ManagedProcessOptions, 'name' | 'command' | 'args'> & Partial<ManagedProcessOptions>) {
    super();
    this.options = { ...MANAGED_PROCESS_DEFAULTS, ...options };
    if (this.options.logFile) this.log = createWriteStream(this.options.logFile, { flags: 'a' });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    const { command, args, env, cwd, name } = this.options;
    const child = spawn(command, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let partial = '';
    const onData = (data: Buffer) => {
      this.log?.write(data);
      const text = partial + data.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line) this.emit('event', { type: 'line', name, line });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.stdin?.on('error', () => {});
    child.on('error', (err) => {
      this.log?.write(`[demo] could not start ${name}: ${err.message}\n`);
    });
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    this.emit('event', { type: 'started', name, pid: child.pid, restarts: this.restarts });
  }

  /** Standard input of the current child (e.g. stdin capture). */
  get stdin() {
    return this.child?.stdin ?? undefined;
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    const expected = this.stopping || (code === 0 && !this.options.restart);
    this.emit('event', { type: 'exited', name: this.options.name, code, signal, expected });
    if (this.stopping || !this.options.restart || code === 0) return;
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < this.options.restartWindowMs);
    if (this.restartTimes.length >= this.options.maxRestarts) {
      this.emit('event', { type: 'gave-up', name: this.options.name, restarts: this.restarts });
      return;
    }
    this.restartTimes.push(now);
    this.restarts++;
    const delayMs = this.options.restartDelayMs * 2 ** (this.restartTimes.length - 1);
    this.emit('event', { type: 'restarting', name: this.options.name, restarts: this.restarts, delayMs });
    setTimeout(() => {
      if (!this.stopping) this.start();
    }, delayMs).unref();
  }

  /** Sends a signal to the current child without stopping supervision (tests: kill -9). */
  kill(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), this.options.stopTimeoutMs);
      await exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => (this.log ? this.log.end(resolve) : resolve()));
  }
}
