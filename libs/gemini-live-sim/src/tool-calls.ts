import { randomBytes } from 'node:crypto';
import type { SimBehaviour } from './options.ts';

/**
 * Function calling in the Live API (Tool use with Live API): the model sends a `toolCall` with
 * one or more `functionCalls` (id, name, args); the client answers with `toolResponse`
 * `functionResponses` matched by id. A declaration with `behavior: NON_BLOCKING` lets the model
 * keep talking while the call runs ("asynchronous function calling"); the response's
 * `scheduling` then says what to do with the result: INTERRUPT the current answer and speak it,
 * speak it WHEN_IDLE (the default), or add it SILENTly to the context.
 */
export interface Declaration {
  name: string;
  behavior?: string;
  parameters?: Schema;
  parametersJsonSchema?: Schema;
}

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  items?: Schema;
}

export interface PlannedCall {
  id: string;
  name: string;
  args: Record<string, unknown>;
  blocking: boolean;
}

export function declaredTools(setup: Record<string, unknown> | undefined): Declaration[] {
  const tools = (setup?.tools as { functionDeclarations?: Declaration[] }[] | undefined) ?? [];
  return tools.flatMap((t) => t.functionDeclarations ?? []).filter((d) => typeof d?.name === 'string');
}

/**
 * Which declared tools this turn calls: those the user's text names, else (on a turn listed in
 * `toolCallOnTurns`) the first ones; at most `parallelToolCalls` at once.
 */
export function planCalls(tools: Declaration[], userText: string, turn: number, b: SimBehaviour): PlannedCall[] {
  const named = tools.filter((t) => userText.includes(t.name));
  const chosen = named.length > 0 ? named : b.toolCallOnTurns.includes(turn) ? tools : [];
  return chosen.slice(0, Math.max(1, b.parallelToolCalls)).map((t) => ({
    id: `call-${randomBytes(4).toString('hex')}`,
    name: t.name,
    args: b.toolCallArgs ? sampleArgs(t.parametersJsonSchema ?? t.parameters) : {},
    blocking: (t.behavior ?? b.defaultToolBehavior) !== 'NON_BLOCKING',
  }));
}

/** Plausible arguments for a parameter schema (OpenAPI `parameters` or JSON Schema). */
export function sampleArgs(schema: Schema | undefined): Record<string, unknown> {
  const value = sample(schema, 'value');
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function sample(schema: Schema | undefined, name: string): unknown {
  if (!schema) return {};
  if (schema.enum?.length) return schema.enum[0];
  switch (String(schema.type ?? 'object').toLowerCase()) {
    case 'string': return `sample ${name}`;
    case 'integer': return 3;
    case 'number': return 2.5;
    case 'boolean': return true;
    case 'array': return [sample(schema.items, name)];
    default:
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, sample(v, k)]));
  }
}

export function describeResult(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'object' && value !== null && 'output' in value ? String((value as { output: unknown }).output) : JSON.stringify(value);
  return text.slice(0, 60);
}
