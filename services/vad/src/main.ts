// The vad process. The service itself is declared in vad-service.ts.
import { runVadService } from './vad-service.ts';

await runVadService();
