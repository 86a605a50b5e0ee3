import { runBusAuth } from './bus-auth-cli.ts';
import { CredentialError } from './errors.ts';

try {
  for (const line of await runBusAuth(process.argv.slice(2))) console.log(line);
} catch (err) {
  if (!(err instanceof CredentialError)) throw err;
  console.error(`bus-auth: ${err.message}`);
  process.exitCode = 2;
}
