/// <reference lib="dom" />
import { AUDIO_HISTORY_STREAM, chunkDurationMs, deviceSubject, encodeAudioChunk, encodeEvent, STREAMS, streamOfEvent, type AudioChunk, type VoiceEvent } from '@voicebus/protocol';
import { OutageHold, type OutageHoldLog, type OutageHoldStats } from '@voicebus/runtime/outage-hold';
import type { BusLink } from './bus-link.ts';
import { nowUs } from './page-clock.ts';

type Outgoing = { kind: 'audio'; chunk: AudioChunk } | { kind: 'event'; subject: string; body: Uint8Array };

const consoleLog: OutageHoldLog = {
  warn: (fields, message) => console.warn(`voicebus: ${message}`, JSON.stringify(fields)),
  info: (fields, message) => console.info(`voicebus: ${message}`, JSON.stringify(fields)),
};

/**
 * What the page sends, across a lost connection: its microphone's audio and its events, in
 * one order, as a capture process's DeviceOutbox does. While the WebSocket is away they are
 * held (the client would drop them); once it is back the audio goes into the audio history
 * (acked on the device's own inbox, so the stream is there again) and the events follow in
 * their turn. A service that resubscribed late reads the gap from the history. A chunk is
 * stamped with its send time when it is really sent, so a held one does not count the
 * outage as bus time.
 */
export class PageOutbox {
  private readonly hold: OutageHold<Outgoing>;
  private readonly deviceId: string;

  constructor(link: BusLink, deviceId: string) {
    this.deviceId = deviceId;
    const audioSubject = deviceSubject(deviceId, STREAMS.audioIn);
    const audio = (chunk: AudioChunk) => encodeAudioChunk({ ...chunk, sentAtUs: nowUs() });
    this.hold = new OutageHold<Outgoing>({
      publish: (m) => {
        if (m.kind === 'event') return void link.publish(m.subject, m.body);
        const { body, headers } = audio(m.chunk);
        link.publish(audioSubject, body, headers);
      },
      store: (m, timeoutMs) => {
        if (m.kind === 'event') return undefined; // no history keeps the page's events: live, in their turn
        const { body, headers } = audio(m.chunk);
        return link.store(audioSubject, body, headers, AUDIO_HISTORY_STREAM, timeoutMs);
      },
      durationMs: (m) => (m.kind === 'audio' ? chunkDurationMs(m.chunk) : 0),
      // The services hear a chunk that comes twice once (AudioGaps.alreadyHeard); an event twice would count twice.
      resendable: (m) => m.kind === 'audio',
    }, consoleLog);
    link.onOutage(this.hold);
  }

  /** What the page's record shows (tests, and a curious person at the console). */
  get stats(): OutageHoldStats {
    return this.hold.stats;
  }

  audio(chunk: AudioChunk): void {
    this.hold.send({ kind: 'audio', chunk });
  }

  /** Encoded (and so validated) now: an invalid event throws here, never while held. */
  event(event: VoiceEvent): void {
    this.hold.send({ kind: 'event', subject: deviceSubject(this.deviceId, streamOfEvent(event.type)), body: encodeEvent(event) });
  }
}
