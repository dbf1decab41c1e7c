"""A release walked through on loopback (issue 14), and the static Linux binary
(item 5). Run by scripts/lint-ci with .venv-lint's Python.

The walk: the static binary already built stands in for this machine's Linux
asset (the other four targets are placeholder bytes: a walk must not build five
targets), `sha256sum magento-auth-* > SHA256SUMS` as the release workflow runs
it, scripts/release-ready refusing the tree, scripts/update-checksums, then
release-ready accepting it; an HTTPS server on 127.0.0.1 (a CA made here)
serves the release at the path GitHub would. On that copy of the tree:
  - the action's main and post, run as the runner runs them (action/harness.js)
    with no cargo on PATH, an empty tool cache and no test hook: the release
    address comes from GITHUB_SERVER_URL and GITHUB_ACTION_REPOSITORY;
  - the GitLab component and the Bitbucket recipe with their defaults, checking
    the keys against a local stand-in for repo.magento.com;
  - a served binary that is not the hashed one, refused by both wrappers.

Usage: python release-test.py BINARY STATIC_BINARY
  BINARY: the build the other tests use (its directory holds examples/fake_repo).
  STATIC_BINARY: the static musl build for this machine.
"""

import hashlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
_spec = importlib.util.spec_from_file_location("templates_test", HERE / "ci-templates-test.py")
T = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(T)

TARGETS = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
]
TREE_FILES = [
    "Cargo.toml",
    "action.yml",
    "action/launcher.js",
    "action/main.js",
    "action/post.js",
    "action/checksums.json",
    "scripts/update-checksums",
    "scripts/release-ready",
    "templates/magento-auth.yml",
    "examples/bitbucket-pipelines.yml",
]
REPOSITORY = "example/magento-auth"


def machine_target():
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(platform.machine())
    return f"{arch}-unknown-linux-musl" if arch and sys.platform.startswith("linux") else None


def asset(target):
    return f"magento-auth-{target}{'.exe' if 'windows' in target else ''}"


def version_of(tree):
    for line in (tree / "Cargo.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split('"')[1]
    raise AssertionError("Cargo.toml has no version")


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)


class Recorded(dict):
    """The release's files; every path asked for is logged."""

    def __init__(self, *args):
        super().__init__(*args)
        self.asked = []

    def get(self, key, default=None):
        self.asked.append(key)
        return super().get(key, default)


@contextmanager
def release(static_binary):
    """The walk up to a served release: yields (tree, version, files served, base URL, CA file)."""
    target = machine_target()
    with tempfile.TemporaryDirectory(prefix="magento-auth-release-") as directory:
        work = Path(directory)
        tree = work / "tree"
        for relative in TREE_FILES:
            (tree / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, tree / relative)
        version = version_of(tree)
        # build: the binary already built; placeholders for the targets not built here.
        dist = work / "dist"
        dist.mkdir()
        for other in TARGETS:
            data = Path(static_binary).read_bytes() if other == target else f"placeholder {other}\n".encode()
            (dist / asset(other)).write_bytes(data)
        sums = run(["sh", "-c", "sha256sum magento-auth-* > SHA256SUMS"], cwd=dist)
        assert sums.returncode == 0, sums.stderr
        before = run([str(tree / "scripts" / "release-ready"), f"v{version}"])
        assert before.returncode == 1, f"release-ready passed a tree without v{version}: {before.stdout}"
        assert f"action/checksums.json has no entry for {version}" in before.stderr, before.stderr
        pki = T.Pki(work)
        prefix = f"/{REPOSITORY}/releases/download/v{version}/"
        files = Recorded({prefix + p.name: p.read_bytes() for p in dist.iterdir()})
        with T.https_files(pki, files) as base:
            env = {"PATH": os.environ["PATH"], "GITHUB_SERVER_URL": base, "GITHUB_REPOSITORY": REPOSITORY}
            update = run([str(tree / "scripts" / "update-checksums"), version, str(dist / "SHA256SUMS")], env=env)
            assert update.returncode == 0, update.stderr
            ready = run([str(tree / "scripts" / "release-ready"), f"v{version}"])
            assert ready.returncode == 0, ready.stderr
            yield tree, version, files, prefix, base, pki.ca


