'use strict';
// The post step's leak sweep (issue 16, item 2): after cleanup, the workspace
// is searched for the keys with the real binary, in a runner-like job; the
// scan input says whether a copy found warns (the default), fails the step,
// or is not looked for.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { canaryKeys, realBinary, secretForms, withJob } = require('./harness');

const binary = realBinary();
const noBinary = !binary && 'no magento-auth binary: run `cargo build` first (scripts/lint-ci does)';
const keys = canaryKeys();
const forms = secretForms(keys);
// The runner gives post the same inputs as main.
const inputs = { 'public-key': keys.pub, 'private-key': keys.priv, check: 'false', binary };

/** Copies of the keys a job could leave in its workspace: path -> content. */
function plant(job) {
  const files = {
    // deep in vendor/, an auth.json a package shipped
    'vendor/acme/module-x/Test/fixtures/auth.json': JSON.stringify({
      'http-basic': { 'repo.magento.com': { username: keys.pub, password: keys.priv } },
    }),
    // a .env of a Docker build context holding COMPOSER_AUTH, base64'd
    'build/docker/.env': `COMPOSER_AUTH_B64=${Buffer.from(`{"x":"${keys.pub}:${keys.priv}"}`).toString('base64')}\n`,
  };
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(job.workspace, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return Object.keys(files).sort();
}

/** No key in what a step printed or wrote to its file commands (masks aside). */
function assertNothingShown(step) {
  for (const form of forms) {
    assert.ok(!step.stderr.includes(form), `${step.which} stderr holds a key`);
    for (const line of step.stdout.split(/\r?\n/)) {
      if (line.includes(form)) assert.ok(line.startsWith('::add-mask::'), `${step.which} stdout shows a key: ${line}`);
    }
    for (const [name, text] of Object.entries(step.raw)) {
      assert.ok(!text.includes(form), `${step.which} ${name} file holds a key`);
    }
  }
}

/** The files the `::warning` annotations of leaks name, sorted. */
function annotated(step, level = 'warning') {
  return step.stdout
    .split(/\r?\n/)
    .filter((line) => line.startsWith(`::${level} `) && line.includes('a key left in a file'))
    .map((line) => /,file=([^,:]*)::/.exec(line)[1])
    .sort();
}

async function mainAndPost(job, extra = {}) {
  const main = await job.run('main', { ...inputs, ...extra });
  assert.equal(main.status, 0, main.stdout + main.stderr);
  return job.run('post', { ...inputs, ...extra });
}

test(
  'scan warn (the default): one warning annotation per file, a line in the job summary, the step passes',
  { skip: noBinary },
  withJob(async (job) => {
    const planted = plant(job);
    const post = await mainAndPost(job);
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.deepEqual(annotated(post), planted, post.stdout);
    assert.ok(!/^::error/m.test(post.stdout), `warn raises no error annotation: ${post.stdout}`);
    assert.match(post.summary, /### magento-auth scan/);
    assert.match(post.summary, /`leaked`/);
    assert.match(post.summary, /2 file\(s\) hold a key/);
    // cleanup ran before it: Composer's home auth.json is gone.
    assert.ok(!fs.existsSync(path.join(job.composerHome, 'auth.json')));
    for (const step of job.steps) assertNothingShown(step);
  }),
);

test(
  'scan fail: the post step fails with exit 7 and an error, after cleanup',
  { skip: noBinary },
  withJob(async (job) => {
    const planted = plant(job);
    const post = await mainAndPost(job, { scan: 'fail' });
    assert.equal(post.status, 7, post.stdout + post.stderr);
    assert.deepEqual(annotated(post), planted, post.stdout);
    assert.match(post.stdout, /^::error title=magento-auth::2 file\(s\) hold a key/m);
    assert.match(post.summary, /`leaked`/);
    assert.ok(!fs.existsSync(path.join(job.composerHome, 'auth.json')), 'cleanup ran first');
    for (const step of job.steps) assertNothingShown(step);
  }),
);

test(
  'scan false: the workspace is not searched',
  { skip: noBinary },
  withJob(async (job) => {
    plant(job);
    const post = await mainAndPost(job, { scan: 'false' });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.deepEqual(annotated(post), []);
    assert.ok(!post.stdout.includes('leak: '), post.stdout);
    assert.equal(post.summary, '');
    assert.ok(!fs.existsSync(path.join(job.composerHome, 'auth.json')), 'cleanup still ran');
    for (const step of job.steps) assertNothingShown(step);
  }),
);

test(
  "scan fail: project mode's own auth.json in the workspace is restored before the search, so the job is clean",
  { skip: noBinary },
  withJob(async (job) => {
    fs.writeFileSync(path.join(job.workspace, 'composer.json'), '{"name": "example/app", "require": {}}\n');
    const post = await mainAndPost(job, { scan: 'fail', mode: 'project' });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.deepEqual(annotated(post), []);
    assert.match(post.summary, /`clean`/);
    assert.ok(!fs.existsSync(path.join(job.workspace, 'auth.json')));
    for (const step of job.steps) assertNothingShown(step);
  }),
);

test(
  'no keys (a pull request from a fork): the search is skipped, the step passes',
  { skip: noBinary },
  withJob(async (job) => {
    plant(job);
    const noKeys = { check: 'false', binary, 'on-missing': 'skip', scan: 'fail' };
    const main = await job.run('main', noKeys);
    assert.equal(main.status, 0, main.stdout + main.stderr);
    const post = await job.run('post', noKeys);
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.deepEqual(annotated(post), []);
  }),
);

test(
  'a scan value that is none of warn, fail, false fails main before setup, and post after cleanup',
  { skip: noBinary },
  withJob(async (job) => {
    const main = await job.run('main', { ...inputs, scan: 'yes' });
    assert.equal(main.status, 1);
    assert.match(main.stdout, /::error::the scan input must be warn, fail or false, not "yes"/);
    assert.ok(!fs.existsSync(path.join(job.composerHome, 'auth.json')), 'setup did not run');
    const post = await job.run('post', { ...inputs, scan: 'yes' });
    assert.equal(post.status, 1);
    assert.match(post.stdout, /::error::the scan input must be warn, fail or false/);
  }),
);
