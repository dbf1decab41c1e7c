'use strict';
// The action's main step: find magento-auth, then `magento-auth setup`.
// Runs when the runner executes this file; a tool that requires it instead
// (@github/local-action) calls the exported run() itself.
const launcher = require('./launcher');

/** Run the main step with `env`; sets the process's exit code, as the runner reads it. */
async function run(env = process.env) {
  const code = await launcher.main(env);
  process.exitCode = code;
  return code;
}

module.exports = { run };

if (require.main === module) run();
