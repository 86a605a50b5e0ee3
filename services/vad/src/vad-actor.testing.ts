import type { VoiceEvent } from '@voicebus/protocol';
import type { ActorContext } from '@voicebus/runtime';
import { memoryLogger } from '@voicebus/runtime/testing';
import { createVadEngine } from './engines/create-engine.ts';
import { VadActor, type VadActorDeps, type VadMessage } from './vad-actor.ts';

/**
 * A vad actor on its own, for tests that drive it message by message: Silero v6 at the
 * service's defaults, its events collected, no timers, no bus. `dropped` is what the actor's
 * mailbox says it shed (a test raises it to stand for load shedding).
 */
export async function actorForTest(deviceId: string, deps: Pick<Partial<VadActorDeps>, 'audioHistory'> = {}) {
  const events: VoiceEvent[] = [];
  const logger = memoryLogger();
  const mailbox = { dropped: 0 };
  const ctx: ActorContext<VadMessage> = { deviceId, log: logger.log, restarts: 0, send: () => {}, schedule: () => {}, cancel: () => {}, isScheduled: () => false, droppedAudio: () => mailbox.dropped };
  const actor = new VadActor(ctx, {
    bus: { publishAudio: () => {}, tryPublishEvent: (e) => (events.push(e), true) },
    engine: await createVadEngine('silero-v6'),
    speech: {},
    turn: {},
    facts: {},
    counters: { rejected: 0, gaps: 0, restarts: 0, gapChunksFilled: 0 },
    ...deps,
  });
  return { actor, events, logger, mailbox };
}
