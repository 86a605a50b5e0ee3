// The capture process. The service itself is declared in capture-service.ts.
import { runCaptureService } from './capture-service.ts';

await runCaptureService();
