'use strict';
// Which binary the launcher runs (issue 14, item 4): the release of the action's
// own version, verified, or a clear failure; a build only from a local path or
// when asked for with build-from-source.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { canaryKeys, copyAction, fakeProgram, releaseServer, sha256, withJob } = require('./harness');
const { assetName, releaseTarget } = require('./launcher');

const unix = process.platform !== 'win32';
const target = releaseTarget();
const needs = (!unix || !target) && 'needs a release target and shebang scripts';

/** A `cargo` on PATH that "builds" a copy of a fresh stand-in binary. */
function fakeCargo(job) {
  const staged = fakeProgram(job.mkdir('staged'), 'magento-auth');
  const bin = job.mkdir('bin');
  const cargo = fakeProgram(bin, 'cargo', { produce: { from: staged.file, name: 'magento-auth' } });
  return { staged, cargo, PATH: `${bin}${path.delimiter}${process.env.PATH}` };
}

function cachePath(job, version) {
  return path.join(job.toolCache, 'magento-auth', version, process.arch, 'magento-auth');
}

/** A release of `version` on a loopback server, and a table that lists it. */
async function released(job, version) {
  const release = fakeProgram(job.mkdir(`release-${version}`), 'magento-auth');
  const bytes = fs.readFileSync(release.file);
  const server = await releaseServer({ [`/v${version}/${assetName(target)}`]: bytes });
  const env = { GITHUB_ACTION_REPOSITORY: 'example/magento-auth', MAGENTO_AUTH_ACTION_TEST_RELEASE_BASE: server.base };
  return { release, bytes, sha: sha256(bytes), server, env };
}

test(
  "the version is the action's own Cargo.toml version: a table's leftover default is not used",
  { skip: needs },
  withJob(async (job) => {
    const old = await released(job, '9.9.8');
    const own = await released(job, '9.9.9');
    try {
      job.actionDir = copyAction(
        job.mkdir('action-copy'),
        { default: '9.9.8', versions: { '9.9.8': { [target]: old.sha }, '9.9.9': { [target]: own.sha } } },
        '9.9.9',
      );
      const env = { ...own.env, MAGENTO_AUTH_ACTION_TEST_RELEASE_BASE: own.server.base };
      const main = await job.run('main', { check: 'false' }, env);
      assert.equal(main.status, 0, main.stdout + main.stderr);
      assert.deepEqual(own.server.requests, [`/v9.9.9/${assetName(target)}`]);
      assert.equal(own.release.calls().length, 1, "the action's own release ran");
      assert.deepEqual(old.release.calls(), []);
      // The version input still picks another release the table lists.
      const pinned = await job.run('main', { check: 'false', version: 'v9.9.8' }, old.env);
      assert.equal(pinned.status, 0, pinned.stdout + pinned.stderr);
      assert.deepEqual(old.server.requests, [`/v9.9.8/${assetName(target)}`]);
      assert.equal(old.release.calls().length, 1);
    } finally {
      await old.server.close();
      await own.server.close();
    }
  }),
);

test(
  "a table without the action's version fails at once, naming the version, the platform and what to do; nothing is built or downloaded",
  { skip: needs },
  withJob(async (job) => {
    const other = await released(job, '9.9.8');
    const { staged, cargo, PATH } = fakeCargo(job);
    try {
      job.actionDir = copyAction(job.mkdir('action-copy'), { versions: { '9.9.8': { [target]: other.sha } } }, '9.9.9');
      const keys = canaryKeys();
      const started = Date.now();
      const main = await job.run(
        'main',
        { 'public-key': keys.pub, 'private-key': keys.priv, check: 'false' },
        { ...other.env, PATH },
      );
      assert.equal(main.status, 1, main.stdout + main.stderr);
      const error = /^::error::(.*)$/m.exec(main.stdout);
      assert.ok(error, main.stdout);
      assert.ok(error[1].includes(`no verified magento-auth 9.9.9 for ${target} (${process.platform} ${process.arch})`), error[1]);
      assert.match(error[1], /checksum table \(action\/checksums\.json\) has no SHA-256 for it/);
      assert.match(error[1], /release tag/);
      assert.match(error[1], /set the version input to one it lists \(9\.9\.8\)/);
      assert.match(error[1], /binary input/);
      assert.match(error[1], /build-from-source: true/);
      assert.deepEqual(cargo.calls(), [], 'no build nobody asked for');
      assert.deepEqual(other.server.requests, [], 'no download of a version without a hash');
      assert.deepEqual(staged.calls(), []);
      assert.deepEqual(main.state, {});
      assert.deepEqual(fs.readdirSync(job.runnerTemp), []);
      assert.ok(Date.now() - started < 30 * 1000, 'it fails at once');
      assert.ok(!main.stdout.includes(keys.priv) && !main.stderr.includes(keys.priv));
      // Post has nothing to undo and says so.
      const post = await job.run('post', {}, { ...other.env, PATH });
      assert.equal(post.status, 0, post.stdout + post.stderr);
      assert.deepEqual(cargo.calls(), []);
    } finally {
      await other.server.close();
    }
  }),
);

