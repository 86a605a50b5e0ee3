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
