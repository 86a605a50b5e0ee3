/**
 * Container health check: the service rewrites HEALTH_FILE every few seconds while it is
 * connected to NATS; healthy means the file is fresh. Local to the container, so it is right
 * for every replica of a scaled service.
 */
import { statSync } from 'node:fs';

const file = process.env.HEALTH_FILE ?? '/tmp/voicebus-healthy';
const maxAgeMs = Number(process.env.HEALTH_MAX_AGE_MS ?? 15_000);
try {
  const age = Date.now() - statSync(file).mtimeMs;
  if (age > maxAgeMs) {
    console.error(`unhealthy: ${file} is ${Math.round(age)} ms old`);
    process.exit(1);
  }
} catch {
  console.error(`unhealthy: ${file} does not exist (not connected yet)`);
  process.exit(1);
}
