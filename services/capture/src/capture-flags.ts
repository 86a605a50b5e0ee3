import { DEFAULT_CHUNK_MS } from '@voicebus/protocol';
import { booleanFlag, listFlag, numberFlag, stringFlag, type FlagSpecs } from '@voicebus/runtime';

export interface CaptureFlags {
  /** `<id>=<mic|stdin|file:PATH>`, repeatable. */
  device: string[];
  /** A single device from the environment (containers): its id and source. */
  deviceId: string | undefined;
  source: string;
  chunkMs: number;
  fast: boolean;
  loop: boolean;
  lingerMs: number;
  soxBin: string;
}

/** The capture service's settings: each flag is named after the option it sets. */
export const CAPTURE_FLAGS: FlagSpecs<CaptureFlags> = {
  device: listFlag('device and source (mic, stdin, file:PATH) as <id>=<source>; repeatable'),
  deviceId: stringFlag('one device\'s id, when --device is not given', { env: 'DEVICE_ID', defaultText: 'none (--device)' }),
  source: stringFlag('that device\'s source (mic, stdin, file:PATH)', { env: 'SOURCE', default: 'mic' }),
  chunkMs: numberFlag('chunk duration', { env: 'CHUNK_MS', default: DEFAULT_CHUNK_MS, min: 10, max: 100, integer: true }),
  fast: booleanFlag('send file audio as fast as the bus takes it (tests, benchmarks)', { env: 'CAPTURE_FAST' }),
  loop: booleanFlag('repeat file sources forever', { env: 'CAPTURE_LOOP' }),
  lingerMs: numberFlag('after the input ends, stay until the device\'s speaker was quiet this long', { env: 'CAPTURE_LINGER_MS', default: 3000, min: 0, max: 600_000, integer: true }),
  soxBin: stringFlag('the sox binary the microphone source runs', { env: 'SOX_BIN', default: 'sox' }),
};
