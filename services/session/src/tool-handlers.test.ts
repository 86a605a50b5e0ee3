import { FunctionResponseScheduling } from '@google/genai';
import { describe, expect, it } from 'vitest';
import { responseScheduling, runToolCalls, ToolRegistry } from './tool-handlers.ts';

describe('runToolCalls', () => {
  it('answers each call, an unknown tool or a throwing handler as an error, and adds the declared scheduling', async () => {
    const tools = new ToolRegistry().register('ok', (args) => `got ${String(args.x)}`).register('bad', () => {
      throw new Error('broken');
    });
    const declarations = [
      { name: 'ok', description: '', parameters: { type: 'object' }, behavior: 'NON_BLOCKING', scheduling: 'WHEN_IDLE' },
      { name: 'bad', description: '', parameters: { type: 'object' }, behavior: 'BLOCKING' },
    ] as never;
    const responses = await runToolCalls(
      [{ id: '1', name: 'ok', args: { x: 2 } }, { id: '2', name: 'bad', args: {} }, { id: '3', name: 'nope', args: {} }],
      tools,
      'd',
      (name) => responseScheduling(declarations, name),
    );
    expect(responses).toEqual([
      { id: '1', name: 'ok', response: { output: 'got 2' }, scheduling: FunctionResponseScheduling.WHEN_IDLE },
      { id: '2', name: 'bad', response: { error: 'broken' } },
      { id: '3', name: 'nope', response: { error: 'no handler for tool nope' } },
    ]);
  });
});
