'use strict';
// The README's GitHub quick start, copied literally: its workflow's steps are
// read from README.md, the magento-auth step runs as the runner would run it
// (its `with:` inputs, `${{ secrets.* }}` filled in; the release it names
// downloaded from a loopback server and checked against the action's table),
// then its `run:` step, then the post step. The one stand-in is the network:
// repo.magento.com is the tests' fake (examples/fake_repo.rs), reached
// through MAGENTO_AUTH_REPO_URL in the job's environment as a DNS entry would.

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { canaryKeys, copyAction, realBinary, releaseServer, secretForms, sha256, startFakeRepo, withJob } = require('./harness');
const { releaseTarget, assetName } = require('./launcher');

const binary = realBinary();
const fakeRepo = binary && path.join(path.dirname(binary), 'examples', 'fake_repo');
const target = releaseTarget();
const keys = canaryKeys();
const forms = secretForms(keys);
const unix = process.platform !== 'win32';

/** The README's ```yaml block under "## GitHub Actions". */
function readmeWorkflow() {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('GitHub Actions'));
  assert.ok(section, 'README.md has a GitHub Actions section');
  const block = /```yaml\n([\s\S]*?)\n```/.exec(section);
  assert.ok(block, 'the GitHub Actions section has a ```yaml block');
  return block[1];
}

/**
 * The steps of the workflow's one job, as `{ uses, run, with }` (the small
 * part of YAML the quick start uses: `- key: value` items and a `with:` map).
 */
function steps(workflow) {
  const lines = workflow.split('\n');
  const start = lines.findIndex((l) => /^\s+steps:\s*$/.test(l));
  assert.ok(start >= 0, 'the workflow has steps');
  const found = [];
  let inWith = null;
  for (const line of lines.slice(start + 1)) {
    const item = /^(\s+)- (\w[\w-]*): (.*)$/.exec(line);
    const entry = /^(\s+)(\w[\w-]*):\s*(.*)$/.exec(line);
    if (item) {
      found.push({ [item[2]]: item[3], with: {} });
      inWith = null;
    } else if (entry && entry[2] === 'with' && entry[3] === '') {
      inWith = entry[1].length;
    } else if (entry && inWith !== null && entry[1].length > inWith) {
      found[found.length - 1].with[entry[2]] = entry[3];
    } else if (entry && found.length > 0) {
      found[found.length - 1][entry[2]] = entry[3];
      inWith = null;
    }
  }
  return found;
}

/** `${{ secrets.NAME }}` replaced as the runner does; nothing else may be an expression. */
function expand(value, secrets) {
  const out = value.replace(/\$\{\{\s*secrets\.(\w+)\s*\}\}/g, (_, name) => {
    assert.ok(name in secrets, `the quick start uses a secret the test does not have: ${name}`);
    return secrets[name];
  });
  assert.ok(!out.includes('${{'), `an expression the test cannot evaluate: ${value}`);
  return out;
}

const startFake = (dir) => startFakeRepo(fakeRepo, dir, keys);

test('the README quick start has a checkout, the action with secrets, and composer install', () => {
  const found = steps(readmeWorkflow());
  const action = found.filter((s) => /\/magento-auth@/.test(s.uses || ''));
  assert.equal(action.length, 1, JSON.stringify(found));
  assert.ok(action[0].with['public-key'] && action[0].with['private-key'], 'keys from secrets');
  assert.ok(found.some((s) => /^composer install/.test(s.run || '')), 'then composer install');
});

test(
  'the README quick start, as written, checks the keys, gives composer install its credentials, and post removes them',
  {
    skip:
      ((!binary || !fs.existsSync(fakeRepo)) && 'no binary or fake repository: run `cargo build --bin magento-auth --example fake_repo`') ||
      ((!unix || !target) && 'needs a release target and a POSIX shell'),
  },
  withJob(async (job) => {
    const found = steps(readmeWorkflow());
    const step = found.find((s) => /\/magento-auth@/.test(s.uses || ''));
    const secrets = { MAGENTO_PUBLIC_KEY: keys.pub, MAGENTO_PRIVATE_KEY: keys.priv };
    const inputs = Object.fromEntries(Object.entries(step.with).map(([k, v]) => [k, expand(v, secrets)]));
    const bytes = fs.readFileSync(binary);
    const server = await releaseServer({ [`/v9.9.9/${assetName(target)}`]: bytes });
    const fakeDir = job.mkdir('fake');
    const fake = await startFake(fakeDir);
    try {
      // The action at a release tag: its Cargo.toml says 9.9.9 and its table
      // has that release's hash.
      job.actionDir = copyAction(
        job.mkdir('action-copy'),
        { versions: { '9.9.9': { [target]: sha256(bytes) } } },
        '9.9.9',
      );
      const env = {
        GITHUB_ACTION_REPOSITORY: 'OWNER/magento-auth',
        MAGENTO_AUTH_ACTION_TEST_RELEASE_BASE: server.base,
        MAGENTO_AUTH_REPO_URL: fake.url,
        SSL_CERT_FILE: fake.ca,
      };
      const main = await job.run('main', inputs, env);
      assert.equal(main.status, 0, main.stdout + main.stderr);
      assert.equal(main.output.status, 'ok', main.stdout + main.stderr);
      const log = fs.readFileSync(path.join(fakeDir, 'requests.log'), 'utf8');
      assert.match(log, /product-enterprise-edition/, 'the required package was checked');

      // The `run:` step, in a shell, with a composer that records what it would read.
      const bin = job.mkdir('bin');
      const seen = path.join(job.root, 'composer-saw');
      fs.writeFileSync(
        path.join(bin, 'composer'),
        `#!/bin/sh\ncat "$COMPOSER_HOME/auth.json" > '${seen}'\n`,
        { mode: 0o755 },
      );
      const run = found.find((s) => /^composer install/.test(s.run || '')).run;
      const shell = spawnSync('sh', ['-c', run], {
        cwd: job.workspace,
        env: { ...job.jobEnv, ...job.exported, PATH: `${bin}${path.delimiter}${process.env.PATH}` },
        encoding: 'utf8',
      });
      assert.equal(shell.status, 0, shell.stderr);
      const host = new URL(fake.url).host;
      const auth = JSON.parse(fs.readFileSync(seen, 'utf8'));
      fs.rmSync(seen);
      assert.deepEqual(auth['http-basic'][host], { username: keys.pub, password: keys.priv });

      const post = await job.run('post', {}, env);
      assert.equal(post.status, 0, post.stdout + post.stderr);
      assert.ok(!fs.existsSync(path.join(job.composerHome, 'auth.json')), 'post removed the auth.json main created');
      for (const s of [main, post]) {
        for (const form of forms) {
          assert.ok(!s.stderr.includes(form), `${s.which} stderr holds a secret`);
          for (const line of s.stdout.split('\n')) {
            if (line.includes(form)) assert.ok(line.startsWith('::add-mask::'), `${s.which} stdout leaks: ${line}`);
          }
        }
      }
    } finally {
      fake.stop();
      await server.close();
    }
  }),
);
