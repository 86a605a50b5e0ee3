import hdr from 'hdr-histogram-js';
import type { DeviceView, TurnRow } from './conversation-monitor.ts';

const STAGES = ['endOfTurnDelayMs', 'busMs', 'modelFirstAudioMs', 'playbackBufferMs', 'voiceToVoiceMs'] as const;

/** p50/p95 per latency stage over the answered turns, with an HDR histogram per stage. */
export function latencyPercentiles(rows: TurnRow[]): Record<(typeof STAGES)[number], { p50: number; p95: number; n: number }> {
  const out = {} as Record<(typeof STAGES)[number], { p50: number; p95: number; n: number }>;
  for (const stage of STAGES) {
    // Microsecond resolution keeps sub-millisecond bus hops visible.
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
    let n = 0;
    for (const r of rows) {
      const v = r[stage];
      if (v !== null && Number.isFinite(v)) {
        h.recordValue(Math.max(1, Math.round(v * 1000)));
        n++;
      }
    }
    out[stage] = { p50: n ? h.getValueAtPercentile(50) / 1000 : NaN, p95: n ? h.getValueAtPercentile(95) / 1000 : NaN, n };
  }
  return out;
}

export function summaryTable(views: DeviceView[]): string {
  const lines: string[] = [];
  lines.push('device      turns  answered  interrupted');
  for (const v of views) {
    lines.push(`${v.deviceId.padEnd(10)}  ${String(v.rows.length).padStart(5)}  ${String(v.rows.filter((r) => r.answered).length).padStart(8)}  ${String(v.rows.filter((r) => r.interrupted).length).padStart(11)}`);
  }
  const speculated = views.filter((v) => v.speculations.started > 0);
  if (speculated.length > 0) {
    lines.push('');
    lines.push('speculative end of turn  started  confirmed  withdrawn');
    for (const v of speculated) {
      const s = v.speculations;
      lines.push(`${v.deviceId.padEnd(23)}  ${String(s.started).padStart(7)}  ${String(s.confirmed).padStart(9)}  ${String(s.withdrawn).padStart(9)}`);
    }
  }
  const all = views.flatMap((v) => v.rows);
  const p = latencyPercentiles(all);
  lines.push('');
  lines.push('latency (ms)            p50      p95    n');
  for (const stage of STAGES) {
    const s = p[stage];
    lines.push(`${stage.padEnd(20)} ${fmt(s.p50)} ${fmt(s.p95)} ${String(s.n).padStart(4)}`);
  }
  return lines.join('\n');
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-').padStart(8);

/** The conversation history printed on exit, wrapped to the terminal. */
export function historyText(view: DeviceView, width: number): string {
  const lines = [`── ${view.deviceId} conversation ──`];
  for (const h of view.history) {
    const who = h.role === 'user' ? 'You' : 'Assistant';
    lines.push(...wrap(`${who}: ${h.text}`, Math.max(20, width), '    '));
  }
  if (view.history.length === 0) lines.push('(no transcripts)');
  return lines.join('\n');
}

function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && (line + ' ' + word).length > width) {
      out.push(line);
      line = indent + word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}
