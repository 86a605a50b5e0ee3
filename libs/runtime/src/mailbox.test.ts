import { describe, expect, it } from 'vitest';
import { Mailbox } from './mailbox.ts';

const audio = (n: number) => ({ droppable: true, n });
const control = (n: number) => ({ droppable: false, n });

describe('Mailbox', () => {
  it('is FIFO', () => {
    const box = new Mailbox<{ droppable: boolean; n: number }>(10);
    for (let i = 0; i < 5; i++) box.push(audio(i));
    expect([1, 2, 3, 4, 5].map(() => box.shift()!.n)).toEqual([0, 1, 2, 3, 4]);
    expect(box.shift()).toBeUndefined();
  });

  it('drops the oldest audio when full and counts it', () => {
    const box = new Mailbox<{ droppable: boolean; n: number }>(3);
    for (let i = 0; i < 5; i++) box.push(audio(i));
    expect(box.size).toBe(3);
    expect(box.dropped).toBe(2);
    expect([box.shift()!.n, box.shift()!.n, box.shift()!.n]).toEqual([2, 3, 4]);
  });

  it('never drops control messages; audio makes room for them', () => {
    const box = new Mailbox<{ droppable: boolean; n: number }>(2);
    box.push(control(0));
    box.push(audio(1));
    box.push(control(2));
    expect(box.dropped).toBe(1);
    expect(box.size).toBe(2);
    box.push(control(3)); // full of control: kept anyway
    box.push(audio(4)); // full of control: the new audio goes
    expect(box.dropped).toBe(2);
    expect([box.shift()!.n, box.shift()!.n, box.shift()!.n, box.shift()]).toEqual([0, 2, 3, undefined]);
  });

  it('rejects a nonsense capacity', () => {
    expect(() => new Mailbox(0)).toThrow(RangeError);
  });
});

describe('Mailbox priority lane', () => {
  it('serves priority entries before queued normal ones, each lane in order', () => {
    const box = new Mailbox<{ droppable: boolean; priority?: boolean; n: number }>(500);
    for (let i = 0; i < 200; i++) box.push(audio(i));
    box.push({ droppable: false, priority: true, n: 1000 });
    box.push(control(201));
    box.push({ droppable: false, priority: true, n: 1001 });
    const order = [];
    for (let e = box.shift(); e; e = box.shift()) order.push(e.n);
    expect(order.slice(0, 2)).toEqual([1000, 1001]);
    expect(order.slice(2)).toEqual([...Array.from({ length: 200 }, (_, i) => i), 201]);
  });

  it('drops normal audio, never a priority entry, to make room', () => {
    const box = new Mailbox<{ droppable: boolean; priority?: boolean; n: number }>(2);
    box.push({ droppable: true, priority: true, n: 0 });
    box.push(audio(1));
    box.push(audio(2));
    expect(box.dropped).toBe(1);
    expect([box.shift()!.n, box.shift()!.n]).toEqual([0, 2]);
  });
});
