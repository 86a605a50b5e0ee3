import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

const run = promisify(execFile);
const script = join(import.meta.dirname, '../support/emit-telemetry.ts');
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
    const { stdout, stderr } = await run(process.execPath, [script], {
      env: cleanEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_EXPORTER_OTLP_PROTOCOL: protocol }),
    });
    expect(JSON.parse(stdout.trim())).toEqual({ exporting: true });
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
    // Listen where an unconfigured exporter would send by default, to catch any attempt.
    const hits: string[] = [];
    const trap = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end();
    });
    trap.listen(4318, '127.0.0.1');
    const listening = await Promise.race([
      once(trap, 'listening').then(() => true),
      once(trap, 'error').then(() => false),
    ]);
    try {
      const { stdout, stderr } = await run(process.execPath, [script], { env: cleanEnv({}) });
      expect(JSON.parse(stdout.trim())).toEqual({ exporting: false });
      expect(stderr).toBe('');
      if (listening) expect(hits).toEqual([]);
    } finally {
      trap.close();
    }
  });
});
