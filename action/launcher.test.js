'use strict';
// The launcher on its own, with stand-in binaries: how it finds the binary, what
// reaches the binary, and how it talks to the runner. See github.test.js for the
// real binary.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const harness = require('./harness');
const launcher = require('./launcher');

const {
  actionInputs,
  actionRuns,
  canaryKeys,
  copyAction,
  fakeProgram,
  parseFileCommands,
  releaseServer,
  sha256,
  withJob,
} = harness;
const { releaseTarget, assetName } = launcher;

const unix = process.platform !== 'win32';
const target = releaseTarget();

test('parseFileCommands follows the runner: NAME=VALUE, heredocs, and what it refuses', () => {
  const text = ['A=1=2', 'B<<EOF', 'line one', 'C=not a variable', 'EOF', '', 'D<<X', 'X', 'E<=x', ''].join('\n');
  assert.deepEqual(parseFileCommands(text), [
    ['A', '1=2'],
    ['B', 'line one\nC=not a variable'],
    ['D', ''],
    ['E<', 'x'],
  ]);
  assert.throws(() => parseFileCommands('F<<EOF\nno end\n'), /delimiter not found/);
  assert.throws(() => parseFileCommands('just text\n'), /invalid/);
  assert.throws(() => parseFileCommands('<<EOF\nx\nEOF\n'), /invalid/);
});

test('the harness forms INPUT_ names with the launcher\'s own inputVariable, as the runner does', () => {
  assert.equal(harness.inputVariable, launcher.inputVariable, 'one definition, shared');
  assert.equal(launcher.inputVariable('working-directory'), 'INPUT_WORKING-DIRECTORY');
  assert.equal(launcher.inputVariable('some input'), 'INPUT_SOME_INPUT');
});

test('action.yml: node24 with main, post and post-if always(); inputs and outputs documented', () => {
  const runs = actionRuns();
  assert.equal(runs.using, 'node24');
  assert.equal(runs.postIf, 'always()');
  assert.ok(fs.existsSync(path.join(__dirname, '..', runs.main)));
  assert.ok(fs.existsSync(path.join(__dirname, '..', runs.post)));
  assert.deepEqual(Object.keys(actionInputs()).sort(), [
    'binary',
    'build-from-source',
    'check',
    'mode',
    'on-missing',
    'private-key',
    'public-key',
    'repository-url',
    'require-packages',
    'scan',
    'version',
    'working-directory',
  ]);
  const text = fs.readFileSync(path.join(__dirname, '..', 'action.yml'), 'utf8');
  for (const name of [...Object.keys(actionInputs()), 'status', 'auth-file']) {
    assert.match(text, new RegExp(`^ {2}${name}:\\n {4}description: \\S`, 'm'), `${name} is documented`);
  }
});

