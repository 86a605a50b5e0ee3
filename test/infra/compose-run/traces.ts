/** Reads what the OTLP stand-in received and groups it into one trace per user turn. */
export interface Span {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
}

export async function receivedSpans(url: string): Promise<{ spans: Span[]; counts: Record<string, number> }> {
  const res = await fetch(`${url}/spans`);
  if (!res.ok) throw new Error(`OTLP stand-in answered ${res.status}`);
  return (await res.json()) as { spans: Span[]; counts: Record<string, number> };
}

export interface TurnTrace {
  turnId: string;
  traceIds: string[];
  services: string[];
  spans: number;
}

/** For each turn id: the traces whose root `user turn` span names it, and their services. */
export function tracesOfTurns(spans: Span[], turnIds: string[]): TurnTrace[] {
  return turnIds.map((turnId) => {
    const roots = spans.filter((s) => s.name === 'user turn' && s.attributes['voicebus.turn.id'] === turnId);
    const traceIds = [...new Set(roots.map((r) => r.traceId))];
    const inTrace = spans.filter((s) => traceIds.includes(s.traceId));
    return { turnId, traceIds, services: [...new Set(inTrace.map((s) => s.service))].sort(), spans: inTrace.length };
  });
}
