// The session process. The service itself is declared in session-service.ts.
import { runSessionService } from './session-service.ts';

await runSessionService();
