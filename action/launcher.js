'use strict';
// The GitHub Action's launcher: finds the magento-auth binary and runs it.
// No npm dependencies on purpose: this file is all the JavaScript the action
// runs, so it can be read in one sitting. Runs on Node 20 and 24.

const childProcess = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');

const ACTION_DIR = path.resolve(__dirname, '..');
const TOOL = 'magento-auth';
const EXE = process.platform === 'win32' ? `${TOOL}.exe` : TOOL;
// Lets the tests serve releases from a local server; honoured for loopback only.
const TEST_RELEASE_BASE = 'MAGENTO_AUTH_ACTION_TEST_RELEASE_BASE';
const MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 120 * 1000;
const MAX_REDIRECTS = 5;

class LaunchError extends Error {}

// ---- workflow commands and file commands -------------------------------------

function escapeData(text) {
  return String(text).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function command(name, message) {
  process.stdout.write(`::${name}::${escapeData(message)}${os.EOL}`);
}

/** The runner's name for an input's variable: spaces become `_`, hyphens stay. */
function inputVariable(name) {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

function getInput(env, name) {
  return (env[inputVariable(name)] || '').trim();
}

/**
 * Append `NAME<<DELIM`, value, `DELIM` to a file command (GITHUB_STATE, ...), with
 * a fresh delimiter that neither the name nor the value may contain.
 */
function appendFileCommand(file, name, value) {
  const delimiter = `ghadelimiter_${crypto.randomUUID()}`;
  if (name.includes(delimiter) || value.includes(delimiter)) {
    throw new LaunchError(`refusing to write ${name}: its value contains the delimiter`);
  }
  fs.appendFileSync(file, `${name}<<${delimiter}${os.EOL}${value}${os.EOL}${delimiter}${os.EOL}`, {
    encoding: 'utf8',
  });
}

// ---- inputs to the binary's environment --------------------------------------

/**
 * The child's environment: ours without any INPUT_* (the keys arrive that way),
 * plus the inputs as the variables the binary reads. Empty inputs set nothing,
 * so the binary's own defaults apply.
 */
function childEnv(env, extra) {
  const out = {};
  for (const [key, value] of Object.entries(env)) {
    if (!/^INPUT_/i.test(key)) out[key] = value;
  }
  return Object.assign(out, extra, { MAGENTO_AUTH_CI: 'github' });
}

function setupVariables(env) {
  const vars = {};
  const pass = (input, variable) => {
    const value = getInput(env, input);
    if (value !== '') vars[variable] = value;
  };
  // Keys are not trimmed here: the binary trims with a warning, which tells the
  // user about the pasted newline instead of silently hiding it.
  for (const [input, variable] of [
    ['public-key', 'MAGENTO_PUBLIC_KEY'],
    ['private-key', 'MAGENTO_PRIVATE_KEY'],
  ]) {
    const raw = env[inputVariable(input)] || '';
    if (raw !== '') vars[variable] = raw;
  }
  pass('mode', 'MAGENTO_AUTH_MODE');
  pass('working-directory', 'MAGENTO_AUTH_WORKING_DIR');
  pass('repository-url', 'MAGENTO_AUTH_REPO_URL');
  pass('on-missing', 'MAGENTO_AUTH_ON_MISSING');
  const packages = getInput(env, 'require-packages')
    .split(/[\s,]+/)
    .filter((name) => name !== '')
    .join(',');
  if (packages !== '') vars.MAGENTO_AUTH_REQUIRE_PACKAGES = packages;
  const check = getInput(env, 'check').toLowerCase();
  if (check === 'false') vars.MAGENTO_AUTH_NO_CHECK = 'true';
  else if (check === 'warn') vars.MAGENTO_AUTH_WARN_ONLY = 'true';
  else if (check !== '' && check !== 'true') {
    throw new LaunchError(`the check input must be true, false or warn, not "${check}"`);
  }
  return vars;
}

// ---- finding the binary ------------------------------------------------------

/** The release asset's target triple for this runner, or null. */
function releaseTarget(platform = process.platform, arch = process.arch) {
  const targets = {
    'linux-x64': 'x86_64-unknown-linux-musl',
    'linux-arm64': 'aarch64-unknown-linux-musl',
    'darwin-x64': 'x86_64-apple-darwin',
    'darwin-arm64': 'aarch64-apple-darwin',
    'win32-x64': 'x86_64-pc-windows-msvc',
  };
  return targets[`${platform}-${arch}`] || null;
}

function assetName(target) {
  return `${TOOL}-${target}${target.includes('windows') ? '.exe' : ''}`;
}

function loadChecksums(actionDir) {
  const file = path.join(actionDir, 'action', 'checksums.json');
  const table = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (typeof table !== 'object' || table === null || typeof table.versions !== 'object') {
    throw new LaunchError(`${file} is not a checksum table`);
  }
  return table;
}

function cargoVersion(actionDir) {
  try {
    const text = fs.readFileSync(path.join(actionDir, 'Cargo.toml'), 'utf8');
    const match = /^version\s*=\s*"([^"]+)"/m.exec(text);
    return match ? match[1] : null;
  } catch {
    return null;
  }
}

