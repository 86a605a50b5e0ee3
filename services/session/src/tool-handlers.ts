import { SpanStatusCode, trace } from '@opentelemetry/api';
import { FunctionResponseScheduling, type FunctionCall, type FunctionResponse } from '@google/genai';
import { ATTR } from '@voicebus/runtime';
import type { ToolDeclaration } from './prompt-pack.ts';

/** Answers a model's function call. Handlers are plain async functions, so adding one is one line. */
export type ToolHandler = (args: Record<string, unknown>) => Promise<unknown> | unknown;

export class ToolRegistry {
  private readonly handlers = new Map<string, ToolHandler>();

  register(name: string, handler: ToolHandler): this {
    this.handlers.set(name, handler);
    return this;
  }

  has(name: string): boolean {
    return this.handlers.has(name);
  }

  /** Runs the handler; an unknown tool or a failing handler becomes an error result, never a throw. */
  async call(name: string, args: Record<string, unknown>): Promise<{ output?: unknown; error?: string }> {
    const handler = this.handlers.get(name);
    if (!handler) return { error: `no handler for tool ${name}` };
    try {
      return { output: await handler(args) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }
}

/** The harmless built-in: what time it is. */
export function defaultToolRegistry(now: () => Date = () => new Date()): ToolRegistry {
  return new ToolRegistry().register('get_current_time', () => now().toISOString());
}

/** Runs a model's function calls one after the other, each in a `tool <name>` span. Never throws. */
export async function runToolCalls(calls: FunctionCall[], tools: ToolRegistry, deviceId: string, schedulingOf: (toolName: string | undefined) => FunctionResponseScheduling | undefined = () => undefined): Promise<FunctionResponse[]> {
  const tracer = trace.getTracer('voicebus.session');
  const responses: FunctionResponse[] = [];
  for (const call of calls) {
    const span = tracer.startSpan(`tool ${call.name}`, { attributes: { [ATTR.deviceId]: deviceId, 'gen_ai.tool.name': call.name ?? '', 'gen_ai.tool.call.id': call.id ?? '' } });
    const result = await tools.call(call.name ?? '', call.args ?? {});
    if (result.error) span.setStatus({ code: SpanStatusCode.ERROR, message: result.error });
    span.end();
    const scheduling = schedulingOf(call.name);
    responses.push({ id: call.id, name: call.name, response: result.error ? { error: result.error } : { output: result.output }, ...(scheduling ? { scheduling } : {}) });
  }
  return responses;
}

/**
 * The `scheduling` to send with a tool's response: the one its pack declaration gives, or
 * undefined (then Gemini uses WHEN_IDLE). It tells the model when to use a NON_BLOCKING call's
 * result: INTERRUPT (at once, cutting what it says), WHEN_IDLE (when it has finished), SILENT
 * (only remember it). Gemini ignores it on BLOCKING calls, so it is never sent for a tool
 * declared BLOCKING.
 */
export function responseScheduling(declarations: readonly ToolDeclaration[], toolName: string | undefined): FunctionResponseScheduling | undefined {
  const tool = declarations.find((t) => t.name === toolName);
  if (!tool?.scheduling || tool.behavior === 'BLOCKING') return undefined;
  return FunctionResponseScheduling[tool.scheduling];
}
