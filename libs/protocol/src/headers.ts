/**
 * Header names used on the bus. Audio metadata travels in headers so the body stays raw PCM;
 * events carry theirs in the JSON body and only use the trace and fencing headers.
 */
export const HEADERS = {
  /** Sequence number of an audio chunk within one capture run (restarts at 0 on restart). */
  seq: 'Voice-Seq',
  /** Capture time of the chunk's first sample, epoch microseconds. */
  captureTsUs: 'Voice-Capture-Ts-Us',
  sampleRate: 'Voice-Sample-Rate',
  channels: 'Voice-Channels',
  /** `pcm_s16le`: the only encoding v1 knows; present so a future one is rejected, not misread. */
  encoding: 'Voice-Encoding',
  turnId: 'Voice-Turn-Id',
  /** Wall-clock epoch microseconds at publish: bus transit is measured from it. */
  sentAtUs: 'Voice-Sent-At-Us',
  /** Ownership fence: the lease revision of the publishing instance (scale-out). */
  lease: 'Voice-Lease',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

/** What the codecs need from a header carrier; NATS `MsgHdrs` satisfies it. */
export interface HeaderReader {
  get(name: string): string;
  has?(name: string): boolean;
}

export type HeaderMap = Record<string, string>;

export const PCM_S16LE = 'pcm_s16le' as const;