function sha256File(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function isFile(file) {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `$RUNNER_TOOL_CACHE/magento-auth/<version>/<arch>/`, the toolkit's layout. */
function toolCacheDir(env, version) {
  const root = env.RUNNER_TOOL_CACHE;
  if (!root || !version) return null;
  return path.join(root, TOOL, version, process.arch);
}

function fromToolCache(env, version, expected) {
  const dir = toolCacheDir(env, version);
  if (!dir) return null;
  const binary = path.join(dir, EXE);
  if (!isFile(binary)) return null;
  if (expected && sha256File(binary) !== expected) {
    command('warning', `ignoring ${binary}: its SHA-256 does not match the action's checksum table`);
    return null;
  }
  return binary;
}

function releaseBase(env) {
  const override = env[TEST_RELEASE_BASE];
  if (override) {
    const url = new URL(override);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
      throw new LaunchError(`${TEST_RELEASE_BASE} may only point at a loopback address`);
    }
    return override.replace(/\/+$/, '');
  }
  // Empty when the action is used from a local path (`uses: ./`): no release to
  // download from, so the binary is built from the checkout.
  const repository = env.GITHUB_ACTION_REPOSITORY;
  if (!repository) return null;
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  return `${server}/${repository}/releases/download`;
}

function isLoopback(url) {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/** GET `url` into `dest`, following a few redirects; https only (http for loopback). */
function download(url, dest, redirects = 0) {
  return new Promise((resolve, reject) => {
    const parsed = new URL(url);
    const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' && isLoopback(parsed) ? http : null;
    if (!client) {
      reject(new LaunchError(`refusing to download from ${parsed.origin}: not https`));
      return;
    }
    const request = client.get(parsed, { headers: { 'user-agent': 'magento-auth-action' } }, (response) => {
      const status = response.statusCode;
      if ([301, 302, 303, 307, 308].includes(status) && response.headers.location) {
        response.resume();
        if (redirects >= MAX_REDIRECTS) {
          reject(new LaunchError(`too many redirects downloading ${url}`));
          return;
        }
        resolve(download(new URL(response.headers.location, parsed).toString(), dest, redirects + 1));
        return;
      }
      if (status !== 200) {
        response.resume();
        reject(new LaunchError(`downloading ${url}: HTTP ${status}`));
        return;
      }
      let size = 0;
      const out = fs.createWriteStream(dest, { mode: 0o700 });
      response.on('data', (chunk) => {
        size += chunk.length;
        if (size > MAX_DOWNLOAD_BYTES) {
          request.destroy(new LaunchError(`downloading ${url}: larger than ${MAX_DOWNLOAD_BYTES} bytes`));
        }
      });
      response.on('error', reject);
      out.on('error', reject);
      out.on('finish', resolve);
      response.pipe(out);
    });
    request.setTimeout(DOWNLOAD_TIMEOUT_MS, () => request.destroy(new LaunchError(`downloading ${url}: timed out`)));
    request.on('error', reject);
  });
}

/**
 * Download the release asset, check it against the table, and keep it in the tool
 * cache. A mismatch is fatal: nothing downloaded is ever run unverified.
 */
async function fromRelease(env, version, expected, target, temp) {
  const base = releaseBase(env);
  if (!base) return null;
  const url = `${base}/v${version}/${assetName(target)}`;
  const partial = path.join(temp, `${TOOL}-${crypto.randomUUID()}.download`);
  fs.mkdirSync(temp, { recursive: true });
  try {
    try {
      await download(url, partial);
    } catch (error) {
      command('warning', `could not download ${url} (${error.message}); building from source instead`);
      return null;
    }
    const actual = sha256File(partial);
    if (actual !== expected) {
      throw new LaunchError(
        `checksum mismatch for ${url}: expected SHA-256 ${expected}, got ${actual}; refusing to run it`,
      );
    }
    const dir = toolCacheDir(env, version) || path.join(temp, TOOL, version, process.arch);
    fs.mkdirSync(dir, { recursive: true });
    const binary = path.join(dir, EXE);
    fs.copyFileSync(partial, binary);
    fs.chmodSync(binary, 0o755);
    // The marker the toolkit's tool-cache reader looks for.
    fs.writeFileSync(`${dir}.complete`, '');
    return binary;
  } finally {
    fs.rmSync(partial, { force: true });
  }
}

function fromCargo(env, actionDir) {
  const targetDir = path.join(actionDir, 'target');
  console.log(`Building ${TOOL} from source in ${actionDir} (cargo build --release --locked)`);
  const result = childProcess.spawnSync('cargo', ['build', '--release', '--locked'], {
    cwd: actionDir,
    // No INPUT_* (keys) in a build that runs other people's build scripts.
    env: childEnv(env, { CARGO_TARGET_DIR: targetDir }),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.error) {
    throw new LaunchError(
      `no ${TOOL} binary could be found, downloaded or built (${result.error.message}); ` +
        'install Rust on the runner, or give the binary input',
    );
  }
  if (result.status !== 0) throw new LaunchError(`cargo build failed with exit ${result.status}`);
  const binary = path.join(targetDir, 'release', EXE);
  if (!isFile(binary)) throw new LaunchError(`cargo build did not produce ${binary}`);
  return binary;
}

/**
 * The binary, in order: the `binary` input; the tool cache; a verified release
 * download; a build of the action's own checkout.
 */
async function findBinary(env, actionDir = ACTION_DIR) {
  const explicit = getInput(env, 'binary');
  if (explicit) {
    const binary = path.resolve(env.GITHUB_WORKSPACE || process.cwd(), explicit);
    if (!isFile(binary)) throw new LaunchError(`the binary input names ${binary}, which is not a file`);
    return binary;
  }
  const table = loadChecksums(actionDir);
  const version = (getInput(env, 'version') || table.default || cargoVersion(actionDir) || '').replace(/^v/, '');
  const target = releaseTarget();
  const expected = target && table.versions[version] ? table.versions[version][target] : undefined;
  const cached = fromToolCache(env, version, expected);
  if (cached) return cached;
  if (expected) {
    const temp = env.RUNNER_TEMP || os.tmpdir();
    const downloaded = await fromRelease(env, version, expected, target, temp);
    if (downloaded) return downloaded;
  }
  const own = cargoVersion(actionDir);
  if (getInput(env, 'version') && own && version !== own) {
    command(
      'warning',
      `magento-auth ${version} has no checksums in this action, so none is downloaded; ` +
        `building the action's own source (${own}) instead`,
    );
  }
  return fromCargo(env, actionDir);
}

// ---- the two steps -----------------------------------------------------------

function run(binary, args, env) {
  const result = childProcess.spawnSync(binary, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error) throw new LaunchError(`running ${binary}: ${result.error.message}`);
  if (result.status !== null) return result.status;
  const signal = os.constants.signals[result.signal];
  return signal ? 128 + signal : 1;
}

function fail(error) {
  if (error instanceof LaunchError) {
    command('error', error.message);
    return 1;
  }
  command('error', `the magento-auth launcher failed: ${error && error.message}`);
  return 1;
}

async function main(env = process.env) {
  try {
    const variables = setupVariables(env);
    const binary = await findBinary(env);
    if (env.GITHUB_STATE) appendFileCommand(env.GITHUB_STATE, 'binary', binary);
    console.log(`Using ${binary}`);
    return run(binary, ['setup'], childEnv(env, variables));
  } catch (error) {
    return fail(error);
  }
}

async function post(env = process.env) {
  try {
    const explicit = getInput(env, 'binary');
    const binary =
      env.STATE_binary || (explicit && path.resolve(env.GITHUB_WORKSPACE || process.cwd(), explicit));
    if (!binary) {
      console.log('magento-auth never ran in this job: nothing to clean up');
      return 0;
    }
    if (!isFile(binary)) {
      throw new LaunchError(`${binary} is gone, so cleanup could not run: check the job's auth.json by hand`);
    }
    return run(binary, ['cleanup'], childEnv(env, {}));
  } catch (error) {
    return fail(error);
  }
}

module.exports = {
  appendFileCommand,
  assetName,
  childEnv,
  escapeData,
  findBinary,
  inputVariable,
  main,
  post,
  releaseTarget,
  setupVariables,
};
