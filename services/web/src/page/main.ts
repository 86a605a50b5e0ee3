/// <reference lib="dom" />
// The browser device page: wires the device to the view and the controls.
import { isValidDeviceId } from '@voicebus/protocol';
import { ConversationView } from './conversation-view.ts';
import type { MicrophoneOptions } from './microphone.ts';
import { WebDevice } from './web-device.ts';

const params = new URLSearchParams(location.search);
const view = new ConversationView();
const nameInput = document.querySelector<HTMLInputElement>('#device')!;
const startButton = document.querySelector<HTMLButtonElement>('#start')!;
const muteButton = document.querySelector<HTMLButtonElement>('#mute')!;
const processing = ['echoCancellation', 'noiseSuppression', 'autoGainControl'] as const;

/** Each tab is its own device: the id lives in the tab's session storage unless the URL names one. */
function deviceName(): string {
  const fromUrl = params.get('device');
  if (fromUrl) return fromUrl;
  let id = sessionStorage.getItem('voicebus.device');
  if (!id) {
    id = `web-${Math.random().toString(36).slice(2, 8)}`;
    sessionStorage.setItem('voicebus.device', id);
  }
  return id;
}

function micOptions(): Partial<MicrophoneOptions> {
  const opts: Partial<MicrophoneOptions> = {};
  for (const key of processing) opts[key] = document.querySelector<HTMLInputElement>(`#${key}`)!.checked;
  return opts;
}

nameInput.value = deviceName();
let device: WebDevice | undefined;

async function start(): Promise<void> {
  const id = nameInput.value.trim();
  if (!isValidDeviceId(id)) {
    view.problem(`"${id}" cannot be a device name: use 1-64 letters, digits, _ or -.`);
    return;
  }
  startButton.disabled = true;
  nameInput.readOnly = true;
  device ??= new WebDevice(id, {
    status: (s) => view.status(s),
    event: (e) => view.event(e),
    level: (db) => view.level(db),
    problem: (m) => view.problem(m),
    speaking: (t) => view.assistantSpeaking(t),
  });
  exposeForTests(device);
  try {
    await device.start(micOptions());
    view.started();
    muteButton.disabled = false;
  } catch {
    // The view shows why (permission denied, no microphone); Start tries again.
    startButton.disabled = false;
  }
}

function toggleMute(): void {
  if (!device) return;
  device.setMuted(!device.muted);
  muteButton.setAttribute('aria-pressed', String(device.muted));
  muteButton.textContent = device.muted ? 'Unmute (M)' : 'Mute (M)';
}

startButton.addEventListener('click', () => void start());
muteButton.addEventListener('click', toggleMute);
document.addEventListener('keydown', (e) => {
  if ((e.key === 'm' || e.key === 'M') && !(e.target instanceof HTMLInputElement)) toggleMute();
});
for (const key of processing) {
  document.querySelector<HTMLInputElement>(`#${key}`)!.addEventListener('change', () => {
    if (device) void device.openMic(micOptions()).catch(() => {});
  });
}

/** The page's own records, for tests and for a curious person at the console. */
function exposeForTests(d: WebDevice): void {
  (window as unknown as { voicebus: object }).voicebus = {
    device: d,
    get state() {
      return view.state;
    },
    get capture() {
      return d.capture;
    },
    get playout() {
      return d.speakerRecord;
    },
    get malformed() {
      return d.malformed;
    },
    get denied() {
      return d.denied;
    },
    get outbox() {
      return d.outbox.stats;
    },
  };
}

if (params.get('autostart') === '1') void start();
