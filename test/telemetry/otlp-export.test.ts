import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

const run = promisify(execFile);
const script = join(import.meta.dirname, '../support/emit-telemetry.ts');
const recorder = join(import.meta.dirname, '../support/record-connections.ts');

/** Runs the emitting child with every TCP connection it tries recorded. */
async function emit(extra: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'voicebus-otlp-'));
  try {
    const file = join(dir, 'connections.json');
    const { stdout, stderr } = await run(process.execPath, ['--import', recorder, script], { env: cleanEnv({ ...extra, RECORD_CONNECTIONS_FILE: file }) });
    return { stdout, stderr, connections: JSON.parse(readFileSync(file, 'utf8')) as { address: string; port: number }[] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const receivers: OtlpReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  return { ...env, ...extra };
}

describe('OTLP export from a service process', () => {
  it.each([
    ['http/json', 'application/json'],
    ['http/protobuf', 'application/x-protobuf'],
  ])('exports traces and metrics over %s to the configured endpoint', async (protocol, contentType) => {
    const receiver = new OtlpReceiver();
    receivers.push(receiver);
    const url = await receiver.start();
    const { stdout, stderr, connections } = await emit({ OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_EXPORTER_OTLP_PROTOCOL: protocol });
    expect(JSON.parse(stdout.trim())).toEqual({ exporting: true });
    // The recorder sees the exporter's connections (the control for the test below).
    expect(connections.map((c) => c.port)).toContain(Number(new URL(url).port));
    expect(stderr).toBe('');
    const traces = receiver.requests.filter((r) => r.path === '/v1/traces');
    const metricsRequests = receiver.requests.filter((r) => r.path === '/v1/metrics');
    expect(traces.length).toBeGreaterThan(0);
    expect(metricsRequests.length).toBeGreaterThan(0);
    expect(traces[0]!.contentType).toContain(contentType);
    if (protocol === 'http/json') {
      const span = receiver.spans.find((s) => s.name === 'test span')!;
      expect(span.service).toBe('emit-test');
      expect(span.attributes['voicebus.device.id']).toBe('dev1');
    }
  });

  it('with no endpoint configured it sends nothing and logs nothing', async () => {
    // Every TCP connection the process tries is recorded, wherever it would go (the default
    // http://localhost:4318 or anything else), so no port has to be free for this to hold.
    const { stdout, stderr, connections } = await emit({});
    expect(JSON.parse(stdout.trim())).toEqual({ exporting: false });
    expect(stderr).toBe('');
    expect(connections).toEqual([]);
  });
});