test(
  'inputs reach the binary only as environment variables, and post runs cleanup without keys',
  { skip: !unix && 'stand-in binaries are node scripts with a shebang' },
  withJob(async (job) => {
    const fake = fakeProgram(job.root, 'magento-auth');
    const keys = canaryKeys();
    const main = await job.run('main', {
      'public-key': keys.pub,
      'private-key': keys.priv,
      mode: 'project',
      'working-directory': 'app',
      'repository-url': 'https://repo.example.test',
      check: 'false',
      'require-packages': 'magento/product-enterprise-edition\n  vendor/a, vendor/b,,\n',
      'on-missing': 'skip',
      binary: fake.file,
    });
    assert.equal(main.status, 0, main.stdout + main.stderr);
    const post = await job.run('post', { binary: fake.file });
    assert.equal(post.status, 0, post.stdout + post.stderr);

    const [setup, cleanup] = fake.calls();
    assert.deepEqual(setup.args, ['setup']);
    assert.deepEqual(cleanup.args, ['cleanup']);
    assert.equal(setup.env.MAGENTO_PUBLIC_KEY, keys.pub);
    assert.equal(setup.env.MAGENTO_PRIVATE_KEY, keys.priv);
    assert.equal(setup.env.MAGENTO_AUTH_MODE, 'project');
    assert.equal(setup.env.MAGENTO_AUTH_WORKING_DIR, 'app');
    assert.equal(setup.env.MAGENTO_AUTH_REPO_URL, 'https://repo.example.test');
    assert.equal(setup.env.MAGENTO_AUTH_REQUIRE_PACKAGES, 'magento/product-enterprise-edition,vendor/a,vendor/b');
    assert.equal(setup.env.MAGENTO_AUTH_ON_MISSING, 'skip');
    assert.equal(setup.env.MAGENTO_AUTH_NO_CHECK, 'true');
    assert.equal(setup.env.MAGENTO_AUTH_WARN_ONLY, undefined);
    for (const call of [setup, cleanup]) {
      assert.equal(call.env.MAGENTO_AUTH_CI, 'github');
      assert.deepEqual(
        Object.keys(call.env).filter((k) => /^INPUT_/i.test(k)),
        [],
        'no INPUT_* reaches the binary',
      );
    }
    assert.equal(cleanup.env.MAGENTO_PUBLIC_KEY, undefined);
    assert.equal(cleanup.env.MAGENTO_PRIVATE_KEY, undefined);
    assert.equal(cleanup.env.STATE_binary, fake.file, 'post gets the state main saved');
    for (const text of [main.stdout, main.stderr, post.stdout, post.stderr, main.raw.state]) {
      assert.ok(!text.includes(keys.pub) && !text.includes(keys.priv));
    }
  }),
);

test(
  'check: warn and true map to the binary options; empty inputs set nothing',
  { skip: !unix && 'stand-in binaries are node scripts with a shebang' },
  withJob(async (job) => {
    const fake = fakeProgram(job.root, 'magento-auth');
    assert.equal((await job.run('main', { check: 'warn', binary: fake.file })).status, 0);
    assert.equal((await job.run('main', { check: 'true', mode: '', 'on-missing': '', binary: fake.file })).status, 0);
    const [warn, checked] = fake.calls();
    assert.equal(warn.env.MAGENTO_AUTH_WARN_ONLY, 'true');
    assert.equal(warn.env.MAGENTO_AUTH_NO_CHECK, undefined);
    assert.equal(checked.env.MAGENTO_AUTH_WARN_ONLY, undefined);
    assert.equal(checked.env.MAGENTO_AUTH_NO_CHECK, undefined);
    for (const name of [
      'MAGENTO_PUBLIC_KEY',
      'MAGENTO_PRIVATE_KEY',
      'MAGENTO_AUTH_MODE',
      'MAGENTO_AUTH_ON_MISSING',
      'MAGENTO_AUTH_WORKING_DIR',
      'MAGENTO_AUTH_REPO_URL',
      'MAGENTO_AUTH_REQUIRE_PACKAGES',
    ]) {
      assert.equal(checked.env[name], undefined, `${name} is not set for an empty input`);
    }
  }),
);

test(
  'an invalid check value fails before the binary runs',
  { skip: !unix && 'stand-in binaries are node scripts with a shebang' },
  withJob(async (job) => {
    const fake = fakeProgram(job.root, 'magento-auth');
    const main = await job.run('main', { check: 'maybe', binary: fake.file });
    assert.equal(main.status, 1);
    assert.match(main.stdout, /^::error::the check input must be true, false or warn/m);
    assert.deepEqual(fake.calls(), []);
  }),
);

