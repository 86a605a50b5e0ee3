/**
 * Every instance of a service (and for the lease bucket, every service of a stack) makes the
 * JetStream streams and KV buckets it needs as it starts, so several make the same one at the
 * same moment. nats-server 2.9 may answer the loser of two racing creates with "subjects
 * overlap with an existing stream": the winner's stream, made with the same name and subjects
 * (seen in CI under load). Asked again, the create finds the stream as it wants it. Any other
 * error, or this one three times, is the caller's.
 */
export async function createRacing<T>(create: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (err) {
      if (attempt >= 3 || !isCreateRace(err)) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

/** The answer a create gets when another client made the same stream a moment earlier. */
export function isCreateRace(err: unknown): boolean {
  return /subjects overlap with an existing stream/i.test(err instanceof Error ? err.message : String(err));
}
