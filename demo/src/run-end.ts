import { unansweredTurns, type ConversationMonitor, type DeviceView } from './conversation-monitor.ts';

/** Why a run ended; the exit code follows from it and from the turns (runExitCode). */
export const RUN_END = {
  finished: 'every input ended and every answer was played',
  timeLimit: 'time limit reached',
  quiet: 'inputs ended and nothing happened for 15 s',
  /** `--web` runs until it is stopped: its time limit is its normal end. */
  webTimeLimit: 'the --timeout-s of the web demo passed',
} as const;
export type RunEnd = (typeof RUN_END)[keyof typeof RUN_END];

/** A turn nobody answers (a lost session, a restarted service) must not keep a run up forever. */
export const QUIET_END_MS = 15_000;

/**
 * When a run of devices that end (files, not browsers) is over: every input ended and every
 * answer was played, or the time limit passed, or the inputs ended and nothing happened for
 * QUIET_END_MS. The demo and the bench's in-process stack end their runs by this one rule.
 */
export function runEnded(monitor: ConversationMonitor, timeoutS: number): Promise<RunEnd> {
  return new Promise((resolve) => {
    const end = (why: RunEnd) => {
      clearTimeout(limit);
      clearInterval(quiet);
      resolve(why);
    };
    monitor.on('change', () => {
      if (monitor.finished) end(RUN_END.finished);
    });
    const limit = setTimeout(() => end(RUN_END.timeLimit), timeoutS * 1000);
    const quiet = setInterval(() => {
      if (monitor.allInputsEnded && Date.now() - monitor.lastEventAt > QUIET_END_MS) end(RUN_END.quiet);
    }, 1000);
    limit.unref();
    quiet.unref();
  });
}

/**
 * The exit code tells the truth: 0 when the run finished and every spoken turn was answered
 * (a false interruption is not a spoken turn), 3 when one went unanswered (the run then ends
 * when things went quiet), 4 when it ended on its time limit, or went quiet with no turn to
 * blame (an answer still owed). `why` is a RUN_END or another reason (a failure: 4).
 */
export function runExitCode(why: string, devices: readonly DeviceView[], log: (line: string) => void = console.log): number {
  const unanswered = devices.flatMap((d) => unansweredTurns(d.rows).map((i) => d.rows[i]!));
  if (unanswered.length > 0) log(`${unanswered.length} spoken turn${unanswered.length > 1 ? 's' : ''} went unanswered: ${unanswered.map((r) => r.turnId).join(', ')}`);
  if (why === RUN_END.timeLimit) return 4;
  if (unanswered.length > 0) return 3;
  return why === RUN_END.finished || why === RUN_END.webTimeLimit ? 0 : 4;
}
