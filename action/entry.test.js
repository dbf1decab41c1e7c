'use strict';
// The entry points as tools other than the runner use them: @github/local-action
// requires main.js or post.js and calls the exported run(), so a require must
// run nothing and run() must do what `node main.js` does.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { copyAction, fakeProgram, withJob } = require('./harness');

const unix = process.platform !== 'win32';
const needs = !unix && 'stand-in binaries are node scripts with a shebang';

for (const which of ['main', 'post']) {
  test(
    `requiring ${which}.js runs nothing: no build, no binary, no output; it exports run()`,
    { skip: needs },
    withJob(async (job) => {
      // Were anything to run, main would build (an empty table, a cargo on PATH)
      // and post would run the binary main "saved".
      job.actionDir = copyAction(job.mkdir('action-copy'), { versions: {} });
      const bin = job.mkdir('bin');
      const cargo = fakeProgram(bin, 'cargo');
      const binary = fakeProgram(job.mkdir('saved'), 'magento-auth');
      const env = { PATH: `${bin}${path.delimiter}${process.env.PATH}`, STATE_binary: binary.file };
      const loaded = await job.run(which, { check: 'false' }, env, { via: 'load' });
      assert.equal(loaded.status, 0, loaded.stdout + loaded.stderr);
      assert.equal(loaded.stdout, '');
      assert.equal(loaded.stderr, '');
      assert.deepEqual(cargo.calls(), [], 'no cargo build');
      assert.deepEqual(binary.calls(), [], 'no binary ran');
      for (const [name, text] of Object.entries(loaded.raw)) assert.equal(text, '', `nothing in ${name}`);
      assert.deepEqual(fs.readdirSync(job.runnerTemp), [], 'nothing staged');
      assert.equal(typeof require(path.join(job.actionDir, 'action', `${which}.js`)).run, 'function');
    }),
  );
}

/** What a step did, without what differs from one run to the next. */
function observed(step, fake, from) {
  return {
    status: step.status,
    stdout: step.stdout,
    stderr: step.stderr,
    state: step.state,
    calls: fake.calls().slice(from).map((call) => ({
      args: call.args,
      env: Object.fromEntries(Object.entries(call.env).filter(([name]) => /^(MAGENTO_|STATE_)/.test(name))),
    })),
  };
}

test(
  'run() of main.js and post.js does what `node main.js` and `node post.js` do, exit code included',
  { skip: needs },
  withJob(async (job) => {
    const fake = fakeProgram(job.root, 'magento-auth');
    const inputs = { binary: fake.file, mode: 'project', check: 'warn', 'require-packages': 'a/b, c/d' };
    const results = {};
    for (const via of ['file', 'require']) {
      const main = await job.run('main', inputs, { FAKE_EXIT: '5' }, { via });
      const mainSeen = observed(main, fake, -1);
      const before = fake.calls().length;
      const post = await job.run('post', { binary: fake.file }, { FAKE_EXIT: '4' }, { via });
      results[via] = { main: mainSeen, post: observed(post, fake, before) };
    }
    assert.equal(results.file.main.status, 5, 'the binary\'s exit code is the step\'s');
    assert.equal(results.file.post.status, 4);
    assert.deepEqual(results.file.main.calls.map((c) => c.args), [['setup']]);
    assert.deepEqual(
      results.file.post.calls.map((c) => c.args),
      [['cleanup'], ['scan', '--on-missing', 'skip', '--on-leak', 'warn', job.workspace]],
    );
    assert.deepEqual(results.require, results.file);
  }),
);
