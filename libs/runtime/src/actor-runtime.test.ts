import { describe, expect, it, vi } from 'vitest';
import { ActorHost, type Actor, type ActorContext } from './actor-host.ts';
import { memoryLogger } from './testing.ts';

type Msg = { kind: 'audio'; n: number } | { kind: 'interrupt' } | { kind: 'gate' };

/** A promise and the function that resolves it. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('ActorHost priority lane', () => {
  it('handles an interrupt queued behind 200 audio chunks before them', async () => {
    const { log } = memoryLogger();
    const handled: string[] = [];
    const gate = deferred();
    const host = new ActorHost<Msg>(() => ({
      async handle(m) {
        if (m.kind === 'gate') return gate.promise; // keeps the actor busy while the queue fills
        handled.push(m.kind === 'audio' ? `a${m.n}` : 'interrupt');
      },
    }), log, { mailboxCapacity: 1000 });
    host.deliver('dev', { message: { kind: 'gate' }, droppable: false });
    for (let n = 0; n < 200; n++) host.deliver('dev', { message: { kind: 'audio', n }, droppable: true });
    host.deliver('dev', { message: { kind: 'interrupt' }, droppable: false, priority: true });
    gate.resolve();
    await host.whenIdle();
    expect(handled).toHaveLength(201);
    expect(handled[0]).toBe('interrupt');
    expect(handled.slice(1)).toEqual(Array.from({ length: 200 }, (_, n) => `a${n}`));
    await host.close();
  });
});

describe('ActorHost timers', () => {
  it('runs a scheduled timer inside the mailbox, replaces one of the same name, and cancels', async () => {
    const { log } = memoryLogger();
    const fired: string[] = [];
    const done = deferred();
    const host = new ActorHost<Msg>((ctx) => ({
      handle(m) {
        if (m.kind !== 'gate') return;
        ctx.schedule('a', 5);
        ctx.schedule('a', 30); // replaces the first: 'a' fires once
        ctx.schedule('b', 10);
        ctx.schedule('c', 15);
        ctx.cancel('b');
        expect(ctx.isScheduled('b')).toBe(false);
        expect(ctx.isScheduled('a')).toBe(true);
      },
      onTimer(name) {
        fired.push(name);
        if (name === 'a') done.resolve();
      },
    }), log);
    host.deliver('dev', { message: { kind: 'gate' }, droppable: false });
    await done.promise;
    await host.whenIdle();
    expect(fired).toEqual(['c', 'a']);
    await host.close();
  });

  it('a throw inside a timer handler is caught by supervision: the actor restarts and its timers die with it', async () => {
    const { log, lines } = memoryLogger();
    const incarnations: ActorContext<Msg>[] = [];
    const stopped: string[] = [];
    const late: string[] = [];
    const crashed = deferred();
    const host = new ActorHost<Msg>((ctx) => {
      incarnations.push(ctx);
      const actor: Actor<Msg> = {
        handle(m) {
          if (m.kind === 'gate') {
            ctx.schedule('explode', 5);
            ctx.schedule('after-crash', 40);
          }
        },
        onTimer(name) {
          if (name === 'explode') throw new Error('boom in a timer');
          late.push(name);
        },
        stop(reason) {
          stopped.push(reason);
          if (reason === 'crashed') crashed.resolve();
        },
      };
      return actor;
    }, log);
    // A clock the test moves: that a timer never fires is shown by moving past its time.
    vi.useFakeTimers();
    try {
      host.deliver('dev', { message: { kind: 'gate' }, droppable: false });
      await vi.advanceTimersByTimeAsync(5);
      await crashed.promise;
      incarnations[0]!.send({ kind: 'interrupt' });
      await vi.advanceTimersByTimeAsync(60);
    } finally {
      vi.useRealTimers();
    }
    expect(host.totalRestarts).toBe(1);
    expect(lines().some((l) => l.msg === 'actor crashed; restarting it with fresh state' && l.timer === 'explode')).toBe(true);
    // The crashed incarnation's other timer and its sends are gone.
    expect(incarnations[0]!.isScheduled('after-crash')).toBe(false);
    expect(late).toEqual([]);
    // The next message gets a fresh actor.
    host.deliver('dev', { message: { kind: 'audio', n: 1 }, droppable: true });
    await host.whenIdle();
    expect(incarnations).toHaveLength(2);
    expect(incarnations[1]!.restarts).toBe(1);
    await host.close();
    expect(stopped).toEqual(['crashed', 'shutdown']);
  });

  it('ctx.send queues a message for the same actor, in order, with an optional priority lane', async () => {
    const { log } = memoryLogger();
    const seen: string[] = [];
    const host = new ActorHost<Msg>((ctx) => ({
      handle(m) {
        seen.push(m.kind === 'audio' ? `a${m.n}` : m.kind);
        if (m.kind === 'gate') {
          ctx.send({ kind: 'audio', n: 7 });
          ctx.send({ kind: 'interrupt' }, { priority: true });
        }
      },
    }), log);
    host.deliver('dev', { message: { kind: 'gate' }, droppable: false });
    await host.whenIdle();
    expect(seen).toEqual(['gate', 'interrupt', 'a7']);
    await host.close();
  });
});
