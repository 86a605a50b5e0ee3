import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { STREAMS } from '@voicebus/protocol';
import { connectNats, type Bus } from '@voicebus/runtime/internal';
import type { BusCredentials } from '../bus-credentials.ts';
import { BusFuzzer, type BusFuzzerOptions, type FuzzPublishers } from './bus-fuzzer.ts';
import { fuzzReport, fuzzReportText, SUBSCRIBED_STREAMS, type FuzzedService, type FuzzReport, type ServiceStatus } from './fuzz-report.ts';

/** `demo --fuzz`: the fuzzer on the demo's bus, each stream sent with its entitled publisher's credential. */
export class DemoFuzz {
  private readonly fuzzer: BusFuzzer;
  private readonly connections: NatsConnection[];

  private constructor(fuzzer: BusFuzzer, connections: NatsConnection[]) {
    this.fuzzer = fuzzer;
    this.connections = connections;
  }

  static async start(natsUrl: string, auth: BusCredentials, observer: NatsConnection, options: Pick<BusFuzzerOptions, 'deviceId'> & Partial<BusFuzzerOptions>): Promise<DemoFuzz> {
    const as = (name: string, creds: string | undefined) => connectNats({ servers: natsUrl, name: `fuzz-${name}`, creds });
    const [device, vad, session, playback] = await Promise.all([
      as('device', (await auth.deviceEnv(options.deviceId)).NATS_CREDS),
      as('vad', auth.serviceEnv.vad.NATS_CREDS),
      as('session', auth.serviceEnv.session.NATS_CREDS),
      as('playback', auth.serviceEnv.playback.NATS_CREDS),
    ]);
    const publishers: FuzzPublishers = {
      [STREAMS.audioIn]: device,
      [STREAMS.capture]: device,
      [STREAMS.vad]: vad,
      [STREAMS.turn]: vad,
      [STREAMS.session]: session,
      [STREAMS.control]: session,
      [STREAMS.audioOut]: session,
      [STREAMS.playback]: playback,
    };
    const fuzzer = new BusFuzzer(observer, publishers, options);
    fuzzer.start();
    return new DemoFuzz(fuzzer, [device, vad, session, playback]);
  }

  /**
   * Stops the fuzzer and asks each service what it refused and how often its actors
   * restarted. The status request follows the last hostile message to each service over the
   * same server (every publisher was flushed first), so the counts include all of them.
   */
  async finish(bus: Bus, processRestarts: Record<string, number>, outDir: string): Promise<FuzzReport> {
    await this.fuzzer.stop();
    const names = Object.keys(SUBSCRIBED_STREAMS) as FuzzedService[];
    const statuses = Object.fromEntries(await Promise.all(names.map(async (name) => [name, (await bus.waitForService(name, undefined, 10_000)) as ServiceStatus]))) as Record<FuzzedService, ServiceStatus>;
    await Promise.all(this.connections.map((nc) => nc.close()));
    const report = fuzzReport(this.fuzzer, statuses, processRestarts);
    writeFileSync(join(outDir, 'fuzz.json'), JSON.stringify(report, null, 2));
    console.log('\n' + fuzzReportText(report));
    return report;
  }
}
