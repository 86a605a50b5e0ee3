import { INTERRUPTION_STRATEGIES } from '@voicebus/protocol';
import { describe, expect, it } from 'vitest';
import { createInterruptionStrategy } from './index.ts';

describe('interruption strategy registry', () => {
  it('has a strategy for every name the protocol knows, a fresh one each time', () => {
    for (const name of INTERRUPTION_STRATEGIES) {
      expect(createInterruptionStrategy(name).name).toBe(name);
      expect(createInterruptionStrategy(name)).not.toBe(createInterruptionStrategy(name));
    }
  });
});