test(
  'a download that fails fails the step, naming the URL; nothing is built instead',
  { skip: needs },
  withJob(async (job) => {
    const server = await releaseServer({});
    const { cargo, PATH } = fakeCargo(job);
    try {
      job.actionDir = copyAction(job.mkdir('action-copy'), { versions: { '9.9.9': { [target]: '0'.repeat(64) } } }, '9.9.9');
      const env = { GITHUB_ACTION_REPOSITORY: 'example/magento-auth', MAGENTO_AUTH_ACTION_TEST_RELEASE_BASE: server.base, PATH };
      const main = await job.run('main', { check: 'false' }, env);
      assert.equal(main.status, 1, main.stdout + main.stderr);
      assert.match(main.stdout, /^::error::could not download http:\/\/127\.0\.0\.1:\d+\/v9\.9\.9\/\S+ \(downloading .*: HTTP 404\), so there is no verified magento-auth 9\.9\.9/m);
      assert.deepEqual(server.requests, [`/v9.9.9/${assetName(target)}`]);
      assert.deepEqual(cargo.calls(), []);
      assert.deepEqual(fs.readdirSync(job.toolCache), []);
    } finally {
      await server.close();
    }
  }),
);

test(
  'build-from-source: true builds the action checkout with cargo, without the keys, even when the table has the release',
  { skip: needs },
  withJob(async (job) => {
    const own = await released(job, '9.9.9');
    const { staged, cargo, PATH } = fakeCargo(job);
    try {
      job.actionDir = copyAction(job.mkdir('action-copy'), { versions: { '9.9.9': { [target]: own.sha } } }, '9.9.9');
      const keys = canaryKeys();
      const main = await job.run(
        'main',
        { 'public-key': keys.pub, 'private-key': keys.priv, check: 'false', 'build-from-source': 'true' },
        { ...own.env, PATH },
      );
      assert.equal(main.status, 0, main.stdout + main.stderr);
      assert.deepEqual(own.server.requests, [], 'nothing downloaded');
      const [build] = cargo.calls();
      assert.deepEqual(build.args, ['build', '--release', '--locked']);
      assert.equal(fs.realpathSync(build.cwd), fs.realpathSync(job.actionDir));
      assert.ok(!JSON.stringify(build.env).includes(keys.priv), 'the build never sees the keys');
      assert.ok(!JSON.stringify(build.env).includes(keys.pub), 'the build never sees the keys');
      assert.match(main.stdout, /build-from-source is true: building magento-auth from source/);
      // The build runs from a private copy in RUNNER_TEMP, and never enters the tool cache.
      const built = path.join(job.actionDir, 'target', 'release', 'magento-auth');
      assert.ok(main.state.binary.startsWith(job.runnerTemp + path.sep), main.state.binary);
      assert.deepEqual(fs.readFileSync(main.state.binary), fs.readFileSync(built));
      assert.deepEqual(fs.readdirSync(job.toolCache), []);
      assert.equal(staged.calls().length, 1);
      assert.deepEqual(own.release.calls(), []);
      assert.doesNotMatch(main.stdout, /::warning::/);
      // A version input cannot change what a build makes: said, not silently ignored.
      const other = await job.run('main', { version: '7.7.7', check: 'false', 'build-from-source': 'TRUE' }, { PATH });
      assert.equal(other.status, 0, other.stdout + other.stderr);
      assert.match(other.stdout, /^::warning::the version input \(7\.7\.7\) is ignored: build-from-source is true, so magento-auth 9\.9\.9 is built/m);
      assert.equal(cargo.calls().length, 2);
      // Anything but true or false is refused before anything runs.
      const bad = await job.run('main', { check: 'false', 'build-from-source': 'yes' }, { PATH });
      assert.equal(bad.status, 1);
      assert.match(bad.stdout, /^::error::the build-from-source input must be true or false, not "yes"/m);
      assert.equal(cargo.calls().length, 2);
    } finally {
      await own.server.close();
    }
  }),
);

test(
  'an action used from a local path (uses: ./, or a directory of the workspace) builds its checkout; a verified cached release is not used',
  { skip: needs },
  withJob(async (job) => {
    const { staged, cargo, PATH } = fakeCargo(job);
    const cached = cachePath(job, '9.9.9');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    const release = fakeProgram(path.dirname(cached), 'magento-auth');
    const table = { versions: { '9.9.9': { [target]: sha256(fs.readFileSync(release.file)) } } };
    // `uses: ./`: the action is the workspace itself; GITHUB_ACTION_REPOSITORY is empty.
    job.actionDir = copyAction(job.mkdir('workspace-action'), table, '9.9.9');
    const self = await job.run('main', { check: 'false' }, { PATH, GITHUB_WORKSPACE: job.actionDir, GITHUB_ACTION_REPOSITORY: '' });
    assert.equal(self.status, 0, self.stdout + self.stderr);
    assert.match(self.stdout, /the action is used from a local path \(.*\): building magento-auth from source/);
    assert.equal(cargo.calls().length, 1);
    assert.equal(staged.calls().length, 1);
    assert.deepEqual(release.calls(), [], 'the cached release did not run');
    // `uses: ./tools/magento-auth` after a checkout of it into the workspace.
    job.actionDir = copyAction(path.join(job.workspace, 'tools', 'magento-auth'), table, '9.9.9');
    const nested = await job.run('main', { check: 'false' }, { PATH, GITHUB_ACTION_REPOSITORY: '' });
    assert.equal(nested.status, 0, nested.stdout + nested.stderr);
    assert.equal(cargo.calls().length, 2);
    assert.deepEqual(release.calls(), []);
    // The same copy outside the workspace is a remote action: the verified release runs.
    job.actionDir = copyAction(job.mkdir('elsewhere'), table, '9.9.9');
    const remote = await job.run('main', { check: 'false' }, { PATH });
    assert.equal(remote.status, 0, remote.stdout + remote.stderr);
    assert.equal(cargo.calls().length, 2, 'no build');
    assert.equal(release.calls().length, 1);
  }),
);
