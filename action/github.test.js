'use strict';
// main and post with the real magento-auth binary in a runner-like job,
// including the binary's GitHub side (masks, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
// GITHUB_STATE state_file). A binary that stops writing any of it fails these
// tests: they guard exactly that, so they never skip themselves for it
// (guard.test.js checks so).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { test } = require('node:test');

const { canaryKeys, copyAction, realBinary, secretForms, sha256, withJob } = require('./harness');
const { releaseTarget } = require('./launcher');

const binary = realBinary();
const unix = process.platform !== 'win32';
const noBinary = !binary && 'no magento-auth binary: run `cargo build` first (scripts/lint-ci does)';
const keys = canaryKeys();
const forms = secretForms(keys);

test('the binary under test exists', () => {
  assert.ok(binary, noBinary);
});

const keyInputs = { 'public-key': keys.pub, 'private-key': keys.priv, check: 'false', binary };

/** An auth.json a user already had: other hosts and auth types, odd formatting. */
const EXISTING = Buffer.from(
  '{\n    "github-oauth": {"github.com": "ghp_notasecret"},\n' +
    '    "http-basic": {\n        "example.org": {"username": "u", "password": "p"}\n    }\n}\n',
);

function writeExisting(job) {
  fs.mkdirSync(job.composerHome, { recursive: true });
  const file = path.join(job.composerHome, 'auth.json');
  fs.writeFileSync(file, EXISTING);
  if (unix) fs.chmodSync(file, 0o640);
  return file;
}

/**
 * No secret anywhere but where the contract allows: stderr never; stdout only on
 * `::add-mask::` lines; no file-command file except GITHUB_ENV when `envAllowed`;
 * and, once post has run, no file under the job at all.
 */
function assertNoLeak(job, { envAllowed = false, afterPost = true } = {}) {
  for (const step of job.steps) {
    for (const form of forms) {
      assert.ok(!step.stderr.includes(form), `${step.which} stderr holds a secret`);
      for (const line of step.stdout.split(/\r?\n/)) {
        if (line.includes(form)) assert.ok(line.startsWith('::add-mask::'), `${step.which} stdout leaks: ${line}`);
      }
      for (const [name, text] of Object.entries(step.raw)) {
        if (name === 'env' && envAllowed) continue;
        assert.ok(!text.includes(form), `${step.which} ${name} file holds a secret`);
      }
    }
  }
  if (afterPost) {
    for (const { file, bytes } of job.allFiles()) {
      if (envAllowed && file.endsWith('-github_env')) continue;
      for (const form of forms) assert.ok(!bytes.includes(form), `${file} still holds a secret after post`);
    }
  }
}

/** Each secret form is masked, and its mask comes before anything else setup printed. */
function assertMasksFirst(main, extra = []) {
  const lines = main.stdout.split(/\r?\n/);
  for (const secret of [...forms, ...extra]) {
    const at = lines.indexOf(`::add-mask::${secret}`);
    assert.ok(at >= 0, `no ::add-mask:: line for a secret form`);
    for (const line of lines.slice(0, at)) {
      assert.ok(line.startsWith('::add-mask::') || line.startsWith('Using '), `printed before the masks: ${line}`);
    }
  }
}

test(
  'home mode: post restores an existing auth.json byte for byte and leaves no secret behind',
  { skip: noBinary },
  withJob(async (job) => {
    const file = writeExisting(job);
    const main = await job.run('main', keyInputs);
    assert.equal(main.status, 0, main.stdout + main.stderr);
    const during = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(during['http-basic']['repo.magento.com'], { username: keys.pub, password: keys.priv });
    assert.deepEqual(during['http-basic']['example.org'], { username: 'u', password: 'p' });
    assert.equal(during['github-oauth']['github.com'], 'ghp_notasecret');

    const post = await job.run('post', { binary });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.deepEqual(fs.readFileSync(file), EXISTING);
    if (unix) assert.equal(fs.statSync(file).mode & 0o777, 0o640);
    assertNoLeak(job);
  }),
);

