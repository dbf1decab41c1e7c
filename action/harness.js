'use strict';
// A small stand-in for the GitHub runner, for the action's tests: it forms INPUT_*
// variables and file commands as actions/runner does, runs main and post with a
// real node, and parses what they wrote with the runner's rules.

const childProcess = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

// The runner's INPUT_ names, as the launcher reads them, and the launcher's hash:
// one definition each for the launcher and its tests.
const { inputVariable, sha256 } = require('./launcher');

const ACTION_DIR = path.resolve(__dirname, '..');
const REPO_DIR = ACTION_DIR;

/**
 * Parse a GITHUB_ENV / GITHUB_OUTPUT / GITHUB_STATE file as the runner's
 * FileCommandManager does: `NAME=VALUE` when `=` comes before any `<<`, else
 * `NAME<<DELIM` followed by lines up to one equal to DELIM. Throws where the
 * runner would fail the step. Returns [name, value] pairs in order.
 */
function parseFileCommands(text) {
  const pairs = [];
  let index = 0;
  const readLine = () => {
    if (index >= text.length) return null;
    const lf = text.indexOf('\n', index);
    if (lf < 0) {
      const line = text.slice(index);
      index = text.length;
      return { line, newline: '' };
    }
    const line = text.slice(index, lf);
    index = lf + 1;
    return { line, newline: '\n' };
  };
  for (let read = readLine(); read !== null; read = readLine()) {
    const { line } = read;
    if (line === '') continue;
    const equals = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (equals >= 0 && (heredoc < 0 || equals < heredoc)) {
      pairs.push([line.slice(0, equals), line.slice(equals + 1)]);
    } else if (heredoc >= 0) {
      const name = line.slice(0, heredoc);
      const delimiter = line.slice(heredoc + 2);
      if (name === '' || delimiter === '') throw new Error(`invalid file command line '${line}'`);
      const start = index;
      let end = index;
      let next = readLine();
      while (next === null || next.line !== delimiter) {
        if (next === null) throw new Error(`matching delimiter not found '${delimiter}'`);
        end = index - next.newline.length;
        next = readLine();
      }
      pairs.push([name, end > start ? text.slice(start, end) : '']);
    } else {
      throw new Error(`invalid file command line '${line}'`);
    }
  }
  return pairs;
}

function toObject(pairs) {
  const out = {};
  for (const [name, value] of pairs) out[name] = value;
  return out;
}

