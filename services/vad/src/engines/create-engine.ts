import { EnergyEngine, type EnergyVadOptions } from './energy-engine.ts';
import { sharedSession } from './onnx-session.ts';
import { SileroLegacyEngine } from './silero-legacy-engine.ts';
import { SileroV5Engine } from './silero-v5-engine.ts';
import type { VadEngine, VadEngineName } from './vad-engine.ts';

const engines = new Map<string, Promise<VadEngine>>();

/** The engine of that name, created once per process and shared by every device. */
export function createVadEngine(name: VadEngineName, energy: Partial<EnergyVadOptions> = {}): Promise<VadEngine> {
  const key = name === 'energy' ? `energy:${JSON.stringify(energy)}` : name;
  let engine = engines.get(key);
  if (!engine) {
    engine = (async (): Promise<VadEngine> => {
      switch (name) {
        case 'silero-v5':
        case 'silero-v6':
          return new SileroV5Engine(name, await sharedSession(name));
        case 'silero-legacy':
          return new SileroLegacyEngine(await sharedSession('silero-legacy'));
        case 'energy':
          return new EnergyEngine(energy);
      }
    })();
    engines.set(key, engine);
  }
  return engine;
}
