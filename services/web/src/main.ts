// The web service process. The service itself is declared in web-service.ts.
import { runWebService } from './web-service.ts';

await runWebService();
