'use strict';
// The action's main and post with the real check, against the tests' fake
// repo.magento.com (examples/fake_repo.rs: HTTPS on 127.0.0.1, a CA made at
// start, wanting the canary keys), trusted through SSL_CERT_FILE.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');

const { Job, canaryKeys, realBinary, secretForms, startFakeRepo } = require('./harness');

const binary = realBinary();
const fakeRepo = binary && path.join(path.dirname(binary), 'examples', 'fake_repo');
const missing =
  (!binary || !fs.existsSync(fakeRepo)) &&
  'no binary or fake repository: run `cargo build --bin magento-auth --example fake_repo` (scripts/lint-ci does)';
const keys = canaryKeys();
const forms = secretForms(keys);

/** Start the fake; resolves to { url, ca, stop }. It stops when stdin closes. */
const startFake = (dir) => startFakeRepo(fakeRepo, dir, keys);

function withFake(fn) {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'magento-auth-fake-'));
    const fake = await startFake(dir);
    const job = new Job({ env: { SSL_CERT_FILE: fake.ca } });
    try {
      await fn(job, fake, dir);
    } finally {
      job.cleanup();
      fake.stop();
    }
  };
}

/** The fake's request log; it copies requests there every 10 ms, so wait (bounded) for them to settle. */
async function requests(dir) {
  const log = path.join(dir, 'requests.log');
  const read = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);
  let last = read();
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = read();
    if (now.length > 0 && now.length === last.length) return now;
    last = now;
  }
  return last;
}

function assertNoSecretOutsideMasks(step) {
  for (const form of forms) {
    assert.ok(!step.stderr.includes(form), `${step.which} stderr holds a secret`);
    for (const line of step.stdout.split('\n')) {
      if (line.includes(form)) assert.ok(line.startsWith('::add-mask::'), `${step.which} stdout leaks: ${line}`);
    }
  }
}

test(
  'check: true against the repository: ok after one request, then post cleans up',
  { skip: missing },
  withFake(async (job, fake, dir) => {
    const main = await job.run('main', {
      'public-key': keys.pub,
      'private-key': keys.priv,
      'repository-url': fake.url,
      'require-packages': 'none',
      binary,
    });
    assert.equal(main.status, 0, main.stdout + main.stderr);
    assert.equal(main.output.status, 'ok');
    assert.deepEqual(await requests(dir), ['GET /packages.json'], 'one request');
    const authFile = main.output['auth-file'];
    assert.ok(fs.readFileSync(authFile, 'utf8').includes(keys.priv), 'the keys are written');
    assertNoSecretOutsideMasks(main);
    const post = await job.run('post', { binary });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.ok(!fs.existsSync(authFile), 'post removed what main created');
  }),
);

test(
  'wrong keys: exit 4, invalid-keys with the hint as an annotation, nothing written',
  { skip: missing },
  withFake(async (job, fake) => {
    const wrong = `${keys.priv.slice(0, -4)}zzzz`;
    const main = await job.run('main', {
      'public-key': keys.pub,
      'private-key': wrong,
      'repository-url': fake.url,
      binary,
    });
    assert.equal(main.status, 4, main.stdout + main.stderr);
    assert.equal(main.output.status, 'invalid-keys');
    assert.match(main.stdout, /^::error title=magento-auth::.*%0Ahint: .*swapped/m);
    assert.ok(!fs.existsSync(path.join(job.composerHome, 'auth.json')), 'a failed check writes nothing');
    assertNoSecretOutsideMasks(main);
    const post = await job.run('post', { binary });
    assert.equal(post.status, 0, post.stdout + post.stderr);
  }),
);

test(
  'check: warn with wrong keys: a warning, status invalid-keys, the keys written anyway',
  { skip: missing },
  withFake(async (job, fake) => {
    const main = await job.run('main', {
      'public-key': keys.pub,
      'private-key': `${keys.priv.slice(0, -4)}zzzz`,
      'repository-url': fake.url,
      check: 'warn',
      binary,
    });
    assert.equal(main.status, 0, main.stdout + main.stderr);
    assert.equal(main.output.status, 'invalid-keys');
    assert.match(main.stdout, /^::warning title=magento-auth::the check failed/m);
    assert.ok(fs.existsSync(main.output['auth-file']));
    const post = await job.run('post', { binary });
    assert.equal(post.status, 0, post.stdout + post.stderr);
    assert.ok(!fs.existsSync(main.output['auth-file']));
  }),
);
