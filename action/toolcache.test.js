'use strict';
// The tool cache is shared by every job of a runner, and on a self-hosted runner
// other repositories' jobs can write to it: the launcher runs only bytes it has
// checked, from a private copy, and never follows or writes through what is
// planted there.

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { canaryKeys, copyAction, fakeProgram, releaseServer, sha256, withJob } = require('./harness');
const { assetName, releaseTarget } = require('./launcher');

const unix = process.platform !== 'win32';
const target = releaseTarget();
const needs = (!unix || !target) && 'needs a release target and shebang scripts';
const root = unix && process.getuid() === 0;

function cachePath(job, version) {
  return path.join(job.toolCache, 'magento-auth', version, process.arch, 'magento-auth');
}

/**
 * What another job leaves at `file`: a shell script that, if it ever runs, writes
 * its environment (which would hold the keys) next to the job's files.
 */
function plant(job, file) {
  const record = path.join(job.root, `planted-ran-${path.basename(path.dirname(file))}`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\nenv > '${record}'\n`, { mode: 0o755 });
  return { file, ran: () => fs.existsSync(record) };
}

function warningFor(file) {
  return new RegExp(`^::warning::ignoring ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `, 'm');
}

/** A binary that runs is a private copy: in RUNNER_TEMP, in a directory only we can open. */
function assertPrivateCopy(job, binary) {
  assert.ok(binary.startsWith(job.runnerTemp + path.sep), `${binary} is under RUNNER_TEMP`);
  assert.ok(!binary.startsWith(job.toolCache + path.sep), `${binary} is not in the tool cache`);
  assert.equal(fs.lstatSync(path.dirname(binary)).mode & 0o777, 0o700);
}

/** A `cargo` on PATH that "builds" a copy of `staged`. */
function fakeCargo(job, staged) {
  const bin = job.mkdir('bin');
  const cargo = fakeProgram(bin, 'cargo', { produce: { from: staged.file, name: 'magento-auth' } });
  return { cargo, PATH: `${bin}${path.delimiter}${process.env.PATH}` };
}

test(
  'a binary planted in the tool cache for a version the table does not know is not run: a warning names it, and the step fails without a build',
  { skip: needs },
  withJob(async (job) => {
    const planted = plant(job, cachePath(job, '9.9.9'));
    const staged = fakeProgram(job.mkdir('staged'), 'magento-auth');
    const { cargo, PATH } = fakeCargo(job, staged);
    job.actionDir = copyAction(job.mkdir('action-copy'), { versions: {} }, '9.9.9');
    const keys = canaryKeys();
    const main = await job.run('main', { 'public-key': keys.pub, 'private-key': keys.priv, check: 'false' }, { PATH });
    assert.equal(main.status, 1, main.stdout + main.stderr);
    assert.ok(!planted.ran(), 'the planted binary never ran');
    assert.match(main.stdout, warningFor(planted.file));
    assert.match(main.stdout, /has no SHA-256 for magento-auth 9\.9\.9/);
    assert.match(main.stdout, /^::error::no verified magento-auth 9\.9\.9 for /m);
    assert.deepEqual(cargo.calls(), []);
    assert.deepEqual(staged.calls(), []);
    const post = await job.run('post', {}, { PATH });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.ok(!planted.ran());
  }),
);

test(
  'a planted binary whose SHA-256 does not match is replaced in the cache by the verified download, which runs from a private copy',
  { skip: needs },
  withJob(async (job) => {
    const planted = plant(job, cachePath(job, '9.9.9'));
    const staged = fakeProgram(job.mkdir('staged'), 'magento-auth');
    const bytes = fs.readFileSync(staged.file);
    const server = await releaseServer({ [`/v9.9.9/${assetName(target)}`]: bytes });
    try {
      job.actionDir = copyAction(job.mkdir('action-copy'), {
        versions: { '9.9.9': { [target]: sha256(bytes) } },
      }, '9.9.9');
      const env = { GITHUB_ACTION_REPOSITORY: 'example/magento-auth', MAGENTO_AUTH_ACTION_TEST_RELEASE_BASE: server.base };
      const main = await job.run('main', { check: 'false' }, env);
      assert.equal(main.status, 0, main.stdout + main.stderr);
      assert.ok(!planted.ran(), 'the planted binary never ran');
      assert.match(main.stdout, warningFor(planted.file));
      assert.equal(server.requests.length, 1);
      assert.equal(staged.calls().length, 1, 'the verified download ran');
      assertPrivateCopy(job, main.state.binary);
      assert.equal(sha256(fs.readFileSync(planted.file)), sha256(bytes), 'the cache now holds the verified binary');
      assert.ok(fs.lstatSync(planted.file).isFile());
    } finally {
      await server.close();
    }
  }),
);

test(
  'a cached binary whose SHA-256 is in the table runs from a private copy, so a file swapped into the cache after main never runs in post',
  { skip: needs },
  withJob(async (job) => {
    const cached = cachePath(job, '9.9.9');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    const fake = fakeProgram(path.dirname(cached), 'magento-auth');
    job.actionDir = copyAction(job.mkdir('action-copy'), {
      versions: { '9.9.9': { [target]: sha256(fs.readFileSync(fake.file)) } },
    }, '9.9.9');
    const main = await job.run('main', { check: 'false' });
    assert.equal(main.status, 0, main.stdout + main.stderr);
    assert.doesNotMatch(main.stdout, /::warning::/);
    assert.deepEqual(
      fake.calls().map((call) => call.args),
      [['setup']],
    );
    assertPrivateCopy(job, main.state.binary);
    // Another job swaps the cache entry while this one runs its build steps.
    fs.rmSync(cached);
    const planted = plant(job, cached);
    const post = await job.run('post');
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.ok(!planted.ran(), 'the swapped-in file never ran');
    assert.deepEqual(
      fake.calls().slice(-2).map((call) => call.args[0]),
      ['cleanup', 'scan'],
    );
  }),
);

test(
  'a symlink in the tool cache is ignored even when its target matches the table, and nothing is written through it',
  { skip: needs },
  withJob(async (job) => {
    const staged = fakeProgram(job.mkdir('staged'), 'magento-auth');
    const bytes = fs.readFileSync(staged.file);
    // The link's target is the genuine binary today; whoever owns it can change it at any time.
    const elsewhere = path.join(job.mkdir('elsewhere'), 'magento-auth');
    fs.copyFileSync(staged.file, elsewhere);
    const cached = cachePath(job, '9.9.9');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.symlinkSync(elsewhere, cached);
    const server = await releaseServer({ [`/v9.9.9/${assetName(target)}`]: bytes });
    try {
      job.actionDir = copyAction(job.mkdir('action-copy'), {
        versions: { '9.9.9': { [target]: sha256(bytes) } },
      }, '9.9.9');
      const env = { GITHUB_ACTION_REPOSITORY: 'example/magento-auth', MAGENTO_AUTH_ACTION_TEST_RELEASE_BASE: server.base };
      const before = fs.statSync(elsewhere);
      const main = await job.run('main', { check: 'false' }, env);
      assert.equal(main.status, 0, main.stdout + main.stderr);
      assert.match(main.stdout, warningFor(cached));
      assert.match(main.stdout, /symbolic link/);
      assert.equal(server.requests.length, 1, 'downloaded as if the cache were empty');
      assertPrivateCopy(job, main.state.binary);
      assert.ok(!fs.lstatSync(cached).isSymbolicLink(), 'the link was replaced, not written through');
      const after = fs.statSync(elsewhere);
      assert.equal(after.mtimeMs, before.mtimeMs, 'the link target was not touched');
      assert.equal(after.ino, before.ino);
    } finally {
      await server.close();
    }
  }),
);

test(
  'a tool cache entry owned by another user is ignored even when its SHA-256 matches',
  { skip: needs || (!root && 'needs root to give a file to another user') },
  withJob(async (job) => {
    const staged = fakeProgram(job.mkdir('staged'), 'magento-auth');
    const bytes = fs.readFileSync(staged.file);
    const cached = cachePath(job, '9.9.9');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.writeFileSync(cached, bytes, { mode: 0o755 });
    fs.chownSync(cached, 65534, 65534);
    const server = await releaseServer({ [`/v9.9.9/${assetName(target)}`]: bytes });
    try {
      job.actionDir = copyAction(job.mkdir('action-copy'), { versions: { '9.9.9': { [target]: sha256(bytes) } } }, '9.9.9');
      const env = { GITHUB_ACTION_REPOSITORY: 'example/magento-auth', MAGENTO_AUTH_ACTION_TEST_RELEASE_BASE: server.base };
      const main = await job.run('main', { check: 'false' }, env);
      assert.equal(main.status, 0, main.stdout + main.stderr);
      assert.match(main.stdout, warningFor(cached));
      assert.match(main.stdout, /owned by another user \(uid 65534\)/);
      assert.equal(server.requests.length, 1, 'downloaded as if the cache were empty');
      assertPrivateCopy(job, main.state.binary);
    } finally {
      await server.close();
    }
  }),
);

test(
  'a FIFO in the tool cache is ignored with a warning instead of blocking the step',
  { skip: needs },
  withJob(async (job) => {
    const cached = cachePath(job, '9.9.9');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    const mkfifo = childProcess.spawnSync('mkfifo', [cached]);
    assert.equal(mkfifo.status, 0, String(mkfifo.stderr));
    const staged = fakeProgram(job.mkdir('staged'), 'magento-auth');
    const bytes = fs.readFileSync(staged.file);
    const server = await releaseServer({ [`/v9.9.9/${assetName(target)}`]: bytes });
    try {
      job.actionDir = copyAction(job.mkdir('action-copy'), { versions: { '9.9.9': { [target]: sha256(bytes) } } }, '9.9.9');
      const env = { GITHUB_ACTION_REPOSITORY: 'example/magento-auth', MAGENTO_AUTH_ACTION_TEST_RELEASE_BASE: server.base };
      const main = await job.run('main', { check: 'false' }, env);
      assert.equal(main.status, 0, main.stdout + main.stderr);
      assert.match(main.stdout, warningFor(cached));
      assert.match(main.stdout, /not a regular file/);
      assert.equal(server.requests.length, 1);
      assert.equal(staged.calls().length, 1);
    } finally {
      await server.close();
    }
  }),
);

test(
  'the binary input still runs an unlisted file in place, and the tool cache is not consulted',
  { skip: needs },
  withJob(async (job) => {
    const planted = plant(job, cachePath(job, '9.9.9'));
    const fake = fakeProgram(job.mkdir('own'), 'magento-auth');
    job.actionDir = copyAction(job.mkdir('action-copy'), { versions: {} }, '9.9.9');
    const main = await job.run('main', { check: 'false', binary: fake.file });
    assert.equal(main.status, 0, main.stdout + main.stderr);
    assert.equal(main.state.binary, fake.file);
    assert.equal(fake.calls().length, 1);
    assert.ok(!planted.ran());
    assert.doesNotMatch(main.stdout, /::warning::/);
  }),
);

test(
  'a RUNNER_TEMP every user may write without the sticky bit is refused for the private copy; with the sticky bit it is used',
  { skip: needs },
  withJob(async (job) => {
    const cached = cachePath(job, '9.9.9');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    const fake = fakeProgram(path.dirname(cached), 'magento-auth');
    job.actionDir = copyAction(job.mkdir('action-copy'), {
      versions: { '9.9.9': { [target]: sha256(fs.readFileSync(fake.file)) } },
    }, '9.9.9');
    fs.chmodSync(job.runnerTemp, 0o777);
    const refused = await job.run('main', { check: 'false' });
    assert.equal(refused.status, 1, refused.stdout + refused.stderr);
    assert.match(refused.stdout, /^::error::refusing to put the binary in .*: every user may write there/m);
    assert.deepEqual(fake.calls(), []);
    assert.deepEqual(fs.readdirSync(job.runnerTemp), []);
    fs.chmodSync(job.runnerTemp, 0o1777);
    const sticky = await job.run('main', { check: 'false' });
    assert.equal(sticky.status, 0, sticky.stdout + sticky.stderr);
    assertPrivateCopy(job, sticky.state.binary);
    assert.equal(fake.calls().length, 1);
  }),
);
