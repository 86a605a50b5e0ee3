import { mkdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { faultsOption } from '@voicebus/gemini-live-sim';
import { Bus, connectNats, createLogger, DeviceOwnership, numberIn } from '@voicebus/runtime/internal';
import { ENDPOINTING_MODES, INTERRUPTION_STRATEGIES, TURN_DETECTION_MODES } from '@voicebus/protocol';
import { ConversationMonitor, type DeviceView } from './conversation-monitor.ts';
import { RUN_END, runEnded, runExitCode } from './run-end.ts';
import { MissedEvents } from './missed-events.ts';
import { LiveView } from './live-view.ts';
import { ManagedProcess, type ManagedProcessEvent } from './managed-process.ts';
import { writeDeviceFiles } from './outputs.ts';
import { listeningUrl, nodeCommand, REPO_ROOT, SERVICES, startStack, usesRealGemini, waitForLine, waitForServices, type ServiceName } from './stack.ts';
import { historyText, summaryTable } from './summary.ts';
import { prepareBusCredentials, type BusCredentials } from './bus-credentials.ts';
import { DemoFuzz } from './fuzz/demo-fuzz.ts';

const DEFAULT_INPUT = join(REPO_ROOT, 'test/fixtures/speech/conversation.wav');

function parseInstances(raw: string): Partial<Record<ServiceName, number>> {
  const out: Partial<Record<ServiceName, number>> = {};
  for (const part of raw.split(',').filter(Boolean)) {
    const [name, count] = part.split('=');
    if (!SERVICES.includes(name as ServiceName)) throw new Error(`--instances: unknown service ${JSON.stringify(name)} (one of ${SERVICES.join(', ')})`);
    out[name as ServiceName] = numberIn(1, 16, true)(count ?? '');
  }
  return out;
}

/** Checked here too, so a typo is a usage error rather than a simulator that fails to start; the text goes to it as given. */
function faultScript(raw: string): string {
  faultsOption(raw);
  return raw;
}

const program = new Command('voicebus demo')
  .description('Runs the whole voice stack locally: NATS, the model (simulator unless a Gemini key is set), vad, session, playback and capture devices.')
  .addOption(new Option('--devices <n>', 'number of capture devices').default(1).argParser(numberIn(1, 100, true)))
  .addOption(new Option('--input <wavs>', 'WAV file(s) the devices play as their microphones, comma-separated, assigned in turn').default(DEFAULT_INPUT))
  .option('--mic', 'use the real microphone through sox (one device)')
  .option('--speaker', 'play answers through sox instead of writing WAV files')
  .addOption(new Option('--out <dir>', 'output directory').default('out'))
  .addOption(new Option('--interruption <strategy>', 'barge-in strategy').choices(INTERRUPTION_STRATEGIES).default('immediate'))
  .addOption(new Option('--turn-detection <mode>', 'who detects the end of a user turn').choices(TURN_DETECTION_MODES).default('local'))
  .addOption(new Option('--endpointing <mode>', 'local turn detection: how the end of a turn is decided (fixed silence, adaptive to the user\'s pauses, speculative: the model starts at a pause, playback holds it)').choices(ENDPOINTING_MODES).default('fixed'))
  .option('--greeting <text>', 'the session opens by asking the model to introduce itself', 'Hello! Please introduce yourself briefly.')
  .option('--no-greeting', 'no greeting turn')
  .addOption(new Option('--instances <list>', 'instances per service, e.g. vad=2,session=2').default({}).argParser(parseInstances))
  .addOption(new Option('--nats-cluster <n>', 'a JetStream cluster of n nats-servers on loopback instead of one (services get every URL, KV buckets 3 replicas, a node that dies is restarted)').argParser(numberIn(3, 9, true)).conflicts('web'))
  .addOption(new Option('--nats-restart-delay-ms <ms>', 'a nats-server that dies is started again (same port, same store) after this long').default(500).argParser(numberIn(0, 600_000, true)))
  .option('--jaeger <url>', 'export traces to this OTLP/HTTP endpoint (e.g. http://localhost:4318)')
  .addOption(new Option('--model-delay-ms <ms>', 'simulator: time to first audio').argParser(numberIn(0, 60_000)))
  .addOption(new Option('--sim-fault <script>', 'simulator: faults at moments of the conversation, e.g. "drop@speech2+1000" or "goaway@speech1+800:timeLeftMs=200" (see libs/gemini-live-sim/README.md)').argParser(faultScript))
  .addOption(new Option('--timeout-s <s>', 'stop after this long even if the inputs have not ended').default(600).argParser(numberIn(1, 86_400)))
  .option('--quiet-history', 'do not print the conversation history at the end')
  .option('--shared-capture', 'one capture process for all devices (many devices, benchmarks)')
  .option('--no-recording', 'do not record the microphones (no conversation.wav): benchmarks, where the demo\'s recorder would add a third subscriber of every chunk to what the stack costs')
  .addOption(new Option('--fuzz [perSecond]', 'hostile messages on every subject of dev1 while its conversation runs (random bytes, wrong shapes, bad audio headers, bad and stale leases, floods, hostile sequence numbers); prints what each service refused, writes fuzz.json, exits 5 if one got through or anything restarted').preset(100).argParser(numberIn(1, 10_000)).conflicts(['web', 'mic']))
  .addOption(new Option('--fuzz-seed <n>', 'the fuzzer\'s seed (the same seed draws the same messages)').default(1).argParser(numberIn(0, 2 ** 31, true)))
  .option('--web', 'browsers are the devices: start the web service (prints "web: <url>"); runs until Ctrl-C or --timeout-s')
  .addOption(new Option('--web-port <port>', 'HTTP port of the web page (0: any free port)').default(8080).argParser(numberIn(0, 65_535, true)));

async function main(): Promise<void> {
  const opts = program.parse().opts<{
    devices: number; input: string; mic?: boolean; speaker?: boolean; out: string; interruption: string; turnDetection: string; endpointing: string;
    greeting: string | false; instances: Partial<Record<ServiceName, number>>; jaeger?: string; modelDelayMs?: number; simFault?: string; timeoutS: number;
    quietHistory?: boolean; sharedCapture?: boolean; recording: boolean; web?: boolean; webPort: number; natsCluster?: number; fuzz?: number; fuzzSeed: number; natsRestartDelayMs: number;
  }>();
  const outDir = resolve(opts.out);
  const logDir = join(outDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const inputs = opts.input.split(',').filter(Boolean).map((f) => resolve(f));
  for (const f of inputs) if (!opts.mic && !existsSync(f)) throw new Error(`--input ${f} does not exist`);
  // With --web the devices are the browsers that connect; none is started here.
  const deviceIds = opts.web ? [] : Array.from({ length: opts.mic ? 1 : opts.devices }, (_, i) => `dev${i + 1}`);
  const inputOf = (i: number) => inputs[i % inputs.length]!;

  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' };
  if (opts.jaeger) {
    env.OTEL_EXPORTER_OTLP_ENDPOINT = opts.jaeger;
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??= 'http/protobuf';
  }
  const monitorRef: { current?: ConversationMonitor } = {};
  const view = new LiveView(() => [...(monitorRef.current?.devices.values() ?? [])]);
  const processRestarts: Record<string, number> = {};
  const onProcessEvent = (e: ManagedProcessEvent) => {
    if (e.type === 'restarting') processRestarts[e.name] = e.restarts;
    if (e.type === 'started') view.note(`[demo] started ${e.name} (pid ${e.pid})`);
    else if (e.type === 'restarting') view.note(`[demo] ${e.name} died; restarting it (restart ${e.restarts})`);
    else if (e.type === 'gave-up') view.note(`[demo] ${e.name} keeps dying; gave up after ${e.restarts} restarts (see ${join(logDir, e.name + '.log')})`);
    else if (e.type === 'exited' && !e.expected && e.code !== 0) view.note(`[demo] ${e.name} exited (code ${e.code ?? e.signal})`);
  };

  const model = usesRealGemini(env) ? 'Gemini Live (Google)' : 'the Gemini Live simulator';
  const devicesText = opts.web ? 'browser devices' : `${deviceIds.length} device(s), ${opts.mic ? 'microphone' : inputs.join(', ')}`;
  console.log(`voicebus demo: ${devicesText}, model: ${model}, interruption: ${opts.interruption}`);
  // The bus runs in operator mode: every process and every page has a credential of its own,
  // and a device's (a capture process's, a page's) allows only its own device's subjects.
  const auth: BusCredentials = await prepareBusCredentials({ websocket: Boolean(opts.web) });
  console.log(`outputs in ${outDir}, service logs in ${logDir}`);

  const stack = await startStack({
    logDir,
    env,
    instances: opts.instances,
    simArgs: [
      ...(opts.modelDelayMs !== undefined ? ['--first-audio-delay-ms', String(opts.modelDelayMs)] : []),
      ...(opts.simFault ? ['--fault', opts.simFault] : []),
    ],
    onEvent: onProcessEvent,
    natsConfigText: auth.natsConfigText,
    serviceEnv: auth.serviceEnv,
    natsCluster: opts.natsCluster,
    natsRestartDelayMs: opts.natsRestartDelayMs,
    onNote: (text) => view.note(text),
    serviceArgs: {
      vad: ['--endpointing', opts.endpointing],
      session: [
        '--interruption', opts.interruption,
        '--turn-detection', opts.turnDetection,
        ...(opts.greeting ? ['--greeting', opts.greeting] : []),
      ],
      playback: ['--sink', opts.speaker ? 'speaker' : `wav:${outDir}`],
    },
  });

  const log = createLogger({ service: 'demo', instanceId: 'demo', level: 'warn' });
  const nc = await connectNats({ servers: stack.natsUrl, name: 'demo-monitor', creds: auth.observerCredsFile });
  // Watch the services' device leases like they do, so events of a stale owner are not counted.
  const leases = await DeviceOwnership.start(nc, { service: 'demo-monitor', instanceId: 'demo', replicas: stack.kvReplicas }, log).catch(() => undefined);
  const bus = new Bus(nc, { log, fencing: leases });
  const captures: ManagedProcess[] = [];
  let fuzz: DemoFuzz | undefined;
  let missed: MissedEvents | undefined;
  /** With --fuzz: whether the stack held (undefined without it); no report is not holding. */
  let fuzzHeld: boolean | undefined;
  let stopping: Promise<void> | undefined;
  const finish = (why: string) => {
    stopping ??= (async () => {
      view.stop();
      console.log(`\n[demo] ${why}; stopping`);
      // Asked while every service still runs: what each refused, and whether anything restarted.
      if (fuzz) {
        fuzzHeld = await fuzz.finish(bus, processRestarts, outDir).then((report) => report.failures.length === 0, (err: Error) => {
          console.log(`[demo] fuzz: no report: ${err.message}`);
          return false;
        });
      }
      await Promise.all(captures.map((c) => c.stop()));
      await missed?.settled();
      await bus.drain();
      await stack.stop();
      auth.cleanup();
      const monitor = monitorRef.current!;
      monitor.flushUnanswered();
      for (const d of monitor.devices.values()) await writeDeviceFiles(outDir, d, { conversation: opts.recording });
      console.log('\n' + summaryTable([...monitor.devices.values()]));
      if (!opts.quietHistory) for (const d of monitor.devices.values()) console.log('\n' + historyText(d, process.stdout.columns ?? 100));
      console.log(`\nper device: ${join(outDir, '<device>', '{assistant.wav,conversation.wav,turns.jsonl,history.jsonl}')}`);
    })();
    return stopping;
  };
  process.on('SIGINT', () => void finish('interrupted').then(() => process.exit(130)));
  process.on('SIGTERM', () => void finish('terminated').then(() => process.exit(143)));

  try {
    await waitForServices(bus, SERVICES);
    const monitor = new ConversationMonitor(bus, deviceIds, { keepUserAudio: opts.recording, acceptNewDevices: Boolean(opts.web) });
    monitorRef.current = monitor;
    missed = new MissedEvents(bus, (event) => monitor.take(event), log);
    const keepWriting = opts.web ? new OutputWriter(outDir) : undefined;
    monitor.on('change', (d) => {
      view.changed(d);
      keepWriting?.changed(d);
    });
    monitor.on('row', (d, row) => view.turn(d, row));
    // Browsers come and go: a web demo runs until it is stopped or its time limit.
    const done: Promise<string> = opts.web
      ? new Promise((resolveDone) => setTimeout(() => resolveDone(RUN_END.webTimeLimit), opts.timeoutS * 1000).unref())
      : runEnded(monitor, opts.timeoutS);
    if (opts.web) {
      const web = startWebService(stack.natsUrl, stack.natsWsUrl, auth, opts.webPort, env, logDir, onProcessEvent);
      captures.push(web.process);
      console.log(`web: ${await web.url}`);
    }
    await bus.flush();
    view.start();
    const groups = opts.sharedCapture ? [deviceIds] : deviceIds.map((id) => [id]);
    for (const group of groups) {
      const name = group.length === 1 ? `capture-${group[0]}` : 'capture';
      const c = new ManagedProcess({
        name,
        ...nodeCommand('services/capture/src/main.ts', group.flatMap((id) => ['--device', `${id}=${opts.mic ? 'mic' : `file:${inputOf(deviceIds.indexOf(id))}`}`])),
        env: { ...env, ...(group.length === 1 ? await auth.deviceEnv(group[0]!) : auth.serviceEnv.capture), NATS_URL: stack.natsUrl, INSTANCE_ID: name, OTEL_SERVICE_NAME: undefined },
        logFile: join(logDir, `${name}.log`),
      });
      c.on('event', onProcessEvent);
      captures.push(c);
      c.start();
    }
    if (opts.fuzz !== undefined) fuzz = await DemoFuzz.start(stack.natsUrl, auth, nc, { deviceId: deviceIds[0]!, ratePerS: opts.fuzz, seed: opts.fuzzSeed });
    const why = await done;
    await finish(why);
    const code = runExitCode(why, [...monitorRef.current!.devices.values()], (line) => console.log(`[demo] ${line}`));
    // With --fuzz, 5 when the stack did not hold (fuzz-report.ts), though every turn was answered.
    process.exit(code === 0 && fuzzHeld === false ? 5 : code);
  } catch (err) {
    view.stop();
    console.error(`[demo] ${(err as Error).message}`);
    await finish('failed');
    process.exit(1);
  }
}

/** The web service, supervised like the others; resolves its page's URL once it listens. */
function startWebService(natsUrl: string, natsWsUrl: string | undefined, auth: BusCredentials, port: number, env: NodeJS.ProcessEnv, logDir: string, onEvent: (e: ManagedProcessEvent) => void) {
  if (!natsWsUrl) throw new Error('the NATS server has no WebSocket listener');
  const p = new ManagedProcess({
    name: 'web',
    ...nodeCommand('services/web/src/main.ts', ['--port', String(port)]),
    env: { ...env, ...auth.serviceEnv.web, NATS_URL: natsUrl, NATS_WS_URL: natsWsUrl, WEB_DEVICE_SIGNING_KEY_FILE: auth.deviceSigningKeyFile, INSTANCE_ID: 'web', OTEL_SERVICE_NAME: undefined },
    logFile: join(logDir, 'web.log'),
  });
  p.on('event', onEvent);
  const url = waitForLine(p, listeningUrl);
  url.catch(() => {});
  p.start();
  return { process: p, url };
}

/** `--web`: browser devices come and go, so their files are kept up to date as they change. */
class OutputWriter {
  private readonly outDir: string;
  private readonly dirty = new Map<string, DeviceView>();
  private timer: NodeJS.Timeout | undefined;

  constructor(outDir: string) {
    this.outDir = outDir;
  }

  changed(d: DeviceView): void {
    this.dirty.set(d.deviceId, d);
    this.timer ??= setTimeout(() => void this.write(), 500);
  }

  private async write(): Promise<void> {
    this.timer = undefined;
    const views = [...this.dirty.values()];
    this.dirty.clear();
    for (const d of views) await writeDeviceFiles(this.outDir, d, { conversation: false });
  }
}

main().catch((err) => {
  console.error(`[demo] ${(err as Error).message}`);
  process.exit(1);
});
