import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

/**
 * ./voicebus compose-test may override only what cannot exist without a registry (Jaeger,
 * the NATS image), and users elsewhere keep the official base images.
 */
const INFRA = join(resolve(import.meta.dirname, '../..'), 'infra');

describe('the compose-test override and the Dockerfile\'s base images', () => {
  it('overrides only jaeger (a stand-in on its OTLP ports) and the nats nodes\' image', () => {
    const override = parse(readFileSync(join(INFRA, 'compose-test/docker-compose.override.yml'), 'utf8')) as { services: Record<string, Record<string, unknown>> };
    expect(Object.keys(override.services).sort()).toEqual(['jaeger', 'nats', 'nats-2', 'nats-3']);
    for (const node of ['nats', 'nats-2', 'nats-3']) expect(Object.keys(override.services[node]!), node).toEqual(['image']);
    expect(override.services.jaeger!.command).toEqual(['node', '/stand-in/otlp-stand-in.ts']);
    const standIn = readFileSync(join(INFRA, 'compose-test/otlp-stand-in.ts'), 'utf8');
    expect(standIn).toMatch(/listen\(4318,/);
    expect(standIn).toMatch(/listen\(4317,/);
  });

  it('takes its base images as build args whose defaults are the official node images', () => {
    const dockerfile = readFileSync(join(INFRA, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ARG BUILD_IMAGE=node:\$\{NODE_VERSION\}-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^ARG RUNTIME_IMAGE=node:\$\{NODE_VERSION\}-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^FROM \$\{BUILD_IMAGE\} AS build$/m);
    expect(dockerfile).toMatch(/^FROM \$\{RUNTIME_IMAGE\} AS runtime$/m);
  });

  it('names no outside host: the Debian mirror is read from the apt configuration at run time', () => {
    for (const file of ['../scripts/compose-test/base-images.sh', '../scripts/compose-test.sh', 'compose-test/docker-compose.override.yml']) {
      expect(readFileSync(join(INFRA, file), 'utf8'), file).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|jaeger|nats)[a-z0-9.-]+\.[a-z]{2,}/i);
    }
  });
});
