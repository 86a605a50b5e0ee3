import { CaptureSourceError } from './errors.ts';

export const MIN_CHUNK_MS = 10;
export const MAX_CHUNK_MS = 100;

export function assertChunkMs(chunkMs: number): void {
  if (!Number.isInteger(chunkMs) || chunkMs < MIN_CHUNK_MS || chunkMs > MAX_CHUNK_MS) {
    throw new CaptureSourceError(`chunk duration must be a whole number of ms from ${MIN_CHUNK_MS} to ${MAX_CHUNK_MS}, got ${chunkMs}`);
  }
}

/**
 * Cuts a stream of PCM pieces of any size into fixed-size chunks. The final partial chunk is
 * padded with silence so every chunk on the bus has the same duration (the padding is at
 * most one chunk of silence after the end of the source).
 */
export class Chunker {
  readonly samplesPerChunk: number;
  private pending: Int16Array;
  private filled = 0;

  constructor(samplesPerChunk: number) {
    this.samplesPerChunk = samplesPerChunk;
    this.pending = new Int16Array(samplesPerChunk);
  }

  *push(pcm: Int16Array): Iterable<Int16Array> {
    let offset = 0;
    while (offset < pcm.length) {
      const take = Math.min(this.samplesPerChunk - this.filled, pcm.length - offset);
      this.pending.set(pcm.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.samplesPerChunk) {
        yield this.pending;
        this.pending = new Int16Array(this.samplesPerChunk);
        this.filled = 0;
      }
    }
  }

  /** The last partial chunk, padded with silence, if any samples are left. */
  flush(): Int16Array | undefined {
    if (this.filled === 0) return undefined;
    const last = this.pending;
    this.pending = new Int16Array(this.samplesPerChunk);
    this.filled = 0;
    return last;
  }
}
