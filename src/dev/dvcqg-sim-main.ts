import { loadConfig } from '../config/load-config.js';
import { startDvcqgSimulator } from './dvcqg-simulator.js';
import { DEV_DVCQG_CLIENT, registerDevClient } from './dvcqg-dev.js';

/** `npm run dvcqg-sim`: the DVCQG simulator alone, with tinnhiem's development client registered. */
const config = loadConfig();
const port = config.federation.simulatorPort;
const simulator = await startDvcqgSimulator({ port, host: '127.0.0.1', hostname: '127.0.0.1' });
registerDevClient(simulator, config.server.publicUrl);
process.stdout.write(
  [
    '',
    `  DVCQG simulator on ${simulator.url} (authorize ${simulator.url}/oauth2/authorize, token …/oauth2/token, userinfo …/oauth2/userinfo)`,
    `  client ${DEV_DVCQG_CLIENT.clientId}, secret ${DEV_DVCQG_CLIENT.clientSecret} (client_secret_post), redirect ${config.server.publicUrl}/federation/dvcqg/callback`,
    '  Stop with Ctrl-C.',
    '',
  ].join('\n') + '\n',
);
const stop = () => void simulator.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
