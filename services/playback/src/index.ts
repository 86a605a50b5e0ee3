// The public face of @voicebus/playback: the service's declaration (settings included) and
// its actor's messages.
export { PLAYBACK_SERVICE, runPlaybackService } from './playback-service.ts';
export { PLAYBACK_FLAGS, type PlaybackFlags } from './playback-flags.ts';
export type { PlaybackMessage } from './playback-actor.ts';
