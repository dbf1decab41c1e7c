'use strict';
// The release scripts on a copy of the tree (issue 14, items 2 and 3):
// scripts/update-checksums fills the action's table and the GitLab and
// Bitbucket wrappers' release lines; scripts/release-ready says what is missing.
// scripts/release-test.py walks a whole release through on loopback.

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { withJob } = require('./harness');
const { assetName } = require('./launcher');

const ROOT = path.resolve(__dirname, '..');
const unix = process.platform !== 'win32';
const needs = !unix && 'runs the scripts through their shebang';
const TARGETS = [
  'x86_64-unknown-linux-musl',
  'aarch64-unknown-linux-musl',
  'x86_64-apple-darwin',
  'aarch64-apple-darwin',
  'x86_64-pc-windows-msvc',
];
const WRAPPERS = ['templates/magento-auth.yml', 'examples/bitbucket-pipelines.yml'];
const FILES = [
  'Cargo.toml',
  'scripts/update-checksums',
  'scripts/release-ready',
  'action/checksums.json',
  ...WRAPPERS,
];

/** The files the release scripts read and write, copied into `dir`, Cargo.toml saying `version`. */
function copyTree(dir, version) {
  for (const relative of FILES) {
    fs.mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, relative), path.join(dir, relative));
  }
  const manifest = path.join(dir, 'Cargo.toml');
  fs.writeFileSync(manifest, fs.readFileSync(manifest, 'utf8').replace(/^version\s*=\s*"[^"]*"/m, `version = "${version}"`));
  return dir;
}

const sha = (i) => String(i).repeat(64);

function writeSums(dir, targets = TARGETS) {
  const file = path.join(dir, 'SHA256SUMS');
  fs.writeFileSync(file, `${targets.map((t) => `${sha(TARGETS.indexOf(t) + 1)}  ${assetName(t)}`).join('\n')}\n`);
  return file;
}

function run(tree, script, args, env = {}) {
  return childProcess.spawnSync(path.join(tree, 'scripts', script), args, {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
    timeout: 60 * 1000,
  });
}

const snapshot = (tree) => Object.fromEntries(FILES.map((f) => [f, fs.readFileSync(path.join(tree, f), 'utf8')]));
const GITHUB = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'example/magento-auth' };

test(
  "scripts/update-checksums writes the table (no default) and the GitLab component's and the Bitbucket recipe's release lines",
  { skip: needs },
  withJob(async (job) => {
    const tree = copyTree(job.mkdir('tree'), '1.2.3');
    const sums = writeSums(job.root);
    const ok = run(tree, 'update-checksums', ['1.2.3', sums], GITHUB);
    assert.equal(ok.status, 0, ok.stderr);
    const table = JSON.parse(fs.readFileSync(path.join(tree, 'action', 'checksums.json'), 'utf8'));
    assert.equal(table.default, undefined, 'the table has no default: the launcher uses its own version');
    assert.deepEqual(Object.keys(table.versions['1.2.3']).sort(), [...TARGETS].sort());
    assert.equal(table.versions['1.2.3']['x86_64-pc-windows-msvc'], sha(5));
    for (const wrapper of WRAPPERS) {
      const text = fs.readFileSync(path.join(tree, wrapper), 'utf8');
      const lines = text.split('\n').map((line) => line.trim());
      assert.ok(lines.includes('magento_auth_release=https://github.com/example/magento-auth/releases/download/v1.2.3'), wrapper);
      assert.ok(lines.includes(`magento_auth_release_x86_64=${sha(1)}`), wrapper);
      assert.ok(lines.includes(`magento_auth_release_aarch64=${sha(2)}`), wrapper);
    }
    const ready = run(tree, 'release-ready', ['v1.2.3']);
    assert.equal(ready.status, 0, ready.stderr);
    // The next release adds its entry and moves the wrappers; the old entry stays
    // for the action's version input.
    const next = run(tree, 'update-checksums', ['1.2.4', sums], GITHUB);
    assert.equal(next.status, 0, next.stderr);
    const both = JSON.parse(fs.readFileSync(path.join(tree, 'action', 'checksums.json'), 'utf8'));
    assert.deepEqual(Object.keys(both.versions).sort(), ['1.2.3', '1.2.4']);
    assert.match(fs.readFileSync(path.join(tree, WRAPPERS[0]), 'utf8'), /^ *magento_auth_release=\S*\/v1\.2\.4$/m);
  }),
);

test(
  'scripts/update-checksums changes nothing for an incomplete SHA256SUMS, a bad version or no repository',
  { skip: needs },
  withJob(async (job) => {
    const tree = copyTree(job.mkdir('tree'), '1.2.3');
    const before = snapshot(tree);
    const incomplete = run(tree, 'update-checksums', ['1.2.3', writeSums(job.root, TARGETS.slice(1))], GITHUB);
    assert.equal(incomplete.status, 1);
    assert.match(incomplete.stderr, /lacks x86_64-unknown-linux-musl/);
    const sums = writeSums(job.root);
    const badVersion = run(tree, 'update-checksums', ['v1.2.3', sums], GITHUB);
    assert.equal(badVersion.status, 1);
    assert.match(badVersion.stderr, /not a version like 1\.2\.3/);
    const noRepository = run(tree, 'update-checksums', ['1.2.3', sums]);
    assert.equal(noRepository.status, 1);
    assert.match(noRepository.stderr, /set GITHUB_REPOSITORY/);
    const shellWord = run(tree, 'update-checksums', ['1.2.3', sums], { GITHUB_REPOSITORY: 'a/b;rm -rf x' });
    assert.equal(shellWord.status, 1, 'only a plain word goes into the wrappers\' shell');
    assert.deepEqual(snapshot(tree), before);
  }),
);