# ---- the action --------------------------------------------------------------

DRIVER = r"""
const fs = require('node:fs');
const path = require('node:path');
const { Job } = require(process.env.HARNESS);
const args = JSON.parse(process.env.WALK);
const job = new Job({ actionDir: args.actionDir, env: args.env });
try {
  fs.mkdirSync(job.composerHome, { recursive: true });
  fs.writeFileSync(path.join(job.composerHome, 'auth.json'), args.existing);
  const step = (s) => ({ status: s.status, stdout: s.stdout, stderr: s.stderr, state: s.state });
  const main = step(job.runSync('main', args.inputs));
  const written = fs.readFileSync(path.join(job.composerHome, 'auth.json'), 'utf8');
  const post = step(job.runSync('post', {}));
  const cached = path.join(job.toolCache, 'magento-auth', args.version, process.arch, 'magento-auth');
  const after = fs.readFileSync(path.join(job.composerHome, 'auth.json'), 'utf8');
  const leftovers = job.allFiles().filter((f) => args.secrets.some((s) => f.bytes.includes(s))).map((f) => f.file);
  process.stdout.write(JSON.stringify({
    main, post, written, after, leftovers,
    cached: fs.existsSync(cached) ? fs.readFileSync(cached).toString('hex') : null,
  }));
} finally {
  job.cleanup();
}
"""


def no_cargo_path():
    dirs = [d for d in os.environ["PATH"].split(os.pathsep) if d and not (Path(d) / "cargo").exists()]
    path = os.pathsep.join(dirs)
    assert shutil.which("cargo", path=path) is None
    return path


