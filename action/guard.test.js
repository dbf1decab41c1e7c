'use strict';
// The tests that guard the binary's GitHub side must fail, not skip, when the
// binary stops writing `status` to GITHUB_OUTPUT: github.test.js is run here
// against a binary that loses its GITHUB_OUTPUT, and must go red.

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { realBinary, withJob } = require('./harness');

const binary = realBinary();
const unix = process.platform !== 'win32';

// The tests that read `status` from GITHUB_OUTPUT, and the fourth that once
// skipped with them.
const READ_STATUS = [
  'setup masks every secret form first, then writes status, auth-file and mode outputs, a summary and state_file',
  'env mode: COMPOSER_AUTH goes to GITHUB_ENV in heredoc form after its mask; post resets it',
  'a failed setup reports status and an ::error:: annotation',
];
const ALSO_RUN = ['post finds the state through STATE_state_file, not by guessing the location'];

test(
  'github.test.js fails, skipping nothing, with a binary that writes no status to GITHUB_OUTPUT',
  { skip: (!binary && 'no magento-auth binary: run `cargo build` first') || (!unix && 'the wrapper is a shell script') },
  withJob(async (job) => {
    // The real binary, with GITHUB_OUTPUT sent nowhere: the regression itself.
    const wrapper = path.join(job.root, 'magento-auth');
    fs.writeFileSync(wrapper, `#!/bin/sh\nGITHUB_OUTPUT=/dev/null exec '${binary}' "$@"\n`, { mode: 0o755 });
    const env = { ...process.env, MAGENTO_AUTH_TEST_BINARY: wrapper };
    // Not a subtest of this run: a plain, separate test run.
    delete env.NODE_TEST_CONTEXT;
    const result = childProcess.spawnSync(
      process.execPath,
      ['--test', '--test-reporter=tap', path.join(__dirname, 'github.test.js')],
      { env, encoding: 'utf8', timeout: 5 * 60 * 1000 },
    );
    const out = result.stdout;
    assert.notEqual(result.status, 0, `the run passed:\n${out}`);
    assert.doesNotMatch(out, /# SKIP/, 'no test skipped itself');
    const line = (name) => new RegExp(`^(not ok|ok) \\d+ - ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');
    for (const name of READ_STATUS) {
      assert.equal(line(name).exec(out)?.[1], 'not ok', `${name} must fail:\n${out}`);
    }
    for (const name of ALSO_RUN) assert.ok(line(name).test(out), `${name} ran`);
  }),
);
