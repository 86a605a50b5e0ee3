import { DEFAULT_CHUNK_MS } from '@voicebus/protocol';
import { numberFlag, stringFlag, type FlagSpecs } from '@voicebus/runtime';
import { JITTER_BUFFER_DEFAULTS } from './jitter-buffer.ts';

export interface PlaybackFlags {
  sink: string;
  jitterTargetMs: number;
  frameMs: number;
  soxBin: string;
}

/** The playback service's settings: each flag is named after the option it sets. */
export const PLAYBACK_FLAGS: FlagSpecs<PlaybackFlags> = {
  sink: stringFlag('speaker, null or wav:DIR (DIR/<device>/assistant.wav)', { env: 'PLAYBACK_SINK', default: 'wav:out' }),
  jitterTargetMs: numberFlag('audio buffered before a turn starts playing', { env: 'JITTER_TARGET_MS', default: JITTER_BUFFER_DEFAULTS.targetMs, min: 0, max: 2000 }),
  frameMs: numberFlag('playout frame', { env: 'PLAYOUT_FRAME_MS', default: DEFAULT_CHUNK_MS, min: 5, max: 100, integer: true }),
  soxBin: stringFlag('the sox binary the speaker sink runs', { env: 'SOX_BIN', default: 'sox' }),
};