test(
  'project mode: auth.json beside composer.json in working-directory, removed by post',
  { skip: noBinary },
  withJob(async (job) => {
    const app = path.join(job.workspace, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'composer.json'), '{"name": "example/app", "require": {}}\n');
    const main = await job.run('main', { ...keyInputs, mode: 'project', 'working-directory': 'app' });
    assert.equal(main.status, 0, main.stdout + main.stderr);
    assert.ok(fs.existsSync(path.join(app, 'auth.json')));
    assert.ok(!fs.existsSync(path.join(job.composerHome, 'auth.json')), 'home untouched');
    const post = await job.run('post', { binary });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.deepEqual(fs.readdirSync(app), ['composer.json']);
    assertNoLeak(job);
  }),
);

test(
  'a key containing a newline injects nothing into GITHUB_ENV, GITHUB_OUTPUT or GITHUB_STATE',
  { skip: noBinary },
  withJob(async (job) => {
    const file = writeExisting(job);
    const main = await job.run('main', {
      ...keyInputs,
      mode: 'env',
      'public-key': `${keys.pub}\nINJECTED<<EOF`,
      'private-key': `${keys.priv}\nINJECTED=yes\nPATH=/nowhere`,
    });
    assert.equal(main.status, 3, main.stdout + main.stderr);
    for (const pairs of [main.envPairs, Object.entries(main.output), Object.entries(main.state)]) {
      for (const [name] of pairs) assert.ok(!['INJECTED', 'PATH', 'EOF'].includes(name), `${name} was injected`);
    }
    assert.deepEqual(main.envPairs, [], 'a refused setup exports nothing');
    const post = await job.run('post', { binary });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.deepEqual(fs.readFileSync(file), EXISTING);
    assertNoLeak(job);
  }),
);

/** A loopback port with nothing listening, so a check fails fast whatever it does. */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test(
  'a failing main (check: true) changes nothing, and post still runs cleanup and succeeds',
  { skip: noBinary },
  withJob(async (job) => {
    const file = writeExisting(job);
    const port = await closedPort();
    const main = await job.run('main', {
      ...keyInputs,
      check: 'true',
      'repository-url': `http://127.0.0.1:${port}`,
    });
    assert.notEqual(main.status, 0, 'the check cannot pass against a closed port');
    assert.equal(main.status, 6, `exit ${main.status}: a closed port is unreachable (6)`);
    assert.equal(main.output.status, 'unreachable');
    assert.equal(main.state.binary, binary, 'main saved the binary for post');
    assert.deepEqual(fs.readFileSync(file), EXISTING);
    const post = await job.run('post', { binary });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.deepEqual(fs.readFileSync(file), EXISTING);
    assertNoLeak(job);
  }),
);

test(
  'missing keys: on-missing fail exits 3, skip exits 0; post succeeds either way',
  { skip: noBinary },
  withJob(async (job) => {
    const failed = await job.run('main', { binary, check: 'false' });
    assert.equal(failed.status, 3, failed.stdout + failed.stderr);
    assert.equal((await job.run('post', { binary })).status, 0);
    const skipped = await job.run('main', { binary, check: 'false', 'on-missing': 'skip' });
    assert.equal(skipped.status, 0, skipped.stdout + skipped.stderr);
    assert.equal((await job.run('post', { binary })).status, 0);
    assert.ok(!fs.existsSync(path.join(job.composerHome, 'auth.json')));
  }),
);

// ---- the binary's GitHub side ------------------------------------------------

test(
  'setup masks every secret form first, then writes status, auth-file and mode outputs, a summary and state_file',
  { skip: noBinary },
  withJob(async (job) => {
    writeExisting(job);
    const main = await job.run('main', keyInputs);
    assert.equal(main.status, 0, main.stdout + main.stderr);
    assertMasksFirst(main);
    // check: false, so the keys were written without a check.
    assert.equal(main.output.status, 'unchecked');
    assert.equal(main.output.mode, 'home');
    assert.equal(fs.realpathSync(main.output['auth-file']), fs.realpathSync(path.join(job.composerHome, 'auth.json')));
    assert.ok(main.state.state_file, 'state_file saved in GITHUB_STATE');
    assert.ok(fs.existsSync(main.state.state_file));
    assert.equal(main.state.binary, binary);
    assert.match(main.summary, /^\|.*\|\s*$/m, 'the summary holds a Markdown table');
    assert.match(main.summary, /`unchecked`/);
    const post = await job.run('post', { binary });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.deepEqual(fs.readFileSync(path.join(job.composerHome, 'auth.json')), EXISTING);
    assertNoLeak(job);
  }),
);

