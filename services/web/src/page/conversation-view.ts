/// <reference lib="dom" />
import type { VoiceEvent } from '@voicebus/protocol';
import type { LinkStatus } from './bus-link.ts';

export const VIEW_STATES = {
  idle: 'not started',
  listening: 'listening',
  userSpeaking: 'you are speaking',
  thinking: 'thinking',
  assistantSpeaking: 'assistant speaking',
  interrupted: 'interrupted',
} as const;
export type ViewState = (typeof VIEW_STATES)[keyof typeof VIEW_STATES];

const INTERRUPTED_SHOWN_MS = 1200;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

function must<T extends Element>(selector: string): T {
  const e = document.querySelector<T>(selector);
  if (!e) throw new Error(`page is missing ${selector}`);
  return e;
}

/**
 * What the person sees: one large state, both sides' transcripts as they come, one latency row
 * per answered turn with its parts, the connection and the microphone level. It only shows
 * what the device's events say; it decides nothing.
 */
export class ConversationView {
  state: ViewState = VIEW_STATES.idle;
  private readonly stateEl = must<HTMLElement>('#state');
  private readonly statusEl = must<HTMLElement>('#connection');
  private readonly problemEl = must<HTMLElement>('#problem');
  private readonly meterEl = must<HTMLMeterElement>('#level');
  private readonly transcriptEl = must<HTMLOListElement>('#transcript');
  private readonly latencyEl = must<HTMLTableSectionElement>('#latency tbody');
  private readonly strategyEl = must<HTMLElement>('#strategy');
  private readonly lines = new Map<string, HTMLLIElement>();
  private openTurn: string | undefined;
  private speaking = false;
  private interruptedUntil = 0;
  private interruptTimer: ReturnType<typeof setTimeout> | undefined;

  started(): void {
    this.set(VIEW_STATES.listening);
  }

  status(s: LinkStatus): void {
    const text = {
      connecting: () => `connecting to the bus (attempt ${(s as { attempt: number }).attempt})`,
      connected: () => ((s as { reconnected: boolean }).reconnected ? 'connected again' : 'connected'),
      reconnecting: () => 'connection lost: reconnecting',
      unreachable: () => {
        const u = s as Extract<LinkStatus, { kind: 'unreachable' }>;
        return `NATS unreachable (${u.reason}); retrying in ${(u.retryInMs / 1000).toFixed(1)} s (attempt ${u.attempt})`;
      },
      closed: () => 'disconnected',
    }[s.kind]();
    this.statusEl.textContent = text;
    this.statusEl.dataset.kind = s.kind;
  }

  problem(message: string | undefined): void {
    this.problemEl.textContent = message ?? '';
    this.problemEl.hidden = !message;
  }

  level(dbfs: number): void {
    this.meterEl.value = Math.max(-60, dbfs) + 60;
    this.meterEl.textContent = `${dbfs.toFixed(0)} dBFS`;
  }

  assistantSpeaking(turnId: string | undefined): void {
    this.speaking = turnId !== undefined;
    this.settle();
  }

  event(e: VoiceEvent): void {
    switch (e.type) {
      case 'session.opened':
        this.strategyEl.textContent = e.interruption;
        break;
      case 'turn.start':
        this.openTurn = e.turnId;
        break;
      case 'turn.end':
        this.openTurn = undefined;
        if (!this.speaking) this.set(VIEW_STATES.thinking);
        return;
      case 'user.turn.dropped':
        if (this.state === VIEW_STATES.thinking) this.set(VIEW_STATES.listening);
        break;
      case 'assistant.interrupted':
        this.interrupted();
        return;
      case 'transcript':
        this.transcript(e.role, e.text, e.final, e.turnId);
        return;
      case 'turn.latency':
        this.latency(e);
        return;
      default:
        return;
    }
    this.settle();
  }

  private interrupted(): void {
    this.interruptedUntil = Date.now() + INTERRUPTED_SHOWN_MS;
    this.set(VIEW_STATES.interrupted);
    clearTimeout(this.interruptTimer);
    this.interruptTimer = setTimeout(() => this.settle(), INTERRUPTED_SHOWN_MS);
  }

  /** The state that follows from what is going on now. */
  private settle(): void {
    if (this.openTurn) return this.set(VIEW_STATES.userSpeaking);
    if (Date.now() < this.interruptedUntil) return this.set(VIEW_STATES.interrupted);
    if (this.speaking) return this.set(VIEW_STATES.assistantSpeaking);
    if (this.state !== VIEW_STATES.thinking) this.set(VIEW_STATES.listening);
  }

  private set(state: ViewState): void {
    // An answer that starts playing ends "thinking"; one that stops does not bring it back.
    if (state === VIEW_STATES.listening && this.state === VIEW_STATES.thinking && !this.speaking) return;
    this.state = state;
    this.stateEl.textContent = state;
    this.stateEl.dataset.state = state.replaceAll(' ', '-');
  }

  private transcript(role: 'user' | 'assistant', text: string, final: boolean, turnId: string | undefined): void {
    const key = `${role}:${turnId ?? 'none'}`;
    let li = this.lines.get(key);
    if (!li) {
      li = el('li', { class: role, 'data-turn': turnId ?? '' });
      li.append(el('span', { class: 'who' }, role === 'user' ? 'You' : 'Assistant'), el('span', { class: 'text' }));
      this.lines.set(key, li);
      this.transcriptEl.append(li);
    }
    const span = li.querySelector('.text')!;
    span.textContent = final ? text.trim() : (span.textContent ?? '') + text;
    li.dataset.final = String(final);
    li.scrollIntoView?.({ block: 'nearest' });
    if (role === 'assistant' && this.state === VIEW_STATES.thinking && this.speaking) this.set(VIEW_STATES.assistantSpeaking);
  }

  private latency(e: Extract<VoiceEvent, { type: 'turn.latency' }>): void {
    const ms = (v: number) => v.toFixed(0);
    const tr = el('tr', { 'data-turn': e.turnId });
    tr.append(
      el('th', { scope: 'row' }, e.turnId.split('-').slice(-1)[0] ?? e.turnId),
      el('td', {}, ms(e.voiceToVoiceMs)),
      el('td', {}, ms(e.endOfTurnDelayMs)),
      el('td', {}, ms(e.busMs)),
      el('td', {}, ms(e.modelFirstAudioMs)),
      el('td', {}, ms(e.playbackBufferMs)),
      el('td', {}, e.interrupted ? 'yes' : 'no'),
    );
    this.latencyEl.append(tr);
  }
}
