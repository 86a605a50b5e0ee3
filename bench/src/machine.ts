import { cpus, totalmem } from 'node:os';

/** Recorded with every result so that numbers from different machines are never compared blindly. */
export function machineInfo() {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
  };
}
