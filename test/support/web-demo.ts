import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TurnRow } from '../../demo/src/conversation-monitor.ts';
import { collectLines, permissionViolations, REPO } from './run-demo.ts';

/** `./voicebus demo --web` as a user starts it, serving its page until `stop()`. */
export interface WebDemo {
  url: string;
  out: string;
  lines: string[];
  /** The device's turns.jsonl rows as the demo keeps them up to date. */
  turnRows(device: string): TurnRow[];
  /** What its nats-server refused so far (pages, web service and services alike). */
  violations(): string[];
  stop(): Promise<void>;
}

/** Starts the demo with `--web` (and `args`, `env`) and resolves once it prints its page's address. */
export async function startWebDemo(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<WebDemo> {
  const out = mkdtempSync(join(tmpdir(), 'voicebus-web-demo-'));
  const demo: ChildProcess = spawn(process.execPath, [join(REPO, 'demo/src/main.ts'), '--web', '--web-port', '0', '--no-greeting', '--timeout-s', '300', '--out', out, '--quiet-history', ...args], {
    env: { ...process.env, CI: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let served: (url: string) => void = () => {};
  const lines = collectLines(demo, (line) => {
    const m = /^web: (\S+)$/.exec(line);
    if (m) served(m[1]!);
  });
  const url = await new Promise<string>((resolve, reject) => {
    served = resolve;
    demo.once('exit', (code) => reject(new Error(`demo exited (${code}) before its page was served:\n${lines.join('\n')}`)));
  });
  return {
    url,
    out,
    lines,
    turnRows(device) {
      const file = join(out, device, 'turns.jsonl');
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as TurnRow);
    },
    violations: () => permissionViolations(out),
    async stop() {
      if (demo.exitCode !== null) return;
      const exited = new Promise((r) => demo.once('exit', r));
      demo.kill('SIGINT');
      await exited;
    },
  };
}
