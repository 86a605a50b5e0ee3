import type { AudioChunk } from '@voicebus/protocol';
import { describe, expect, it } from 'vitest';
import { unheardPart, type UnfinishedAnswer } from './answer-history.ts';

/** 10 chunks of 100 ms at 24 kHz; sample k of the answer is k + 1. */
const chunks: AudioChunk[] = Array.from({ length: 10 }, (_, i) => ({
  seq: i,
  captureTsUs: 0,
  sampleRate: 24000,
  channels: 1,
  pcm: Int16Array.from({ length: 2400 }, (_, k) => i * 2400 + k + 1),
  turnId: 't',
}));
const answer = (startedAtMs: number | undefined): UnfinishedAnswer => ({ turnId: 't', chunks, startedAtMs, complete: true });
const samples = (part: { chunks: AudioChunk[] }) => part.chunks.flatMap((c) => Array.from(c.pcm));

describe('unheardPart', () => {
  it('never started: all of it', () => {
    const part = unheardPart(answer(undefined), 5000);
    expect(part.skippedMs).toBe(0);
    expect(samples(part)).toHaveLength(24000);
  });

  it('heard 250 ms: the rest starts with sample 6000, in the middle of the third chunk', () => {
    const part = unheardPart(answer(1000), 1250);
    expect(part.skippedMs).toBe(250);
    const rest = samples(part);
    expect(rest[0]).toBe(6001);
    expect(rest).toHaveLength(24000 - 6000);
    expect(rest.at(-1)).toBe(24000);
  });

  it('heard to the end (the finish was not said): the last chunk is played again, so it ends played', () => {
    const part = unheardPart(answer(1000), 9000);
    expect(part.chunks).toHaveLength(1);
    expect(part.chunks[0]!.seq).toBe(9);
    expect(part.skippedMs).toBe(900);
  });

  it('a last sign of life before the start (a clock step): nothing is skipped', () => {
    expect(unheardPart(answer(1000), 900).skippedMs).toBe(0);
  });
});
