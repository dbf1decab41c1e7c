'use strict';
// The GitHub Action's launcher: finds the magento-auth binary and runs it.
// No npm dependencies on purpose: this file is all the JavaScript the action
// runs, so it can be read in one sitting. Runs on Node 20 and 24.

const childProcess = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ACTION_DIR = path.resolve(__dirname, '..');
const TOOL = 'magento-auth';
const EXE = process.platform === 'win32' ? `${TOOL}.exe` : TOOL;
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

const KEY_INPUTS = [
  ['public-key', 'MAGENTO_PUBLIC_KEY'],
  ['private-key', 'MAGENTO_PRIVATE_KEY'],
];

function setupVariables(env) {
  const vars = {};
  const pass = (input, variable) => {
    const value = getInput(env, input);
    if (value !== '') vars[variable] = value;
  };
  // Keys are not trimmed here: the binary trims with a warning, which tells the
  // user about the pasted newline instead of silently hiding it.
  for (const [input, variable] of KEY_INPUTS) {
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

function isFile(file) {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

// ---- trusting the binary -----------------------------------------------------
//
// Unless the `binary` input names a file (the one way to run a binary the action
// cannot vouch for), what runs is always a private copy: bytes read once, checked,
// then written into a fresh directory (mode 0700) in RUNNER_TEMP and run from
// there by main and post. Nobody else can change that directory, so the file that
// runs is the one that was checked, at setup and at cleanup alike. The bytes are
// trusted when their SHA-256 is the table's entry for the version and target (the
// tool cache, a download), or when this job built them from the action's own
// checkout (the ref the runner fetched for it, or the repository itself with
// `uses: ./`). A build is neither taken from nor put into the tool cache: every
// job of the runner, and on a self-hosted one other repositories' jobs, can write
// there, so a cache entry is only ever a candidate for the table's check.

const O_NOFOLLOW = fs.constants.O_NOFOLLOW || 0;
// A FIFO planted where the binary should be would otherwise block open() for good.
const O_NONBLOCK = fs.constants.O_NONBLOCK || 0;
const UID = typeof process.getuid === 'function' ? process.getuid() : null;
const MAX_BINARY_BYTES = 64 * 1024 * 1024;

function sha256(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/**
 * The bytes of `file`, read through one descriptor that does not follow a
 * symlink: `{ bytes }`, `{ reason }` why it is not to be trusted, or null when
 * there is nothing there.
 */
function readOnce(file) {
  try {
    if (fs.lstatSync(file).isSymbolicLink()) return { reason: 'it is a symbolic link' };
  } catch (error) {
    if (error.code === 'ENOENT') return null;
    return { reason: `it cannot be examined (${error.code || error.message})` };
  }
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    // ELOOP (EMLINK on some BSDs): it became a symlink after the lstat.
    if (['ELOOP', 'EMLINK'].includes(error.code)) return { reason: 'it is a symbolic link' };
    return { reason: `it cannot be opened (${error.code || error.message})` };
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return { reason: 'it is not a regular file' };
    if (UID !== null && stat.uid !== UID) return { reason: `it is owned by another user (uid ${stat.uid})` };
    if (stat.size > MAX_BINARY_BYTES) return { reason: `it is larger than ${MAX_BINARY_BYTES} bytes` };
    // One buffer of the size fstat gave, and a byte more to notice a file
    // that someone is still writing: that one is not trusted.
    const bytes = Buffer.allocUnsafe(stat.size + 1);
    let total = 0;
    for (let n; (n = fs.readSync(fd, bytes, total, bytes.length - total, null)) > 0; ) {
      total += n;
      if (total === bytes.length) return { reason: 'it grew while it was read' };
    }
    return { bytes: bytes.subarray(0, total) };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Write checked bytes into a new directory only this user can open, under `temp`,
 * and return the file to run. Refuses a `temp` where another user could move that
 * directory aside and put their own in its place.
 */
function stage(bytes, temp) {
  fs.mkdirSync(temp, { recursive: true, mode: 0o700 });
  if (UID !== null) {
    const stat = fs.statSync(temp);
    const refuse = (why) =>
      new LaunchError(
        `refusing to put the binary in ${temp}: ${why}; point RUNNER_TEMP at a directory only this user can write`,
      );
    if (stat.uid !== UID && stat.uid !== 0) throw refuse(`it is owned by another user (uid ${stat.uid})`);
    if ((stat.mode & 0o002) !== 0 && (stat.mode & 0o1000) === 0) {
      throw refuse('every user may write there and it has no sticky bit');
    }
  }
  const dir = fs.mkdtempSync(path.join(temp, `${TOOL}-`));
  const binary = path.join(dir, EXE);
  fs.writeFileSync(binary, bytes, { mode: 0o700, flag: 'wx' });
  return binary;
}

/** `$RUNNER_TOOL_CACHE/magento-auth/<version>/<arch>/`, the toolkit's layout. */
function toolCacheDir(env, version) {
  const root = env.RUNNER_TOOL_CACHE;
  if (!root || !version) return null;
  return path.join(root, TOOL, version, process.arch);
}

/**
 * The cached binary's bytes when they match the table, else null; anything else
 * found there is ignored with a warning, as if the cache were empty.
 */
function fromToolCache(env, version, expected, target) {
  const dir = toolCacheDir(env, version);
  if (!dir) return null;
  const binary = path.join(dir, EXE);
  const found = readOnce(binary);
  if (found === null) return null;
  let why = found.reason;
  if (!why && !expected) {
    const platform = target || `${process.platform}-${process.arch}`;
    why = `the action's checksum table has no SHA-256 for ${TOOL} ${version} on ${platform}`;
  } else if (!why && sha256(found.bytes) !== expected) {
    why = "its SHA-256 does not match the action's checksum table";
  }
  if (why) {
    command('warning', `ignoring ${binary}: ${why}; it is not run`);
    return null;
  }
  return found.bytes;
}

/**
 * Keep verified bytes in the tool cache for the runner's next jobs (who check them
 * again). Written beside the entry and renamed over it, so that whatever was
 * planted there, a symlink included, is replaced and never written through.
 */
function keepInToolCache(env, version, bytes) {
  const dir = toolCacheDir(env, version);
  if (!dir) return;
  const partial = path.join(dir, `.${EXE}-${crypto.randomUUID()}`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(partial, bytes, { mode: 0o755, flag: 'wx' });
    fs.renameSync(partial, path.join(dir, EXE));
    // The marker the toolkit's tool-cache reader looks for; not through a symlink.
    const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | O_NOFOLLOW | O_NONBLOCK;
    fs.closeSync(fs.openSync(`${dir}.complete`, flags, 0o644));
  } catch (error) {
    fs.rmSync(partial, { force: true });
    command('warning', `could not keep ${TOOL} in the tool cache (${error.message}); this job is not affected`);
  }
}

function releaseBase(env) {
  // Empty when the action is used from a local path (`uses: ./`), which builds.
  const repository = env.GITHUB_ACTION_REPOSITORY;
  if (!repository) return null;
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  return `${server}/${repository}/releases/download`;
}

// The one test hook: the tests serve releases from a server of their own, on a
// loopback address and over plain http. Only `fromRelease` consults it; with the
// variable unset, nothing below differs from what runs on a runner.
const TEST_RELEASE_BASE = 'MAGENTO_AUTH_ACTION_TEST_RELEASE_BASE';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function isLoopback(url) {
  return LOOPBACK.has(url.hostname);
}

/** The tests' release base, or null when the variable is unset. */
function testReleaseBase(env) {
  const override = env[TEST_RELEASE_BASE];
  if (!override) return null;
  if (!isLoopback(new URL(override))) {
    throw new LaunchError(`${TEST_RELEASE_BASE} may only point at a loopback address`);
  }
  return override.replace(/\/+$/, '');
}

/**
 * GET `url` into memory, following a few redirects; https only, unless
 * `loopbackHttp` (the test hook) lets plain http through to a loopback address.
 * Resolves to `{ bytes, sha256 }`: the hash is taken as the chunks arrive, and
 * they go straight into one buffer when the server gave the length.
 */
function download(url, loopbackHttp, redirects = 0) {
  return new Promise((resolve, reject) => {
    const parsed = new URL(url);
    const plain = loopbackHttp && parsed.protocol === 'http:' && isLoopback(parsed);
    // Loaded here, not at start-up: a job served from the tool cache never needs TLS.
    const client = parsed.protocol === 'https:' ? require('node:https') : plain ? require('node:http') : null;
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
        resolve(download(new URL(response.headers.location, parsed).toString(), loopbackHttp, redirects + 1));
        return;
      }
      if (status !== 200) {
        response.resume();
        reject(new LaunchError(`downloading ${url}: HTTP ${status}`));
        return;
      }
      const hash = crypto.createHash('sha256');
      const length = Number(response.headers['content-length']);
      const sized = Number.isSafeInteger(length) && length >= 0 && length <= MAX_BINARY_BYTES;
      const body = sized ? Buffer.allocUnsafe(length) : null;
      const chunks = [];
      let size = 0;
      response.on('data', (chunk) => {
        const limit = sized ? length : MAX_BINARY_BYTES;
        if (size + chunk.length > limit) {
          request.destroy(new LaunchError(`downloading ${url}: larger than ${limit} bytes`));
          return;
        }
        hash.update(chunk);
        if (body) chunk.copy(body, size);
        else chunks.push(chunk);
        size += chunk.length;
      });
      response.on('error', reject);
      // A body cut short does not end here (the parser knows the length and
      // fails the response); were it to, its hash would not be the table's.
      response.on('end', () => {
        resolve({ bytes: body ? body.subarray(0, size) : Buffer.concat(chunks), sha256: hash.digest('hex') });
      });
    });
    request.setTimeout(DOWNLOAD_TIMEOUT_MS, () => request.destroy(new LaunchError(`downloading ${url}: timed out`)));
    request.on('error', reject);
  });
}

/**
 * The release asset's bytes, checked against the table. Any failure is fatal:
 * nothing downloaded is ever run unverified, and nothing is built instead.
 */
async function fromRelease(env, version, expected, target) {
  const testBase = testReleaseBase(env);
  const base = testBase || releaseBase(env);
  const wanted = `${TOOL} ${version} for ${target}`;
  if (!base) {
    throw new LaunchError(
      `no release to download ${wanted} from: GITHUB_ACTION_REPOSITORY is empty and the action is not ` +
        'in the workspace; give the binary input, or set build-from-source: true (needs Rust on the runner)',
    );
  }
  const url = `${base}/v${version}/${assetName(target)}`;
  let got;
  try {
    got = await download(url, testBase !== null);
  } catch (error) {
    throw new LaunchError(
      `could not download ${url} (${error.message}), so there is no verified ${wanted}; ` +
        'run the job again, give the binary input, or set build-from-source: true (needs Rust on the runner)',
    );
  }
  if (got.sha256 !== expected) {
    throw new LaunchError(
      `checksum mismatch for ${url}: expected SHA-256 ${expected}, got ${got.sha256}; refusing to run it`,
    );
  }
  return got.bytes;
}

function fromCargo(env, actionDir, why) {
  const targetDir = path.join(actionDir, 'target');
  console.log(`${why}: building ${TOOL} from source in ${actionDir} (cargo build --release --locked)`);
  const result = childProcess.spawnSync('cargo', ['build', '--release', '--locked'], {
    cwd: actionDir,
    // No INPUT_* (keys) in a build that runs other people's build scripts.
    env: childEnv(env, { CARGO_TARGET_DIR: targetDir }),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.error) {
    throw new LaunchError(
      `cannot build ${TOOL} from source: cargo did not run (${result.error.message}); ` +
        'install Rust on the runner, or give the binary input',
    );
  }
  if (result.status !== 0) throw new LaunchError(`cargo build failed with exit ${result.status}`);
  const binary = path.join(targetDir, 'release', EXE);
  const built = readOnce(binary);
  if (built === null) throw new LaunchError(`cargo build did not produce ${binary}`);
  if (built.reason) throw new LaunchError(`cargo build produced ${binary}, but ${built.reason}`);
  return built.bytes;
}

/** The file the `binary` input names, resolved as the runner resolves paths; else null. */
function explicitBinary(env) {
  const explicit = getInput(env, 'binary');
  return explicit ? path.resolve(env.GITHUB_WORKSPACE || process.cwd(), explicit) : null;
}

/** A yes/no input: '' (the default) is no; anything but true or false is refused. */
function booleanInput(env, name) {
  const value = getInput(env, name).toLowerCase();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new LaunchError(`the ${name} input must be true or false, not "${value}"`);
}

function realOrResolved(file) {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

/**
 * True when the workflow uses the action from a local path (`uses: ./`, or
 * `./some/dir` after a checkout): its directory is inside the workspace. An
 * action given as `owner/repo@ref` lives in the runner's `_actions` directory,
 * beside the workspace, never inside it.
 */
function isLocalAction(env, actionDir) {
  const workspace = realOrResolved(env.GITHUB_WORKSPACE || process.cwd());
  const relative = path.relative(workspace, realOrResolved(actionDir));
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

/** The failure when the table has no SHA-256 for the version on this runner. */
function noVerifiedBinary(table, version, target) {
  const platform = `${process.platform} ${process.arch}`;
  const fixes = 'give the binary input, or set build-from-source: true (needs Rust on the runner)';
  if (!target) return new LaunchError(`${TOOL} has no release binary for ${platform}; ${fixes}`);
  const listed = Object.keys(table.versions).filter((v) => table.versions[v] && table.versions[v][target]);
  const instead = listed.length > 0 ? `set the version input to one it lists (${listed.join(', ')}), ` : '';
  return new LaunchError(
    `no verified ${TOOL} ${version} for ${target} (${platform}): this action's checksum table ` +
      `(action/checksums.json) has no SHA-256 for it. Pin the action to a release tag (@vX.Y.Z) or its commit, ${instead}` +
      fixes,
  );
}

/** Build the action's own checkout, saying why; a `version` input cannot change what is built. */
function buildOwn(env, actionDir, why) {
  const own = cargoVersion(actionDir);
  const asked = getInput(env, 'version').replace(/^v/, '');
  if (asked && own && asked !== own) {
    command('warning', `the version input (${asked}) is ignored: ${why}, so ${TOOL} ${own} is built from this checkout`);
  }
  return fromCargo(env, actionDir, why);
}

/**
 * The binary, in order: the `binary` input, run where it is; a build of the
 * action's own checkout when it is used from a local path or with
 * build-from-source: true; else a private copy of the release of the version
 * asked for (the `version` input, else the checkout's Cargo.toml) from the tool
 * cache or a download, only when its SHA-256 is the table's. No such binary is a
 * failure that says what is missing: never a build nobody asked for.
 */
async function findBinary(env, actionDir = ACTION_DIR) {
  const binary = explicitBinary(env);
  if (binary) {
    if (!isFile(binary)) throw new LaunchError(`the binary input names ${binary}, which is not a file`);
    return binary;
  }
  const temp = env.RUNNER_TEMP || os.tmpdir();
  if (booleanInput(env, 'build-from-source')) {
    return stage(buildOwn(env, actionDir, 'build-from-source is true'), temp);
  }
  if (isLocalAction(env, actionDir)) {
    return stage(buildOwn(env, actionDir, `the action is used from a local path (${actionDir})`), temp);
  }
  const table = loadChecksums(actionDir);
  const version = (getInput(env, 'version') || cargoVersion(actionDir) || '').replace(/^v/, '');
  if (!version) {
    throw new LaunchError(`no version input and no version in ${path.join(actionDir, 'Cargo.toml')}: cannot tell which ${TOOL} to run`);
  }
  const target = releaseTarget();
  const expected = target && table.versions[version] ? table.versions[version][target] : undefined;
  const cached = fromToolCache(env, version, expected, target);
  if (cached) return stage(cached, temp);
  if (!expected) throw noVerifiedBinary(table, version, target);
  const downloaded = await fromRelease(env, version, expected, target);
  keepInToolCache(env, version, downloaded);
  return stage(downloaded, temp);
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
  // A LaunchError's message is for the user as it is; anything else is a bug here.
  const message =
    error instanceof LaunchError ? error.message : `the magento-auth launcher failed: ${error && error.message}`;
  command('error', message);
  return 1;
}

async function main(env = process.env) {
  try {
    const variables = setupVariables(env);
    scanPolicy(env); // a bad scan value fails now, not at the job's end
    const binary = await findBinary(env);
    if (env.GITHUB_STATE) appendFileCommand(env.GITHUB_STATE, 'binary', binary);
    console.log(`Using ${binary}`);
    return run(binary, ['setup'], childEnv(env, variables));
  } catch (error) {
    return fail(error);
  }
}

// ---- post without main's record ---------------------------------------------
//
// The post step learns the binary from main's GITHUB_STATE. When that is lost
// (a runner that dropped it, a tool that runs post alone, a private copy that
// is gone), the job's state file is found where the binary itself would look,
// and cleanup runs with a binary found and verified exactly as main's is.

function nonEmpty(value) {
  return value === undefined || value === '' ? null : value;
}

/** The binary's state-file name for this job (src/ci/mod.rs `job_id`). */
function jobId(env) {
  const run = nonEmpty(env.GITHUB_RUN_ID);
  const job = nonEmpty(env.GITHUB_JOB);
  const raw =
    nonEmpty(env.CI_JOB_ID) || nonEmpty(env.BITBUCKET_STEP_UUID) || (run && job ? `${run}-${job}` : null);
  if (raw === null) {
    let here = process.cwd();
    try {
      here = fs.realpathSync(here);
    } catch {
      // As the binary does: the directory as it is named.
    }
    return `local-${sha256(Buffer.from(here)).slice(0, 12)}`;
  }
  const clean = [...raw]
    .filter((c) => c !== '{' && c !== '}')
    .map((c) => (/[A-Za-z0-9_-]/.test(c) ? c : '_'))
    .slice(0, 100)
    .join('');
  return clean || 'local';
}

/**
 * Where the binary keeps this job's state on GitHub (src/journal/state.rs
 * `locate`): MAGENTO_AUTH_STATE_FILE, the path it saved as STATE_state_file,
 * else `$RUNNER_TEMP/magento-auth/<run id>-<job>.json`.
 */
function jobStatePath(env) {
  const explicit = nonEmpty(env.MAGENTO_AUTH_STATE_FILE) || nonEmpty(env.STATE_state_file);
  if (explicit) return path.resolve(explicit);
  const temp = nonEmpty(env.RUNNER_TEMP);
  const dir = temp
    ? path.join(temp, TOOL)
    : path.join(nonEmpty(env.TMPDIR) || os.tmpdir(), `${TOOL}-${UID !== null ? UID : env.USERNAME || 'user'}`);
  return path.join(dir, `${jobId(env)}.json`);
}

function exists(file) {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Composer's home auth.json as Composer finds it, for a message (FACTS.md). */
function composerHomeAuth(env) {
  const home = nonEmpty(env.HOME) || os.homedir();
  if (nonEmpty(env.COMPOSER_HOME)) return path.join(env.COMPOSER_HOME, 'auth.json');
  if (process.platform === 'win32' && nonEmpty(env.APPDATA)) return path.join(env.APPDATA, 'Composer', 'auth.json');
  const xdg = path.join(nonEmpty(env.XDG_CONFIG_HOME) || path.join(home, '.config'), 'composer');
  const legacy = path.join(home, '.composer');
  const usesXdg = Object.keys(env).some((name) => name.startsWith('XDG_')) || exists('/etc/xdg');
  const dir = usesXdg && (exists(xdg) || !exists(legacy)) ? xdg : legacy;
  return path.join(dir, 'auth.json');
}

/**
 * Where the keys setup wrote may still be: the targets the state names, else
 * what the step's inputs say.
 */
function keyPlaces(env, statePath) {
  const places = [];
  const found = readOnce(statePath);
  if (found && found.bytes) {
    try {
      const state = JSON.parse(found.bytes.toString('utf8'));
      for (const entry of state.files || []) {
        if (typeof entry.target === 'string') places.push(entry.target);
      }
      for (const entry of state.env || []) {
        if (typeof entry.name === 'string') places.push(`${entry.name} (exported to the job's later steps)`);
      }
    } catch {
      // Unreadable: say what the inputs say instead.
    }
  }
  if (places.length > 0) return places;
  const mode = getInput(env, 'mode') || 'home';
  if (mode === 'env') return ["COMPOSER_AUTH (exported to the job's later steps)"];
  if (mode === 'project') {
    const workspace = env.GITHUB_WORKSPACE || process.cwd();
    return [path.join(path.resolve(workspace, getInput(env, 'working-directory') || '.'), 'auth.json')];
  }
  return [`Composer's home auth.json (${composerHomeAuth(env)})`];
}

async function recover(env, lost) {
  const statePath = jobStatePath(env);
  if (!exists(statePath)) {
    console.log(`No magento-auth state for this job at ${statePath}: setup left nothing to undo, so nothing to clean up`);
    return { code: 0, binary: null };
  }
  const why = lost ? `${lost} is gone` : "main's record of the binary is lost";
  console.log(`${why}; finding ${TOOL} again to clean up with this job's state, ${statePath}`);
  let binary;
  try {
    binary = await findBinary(env);
  } catch (error) {
    const reason = error instanceof LaunchError ? error.message : String(error && error.message);
    command(
      'warning',
      `cleanup could not run (${reason}): the Marketplace keys setup wrote may remain in ` +
        `${keyPlaces(env, statePath).join(', ')}. Run \`${TOOL} cleanup\` in this job, or remove ` +
        `their repo.magento.com entry by hand; this job's state is ${statePath}`,
    );
    return { code: 1, binary: null };
  }
  console.log(`Using ${binary}`);
  return { code: run(binary, ['cleanup'], childEnv(env, {})), binary };
}

// ---- the leak sweep, after cleanup -------------------------------------------

/** The scan input: warn (the default), fail or false. */
function scanPolicy(env) {
  const scan = (getInput(env, 'scan') || 'warn').toLowerCase();
  if (!['warn', 'fail', 'false'].includes(scan)) {
    throw new LaunchError(`the scan input must be warn, fail or false, not "${scan}"`);
  }
  return scan;
}

/**
 * `magento-auth scan` of the workspace, once cleanup has put every file back:
 * a copy of the keys still there is one the job made. The keys go to it as
 * main's do, in the environment; under warn it reports and exits 0.
 */
function sweep(env, binary, policy) {
  if (policy === 'false') return 0;
  if (!binary) {
    console.log('No magento-auth binary from the main step: the workspace is not searched for the keys');
    return 0;
  }
  const keys = {};
  for (const [input, variable] of KEY_INPUTS) {
    const raw = env[inputVariable(input)] || '';
    if (raw !== '') keys[variable] = raw;
  }
  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const args = ['scan', '--on-missing', 'skip', '--on-leak', policy, workspace];
  const code = run(binary, args, childEnv(env, keys));
  if (code === 0 || policy === 'fail') return code;
  command('warning', `the workspace could not be searched for the keys (exit ${code}); scan is warn, so the step goes on`);
  return 0;
}

async function post(env = process.env) {
  try {
    const recorded = env.STATE_binary || explicitBinary(env);
    const cleaned =
      recorded && isFile(recorded)
        ? { code: run(recorded, ['cleanup'], childEnv(env, {})), binary: recorded }
        : await recover(env, recorded);
    // Read after cleanup, so that a bad value never keeps the keys in place.
    const swept = sweep(env, cleaned.binary, scanPolicy(env));
    return cleaned.code !== 0 ? cleaned.code : swept;
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
  jobStatePath,
  main,
  post,
  releaseTarget,
  setupVariables,
  sha256,
};
