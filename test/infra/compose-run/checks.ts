/**
 * The checks of `./voicebus compose-test`, run against the stack scripts/compose-test.sh
 * started with `compose up -d` (devices profile). Each check prints what it saw; the first
 * that fails ends the run (exit 1) and the script tears the stack down.
 *   COMPOSE_TEST_COMPOSE  the compose command as a JSON array (project, files, env file)
 *   COMPOSE_TEST_PROJECT, NATS_URL, OBSERVER_CREDS, OTLP_URL, WEB_URL, COMPOSE_TEST_RUN_DIR,
 *   COMPOSE_TEST_RESULTS
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchBrowser, pageRecord } from '../../support/browser.ts';
import { BusObserver } from './bus-observer.ts';
import { deviceProbeSource } from './device-probe.ts';
import { Docker } from './docker.ts';
import { receivedSpans, tracesOfTurns } from './traces.ts';

const env = process.env;
const DEVICES = ['dev1', 'dev2', 'dev3'];
const docker = new Docker(env.COMPOSE_TEST_PROJECT!, JSON.parse(env.COMPOSE_TEST_COMPOSE!) as string[]);
const results: { check: string; ok: boolean; detail: string; ms: number }[] = [];
const say = (line: string) => console.log(`[compose-test] ${line}`);
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);

async function check(name: string, fn: () => Promise<string>): Promise<void> {
  const started = Date.now();
  say(`check: ${name} ...`);
  try {
    const detail = await fn();
    results.push({ check: name, ok: true, detail, ms: Date.now() - started });
    say(`  PASS ${name} (${((Date.now() - started) / 1000).toFixed(1)} s): ${detail}`);
  } catch (err) {
    const detail = (err as Error).message;
    results.push({ check: name, ok: false, detail, ms: Date.now() - started });
    say(`  FAIL ${name}: ${detail}`);
    throw err;
  }
}

/** Every turn the VAD ended since `since` was answered (turn.latency), in order, once. */
function answeredTurnByTurn(bus: BusObserver, since: number, atLeast: number): () => boolean {
  return () => DEVICES.every((d) => {
    const { ended, answered } = bus.turns(d, since);
    return answered.filter((t) => ended.includes(t)).length >= atLeast;
  });
}

function describeTurns(bus: BusObserver, since: number): string {
  return DEVICES.map((d) => {
    const { ended, answered } = bus.turns(d, since);
    const v2v = bus.of(d, 'turn.latency', since).map((e) => e.voiceToVoiceMs!).filter(Number.isFinite);
    return `${d} ${ended.length} ended/${answered.filter((t) => ended.includes(t)).length} answered (v2v p50 ${Math.round(median(v2v))} ms)`;
  }).join(', ');
}

function assertNoTurnTwice(bus: BusObserver, since: number): void {
  for (const d of DEVICES) {
    const answered = bus.turns(d, since).answered;
    if (new Set(answered).size !== answered.length) throw new Error(`${d}: a turn was answered twice (${answered.join(', ')})`);
    // In order: each answered turn is the one after the previously answered one.
    const ended = bus.turns(d, since).ended;
    const order = answered.filter((t) => ended.includes(t)).map((t) => ended.indexOf(t));
    if (order.some((v, i) => i > 0 && v < order[i - 1]!)) throw new Error(`${d}: answers out of turn order`);
  }
}

