// The stack's stages wired in one process without NATS, for the benchmarks that compare it
// with the demo's stack (a process per service on a nats-server): the same services, the same
// flags and the same encoded messages, on a LocalRouter (libs/runtime) instead of a server.
// What NATS gives the stack and this runner has not: leases (one instance takes every device)
// and the JetStream histories (turns, microphones, answers: nothing survives a restart). The
// simulator is its own process, as in the demo. Writes <out>/<device>/turns.jsonl and
// history.jsonl like the demo; exits 0 when every spoken turn was answered, 3 when one was not,
// 4 on the time limit.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { CAPTURE_SERVICE } from '@voicebus/capture';
import { PLAYBACK_SERVICE } from '@voicebus/playback';
import { SESSION_SERVICE } from '@voicebus/session';
import { VAD_SERVICE } from '@voicebus/vad';
import { Bus, createLogger, LocalRouter, numberIn, startService, type StartedService } from '@voicebus/runtime/internal';
import { ConversationMonitor } from '../../demo/src/conversation-monitor.ts';
import { runEnded, runExitCode } from '../../demo/src/run-end.ts';
import { ManagedProcess } from '../../demo/src/managed-process.ts';
import { writeDeviceFiles } from '../../demo/src/outputs.ts';
import { listeningUrl, nodeCommand, waitForLine } from '../../demo/src/stack.ts';

const opts = new Command('in-process-stack')
  .requiredOption('--out <dir>', 'output directory')
  .requiredOption('--input <wav>', 'the WAV every device plays')
  .addOption(new Option('--devices <n>', 'devices, one shared capture').default(1).argParser(numberIn(1, 1000, true)))
  .addOption(new Option('--model-delay-ms <ms>', 'simulator: time to first audio').default(0).argParser(numberIn(0, 60_000)))
  .addOption(new Option('--timeout-s <s>', 'give up after this long').default(600).argParser(numberIn(1, 86_400)))
  .parse()
  .opts<{ out: string; input: string; devices: number; modelDelayMs: number; timeoutS: number }>();

const outDir = resolve(opts.out);
const logDir = join(outDir, 'logs');
mkdirSync(logDir, { recursive: true });
const deviceIds = Array.from({ length: opts.devices }, (_, i) => `dev${i + 1}`);

const sim = new ManagedProcess({
  name: 'gemini-sim',
  ...nodeCommand('libs/gemini-live-sim/src/main.ts', ['--port', '0', '--first-audio-delay-ms', String(opts.modelDelayMs)]),
  env: process.env,
  logFile: join(logDir, 'gemini-sim.log'),
  restart: false,
});
const listening = waitForLine(sim, listeningUrl);
sim.start();
const geminiUrl = await listening;

const router = new LocalRouter();
// What the demo's services get from NATS and this process has not is switched off, not failed over to.
const env: NodeJS.ProcessEnv = { ...process.env, GEMINI_LIVE_URL: geminiUrl, OWNERSHIP: 'none', SERVICE_DISCOVERY: 'off', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
// Each service its own connection, as each process of the demo has.
const embedding = () => ({ connection: router.connect(), handleSignals: false });
const started: StartedService[] = [];
const envOf = (instanceId: string) => ({ ...env, INSTANCE_ID: instanceId });
started.push(await startService(VAD_SERVICE, ['--turn-history-s', '0'], envOf('vad'), embedding()));
started.push(await startService(SESSION_SERVICE, ['--audio-history-s', '0'], envOf('session'), embedding()));
started.push(await startService(PLAYBACK_SERVICE, ['--answer-history-s', '0', '--sink', `wav:${outDir}`], envOf('playback'), embedding()));

const log = createLogger({ service: 'in-process', instanceId: 'monitor', level: 'warn' });
const monitor = new ConversationMonitor(new Bus(router.connect(), { log }), deviceIds, { keepUserAudio: false });
await router.flush();

const done = runEnded(monitor, opts.timeoutS);
// The bench's CPU sampler reads this line as the moment the audio starts (see stack-runs.ts).
console.log(`[demo] started in-process (pid ${process.pid})`);
started.push(await startService(CAPTURE_SERVICE, deviceIds.flatMap((id) => ['--device', `${id}=file:${resolve(opts.input)}`]), envOf('capture'), embedding()));
const why = await done;
for (const s of started.reverse()) await s.stop();
await sim.stop();
monitor.flushUnanswered();
for (const d of monitor.devices.values()) await writeDeviceFiles(outDir, d, { conversation: false });
console.log(`[in-process] ${why}`);
process.exit(runExitCode(why, [...monitor.devices.values()], (line) => console.log(`[in-process] ${line}`)));
