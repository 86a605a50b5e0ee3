/// <reference lib="dom" />
/**
 * The AudioWorkletGlobalScope as the worklets use it. TypeScript ships no lib for it, so the
 * few names are declared here and read from globalThis (nothing leaks into other files).
 */
export interface WorkletProcessor {
  readonly port: MessagePort;
  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean;
}

interface WorkletScope {
  sampleRate: number;
  currentFrame: number;
  AudioWorkletProcessor: new () => { readonly port: MessagePort };
  registerProcessor(name: string, ctor: new (options: { processorOptions?: unknown }) => WorkletProcessor): void;
}

export const scope = globalThis as unknown as WorkletScope;
