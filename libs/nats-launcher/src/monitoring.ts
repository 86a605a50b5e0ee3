/** The part of nats-server's `/jsz` this launcher reads. */
export interface Jsz {
  server_id?: string;
  meta_cluster?: {
    name?: string;
    leader?: string;
    cluster_size?: number;
    /** The other peers as this node sees them (the leader's view is the one that counts). */
    replicas?: { name: string; current: boolean; offline?: boolean; active?: number }[];
  };
}

/** A connection as `/connz` lists it. */
export interface Connz {
  server_id?: string;
  connections?: { cid: number; name?: string; ip?: string; port?: number }[];
}

async function readJson<T>(url: string): Promise<T | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined; // not listening (yet, or any more)
  }
}

/** `/jsz` of the server whose monitoring listener is at `monitorUrl`; undefined when it does not answer. */
export function readJsz(monitorUrl: string): Promise<Jsz | undefined> {
  return readJson<Jsz>(`${monitorUrl}/jsz`);
}

/** `/connz` (client connections, with their names); undefined when the server does not answer. */
export function readConnz(monitorUrl: string): Promise<Connz | undefined> {
  return readJson<Connz>(`${monitorUrl}/connz?limit=1024`);
}

interface JszStreams {
  account_details?: { stream_detail?: { name: string; cluster?: { leader?: string } }[] }[];
}

/** The server name that leads `stream` (e.g. `KV_voicebus_owners`), as `/jsz?streams=true` reports it. */
export async function readStreamLeader(monitorUrl: string, stream: string): Promise<string | undefined> {
  const jsz = await readJson<JszStreams>(`${monitorUrl}/jsz?accounts=true&streams=true`);
  for (const account of jsz?.account_details ?? []) {
    const leader = account.stream_detail?.find((s) => s.name === stream)?.cluster?.leader;
    if (leader) return leader;
  }
  return undefined;
}
