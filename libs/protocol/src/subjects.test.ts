import { describe, expect, it } from 'vitest';
import {
  allDevicesSubject,
  deviceSubject,
  deviceWildcard,
  InvalidDeviceIdError,
  InvalidSubjectError,
  parseSubject,
  STREAMS,
  subjectTemplate,
  type Stream,
} from './subjects.ts';

describe('subjects', () => {
  it('builds and parses every stream of a device', () => {
    for (const stream of Object.values(STREAMS)) {
      const subject = deviceSubject('kitchen-1', stream);
      expect(subject).toBe(`voice.v1.kitchen-1.${stream}`);
      expect(parseSubject(subject)).toEqual({ deviceId: 'kitchen-1', stream });
    }
  });

  it('builds wildcards and span templates', () => {
    expect(allDevicesSubject(STREAMS.audioIn)).toBe('voice.v1.*.audio.in');
    expect(deviceWildcard('d_2')).toBe('voice.v1.d_2.>');
    expect(subjectTemplate(STREAMS.turn)).toBe('voice.v1.{deviceId}.turn');
  });

  it.each([
    '',
    'a.b',
    'a b',
    '*',
    '>',
    'x'.repeat(65),
    'dev\n',
    'ünï',
    'a\u0000b',
  ])('rejects device id %j with an error naming it', (bad) => {
    expect(() => deviceSubject(bad, STREAMS.audioIn)).toThrow(InvalidDeviceIdError);
    try {
      deviceSubject(bad, STREAMS.audioIn);
    } catch (err) {
      expect((err as Error).message).toContain(JSON.stringify(bad));
    }
  });

  it('rejects non-string device ids', () => {
    expect(() => deviceSubject(42 as unknown as string, STREAMS.vad)).toThrow(InvalidDeviceIdError);
    expect(() => deviceWildcard(undefined as unknown as string)).toThrow(InvalidDeviceIdError);
  });

  it('rejects unknown streams', () => {
    expect(() => deviceSubject('d1', 'audio.sideways' as Stream)).toThrow(InvalidSubjectError);
    expect(() => allDevicesSubject('>' as Stream)).toThrow(InvalidSubjectError);
  });

  it.each([
    'voice.v2.d1.audio.in',
    'voice.v1',
    'voice.v1.d1',
    'voice.v1.d1.audio',
    'voice.v1.*.audio.in',
    'voice.v1.d1.audio.in.extra',
    'other.v1.d1.vad',
  ])('parseSubject rejects %j', (subject) => {
    expect(() => parseSubject(subject)).toThrow(InvalidSubjectError);
  });
});
