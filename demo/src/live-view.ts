import type { DeviceView, TurnRow } from './conversation-monitor.ts';

/**
 * Per-device live lines. On a terminal the block is redrawn in place; otherwise (CI, a pipe)
 * each notable change is printed once as a plain line.
 */
export class LiveView {
  private readonly out: NodeJS.WriteStream;
  private readonly tty: boolean;
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly lastState = new Map<string, string>();
  private readonly views: () => DeviceView[];

  constructor(views: () => DeviceView[], out: NodeJS.WriteStream = process.stdout) {
    this.views = views;
    this.out = out;
    this.tty = Boolean(out.isTTY) && process.env.CI !== 'true';
  }

  start(): void {
    if (this.tty) this.timer = setInterval(() => this.redraw(), 200);
  }

  /** A message above the live block (service restarts, warnings). */
  note(message: string): void {
    if (this.tty) this.clear();
    this.out.write(`${message}\n`);
    if (this.tty) this.redraw();
  }

  changed(view: DeviceView): void {
    if (this.tty) return;
    const key = view.state;
    if (this.lastState.get(view.deviceId) === key) return;
    this.lastState.set(view.deviceId, key);
    this.out.write(`${view.deviceId}: ${view.state}\n`);
  }

  turn(view: DeviceView, row: TurnRow): void {
    const text = `${view.deviceId}: turn ${row.turnId} ${row.userStartS.toFixed(2)}-${row.userEndS.toFixed(2)} s ` +
      (row.answered
        ? `voice-to-voice ${row.voiceToVoiceMs} ms = end-of-turn ${row.endOfTurnDelayMs} + bus ${row.busMs} + model ${row.modelFirstAudioMs} + buffer ${row.playbackBufferMs}${row.interrupted ? ' (interrupted)' : ''}`
        : 'no answer');
    this.note(text);
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.tty) {
      this.redraw();
      this.drawnLines = 0;
    }
  }

  private clear(): void {
    if (this.drawnLines > 0) this.out.write(`\x1b[${this.drawnLines}A\x1b[0J`);
    this.drawnLines = 0;
  }

  private redraw(): void {
    this.clear();
    const width = Math.max(40, this.out.columns ?? 100);
    const lines = this.views().map((v) => {
      const last = v.rows.at(-1);
      const lat = last?.voiceToVoiceMs != null ? ` | last v2v ${last.voiceToVoiceMs} ms` : '';
      const said = v.assistantText ? ` | 🤖 ${v.assistantText}` : v.userText ? ` | 🗣 ${v.userText}` : '';
      return `${v.deviceId.padEnd(6)} ${v.state.padEnd(18)} turns ${v.rows.length}${lat}${said}`.slice(0, width - 1);
    });
    this.out.write(lines.join('\n') + '\n');
    this.drawnLines = lines.length;
  }
}
