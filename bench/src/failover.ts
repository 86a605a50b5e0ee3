import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spread, type Spread } from './stats.ts';

const REPO = resolve(import.meta.dirname, '../..');

export interface FailoverResult {
  devices: number;
  /** Devices each instance owned before the kill, per service. */
  split: Record<string, number[]>;
  /** kill -9 of vad-1 to the take-over of each of its devices (ms). */
  failoverMs: Spread;
  moved: number;
}

function leaseLog(out: string, instance: string): { deviceId: string; at: number; acquired: boolean }[] {
  try {
    return readFileSync(join(out, 'logs', `${instance}.log`), 'utf8').split('\n').filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; deviceId?: string; time: string })
      .filter((l) => /device ownership/.test(l.msg) && l.deviceId)
      .map((l) => ({ deviceId: l.deviceId!, at: Date.parse(l.time), acquired: l.msg.startsWith('acquired') }));
  } catch {
    return [];
  }
}

/** Two vad and two session instances, N devices; vad-1 is killed with SIGKILL after the first answer (input: a shorter fixture for --quick). */
export async function benchFailover(devices: number, input?: string): Promise<FailoverResult> {
  const out = mkdtempSync(join(tmpdir(), 'voicebus-failover-'));
  const child = spawn(process.execPath, [join(REPO, 'demo/src/main.ts'), '--out', out, '--quiet-history', '--no-greeting', '--shared-capture', '--no-recording',
    '--devices', String(devices), '--instances', 'vad=2,session=2', ...(input ? ['--input', join(REPO, 'test/fixtures/speech', `${input}.wav`)] : [])], { env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let pid = 0;
  let killedAt = 0;
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    pid ||= Number(/\[demo\] started vad-1 \(pid (\d+)\)/.exec(buf)?.[1] ?? 0);
    if (!killedAt && pid && /voice-to-voice/.test(buf)) {
      killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
    }
  });
  child.stderr.on('data', () => {});
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0 || !killedAt) throw new Error(`failover run failed (code ${code}); see ${out}/logs`);
  const split: Record<string, number[]> = {};
  for (const service of ['vad', 'session']) {
    split[service] = [1, 2].map((i) => new Set(leaseLog(out, `${service}-${i}`).filter((l) => l.acquired && l.at < killedAt).map((l) => l.deviceId)).size);
  }
  const held = [...new Set(leaseLog(out, 'vad-1').filter((l) => l.acquired && l.at < killedAt).map((l) => l.deviceId))];
  const after = [...leaseLog(out, 'vad-2'), ...leaseLog(out, 'vad-1')].filter((l) => l.acquired && l.at > killedAt);
  const times = held.map((d) => after.find((l) => l.deviceId === d)).filter(Boolean).map((l) => l!.at - killedAt);
  return { devices, split, failoverMs: spread(times.length ? times : [NaN]), moved: times.length };
}
