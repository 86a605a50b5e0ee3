import { InvalidArgumentError } from 'commander';
import type { SimSession } from './sim-session.ts';

/** What a scripted fault does to the connection it hits (the same actions as the HTTP API). */
export const FAULT_ACTIONS = ['goaway', 'drop', 'close', 'stall'] as const;
export type FaultAction = (typeof FAULT_ACTIONS)[number];

/** The moments a fault is counted from, server-wide across connections (resumed ones too). */
export const FAULT_MOMENTS = ['speech', 'answer'] as const;
export type FaultMoment = (typeof FAULT_MOMENTS)[number];

export interface SimFault {
  action: FaultAction;
  /** `speech`: the user starts speaking (activityStart, or server detection's start); `answer`: the model starts answering. */
  on: FaultMoment;
  /** The n-th such moment on this server, 1-based. */
  nth: number;
  /** How long after that moment. */
  afterMs: number;
  /** goaway: time left before the close. */
  timeLeftMs: number;
  /** close: the close code. */
  code: number;
  /** stall: how long (Infinity = until closed). */
  ms: number;
}

export class FaultSpecError extends Error {
  override name = 'FaultSpecError';
}

const FAULT_DEFAULTS = { afterMs: 0, timeLeftMs: 5000, code: 1011, ms: Infinity };
const SPEC = /^(goaway|drop|close|stall)@(speech|answer)(\d+)(?:\+(\d+)(?:ms)?)?((?::[a-zA-Z]+=\d+)*)$/;

/**
 * Parses `ACTION@MOMENT<n>[+DELAYms][:key=value...]`, several joined by `;`. Examples:
 * `goaway@speech1+1000:timeLeftMs=200` (a goAway 1 s into the first user turn, 200 ms left),
 * `drop@speech2+500`, `close@speech1+800:code=1011`, `stall@answer1+300:ms=20000`.
 */
export function parseFaults(spec: string): SimFault[] {
  return spec.split(';').map((s) => s.trim()).filter(Boolean).map((one) => {
    const m = SPEC.exec(one);
    if (!m) throw new FaultSpecError(`bad fault ${JSON.stringify(one)}: expected ACTION@MOMENTn[+DELAYms][:key=value], ACTION one of ${FAULT_ACTIONS.join(', ')}, MOMENT one of ${FAULT_MOMENTS.join(', ')} (e.g. drop@speech1+1000)`);
    const fault: SimFault = { ...FAULT_DEFAULTS, action: m[1] as FaultAction, on: m[2] as FaultMoment, nth: Number(m[3]), afterMs: Number(m[4] ?? 0) };
    if (fault.nth < 1) throw new FaultSpecError(`bad fault ${JSON.stringify(one)}: moments count from 1`);
    for (const kv of (m[5] ?? '').split(':').filter(Boolean)) {
      const [key, value] = kv.split('=') as [string, string];
      if (key !== 'timeLeftMs' && key !== 'code' && key !== 'ms') throw new FaultSpecError(`bad fault ${JSON.stringify(one)}: unknown setting ${key} (timeLeftMs, code or ms)`);
      fault[key] = Number(value);
    }
    return fault;
  });
}

/** `parseFaults` for a command-line option: a bad script is commander's usage error (exit 1 with the message). */
export function faultsOption(raw: string): SimFault[] {
  try {
    return parseFaults(raw);
  } catch (err) {
    if (err instanceof FaultSpecError) throw new InvalidArgumentError(err.message);
    throw err;
  }
}

export interface FiredFault {
  fault: SimFault;
  session: string;
}

/**
 * Fires scripted faults at the connection where their moment happened, each once. Counting is
 * server-wide, so `speech2` is the conversation's second user turn even when the first one was
 * spoken on an earlier connection.
 */
export class FaultScript {
  private readonly counts: Record<FaultMoment, number> = { speech: 0, answer: 0 };
  private readonly pending: SimFault[];
  private readonly onFired: (fired: FiredFault) => void;

  constructor(faults: SimFault[], onFired: (fired: FiredFault) => void = () => {}) {
    this.pending = [...faults];
    this.onFired = onFired;
  }

  attach(session: SimSession): void {
    if (this.pending.length === 0) return;
    session.on('speech-started', () => this.moment('speech', session));
    session.on('answer-started', () => this.moment('answer', session));
  }

  private moment(on: FaultMoment, session: SimSession): void {
    const nth = ++this.counts[on];
    for (const fault of this.pending.filter((f) => f.on === on && f.nth === nth)) {
      this.pending.splice(this.pending.indexOf(fault), 1);
      const t = setTimeout(() => this.fire(fault, session), fault.afterMs);
      t.unref();
    }
  }

  private fire(fault: SimFault, session: SimSession): void {
    switch (fault.action) {
      case 'goaway': session.goAway(fault.timeLeftMs); break;
      case 'drop': session.drop(); break;
      case 'close': session.closeWith(fault.code, fault.code === 1011 ? 'Internal error encountered.' : 'scripted fault'); break;
      case 'stall': session.stall(fault.ms); break;
    }
    this.onFired({ fault, session: session.id });
  }
}