test(
  'scripts/release-ready fails naming each target and wrapper that lacks the Cargo.toml version, and a tag that is not it',
  { skip: needs },
  withJob(async (job) => {
    const tree = copyTree(job.mkdir('tree'), '2.0.0');
    const table = path.join(tree, 'action', 'checksums.json');
    // An older release only: the table lacks 2.0.0.
    fs.writeFileSync(table, JSON.stringify({ versions: { '1.9.0': Object.fromEntries(TARGETS.map((t) => [t, sha(7)])) } }));
    const none = run(tree, 'release-ready', []);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /action\/checksums\.json has no entry for 2\.0\.0/);
    assert.match(none.stderr, /templates\/magento-auth\.yml does not name the release v2\.0\.0/);
    assert.match(none.stderr, /examples\/bitbucket-pipelines\.yml does not name the release v2\.0\.0/);
    assert.equal(run(tree, 'update-checksums', ['2.0.0', writeSums(job.root)], GITHUB).status, 0);
    assert.equal(run(tree, 'release-ready', ['v2.0.0']).status, 0);
    // One target gone from the table: named.
    const written = JSON.parse(fs.readFileSync(table, 'utf8'));
    delete written.versions['2.0.0']['aarch64-apple-darwin'];
    fs.writeFileSync(table, JSON.stringify(written));
    const partial = run(tree, 'release-ready', []);
    assert.equal(partial.status, 1);
    assert.match(partial.stderr, /^error: action\/checksums\.json has no SHA-256 for 2\.0\.0 on aarch64-apple-darwin$/m);
    assert.equal(partial.stderr.match(/^error: /gm).length, 1, partial.stderr);
    // A tag that is not the Cargo.toml version.
    written.versions['2.0.0']['aarch64-apple-darwin'] = sha(4);
    fs.writeFileSync(table, JSON.stringify(written));
    const tag = run(tree, 'release-ready', ['v2.0.1']);
    assert.equal(tag.status, 1);
    assert.match(tag.stderr, /the tag v2\.0\.1 is not v2\.0\.0/);
    // A wrapper whose hash is not the table's.
    const component = path.join(tree, WRAPPERS[0]);
    fs.writeFileSync(component, fs.readFileSync(component, 'utf8').replace(/(magento_auth_release_aarch64=)\S+/, `$1${sha(9)}`));
    const stale = run(tree, 'release-ready', []);
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /templates\/magento-auth\.yml has no SHA-256 of 2\.0\.0 for aarch64-unknown-linux-musl/);
  }),
);

test('the tree as committed: action/checksums.json has no default, and the wrappers have their release lines', () => {
  const table = JSON.parse(fs.readFileSync(path.join(ROOT, 'action', 'checksums.json'), 'utf8'));
  assert.ok(!('default' in table), 'no default: the launcher uses its own Cargo.toml version');
  for (const wrapper of WRAPPERS) {
    const text = fs.readFileSync(path.join(ROOT, wrapper), 'utf8');
    for (const name of ['magento_auth_release', 'magento_auth_release_x86_64', 'magento_auth_release_aarch64']) {
      assert.equal(text.match(new RegExp(`^\\s*${name}=`, 'gm')).length, 1, `${wrapper}: one ${name}= line`);
    }
  }
});

test('the release workflow builds first, then tags: started by hand, sums committed and checked before the tag, attested, exactly the hashed files published', () => {
  const text = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8');
  const on = /^on:\n((?: {2}.*\n)+)/m.exec(text);
  assert.ok(on, 'release.yml has an on: block');
  assert.deepEqual(on[1].trim().split('\n').map((l) => l.trim()), ['workflow_dispatch:'], 'started by hand only, never by a tag');
  const at = (needle) => {
    const i = text.indexOf(needle);
    assert.ok(i >= 0, `release.yml: ${needle}`);
    return i;
  };
  const order = [
    at('cargo build --release --locked --target "$TARGET"'),
    at('sha256sum magento-auth-* >SHA256SUMS'),
    at('scripts/update-checksums "$VERSION" dist/SHA256SUMS'),
    at('scripts/release-ready "v$VERSION"'),
    at('uses: actions/attest-build-provenance@'),
    at('git commit -m'),
    at('git tag -a "v$VERSION"'),
    at('git push --atomic'),
    at('gh release create "v$VERSION"'),
  ];
  assert.deepEqual([...order].sort((a, b) => a - b), order, 'build, sums, update-checksums, release-ready, attest, commit, tag, push, publish');
  assert.match(text, /uses: actions\/attest-build-provenance@[0-9a-f]{40} # v\d/);
  assert.match(text, /subject-checksums: dist\/SHA256SUMS/);
  assert.doesNotMatch(text, /gh pr create/, 'no pull request');
  // CI checks every pushed tag.
  const ci = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'ci.yml'), 'utf8');
  assert.match(ci, /^ {4}tags: \["v\*"\]$/m);
  assert.match(ci, /run: scripts\/release-ready "\$TAG"/);
});
