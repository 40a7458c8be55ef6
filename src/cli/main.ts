import { cliState, EXIT } from './cli-support.js';
import { runCli } from './program.js';

const code = await runCli(process.argv);
// `serve` keeps running until its signal handler exits; every other command ends here, even if
// a library left a handle open.
if (code !== EXIT.ok || !cliState.keepRunning) process.exit(code);
