// The playback process. The service itself is declared in playback-service.ts.
import { runPlaybackService } from './playback-service.ts';

await runPlaybackService();