test(
  'post finds the state through STATE_state_file, not by guessing the location',
  { skip: noBinary },
  withJob(async (job) => {
    writeExisting(job);
    const main = await job.run('main', keyInputs);
    assert.equal(main.status, 0, main.stdout + main.stderr);
    // A different run id would put the default state file elsewhere.
    const post = await job.run('post', { binary }, { GITHUB_RUN_ID: '999', GITHUB_JOB: 'other' });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.deepEqual(fs.readFileSync(path.join(job.composerHome, 'auth.json')), EXISTING);
    assertNoLeak(job);
  }),
);

test(
  'env mode: COMPOSER_AUTH goes to GITHUB_ENV in heredoc form after its mask; post resets it',
  { skip: noBinary },
  withJob(async (job) => {
    const main = await job.run('main', { ...keyInputs, mode: 'env' });
    assert.equal(main.status, 0, main.stdout + main.stderr);
    const value = main.env.COMPOSER_AUTH;
    assert.ok(value, 'COMPOSER_AUTH exported');
    assert.deepEqual(JSON.parse(value)['http-basic']['repo.magento.com'], { username: keys.pub, password: keys.priv });
    assert.match(main.raw.env, /^COMPOSER_AUTH<<ghadelimiter_[0-9a-f-]{36}\r?$/m);
    assertMasksFirst(main, [value]);
    assert.equal(main.output.status, 'unchecked');
    assert.equal(main.output.mode, 'env');
    assert.ok(!fs.existsSync(path.join(job.composerHome, 'auth.json')), 'nothing on disk');
    const post = await job.run('post', { binary });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.equal(post.env.COMPOSER_AUTH, '', 'post puts COMPOSER_AUTH back to its previous (unset) value');
    assertNoLeak(job, { envAllowed: true });
  }),
);

test(
  'a failed setup reports status and an ::error:: annotation',
  { skip: noBinary },
  withJob(async (job) => {
    const main = await job.run('main', { ...keyInputs, 'private-key': keys.pub });
    assert.equal(main.status, 3, main.stdout + main.stderr);
    assert.equal(main.output.status, 'malformed-keys');
    assert.match(main.stdout, /^::error title=[^:]*::/m);
    assertNoLeak(job, { afterPost: false });
  }),
);

test(
  'post with main\'s record lost finds the verified binary and the job\'s state again, and restores auth.json',
  { skip: noBinary || (!releaseTarget() && 'no release target for this platform') },
  withJob(async (job) => {
    // The release comes from the tool cache, verified against the action's table.
    const cached = path.join(job.toolCache, 'magento-auth', '9.9.9', process.arch, unix ? 'magento-auth' : 'magento-auth.exe');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.copyFileSync(binary, cached);
    job.actionDir = copyAction(job.mkdir('action-copy'), {
      versions: { '9.9.9': { [releaseTarget()]: sha256(fs.readFileSync(binary)) } },
    }, '9.9.9');
    const file = writeExisting(job);
    const main = await job.run('main', { 'public-key': keys.pub, 'private-key': keys.priv, check: 'false' });
    assert.equal(main.status, 0, main.stdout + main.stderr);
    assert.ok(fs.readFileSync(file, 'utf8').includes(keys.priv), 'setup wrote the keys');
    // Nothing of main's GITHUB_STATE reaches post.
    const post = await job.run('post', {}, { STATE_binary: '', STATE_state_file: '' });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.doesNotMatch(post.stdout, /never ran/);
    assert.deepEqual(fs.readFileSync(file), EXISTING);
    assertNoLeak(job);
  }),
);
