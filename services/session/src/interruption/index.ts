import type { InterruptionStrategy as StrategyName } from '@voicebus/protocol';
import { DeferredStrategy } from './deferred.ts';
import { IgnoreStrategy } from './ignore.ts';
import { ImmediateStrategy } from './immediate.ts';
import type { BargeInStrategy } from './strategy.ts';
import { PauseStrategy } from './pause.ts';

export * from './strategy.ts';

/** Every strategy the protocol names, each a fresh object per device (they keep a little state). */
export const INTERRUPTION_STRATEGY_FACTORIES: Record<StrategyName, () => BargeInStrategy> = {
  immediate: () => new ImmediateStrategy(),
  pause: () => new PauseStrategy(),
  deferred: () => new DeferredStrategy(),
  ignore: () => new IgnoreStrategy(),
};

export function createInterruptionStrategy(name: StrategyName): BargeInStrategy {
  return INTERRUPTION_STRATEGY_FACTORIES[name]();
}