test(
  'main saves the binary in GITHUB_STATE as a heredoc with a fresh delimiter; exit codes are the binary\'s',
  { skip: !unix && 'stand-in binaries are node scripts with a shebang' },
  withJob(async (job) => {
    const fake = fakeProgram(job.root, 'magento-auth');
    const first = await job.run('main', { binary: fake.file, check: 'false' }, { FAKE_EXIT: '5' });
    const second = await job.run('main', { binary: fake.file, check: 'false' });
    assert.equal(first.status, 5);
    assert.equal(second.status, 0);
    const shape = /^binary<<(ghadelimiter_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\r?\n(.*)\r?\n\1\r?\n$/;
    const a = shape.exec(first.raw.state);
    const b = shape.exec(second.raw.state);
    assert.ok(a && b, `state is in heredoc form: ${JSON.stringify(first.raw.state)}`);
    assert.notEqual(a[1], b[1], 'each write gets a new delimiter');
    assert.equal(first.state.binary, fake.file);
    const post = await job.run('post', {}, { FAKE_EXIT: '3' });
    assert.equal(post.status, 3, "cleanup's exit code is the step's");
    // cleanup, then the leak sweep of the workspace (scan: warn by default).
    assert.deepEqual(
      fake.calls().slice(-2).map((call) => call.args),
      [['cleanup'], ['scan', '--on-missing', 'skip', '--on-leak', 'warn', job.workspace]],
    );
  }),
);

test(
  'post with nothing from main runs nothing and succeeds',
  withJob(async (job) => {
    const post = await job.run('post');
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.match(post.stdout, /nothing to clean up/);
  }),
);

test(
  'a binary input that is not a file fails main clearly; post is harmless',
  withJob(async (job) => {
    const missing = path.join(job.root, 'no-such-binary');
    const main = await job.run('main', { binary: missing });
    assert.equal(main.status, 1);
    assert.match(main.stdout, /^::error::the binary input names .*no-such-binary, which is not a file/m);
    assert.deepEqual(main.state, {});
    const post = await job.run('post', {});
    assert.equal(post.status, 0);
  }),
);

test(
  'a release download is checked against the table, run, and kept in the tool cache',
  { skip: (!unix || !target) && 'needs a release target and shebang scripts' },
  withJob(async (job) => {
    const staged = fakeProgram(job.mkdir('staged'), 'magento-auth');
    const bytes = fs.readFileSync(staged.file);
    const sha = sha256(bytes);
    const server = await releaseServer({ [`/v9.9.9/${assetName(target)}`]: bytes });
    try {
      job.actionDir = copyAction(job.mkdir('action-copy'), {
        versions: { '9.9.9': { [target]: sha } },
      }, '9.9.9');
      const env = { GITHUB_ACTION_REPOSITORY: 'example/magento-auth', MAGENTO_AUTH_ACTION_TEST_RELEASE_BASE: server.base };
      const main = await job.run('main', { check: 'false' }, env);
      assert.equal(main.status, 0, main.stdout + main.stderr);
      assert.deepEqual(server.requests, [`/v9.9.9/${assetName(target)}`]);
      const cached = path.join(job.toolCache, 'magento-auth', '9.9.9', process.arch, 'magento-auth');
      assert.deepEqual(fs.readFileSync(cached), bytes);
      assert.ok(fs.existsSync(`${path.dirname(cached)}.complete`));
      // What runs is a private copy in RUNNER_TEMP (toolcache.test.js has why).
      assert.ok(main.state.binary.startsWith(job.runnerTemp + path.sep), main.state.binary);
      assert.deepEqual(fs.readFileSync(main.state.binary), bytes);
      assert.equal(staged.calls().length, 1, 'the downloaded copy ran (it records where the staged one does)');
      // The next job on this runner finds it in the tool cache: no second download.
      const again = await job.run('main', { check: 'false' }, env);
      assert.equal(again.status, 0);
      assert.equal(server.requests.length, 1);
      assert.equal(staged.calls().length, 2);
    } finally {
      await server.close();
    }
  }),
);

test(
  'a checksum mismatch refuses the download before anything runs',
  { skip: (!unix || !target) && 'needs a release target and shebang scripts' },
  withJob(async (job) => {
    const staged = fakeProgram(job.mkdir('staged'), 'magento-auth');
    const server = await releaseServer({ [`/v9.9.9/${assetName(target)}`]: fs.readFileSync(staged.file) });
    const bin = job.mkdir('bin');
    const cargo = fakeProgram(bin, 'cargo');
    try {
      job.actionDir = copyAction(job.mkdir('action-copy'), {
        versions: { '9.9.9': { [target]: '0'.repeat(64) } },
      }, '9.9.9');
      const main = await job.run(
        'main',
        { check: 'false' },
        {
          GITHUB_ACTION_REPOSITORY: 'example/magento-auth',
          MAGENTO_AUTH_ACTION_TEST_RELEASE_BASE: server.base,
          PATH: `${bin}${path.delimiter}${process.env.PATH}`,
        },
      );
      assert.equal(main.status, 1);
      assert.match(main.stdout, /^::error::checksum mismatch for .*: expected SHA-256 0{64}, got [0-9a-f]{64}; refusing to run it/m);
      assert.equal(server.requests.length, 1);
      assert.deepEqual(staged.calls(), [], 'the downloaded file never ran');
      assert.deepEqual(cargo.calls(), [], 'no fallback to a build either');
      assert.deepEqual(main.state, {});
      assert.deepEqual(fs.readdirSync(job.toolCache), [], 'nothing kept in the tool cache');
      assert.deepEqual(fs.readdirSync(job.runnerTemp), [], 'no partial download left behind');
    } finally {
      await server.close();
    }
  }),
);

test(
  'an unexpected failure (a checksum table that is not JSON) is an ::error:: naming the launcher, exit 1, and nothing runs',
  withJob(async (job) => {
    job.actionDir = copyAction(job.mkdir('action-copy'), { versions: {} });
    fs.writeFileSync(path.join(job.actionDir, 'action', 'checksums.json'), '{ not json');
    const main = await job.run('main', { check: 'false' });
    assert.equal(main.status, 1, main.stdout + main.stderr);
    assert.match(main.stdout, /^::error::the magento-auth launcher failed: /m);
    assert.deepEqual(main.state, {});
    assert.deepEqual(fs.readdirSync(job.runnerTemp), []);
  }),
);

test(
  'the test-only release base is refused unless it is a loopback address',
  { skip: !target && 'no release target for this platform' },
  withJob(async (job) => {
    job.actionDir = copyAction(job.mkdir('action-copy'), {
      versions: { '9.9.9': { [target]: '0'.repeat(64) } },
    }, '9.9.9');
    const main = await job.run(
      'main',
      { check: 'false' },
      { MAGENTO_AUTH_ACTION_TEST_RELEASE_BASE: 'http://example.com', GITHUB_ACTION_REPOSITORY: 'example/magento-auth' },
    );
    assert.equal(main.status, 1);
    assert.match(main.stdout, /may only point at a loopback address/);
  }),
);

test(
  'without the test hook a release comes over https only: a plain-http server on a loopback address is not used, and nothing is built instead',
  { skip: (!unix || !target) && 'needs a release target and shebang scripts' },
  withJob(async (job) => {
    const staged = fakeProgram(job.mkdir('staged'), 'magento-auth');
    const bytes = fs.readFileSync(staged.file);
    const sha = sha256(bytes);
    const asset = `/example/magento-auth/releases/download/v9.9.9/${assetName(target)}`;
    const server = await releaseServer({ [asset]: bytes });
    const bin = job.mkdir('bin');
    const cargo = fakeProgram(bin, 'cargo', { produce: { from: staged.file, name: 'magento-auth' } });
    try {
      job.actionDir = copyAction(job.mkdir('action-copy'), { versions: { '9.9.9': { [target]: sha } } }, '9.9.9');
      const main = await job.run(
        'main',
        { check: 'false' },
        {
          GITHUB_ACTION_REPOSITORY: 'example/magento-auth',
          GITHUB_SERVER_URL: server.base,
          PATH: `${bin}${path.delimiter}${process.env.PATH}`,
        },
      );
      assert.equal(main.status, 1, main.stdout + main.stderr);
      assert.match(main.stdout, /^::error::could not download http:\/\/127\.0\.0\.1:\d+\/.* \(refusing to download from .*: not https\)/m);
      assert.deepEqual(server.requests, [], 'nothing was asked of the plain-http server');
      assert.deepEqual(cargo.calls(), [], 'nothing built instead');
      assert.deepEqual(staged.calls(), []);
      assert.deepEqual(fs.readdirSync(job.toolCache), []);
    } finally {
      await server.close();
    }
  }),
);

/**
 * Every status word setup can give the action's `status` output, read from the
 * binary's one `Status::word()` (src/exit.rs), less the words only cleanup
 * (cleaned) and scan (clean, leaked) end with.
 */
function setupStatusWords() {
  const exit = fs.readFileSync(path.join(__dirname, '..', 'src', 'exit.rs'), 'utf8');
  const wordFn = /pub(?:\(crate\))? fn word\(self\)[^{]*\{([\s\S]*?)\n {4}\}/.exec(exit);
  assert.ok(wordFn, 'Status::word() is in src/exit.rs');
  const notSetups = new Set(['cleaned', 'clean', 'leaked']);
  return new Set(
    [...wordFn[1].matchAll(/=> "([a-z-]+)"/g)].map((m) => m[1]).filter((w) => !notSetups.has(w)),
  );
}

test('action.yml: the status output lists every status word setup can emit, and only those', () => {
  const words = setupStatusWords();
  // The reader above must keep finding them all; a word the binary adds shows up here.
  for (const word of ['ok', 'unchecked', 'skipped', 'malformed-keys', 'unreachable', 'error']) {
    assert.ok(words.has(word), `the binary's source no longer yields ${word}: update setupStatusWords`);
  }
  const text = fs.readFileSync(path.join(__dirname, '..', 'action.yml'), 'utf8');
  const description = /^ {2}status:\n {4}description: "?([^\n]*?)"?$/m.exec(text)[1];
  const listed = /one of: ([^.]*)\./.exec(description);
  assert.ok(listed, `the description says "one of: ...": ${description}`);
  assert.deepEqual(listed[1].split(/, /).sort(), [...words].sort());
  assert.ok(!/\bcleaned\b/.test(description), 'cleaned is cleanup\'s word, never main\'s output');
  // The README's outputs table says the same.
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const row = /^\| `status` \|(.*)\|\s*$/m.exec(readme);
  assert.ok(row, 'the README has a row for the status output');
  const inReadme = [...row[1].matchAll(/`([a-z-]+)`/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(inReadme)].sort(), [...words].sort());
});

// ---- post when main's record of the binary is lost ---------------------------

/** A state file where the binary keeps this job's (the harness's run 4242, job build). */
function writeJobState(job, state) {
  const file = path.join(job.runnerTemp, 'magento-auth', '4242-build.json');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, JSON.stringify(state), { mode: 0o600 });
  return file;
}

test('jobStatePath is where the binary keeps a GitHub job\'s state', () => {
  const { jobStatePath } = launcher;
  const base = { RUNNER_TEMP: '/rt', GITHUB_RUN_ID: '42', GITHUB_JOB: 'build.x' };
  assert.equal(jobStatePath(base), path.resolve('/rt/magento-auth/42-build_x.json'));
  assert.equal(jobStatePath({ ...base, STATE_state_file: '/s/one.json' }), path.resolve('/s/one.json'));
  assert.equal(jobStatePath({ ...base, MAGENTO_AUTH_STATE_FILE: '/s/two.json' }), path.resolve('/s/two.json'));
  assert.equal(jobStatePath({ ...base, STATE_state_file: '' }), path.resolve('/rt/magento-auth/42-build_x.json'));
});

test(
  'post without main\'s record finds the verified binary in the tool cache and cleans up the job\'s state from a private copy',
  { skip: (!unix || !target) && 'needs a release target and shebang scripts' },
  withJob(async (job) => {
    const cached = path.join(job.toolCache, 'magento-auth', '9.9.9', process.arch, 'magento-auth');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    const fake = fakeProgram(path.dirname(cached), 'magento-auth');
    job.actionDir = copyAction(job.mkdir('action-copy'), {
      versions: { '9.9.9': { [target]: sha256(fs.readFileSync(fake.file)) } },
    }, '9.9.9');
    writeJobState(job, { files: [{ target: path.join(job.composerHome, 'auth.json') }], env: [] });
    const post = await job.run('post');
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.doesNotMatch(post.stdout, /never ran/);
    assert.match(post.stdout, /finding magento-auth again to clean up with this job's state, .*4242-build\.json/);
    assert.deepEqual(
      fake.calls().map((call) => call.args),
      [['cleanup'], ['scan', '--on-missing', 'skip', '--on-leak', 'warn', job.workspace]],
    );
    const [cleanup] = fake.calls();
    assert.equal(cleanup.env.GITHUB_RUN_ID, '4242', 'cleanup finds the state by the run and job ids');
    const used = /^Using (.*)$/m.exec(post.stdout)[1];
    assert.ok(used.startsWith(job.runnerTemp + path.sep), `${used} is a private copy in RUNNER_TEMP`);
    assert.equal(fs.lstatSync(path.dirname(used)).mode & 0o777, 0o700);
  }),
);

test(
  'post without main\'s record runs no unverified binary: a warning says where the keys may remain, and it fails',
  { skip: (!unix || !target) && 'needs a release target and shebang scripts' },
  withJob(async (job) => {
    // A binary in the tool cache whose SHA-256 is not the table's, no release to
    // download, and no cargo on PATH.
    const cached = path.join(job.toolCache, 'magento-auth', '9.9.9', process.arch, 'magento-auth');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    const planted = fakeProgram(path.dirname(cached), 'magento-auth');
    job.actionDir = copyAction(job.mkdir('action-copy'), {
      versions: { '9.9.9': { [target]: '0'.repeat(64) } },
    }, '9.9.9');
    const target1 = path.join(job.composerHome, 'auth.json');
    const state = writeJobState(job, { files: [{ target: target1 }], env: [{ name: 'COMPOSER_AUTH' }] });
    const post = await job.run('post', {}, { PATH: job.mkdir('empty-bin') });
    assert.equal(post.status, 1, post.stdout + post.stderr);
    assert.deepEqual(planted.calls(), [], 'the unverified binary never ran');
    const warning = /^::warning::cleanup could not run .*$/m.exec(post.stdout);
    assert.ok(warning, post.stdout);
    assert.ok(warning[0].includes(`may remain in ${target1}, COMPOSER_AUTH`), warning[0]);
    assert.ok(warning[0].includes(state), 'names the state');
    assert.doesNotMatch(post.stdout, /never ran/);

    // Without a readable state, the inputs say where: project mode's auth.json.
    fs.writeFileSync(state, 'not json');
    const project = await job.run('post', { mode: 'project', 'working-directory': 'app' }, { PATH: job.mkdir('empty-bin') });
    assert.equal(project.status, 1);
    assert.ok(project.stdout.includes(`may remain in ${path.join(job.workspace, 'app', 'auth.json')}`), project.stdout);
    const home = await job.run('post', {}, { PATH: job.mkdir('empty-bin') });
    assert.ok(home.stdout.includes(`may remain in Composer's home auth.json (${target1})`), home.stdout);
  }),
);

test(
  'post without main\'s record and without a state file says nothing was recorded, never "never ran", and runs nothing',
  { skip: !unix && 'stand-in binaries are node scripts with a shebang' },
  withJob(async (job) => {
    const bin = job.mkdir('bin');
    const cargo = fakeProgram(bin, 'cargo');
    const post = await job.run('post', {}, { PATH: `${bin}${path.delimiter}${process.env.PATH}` });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.doesNotMatch(post.stdout, /never ran/);
    const expected = path.join(job.runnerTemp, 'magento-auth', '4242-build.json');
    assert.ok(post.stdout.includes(`No magento-auth state for this job at ${expected}`), post.stdout);
    assert.deepEqual(cargo.calls(), [], 'nothing built');
  }),
);