def test_action(static_binary):
    with release(static_binary) as (tree, version, files, prefix, base, ca):
        env = {
            "PATH": no_cargo_path(),
            "GITHUB_SERVER_URL": base,
            "GITHUB_ACTION_REPOSITORY": REPOSITORY,
            "NODE_EXTRA_CA_CERTS": str(ca),
        }
        walk = {
            "actionDir": str(tree),
            "env": env,
            "version": version,
            "inputs": {"public-key": T.PUB, "private-key": T.PRIV, "check": "false"},
            "existing": T.EXISTING.decode(),
            "secrets": T.SECRETS,
        }
        done = run(
            ["node", "-e", DRIVER],
            env={**os.environ, "PATH": env["PATH"], "HARNESS": str(ROOT / "action" / "harness.js"), "WALK": json.dumps(walk)},
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        main, post = result["main"], result["post"]
        assert main["status"] == 0, main["stdout"] + main["stderr"]
        assert post["status"] == 0, post["stdout"] + post["stderr"]
        assert files.asked == [prefix + asset(machine_target())], f"downloads: {files.asked}"
        assert "building" not in main["stdout"].lower(), main["stdout"]
        assert T.PRIV in result["written"], "setup did not write the keys"
        assert result["after"] == T.EXISTING.decode(), "post did not restore auth.json"
        digest = hashlib.sha256(Path(static_binary).read_bytes()).hexdigest()
        assert result["cached"] is not None and hashlib.sha256(bytes.fromhex(result["cached"])).hexdigest() == digest
        assert not result["leftovers"], f"files still hold a key: {result['leftovers']}"
        for text in (main["stdout"], main["stderr"], post["stdout"], post["stderr"]):
            # On GitHub the binary registers each key with ::add-mask:: first, by design.
            shown = "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))
            for secret in T.SECRETS:
                assert secret not in shown, "a key was printed"


# ---- the GitLab component and the Bitbucket recipe, with their defaults ------


@contextmanager
def job_world(binary, ca):
    """repo.magento.com's stand-in, and the environment that trusts it and the release server."""
    with tempfile.TemporaryDirectory(prefix="magento-auth-repo-") as directory:
        with T.repo_magento_com(binary, directory) as (env, log):
            trust = T.bundle(Path(directory), env["SSL_CERT_FILE"], ca)
            yield {
                **env,
                "SSL_CERT_FILE": str(trust),
                "CURL_CA_BUNDLE": str(trust),
                "NO_PROXY": "127.0.0.1",
                "no_proxy": "127.0.0.1",
            }, log


def assert_ran_the_release(job, files, prefix, requests):
    """The job downloaded this machine's asset alone, set up with the check, and cleaned up."""
    main, after, restored, leftovers = job
    assert main.returncode == 0, f"exit {main.returncode}: {main.stdout}{main.stderr}"
    assert after.returncode == 0, after.stdout + after.stderr
    assert files.asked == [prefix + asset(machine_target())], f"downloads: {files.asked}"
    assert "GET /packages.json" in requests, f"setup did not check: {requests}"
    T.assert_clean(main, after, restored, leftovers)


def test_gitlab_defaults(binary, static_binary):
    with release(static_binary) as (tree, version, files, prefix, base, ca):
        with job_world(binary, ca) as (env, log):
            main, after, restored, leftovers = T.run_job(
                None, {}, "grep -q '\"repo.magento.com\"' \"$COMPOSER_HOME/auth.json\"", env,
                {"composer.json": T.COMPOSER_JSON}, component_file=tree / "templates" / "magento-auth.yml",
            )
            requests = T.logged_requests(log)
        assert_ran_the_release((main, after, restored, leftovers), files, prefix, requests)
        # The same release with other bytes served: refused, nothing runs.
        files[prefix + asset(machine_target())] = Path(binary).read_bytes() + b"tampered"
        with job_world(binary, ca) as (env, log):
            main, after, restored, leftovers = T.run_job(
                None, {}, "exit 7", env, {"composer.json": T.COMPOSER_JSON},
                component_file=tree / "templates" / "magento-auth.yml",
            )
            requests = T.logged_requests(log)
        assert main.returncode == 1 and "refusing to run it" in main.stderr, main.stderr
        assert requests == [], f"the binary ran: {requests}"
        T.assert_clean(main, after, restored, leftovers)


def run_recipe(recipe, env):
    step = T.bitbucket_step(recipe)
    script = [line for line in step["script"] if not line.startswith("composer ")]
    # Where `composer install` was: the keys are there (the last line, the leak
    # sweep, cleans up before it searches).
    script.insert(script.index("magento-auth setup") + 1, "grep -q '\"repo.magento.com\"' \"$COMPOSER_HOME/auth.json\"")
    box = T.Sandbox(None, {"composer.json": T.COMPOSER_JSON})
    try:
        job_env = {**box.env, **env, "BITBUCKET_BUILD_NUMBER": "7", "BITBUCKET_STEP_UUID": "{8c3e1a52-0f3c-4b0e-9f5e-4b2a0c7e9d11}"}
        main = run(["sh", "-e", "-c", "\n".join(script)], cwd=box.project, env=job_env)
        after = run(["sh", "-e", "-c", "\n".join(step["after-script"])], cwd=box.project, env=job_env)
        return main, after, box.restored(), box.leftovers()
    finally:
        box.close()


def test_bitbucket_defaults(binary, static_binary):
    with release(static_binary) as (tree, version, files, prefix, base, ca):
        recipe = tree / "examples" / "bitbucket-pipelines.yml"
        with job_world(binary, ca) as (env, log):
            main, after, restored, leftovers = run_recipe(recipe, env)
            requests = T.logged_requests(log)
        assert_ran_the_release((main, after, restored, leftovers), files, prefix, requests)
        files[prefix + asset(machine_target())] = Path(binary).read_bytes() + b"tampered"
        with job_world(binary, ca) as (env, log):
            main, after, restored, leftovers = run_recipe(recipe, env)
            requests = T.logged_requests(log)
        assert main.returncode == 1 and "checksum mismatch" in main.stderr, main.stderr
        assert requests == [], f"the binary ran: {requests}"
        T.assert_clean(main, after, restored, leftovers)


# ---- item 5: the Linux asset is static ----------------------------------------


def test_static(static_binary):
    """Run from a directory that holds nothing else, with no libc to find: chroot when root."""
    data = Path(static_binary).read_bytes()
    assert data[:4] == b"\x7fELF", "not an ELF file"
    headers = run(["readelf", "-l", static_binary])
    assert headers.returncode == 0, headers.stderr
    assert "Requesting program interpreter" not in headers.stdout, "a dynamic executable: it needs the image's libc"
    assert "DYNAMIC" not in headers.stdout or "static" in run(["file", static_binary]).stdout.lower()
    with tempfile.TemporaryDirectory(prefix="magento-auth-static-") as directory:
        empty = Path(directory)
        shutil.copy2(static_binary, empty / "magento-auth")
        assert sorted(p.name for p in empty.iterdir()) == ["magento-auth"]
        chroot = shutil.which("chroot") if os.geteuid() == 0 else None
        root = chroot is not None
        # In the chroot nothing exists but the binary: no /lib, no /etc, no shell.
        prefix = [chroot, str(empty)] if root else []
        exe = "/magento-auth" if root else str(empty / "magento-auth")
        bare = {"PATH": "/nonexistent"}
        version = run([*prefix, exe, "--version"], env=bare)
        assert version.returncode == 0 and version.stdout.startswith("magento-auth "), version.stdout + version.stderr
        (empty / "home" / ".composer").mkdir(parents=True)
        (empty / "tmp").mkdir()
        at = "/" if root else f"{empty}/"
        env = {
            **bare,
            "HOME": f"{at}home",
            "COMPOSER_HOME": f"{at}home/.composer",
            "TMPDIR": f"{at}tmp",
            "MAGENTO_PUBLIC_KEY": T.PUB,
            "MAGENTO_PRIVATE_KEY": T.PRIV,
        }
        setup = run([*prefix, exe, "setup", "--no-check"], env=env, cwd=directory)
        assert setup.returncode == 0, setup.stdout + setup.stderr
        auth = empty / "home" / ".composer" / "auth.json"
        assert T.PRIV in auth.read_text(), "setup did not write the keys"
        cleanup = run([*prefix, exe, "cleanup"], env={k: v for k, v in env.items() if not k.startswith("MAGENTO_")}, cwd=directory)
        assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
        assert not auth.exists(), "cleanup did not remove the auth.json setup created"
        for text in (setup.stdout, setup.stderr, cleanup.stdout, cleanup.stderr):
            for secret in T.SECRETS:
                assert secret not in text, "a key was printed"
        return "in a chroot of the empty directory" if root else "from the empty directory (not root: no chroot)"


def main():
    binary, static_binary = sys.argv[1], sys.argv[2]
    if not machine_target():
        print(f"skip: no Linux release target for {sys.platform} {platform.machine()}")
        return
    for name, fn in [
        ("static Linux binary: runs from a directory holding nothing else, with no libc", lambda: test_static(static_binary)),
        ("release on loopback: the action's main and post, no cargo on PATH, empty tool cache", lambda: test_action(static_binary)),
        ("release on loopback: the GitLab component with its defaults; other bytes refused", lambda: test_gitlab_defaults(binary, static_binary)),
        ("release on loopback: the Bitbucket recipe with its defaults; other bytes refused", lambda: test_bitbucket_defaults(binary, static_binary)),
    ]:
        T.check(name, fn)
    print(f"{T.passed} passed, {T.failed} failed, {T.skipped} skipped")
    sys.exit(1 if T.failed else 0)


if __name__ == "__main__":
    main()