/** Input names and defaults from action.yml (its inputs are kept one line each). */
function actionInputs(actionYml = path.join(ACTION_DIR, 'action.yml')) {
  const text = fs.readFileSync(actionYml, 'utf8');
  const block = /^inputs:\n([\s\S]*?)^\S/m.exec(text)[1];
  const inputs = {};
  let current = null;
  for (const line of block.split('\n')) {
    const name = /^ {2}([a-z][a-z0-9-]*):\s*$/.exec(line);
    if (name) {
      current = name[1];
      inputs[current] = '';
      continue;
    }
    const dflt = /^ {4}default:\s*(.*)$/.exec(line);
    if (dflt && current) inputs[current] = dflt[1].replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return inputs;
}

function actionRuns(actionYml = path.join(ACTION_DIR, 'action.yml')) {
  const text = fs.readFileSync(actionYml, 'utf8');
  const runs = /^runs:\n((?: {2}.*\n?)*)/m.exec(text)[1];
  const field = (name) => {
    const m = new RegExp(`^ {2}${name}:\\s*(.*)$`, 'm').exec(runs);
    return m ? m[1].trim() : undefined;
  };
  return { using: field('using'), main: field('main'), post: field('post'), postIf: field('post-if') };
}

/** The real binary built by cargo (scripts/lint-ci builds it when missing). */
function realBinary() {
  const exe = process.platform === 'win32' ? 'magento-auth.exe' : 'magento-auth';
  const candidates = [
    process.env.MAGENTO_AUTH_TEST_BINARY,
    path.join(REPO_DIR, 'target', 'debug', exe),
    path.join(REPO_DIR, 'target', 'release', exe),
  ].filter(Boolean);
  return candidates.find((file) => fs.existsSync(file)) || null;
}

/**
 * node's arguments to run an entry point: as the runner does (`file`: `node
 * main.js`), or as @github/local-action does (`require`: load the module and
 * call its exported run(); `load`: load it and call nothing).
 */
function entryArgs(script, via) {
  const module = JSON.stringify(script);
  switch (via) {
    case 'file':
      return [script];
    case 'require':
      return ['-e', `require(${module}).run();`];
    case 'load':
      return ['-e', `require(${module});`];
    default:
      throw new Error(`unknown way to run an entry point: ${via}`);
  }
}

/**
 * One job: its own temporary directories, a HOME and a Composer home, and the
 * environment the runner gives every step of it.
 */
class Job {
  constructor({ actionDir = ACTION_DIR, env = {} } = {}) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'magento-auth-action-'));
    this.actionDir = actionDir;
    this.home = this.mkdir('home');
    this.composerHome = path.join(this.home, '.composer');
    this.workspace = this.mkdir('workspace');
    this.runnerTemp = this.mkdir('runner-temp');
    this.toolCache = this.mkdir('tool-cache');
    this.stepCount = 0;
    // What GITHUB_ENV of earlier steps set, as the runner carries it on.
    this.exported = {};
    this.jobEnv = {
      PATH: process.env.PATH,
      HOME: this.home,
      COMPOSER_HOME: this.composerHome,
      TMPDIR: this.mkdir('tmp'),
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_RUN_ID: '4242',
      GITHUB_JOB: 'build',
      GITHUB_WORKSPACE: this.workspace,
      RUNNER_OS: { linux: 'Linux', darwin: 'macOS', win32: 'Windows' }[process.platform],
      RUNNER_ARCH: process.arch.toUpperCase(),
      RUNNER_TEMP: this.runnerTemp,
      RUNNER_TOOL_CACHE: this.toolCache,
      ...(process.platform === 'win32' ? { SystemRoot: process.env.SystemRoot } : {}),
      ...env,
    };
    this.steps = [];
  }

  mkdir(name) {
    const dir = path.join(this.root, name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }

  /**
   * Run the action's `main` or `post` like the runner: every input with its
   * default as INPUT_*, fresh file-command files, STATE_* from main's GITHUB_STATE.
   * Asynchronous, so that a server in the test's own process can answer it.
   */
  run(which, inputs = {}, env = {}, { via = 'file' } = {}) {
    const prepared = this.prepare(which, inputs, env);
    return new Promise((resolve, reject) => {
      const child = childProcess.spawn(process.execPath, entryArgs(prepared.script, via), {
        cwd: this.workspace,
        env: prepared.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 5 * 60 * 1000,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (status) => resolve(this.finish(which, prepared, { status, stdout, stderr })));
    });
  }

  /** The same, blocking; for use outside a test (no server can answer it). */
  runSync(which, inputs = {}, env = {}) {
    const prepared = this.prepare(which, inputs, env);
    const result = childProcess.spawnSync(process.execPath, [prepared.script], {
      cwd: this.workspace,
      env: prepared.env,
      encoding: 'utf8',
      timeout: 5 * 60 * 1000,
    });
    if (result.error) throw result.error;
    return this.finish(which, prepared, result);
  }

  prepare(which, inputs, env) {
    const step = ++this.stepCount;
    const files = {};
    for (const name of ['GITHUB_ENV', 'GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY', 'GITHUB_PATH']) {
      files[name] = path.join(this.root, `step${step}-${which}-${name.toLowerCase()}`);
      fs.writeFileSync(files[name], '');
    }
    const actionYml = path.join(this.actionDir, 'action.yml');
    const inputEnv = {};
    for (const [name, value] of Object.entries({ ...actionInputs(actionYml), ...inputs })) {
      inputEnv[inputVariable(name)] = value;
    }
    const stateEnv = {};
    if (which === 'post') {
      const main = this.steps.find((s) => s.which === 'main');
      if (main) for (const [name, value] of Object.entries(main.state)) stateEnv[`STATE_${name}`] = value;
    }
    const runs = actionRuns(actionYml);
    const script = path.join(this.actionDir, which === 'main' ? runs.main : runs.post);
    const fullEnv = { ...this.jobEnv, ...this.exported, ...inputEnv, ...stateEnv, ...files, ...env };
    return { script, env: fullEnv, files };
  }

  finish(which, prepared, result) {
    const { files } = prepared;
    const read = (name) => fs.readFileSync(files[name], 'utf8');
    const outcome = {
      which,
      status: result.status,
      stdout: result.stdout,
      stderr: result.stderr,
      files,
      raw: {
        env: read('GITHUB_ENV'),
        output: read('GITHUB_OUTPUT'),
        state: read('GITHUB_STATE'),
        summary: read('GITHUB_STEP_SUMMARY'),
      },
    };
    outcome.envPairs = parseFileCommands(outcome.raw.env);
    outcome.env = toObject(outcome.envPairs);
    outcome.output = toObject(parseFileCommands(outcome.raw.output));
    outcome.state = toObject(parseFileCommands(outcome.raw.state));
    outcome.summary = outcome.raw.summary;
    Object.assign(this.exported, outcome.env);
    this.steps.push(outcome);
    return outcome;
  }

  /** Every regular file under the job's root, with its bytes. */
  allFiles(dir = this.root) {
    const out = [];
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) out.push(...this.allFiles(full));
      else if (entry.isFile()) out.push({ file: full, bytes: fs.readFileSync(full) });
    }
    return out;
  }

  cleanup() {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** A test body that gets a fresh Job and always removes it afterwards. */
function withJob(fn) {
  return async () => {
    const job = new Job();
    try {
      await fn(job);
    } finally {
      job.cleanup();
    }
  };
}

/** Canary keys: 32 letters and digits, distinct, easy to find anywhere. */
function canaryKeys() {
  const pub = `CANARYpub${'0'.repeat(19)}aaaa`;
  const priv = `CANARYprv${'1'.repeat(19)}bbbb`;
  return { pub, priv };
}

/** The forms a leaked key could take: raw, and base64 of `public:private`. */
function secretForms({ pub, priv }) {
  return [pub, priv, Buffer.from(`${pub}:${priv}`).toString('base64')];
}

/**
 * A stand-in binary (or `cargo`): a node script that records its arguments and
 * environment, one JSON file a call, and exits with $FAKE_EXIT (default 0).
 * With `produce`, it also copies itself to $CARGO_TARGET_DIR/release/<produce>.
 */
function fakeProgram(dir, name, { produce } = {}) {
  const record = path.join(dir, `${name}-calls`);
  fs.mkdirSync(record, { recursive: true });
  const file = path.join(dir, name);
  const body = `#!${process.execPath}
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const record = ${JSON.stringify(record)};
const n = fs.readdirSync(record).length;
fs.writeFileSync(path.join(record, String(n).padStart(4, '0') + '.json'),
  JSON.stringify({ args: process.argv.slice(2), env: process.env, cwd: process.cwd() }));
const produce = ${JSON.stringify(produce || null)};
if (produce) {
  const out = path.join(process.env.CARGO_TARGET_DIR, 'release');
  fs.mkdirSync(out, { recursive: true });
  fs.copyFileSync(produce.from, path.join(out, produce.name));
  fs.chmodSync(path.join(out, produce.name), 0o755);
}
process.exitCode = Number(process.env.FAKE_EXIT || 0);
`;
  fs.writeFileSync(file, body, { mode: 0o755 });
  return {
    file,
    calls: () =>
      fs
        .readdirSync(record)
        .sort()
        .map((entry) => JSON.parse(fs.readFileSync(path.join(record, entry), 'utf8'))),
  };
}

/**
 * A copy of the action (action.yml, the launcher, Cargo.toml) in `dir` with its
 * own checksum table, so a test can change the table or let a fake cargo build;
 * with `version`, its Cargo.toml says that version (the launcher's default).
 */
function copyAction(dir, table, version = null) {
  fs.mkdirSync(path.join(dir, 'action'), { recursive: true });
  fs.copyFileSync(path.join(ACTION_DIR, 'action.yml'), path.join(dir, 'action.yml'));
  let manifest = fs.readFileSync(path.join(ACTION_DIR, 'Cargo.toml'), 'utf8');
  if (version) manifest = manifest.replace(/^version\s*=\s*"[^"]*"/m, `version = "${version}"`);
  fs.writeFileSync(path.join(dir, 'Cargo.toml'), manifest);
  for (const name of ['launcher.js', 'main.js', 'post.js']) {
    fs.copyFileSync(path.join(ACTION_DIR, 'action', name), path.join(dir, 'action', name));
  }
  fs.writeFileSync(path.join(dir, 'action', 'checksums.json'), JSON.stringify(table, null, 2));
  return dir;
}

/** A loopback server for release assets; records every path asked for. */
async function releaseServer(files) {
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url);
    const body = files[req.url];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * Start the fake repository (examples/fake_repo.rs) at `program`, keeping
 * its files in `dir`; resolves to { url, ca, stop }. It stops when stdin closes.
 */
function startFakeRepo(program, dir, keys) {
  return new Promise((resolve, reject) => {
    const child = childProcess.spawn(program, [dir, '120'], {
      env: { MAGENTO_PUBLIC_KEY: keys.pub, MAGENTO_PRIVATE_KEY: keys.priv },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const found = {};
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('the fake repository did not start in 10 s'));
    }, 10_000);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const [key, value] = line.split(/=(.*)/s);
      found[key] = value;
      if (found.url && found.ca) {
        clearTimeout(timer);
        resolve({ ...found, stop: () => child.stdin.end() });
      }
    });
    child.on('error', reject);
  });
}

module.exports = {
  ACTION_DIR,
  entryArgs,
  copyAction,
  fakeProgram,
  Job,
  actionInputs,
  actionRuns,
  canaryKeys,
  inputVariable,
  parseFileCommands,
  realBinary,
  releaseServer,
  startFakeRepo,
  secretForms,
  sha256,
  withJob,
};
