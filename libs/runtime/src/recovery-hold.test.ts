import { describe, expect, it } from 'vitest';
import { RecoveryHold } from './recovery-hold.ts';

function recorder() {
  const delivered: string[] = [];
  const hold = new RecoveryHold<string>((deviceId, m) => delivered.push(`${deviceId}:${m}`), true);
  return { hold, delivered };
}

describe('RecoveryHold: what arrives while a starting service recovers', () => {
  it('holds every device while the histories are read, then lets go at once of those with nothing to recover', () => {
    const { hold, delivered } = recorder();
    hold.push('a', '1');
    hold.push('b', '1');
    hold.push('b', '2');
    expect(delivered).toEqual([]);
    hold.recovering(['a']);
    // b has nothing to recover: it does not wait for a's lease.
    expect(delivered).toEqual(['b:1', 'b:2']);
    hold.push('b', '3');
    hold.push('c', '1');
    hold.push('a', '2');
    expect(delivered).toEqual(['b:1', 'b:2', 'b:3', 'c:1']);
    expect(hold.held).toEqual(['a']);
  });

  it('a recovering device\'s messages follow its recovery, in the order they came', () => {
    const { hold, delivered } = recorder();
    hold.push('a', '1');
    hold.recovering(['a', 'd']);
    hold.push('a', '2');
    hold.push('d', '1');
    delivered.push('a:recovered'); // what the service delivers before it releases the device
    hold.release('a');
    expect(delivered).toEqual(['a:recovered', 'a:1', 'a:2']);
    hold.push('a', '3');
    expect(delivered.at(-1)).toBe('a:3');
    // d is still recovering: its message waits for its own release.
    expect(hold.held).toEqual(['d']);
    hold.release('d');
    expect(delivered.at(-1)).toBe('d:1');
    expect(hold.held).toEqual([]);
  });

  it('without a recovery nothing is held', () => {
    const delivered: string[] = [];
    const hold = new RecoveryHold<string>((deviceId, m) => delivered.push(`${deviceId}:${m}`), false);
    hold.push('a', '1');
    expect(delivered).toEqual(['a:1']);
  });
});
