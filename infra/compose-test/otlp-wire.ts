/**
 * Decodes OTLP trace exports (ExportTraceServiceRequest) from protobuf or JSON into flat
 * spans, with only node:* modules, so the stand-in receiver runs in a bare node image.
 * Protobuf is read field by field from the wire format; fields this check does not need
 * (links, status, dropped counts) are skipped.
 */

export interface Span {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  events: string[];
}

interface Field {
  no: number;
  wire: number;
  int: bigint;
  bytes: Uint8Array;
}

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++];
      if (b === undefined) throw new Error('truncated protobuf varint');
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
    }
  };
  const fixed = (n: number): bigint => {
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[pos + i]!);
    pos += n;
    return v;
  };
  const empty = new Uint8Array(0);
  while (pos < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) yield { no, wire, int: varint(), bytes: empty };
    else if (wire === 1) yield { no, wire, int: fixed(8), bytes: empty };
    else if (wire === 5) yield { no, wire, int: fixed(4), bytes: empty };
    else if (wire === 2) {
      const len = Number(varint());
      const bytes = buf.subarray(pos, pos + len);
      pos += len;
      yield { no, wire, int: 0n, bytes };
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

const utf8 = new TextDecoder();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function anyValue(buf: Uint8Array): unknown {
  for (const f of fields(buf)) {
    if (f.no === 1) return utf8.decode(f.bytes);
    if (f.no === 2) return f.int !== 0n;
    if (f.no === 3) return Number(BigInt.asIntN(64, f.int));
    if (f.no === 4) return new DataView(new BigUint64Array([f.int]).buffer).getFloat64(0, true);
  }
  return undefined; // arrays, kvlists and bytes are not needed here
}

function keyValues(list: Uint8Array[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list) {
    let key = '';
    let value: unknown;
    for (const f of fields(kv)) {
      if (f.no === 1) key = utf8.decode(f.bytes);
      if (f.no === 2) value = anyValue(f.bytes);
    }
    out[key] = value;
  }
  return out;
}

const repeated = (buf: Uint8Array, no: number): Uint8Array[] => [...fields(buf)].filter((f) => f.no === no).map((f) => f.bytes);

function protoSpan(buf: Uint8Array, service: string): Span {
  const span: Span = { service, traceId: '', spanId: '', parentSpanId: undefined, name: '', startTimeUnixNano: '0', endTimeUnixNano: '0', attributes: {}, events: [] };
  const attrs: Uint8Array[] = [];
  for (const f of fields(buf)) {
    if (f.no === 1) span.traceId = hex(f.bytes);
    else if (f.no === 2) span.spanId = hex(f.bytes);
    else if (f.no === 4 && f.bytes.length > 0) span.parentSpanId = hex(f.bytes);
    else if (f.no === 5) span.name = utf8.decode(f.bytes);
    else if (f.no === 7) span.startTimeUnixNano = f.int.toString();
    else if (f.no === 8) span.endTimeUnixNano = f.int.toString();
    else if (f.no === 9) attrs.push(f.bytes);
    else if (f.no === 11) span.events.push(...repeated(f.bytes, 2).map((b) => utf8.decode(b)));
  }
  span.attributes = keyValues(attrs);
  return span;
}

/** ExportTraceServiceRequest, protobuf-encoded (OTLP/HTTP protobuf, and gRPC's message). */
export function decodeProtobufTraces(body: Uint8Array): Span[] {
  const spans: Span[] = [];
  for (const rs of repeated(body, 1)) {
    const resource = repeated(rs, 1)[0];
    const service = String((resource ? keyValues(repeated(resource, 1)) : {})['service.name'] ?? '');
    for (const ss of repeated(rs, 2)) for (const s of repeated(ss, 2)) spans.push(protoSpan(s, service));
  }
  return spans;
}

interface JsonKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
}

const jsonAttrs = (list: JsonKeyValue[] | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map((a) => [a.key, a.value.stringValue ?? (a.value.intValue !== undefined ? Number(a.value.intValue) : (a.value.doubleValue ?? a.value.boolValue))]));

/** OTLP/JSON ids are hex; some exporters send base64. */
const jsonId = (id: string | undefined): string | undefined => (!id ? undefined : /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex'));

/** ExportTraceServiceRequest as OTLP/JSON (OTEL_EXPORTER_OTLP_PROTOCOL=http/json). */
export function decodeJsonTraces(text: string): Span[] {
  type JsonSpan = { traceId: string; spanId: string; parentSpanId?: string; name: string; startTimeUnixNano: string; endTimeUnixNano: string; attributes?: JsonKeyValue[]; events?: { name: string }[] };
  const doc = JSON.parse(text) as { resourceSpans?: { resource?: { attributes?: JsonKeyValue[] }; scopeSpans?: { spans?: JsonSpan[] }[] }[] };
  return (doc.resourceSpans ?? []).flatMap((rs) => {
    const service = String(jsonAttrs(rs.resource?.attributes)['service.name'] ?? '');
    return (rs.scopeSpans ?? []).flatMap((ss) => (ss.spans ?? []).map((s): Span => ({
      service,
      traceId: jsonId(s.traceId)!,
      spanId: jsonId(s.spanId)!,
      parentSpanId: jsonId(s.parentSpanId),
      name: s.name,
      startTimeUnixNano: String(s.startTimeUnixNano),
      endTimeUnixNano: String(s.endTimeUnixNano),
      attributes: jsonAttrs(s.attributes),
      events: (s.events ?? []).map((e) => e.name),
    })));
  });
}