async function main(): Promise<void> {
  const runStart = Date.now();
  let bus!: BusObserver;
  let answeredTurns: string[] = [];

  await check('every service healthy by its own health check', async () => {
    const cs = await docker.waitHealthy(150_000, (cs) => ['nats', 'gemini-sim', 'vad', 'session', 'playback', 'web', ...DEVICES].every((s) => cs.some((c) => c.service === s && c.health === 'healthy')));
    return cs.map((c) => `${c.service}=${c.health ?? 'running (no health check)'}`).join(', ');
  });

  bus = await BusObserver.connect(env.NATS_URL!, env.OBSERVER_CREDS!);
  const phaseA = Date.now();

  await check('each device\'s conversation answered turn by turn', async () => {
    // The bundled conversation has four questions; every ended turn gets its answer.
    await bus.waitFor('four answered turns per device', answeredTurnByTurn(bus, phaseA, 4), 120_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${describeTurns(bus, phaseA)}`);
    });
    assertNoTurnTwice(bus, phaseA);
    answeredTurns = DEVICES.flatMap((d) => bus.turns(d, phaseA).answered);
    return describeTurns(bus, phaseA);
  });

  await check('one trace per user turn with spans of capture, vad, session and playback (OTLP stand-in)', async () => {
    const want = ['capture', 'playback', 'session', 'vad'];
    let traces = tracesOfTurns([], []);
    let counts: Record<string, number> = {};
    const until = Date.now() + 30_000;
    for (;;) {
      const got = await receivedSpans(env.OTLP_URL!);
      counts = got.counts;
      traces = tracesOfTurns(got.spans, answeredTurns);
      if (traces.every((t) => t.traceIds.length === 1 && want.every((s) => t.services.includes(s)))) break;
      if (Date.now() > until) {
        const bad = traces.filter((t) => t.traceIds.length !== 1 || !want.every((s) => t.services.includes(s)));
        throw new Error(`turns without one complete trace: ${bad.map((t) => `${t.turnId} traces=${t.traceIds.length} services=${t.services.join('+')}`).join('; ')} (stand-in counts ${JSON.stringify(counts)})`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const distinct = new Set(traces.flatMap((t) => t.traceIds)).size;
    if (distinct !== traces.length) throw new Error(`${traces.length} turns share ${distinct} traces`);
    return `${traces.length} turns -> ${distinct} traces, each with ${want.join('+')}; spans per trace ${Math.min(...traces.map((t) => t.spans))}-${Math.max(...traces.map((t) => t.spans))}; OTLP/HTTP requests ${counts.httpRequests}, undecodable ${counts.undecodable}`;
  });

  await check('a browser tab on the web service\'s page is a device: its turns answered and played by WebAudio (Chromium, fake microphone)', async () => {
    const wav = resolve(import.meta.dirname, '../../fixtures/speech/conversation.wav');
    const browser = await launchBrowser({ wav });
    try {
      const page = await browser.newPage();
      const since = Date.now();
      await page.goto(`${env.WEB_URL}/?device=web1&autostart=1`);
      // Two answered turns: the page got its credential from the web container, reached NATS
      // over the WebSocket listener, and the stack in the other containers answered it.
      await page.waitForFunction(() => document.querySelectorAll('#latency tbody tr').length >= 2, undefined, { timeout: 90_000 });
      const shot = join(env.COMPOSE_TEST_RUN_DIR ?? '.', 'web1-compose.png');
      await page.screenshot({ path: shot });
      const record = await pageRecord(page);
      const answered = bus.turns('web1', since).answered;
      const played = Object.values(record.playout?.turns ?? {}).filter((t) => (t.playedSamples ?? 0) > 0).length;
      if (answered.length < 2) throw new Error(`the bus saw ${answered.length} answered turns of web1`);
      if (played < 2) throw new Error(`WebAudio played ${played} answers`);
      if (record.malformed !== 0 || record.denied.length !== 0) throw new Error(`page: ${record.malformed} malformed messages, denied: ${record.denied.join('; ')}`);
      return `web1: ${answered.length} turns answered on the bus, ${played} played in the page (${record.playout!.playedSamples} samples), state "${record.state}"; screenshot ${shot}`;
    } finally {
      await browser.close();
    }
  });

  await check('a device\'s NATS user cannot publish or subscribe on another device\'s subjects (from its container)', async () => {
    const marker = `compose-test-spoof-${Date.now()}`;
    const dev1 = (await docker.of('dev1'))[0]!;
    const out = await docker.nodeIn(dev1.name, '/app/libs/runtime', deviceProbeSource('dev1', 'dev2', marker));
    const probe = JSON.parse(out.trim().split('\n').at(-1)!) as { user: string; got: { other: number; own: number }; errors: string[] };
    const pubDenied = probe.errors.filter((e) => /Permissions Violation for Publish/i.test(e)).length;
    const subDenied = probe.errors.filter((e) => /Permissions Violation for Subscription/i.test(e)).length;
    const leaked = bus.events.filter((e) => e.raw.includes(marker)).length;
    if (probe.user !== 'dev1') throw new Error(`probe ran as ${probe.user}`);
    if (probe.got.other !== 0 || leaked !== 0) throw new Error(`dev1 received ${probe.got.other} messages of dev2; ${leaked} spoofed messages reached dev2's subjects`);
    if (pubDenied < 3 || subDenied < 2) throw new Error(`expected 3 publish and 2 subscription violations, server reported ${pubDenied} and ${subDenied}: ${probe.errors.join(' | ')}`);
    if (probe.got.own === 0) throw new Error('positive control failed: dev1 heard none of its own playback events');
    return `in ${dev1.name} as ${probe.user}: ${pubDenied} publishes and ${subDenied} subscriptions on dev2 refused by the server, 0 spoofed messages reached dev2, own playback heard (${probe.got.own} events)`;
  });

  // A crash: the vad service's process is SIGKILLed (as the OOM killer or a fatal error would
  // end it), so the container exits on its own and its restart policy applies. `docker kill`
  // is not used here: Docker counts it as a manual stop, and `unless-stopped` then leaves the
  // container down (the scale-out check below shows that).
  await check('SIGKILL of the vad container\'s process mid-conversation: restarted by its policy, later turns answered', async () => {
    const before = bus.events.length;
    await bus.waitFor('a turn answered (mid-conversation)', () => bus.events.slice(before).some((e) => e.type === 'turn.latency'), 30_000);
    const vad = (await docker.of('vad'))[0]!;
    const pid = await docker.servicePid(vad.name);
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    const [back] = await docker.waitHealthy(90_000, (cs) => cs.some((c) => c.service === 'vad' && c.restartCount > vad.restartCount && c.health === 'healthy')).then((cs) => cs.filter((c) => c.service === 'vad'));
    const healthyAfter = Date.now() - killedAt;
    const restartedAt = back!.startedAt;
    await bus.waitFor('two turns per device answered after the restart', answeredTurnByTurn(bus, restartedAt, 2), 90_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${describeTurns(bus, restartedAt)}`);
    });
    assertNoTurnTwice(bus, restartedAt);
    return `SIGKILLed node (host pid ${pid}) in ${vad.name}; restart count ${vad.restartCount} -> ${back!.restartCount}, running again after ${((restartedAt - killedAt) / 1000).toFixed(1)} s, healthy after ${(healthyAfter / 1000).toFixed(1)} s; after it: ${describeTurns(bus, restartedAt)}`;
  });

  await bus.close();
  say('scale-out: compose down -v, then up again with --scale vad=2 --scale session=2');
  await docker.composeRun('down', '-v', '--remove-orphans', '--timeout', '10');
  await docker.composeRun('up', '-d', '--no-build', '--scale', 'vad=2', '--scale', 'session=2');

  await check('--scale vad=2 --scale session=2: the devices are split over the containers', async () => {
    const two = (s: string, cs: { service: string; health?: string }[]) => cs.filter((c) => c.service === s && c.health === 'healthy').length === 2;
    const cs = await docker.waitHealthy(150_000, (cs) => two('vad', cs) && two('session', cs) && DEVICES.every((d) => cs.some((c) => c.service === d)));
    bus = await BusObserver.connect(env.NATS_URL!, env.OBSERVER_CREDS!);
    const since = Date.now();
    await bus.waitFor('a turn answered per device', answeredTurnByTurn(bus, since, 1), 90_000);
    const lines: string[] = [];
    for (const service of ['vad', 'session']) {
      const inst = await bus.instances(service);
      const owned = inst.flatMap((i) => i.owned);
      const name = (host: string) => cs.find((c) => c.hostname === host)?.name ?? host;
      lines.push(`${service}: ${inst.map((i) => `${name(i.host)} owns [${i.owned.join(',')}]`).join('; ')}`);
      if (inst.length !== 2) throw new Error(`${service}: ${inst.length} instances answer $SRV.PING, expected 2`);
      if ([...owned].sort().join() !== DEVICES.join()) throw new Error(`${service}: devices owned ${owned.join(',')} (each of ${DEVICES.join(',')} exactly once expected): ${lines.at(-1)}`);
      if (inst.some((i) => i.owned.length === 0)) throw new Error(`${service}: one container owns no device: ${lines.at(-1)}`);
    }
    return lines.join(' | ');
  });

  await check('docker kill of a vad and a session container: their devices move to the other ones, and the conversations go on', async () => {
    const lines: string[] = [];
    const moved: { service: string; devices: string[]; killedInstance: string }[] = [];
    const killedNames: string[] = [];
    const cs = await docker.containers();
    for (const service of ['vad', 'session']) {
      const victim = (await bus.instances(service)).find((i) => i.owned.length > 0)!;
      const container = cs.find((c) => c.hostname === victim.host)!;
      moved.push({ service, devices: victim.owned, killedInstance: victim.instance });
      await docker.docker('kill', container.name);
      killedNames.push(container.name);
      lines.push(`killed ${container.name} (owned ${victim.owned.join(',')})`);
    }
    const killedAt = Date.now();
    const until = killedAt + 30_000;
    for (const m of moved) {
      for (;;) {
        const inst = await bus.instances(m.service).catch(() => []);
        const owners = m.devices.map((d) => inst.find((i) => i.owned.includes(d)));
        if (owners.every((o) => o && o.instance !== m.killedInstance)) {
          const newNames = [...new Set(owners.map((o) => cs.find((c) => c.hostname === o!.host)?.name ?? `${o!.host} (restarted)`))];
          lines.push(`${m.service}: ${m.devices.join(',')} now owned by ${newNames.join(',')} after ${((Date.now() - killedAt) / 1000).toFixed(1)} s`);
          break;
        }
        if (Date.now() > until) throw new Error(`${m.service}: ${m.devices.join(',')} not taken over within 30 s`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    await bus.waitFor('a turn per device answered after the kill', answeredTurnByTurn(bus, killedAt + 1, 1), 90_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${describeTurns(bus, killedAt)}`);
    });
    assertNoTurnTwice(bus, killedAt);
    lines.push(`after: ${describeTurns(bus, killedAt)}`);
    const killed = (await docker.containers()).filter((c) => killedNames.includes(c.name));
    lines.push(`the docker-killed containers (a manual stop for Docker): ${killed.map((c) => `${c.name} ${c.state}, restarts ${c.restartCount}`).join(', ')}`);
    return lines.join('; ');
  });
  await bus.close();

  // The cluster profile: three nats nodes, every service given all three, buckets with three
  // copies (infra/cluster.env, added to this run's env file: compose v1 reads one).
  say('cluster profile: compose down -v, then up with infra/cluster.env (three nats nodes)');
  await docker.composeRun('down', '-v', '--remove-orphans', '--timeout', '10');
  const envAt = docker.compose.indexOf('--env-file') + 1;
  const clusterEnv = join(env.COMPOSE_TEST_RUN_DIR!, 'cluster.env');
  writeFileSync(clusterEnv, `${readFileSync(docker.compose[envAt]!, 'utf8')}\n${readFileSync(resolve(import.meta.dirname, '../../../infra/cluster.env'), 'utf8')}`);
  const cluster = new Docker(docker.project, [...docker.compose.slice(0, envAt), clusterEnv, ...docker.compose.slice(envAt + 1), '--profile', 'cluster']);
  await cluster.composeRun('up', '-d', '--no-build');

  await check('cluster profile: three nats nodes, buckets with three copies; docker kill of one node mid-conversation, the turns go on', async () => {
    const nodes = ['nats', 'nats-2', 'nats-3'];
    await cluster.waitHealthy(150_000, (cs) => [...nodes, 'vad', 'session', 'playback', ...DEVICES].every((s) => cs.some((c) => c.service === s && c.health === 'healthy')));
    bus = await BusObserver.connect(env.NATS_URL!, env.OBSERVER_CREDS!);
    const since = Date.now();
    await bus.waitFor('a turn answered per device', answeredTurnByTurn(bus, since, 1), 90_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${describeTurns(bus, since)}`);
    });
    const info = (await bus.nc.request('$JS.API.STREAM.INFO.KV_voicebus_owners', '', { timeout: 5000 })).json<{ config?: { num_replicas?: number }; cluster?: { leader?: string; replicas?: unknown[] } }>();
    if (info.config?.num_replicas !== 3 || (info.cluster?.replicas?.length ?? 0) !== 2) throw new Error(`leases bucket: ${JSON.stringify({ config: info.config?.num_replicas, cluster: info.cluster })}`);
    // One node that is not the one the host's observer uses (only nats publishes its port).
    const victim = (await cluster.containers()).find((c) => c.service === 'nats-2')!;
    await cluster.docker('kill', victim.name);
    const killedAt = Date.now();
    await bus.waitFor('two turns per device answered after the kill', answeredTurnByTurn(bus, killedAt, 2), 120_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${describeTurns(bus, killedAt)}`);
    });
    assertNoTurnTwice(bus, killedAt);
    const lost = await cluster.composeRun('logs', '--no-color', 'vad', 'session', 'playback');
    const losses = lost.split('\n').filter((l) => l.includes('lost device ownership')).length;
    if (losses > 0) throw new Error(`${losses} lease losses in the services' logs`);
    await bus.close();
    return `leases bucket: 3 replicas (leader ${info.cluster?.leader}); killed ${victim.name}; after it: ${describeTurns(bus, killedAt)}; no lease lost`;
  });

  await check('compose down -v leaves no container, network or volume of the project', async () => {
    await cluster.composeRun('down', '-v', '--remove-orphans', '--timeout', '10');
    const label = `label=com.docker.compose.project=${docker.project}`;
    const left = {
      containers: (await docker.docker('ps', '-aq', '--filter', label)).split('\n').filter(Boolean).length,
      networks: (await docker.docker('network', 'ls', '-q', '--filter', label)).split('\n').filter(Boolean).length,
      volumes: (await docker.docker('volume', 'ls', '-q', '--filter', label)).split('\n').filter(Boolean).length,
    };
    if (left.containers + left.networks + left.volumes > 0) throw new Error(`left behind: ${JSON.stringify(left)}`);
    return `0 containers, 0 networks, 0 volumes labelled ${docker.project}`;
  });
  say(`checks took ${((Date.now() - runStart) / 1000).toFixed(0)} s`);
}

main()
  .catch((err: Error) => {
    // A failed check has said why already; anything else (a compose command) says it here.
    if (!results.some((r) => !r.ok)) say(`FAIL outside a check: ${err.message}`);
    process.exitCode = 1;
  })
  .finally(() => {
    if (env.COMPOSE_TEST_RESULTS) writeFileSync(env.COMPOSE_TEST_RESULTS, JSON.stringify(results, null, 1));
    // The NATS client may keep the loop alive after a failure.
    setTimeout(() => process.exit(), 500).unref();
  });
