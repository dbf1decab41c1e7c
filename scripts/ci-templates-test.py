"""Run the GitLab component's before_script and after_script with the real binary,
as GitLab would (before_script and script in one shell, after_script in another,
inputs as variables), and under gitlab-ci-local; run the Bitbucket recipe's
scripts; and shellcheck every shell block of both. Run by scripts/lint-ci with
.venv-lint's Python (ruamel.yaml).

The jobs that check the keys do so with every input at its default, so against
https://repo.magento.com itself: an HTTPS proxy on 127.0.0.1 (HTTPS_PROXY, as a
runner behind a proxy has) answers CONNECT repo.magento.com:443 with a
certificate for that name from a CA made here (SSL_CERT_FILE), and relays the
requests to the tests' fake repository (examples/fake_repo.rs). Nothing leaves
the machine.

Usage: python ci-templates-test.py BINARY
  BINARY's directory must also hold examples/fake_repo (cargo build --example
  fake_repo). GITLAB_CI_LOCAL, when set, is gitlab-ci-local's script, run with
  the node GITLAB_CI_LOCAL_NODE names (scripts/lint-ci installs both); without it
  that test is reported as skipped.
"""

import base64
import hashlib
import http.server
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = ROOT / "templates" / "magento-auth.yml"
BITBUCKET = ROOT / "examples" / "bitbucket-pipelines.yml"
README = ROOT / "README.md"
PUB = "CANARYpub" + "0" * 19 + "aaaa"
PRIV = "CANARYprv" + "1" * 19 + "bbbb"
SECRETS = [PUB, PRIV, base64.b64encode(f"{PUB}:{PRIV}".encode()).decode()]
EXISTING = b'{\n    "http-basic": {"example.org": {"username": "u", "password": "p"}}\n}\n'

passed = 0
failed = 0
skipped = 0


class Skip(Exception):
    """A test that cannot run here, and why."""


def check(name, fn):
    global passed, failed, skipped
    try:
        fn()
    except Skip as why:
        skipped += 1
        print(f"skip {name}: {why}")
    except AssertionError as error:
        failed += 1
        print(f"FAIL {name}: {error}")
    else:
        passed += 1
        print(f"ok   {name}")


# ---- a local stand-in for repo.magento.com and for release downloads -------------

class Pki:
    """A CA made for this run (openssl), and server certificates it signs."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.ca = self.dir / "ca.pem"
        self.ca_key = self.dir / "ca.key"
        self._openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", self.ca_key, "-out", self.ca, "-subj", "/CN=magento-auth templates test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )

    def _openssl(self, *args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)

    def issue(self, name, alt_names):
        """(certificate, key) files for a server known by `alt_names` (openssl SAN syntax)."""
        cert, key, csr = (self.dir / f"{name}.{ext}" for ext in ("pem", "key", "csr"))
        ext = self.dir / f"{name}.ext"
        ext.write_text(f"subjectAltName={alt_names}\nextendedKeyUsage=serverAuth\n")
        self._openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={name}")
        self._openssl(
            "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-CAcreateserial",
            "-days", "2", "-out", cert, "-extfile", ext,
        )
        return cert, key

    def server_context(self, name, alt_names):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*self.issue(name, alt_names))
        return context


def fake_repo_binary(binary):
    return Path(binary).resolve().parent / "examples" / "fake_repo"


@contextmanager
def fake_repo(binary, directory):
    """The tests' fake repository, wanting the canary keys: (url, its CA, request log)."""
    program = fake_repo_binary(binary)
    assert program.exists(), f"{program} is missing: cargo build --example fake_repo"
    Path(directory).mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen(
        [str(program), str(directory), "120"],
        env={"MAGENTO_PUBLIC_KEY": PUB, "MAGENTO_PRIVATE_KEY": PRIV},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        found = {}
        for _ in range(10):
            line = child.stdout.readline()
            if not line:
                break
            key, _, value = line.strip().partition("=")
            found[key] = value
            if "url" in found and "ca" in found:
                break
        assert "url" in found and "ca" in found, "the fake repository did not start"
        yield found["url"], found["ca"], Path(directory) / "requests.log"
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def relay(a, b, seconds=60):
    """Copy bytes both ways between two sockets until either closes (bounded)."""
    sockets = [a, b]
    for _ in range(100_000):
        readable, _, _ = select.select(sockets, [], [], seconds)
        if not readable:
            return
        for source in readable:
            # A TLS socket may hold more decrypted bytes than select can see.
            while True:
                try:
                    data = source.recv(65536)
                except (ssl.SSLWantReadError, BlockingIOError):
                    break
                except OSError:
                    return
                if not data:
                    return
                (b if source is a else a).sendall(data)
                if not (isinstance(source, ssl.SSLSocket) and source.pending()):
                    break


@contextmanager
def repo_magento_com(binary, directory):
    """
    https://repo.magento.com answered by the fake repository, through a proxy on
    127.0.0.1: yields (the job's environment for it, the fake's request log).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pki = Pki(directory)
    front = pki.server_context("repo.magento.com", "DNS:repo.magento.com")
    with fake_repo(binary, directory / "fake") as (url, fake_ca, log):
        port = int(url.rsplit(":", 1)[1])
        back = ssl.create_default_context(cafile=fake_ca)
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.2)
        stop = threading.Event()

        def serve(client):
            with client:
                client.settimeout(30)
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 8192:
                    chunk = client.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                if not head.startswith(b"CONNECT repo.magento.com:443 "):
                    client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                    return
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                with front.wrap_socket(client, server_side=True) as inner, socket.create_connection(
                    ("127.0.0.1", port), timeout=30
                ) as raw, back.wrap_socket(raw, server_hostname="127.0.0.1") as upstream:
                    relay(inner, upstream)

        def accept():
            for _ in range(2000):
                if stop.is_set():
                    return
                try:
                    client, _ = listener.accept()
                except socket.timeout:
                    continue
                threading.Thread(target=serve, args=(client,), daemon=True).start()

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            proxy = f"http://127.0.0.1:{listener.getsockname()[1]}"
            yield {"HTTPS_PROXY": proxy, "https_proxy": proxy, "SSL_CERT_FILE": str(pki.ca)}, log
        finally:
            stop.set()
            thread.join(timeout=5)
            listener.close()


@contextmanager
def https_files(pki, files):
    """An HTTPS server on 127.0.0.1 serving `files` ({path: bytes}): yields its base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = pki.server_context("downloads", "IP:127.0.0.1").wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def logged_requests(log):
    """The fake's request log; it copies requests there every 10 ms, so wait (bounded)."""
    last = None
    for _ in range(40):
        time.sleep(0.05)
        now = log.read_text().split("\n") if log.exists() else []
        now = [line for line in now if line]
        if now and now == last:
            return now
        last = now
    return last or []


def component(path=COMPONENT, job=".magento-auth"):
    spec_text, jobs_text = re.split(r"^---\s*$", Path(path).read_text(), maxsplit=1, flags=re.M)
    yaml = YAML(typ="safe")
    return yaml.load(spec_text)["spec"]["inputs"], yaml.load(jobs_text)[job]


def job_variables(inputs, job, overrides):
    values = {name: str(decl.get("default", "")) for name, decl in inputs.items()}
    values.update(overrides)
    return {
        key: re.sub(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]", lambda m: values[m.group(1)], str(value))
        for key, value in job["variables"].items()
    }


# A Commerce project: with no lock, the binary's `auto` checks its magento/product-* packages.
COMPOSER_JSON = '{"name": "example/shop", "require": {"magento/product-community-edition": "2.4.7"}}\n'


class Sandbox:
    """A job's world: HOME with a Composer home holding EXISTING, TMPDIR, a project dir."""

    def __init__(self, binary=None, files=None):
        self.root = Path(tempfile.mkdtemp(prefix="magento-auth-templates-"))
        self.bindir = self.root / "bin"
        self.bindir.mkdir()
        if binary:
            shutil.copy2(binary, self.bindir / "magento-auth")
        self.home = self.root / "home"
        self.composer_home = self.home / ".composer"
        self.composer_home.mkdir(parents=True)
        (self.composer_home / "auth.json").write_bytes(EXISTING)
        (self.root / "tmp").mkdir()
        self.project = self.root / "project"
        self.project.mkdir()
        for name, text in (files or {}).items():
            (self.project / name).parent.mkdir(parents=True, exist_ok=True)
            (self.project / name).write_text(text)
        self.env = {
            "PATH": f"{self.bindir}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(self.home),
            "COMPOSER_HOME": str(self.composer_home),
            "TMPDIR": str(self.root / "tmp"),
            "CI": "true",
            "MAGENTO_PUBLIC_KEY": PUB,
            "MAGENTO_PRIVATE_KEY": PRIV,
        }

    def restored(self):
        return (self.composer_home / "auth.json").read_bytes()

    def leftovers(self):
        """Files that still hold a key (the binary's copies aside)."""
        return [
            p for p in self.root.rglob("*")
            if p.is_file() and p.name != "magento-auth" and any(s.encode() in p.read_bytes() for s in SECRETS)
        ]

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)


def run_job(binary, overrides, script, env_extra=None, files=None, component_file=COMPONENT):
    """before_script + script in one `sh -e`, after_script in another; returns results."""
    inputs, job = component(component_file)
    box = Sandbox(binary, files)
    try:
        env = {
            **box.env,
            "GITLAB_CI": "true",
            "CI_JOB_ID": "31337",
            **job_variables(inputs, job, overrides),
            **(env_extra or {}),
        }
        main = subprocess.run(
            ["sh", "-e", "-c", "\n".join([*job["before_script"], script])],
            cwd=box.project, env=env, capture_output=True, text=True, timeout=120,
        )
        after = subprocess.run(
            ["sh", "-c", "\n".join(job["after_script"])],
            cwd=box.project, env=env, capture_output=True, text=True, timeout=120,
        )
        return main, after, box.restored(), box.leftovers()
    finally:
        box.close()


def assert_clean(main, after, restored, leftovers):
    assert restored == EXISTING, "after_script did not restore auth.json byte for byte"
    assert not leftovers, f"files still hold a key: {leftovers}"
    for text in (main.stdout, main.stderr, after.stdout, after.stderr):
        for secret in SECRETS:
            assert secret not in text, "a key was printed"


def test_home_mode(binary):
    main, after, restored, leftovers = run_job(
        binary, {"check": "false"}, 'grep -q repo.magento.com "$COMPOSER_HOME/auth.json"'
    )
    assert main.returncode == 0, main.stdout + main.stderr
    assert after.returncode == 0, after.stdout + after.stderr
    assert_clean(main, after, restored, leftovers)


def test_env_mode(binary):
    script = (
        'test -n "$COMPOSER_AUTH"\n'
        'case "$COMPOSER_AUTH" in *\'"repo.magento.com"\'*) ;; *) exit 9 ;; esac\n'
        'cmp -s "$COMPOSER_HOME/auth.json" - <<EOF || exit 8\n'
        + EXISTING.decode()
        + "EOF"
    )
    main, after, restored, leftovers = run_job(binary, {"check": "false", "mode": "env"}, script)
    assert main.returncode == 0, main.stdout + main.stderr
    assert_clean(main, after, restored, leftovers)


def test_failed_setup(binary):
    main, after, restored, leftovers = run_job(
        binary, {"check": "false"}, "echo the script must not run; exit 7", {"MAGENTO_PRIVATE_KEY": "short"}
    )
    assert main.returncode == 3, f"exit {main.returncode}: {main.stderr}"
    assert after.returncode == 0, after.stdout + after.stderr
    assert_clean(main, after, restored, leftovers)


def test_binary_checksum(binary):
    main, after, restored, leftovers = run_job(
        binary,
        {"check": "false", "binary-url": "https://127.0.0.1:9/magento-auth", "binary-sha256": "not-a-sha"},
        "exit 7",
    )
    assert main.returncode == 1 and "binary-sha256 must be" in main.stderr, main.stderr
    assert_clean(main, after, restored, leftovers)


def test_defaults_checked(binary):
    """Every input at its default, the check on: the job that includes the component as is."""
    with tempfile.TemporaryDirectory(prefix="magento-auth-repo-") as directory:
        with repo_magento_com(binary, directory) as (env, log):
            main, after, restored, leftovers = run_job(
                binary, {}, 'grep -q \'"repo.magento.com"\' "$COMPOSER_HOME/auth.json"', env, {"composer.json": COMPOSER_JSON}
            )
            requests = logged_requests(log)
    assert main.returncode == 0, f"exit {main.returncode}: {main.stdout}{main.stderr}"
    assert after.returncode == 0, after.stdout + after.stderr
    assert "GET /packages.json" in requests, f"the check never reached the repository: {requests}"
    assert "GET /p2/magento/product-community-edition.json" in requests, f"auto checked no package: {requests}"
    assert_clean(main, after, restored, leftovers)


GITLAB_CI = """include:
  - local: templates/magento-auth.yml

composer:
  extends: .magento-auth
  script:
    - grep -q '"repo.magento.com"' "$COMPOSER_HOME/auth.json"
"""


def test_gitlab_ci_local(binary):
    """The component included as is (no inputs), run by gitlab-ci-local's shell executor."""
    script = os.environ.get("GITLAB_CI_LOCAL")
    if not script:
        raise Skip("GITLAB_CI_LOCAL is not set (scripts/lint-ci installs gitlab-ci-local from npm)")
    box = Sandbox(binary, {"composer.json": COMPOSER_JSON, ".gitlab-ci.yml": GITLAB_CI})
    try:
        (box.project / "templates").mkdir()
        shutil.copy2(COMPONENT, box.project / "templates" / COMPONENT.name)
        git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
        for args in (["init", "-q", "."], ["add", "-A"], ["commit", "-q", "-m", "project"]):
            subprocess.run([*git, *args], cwd=box.project, env=box.env, check=True, capture_output=True, timeout=60)
        with tempfile.TemporaryDirectory(prefix="magento-auth-repo-") as directory:
            with repo_magento_com(binary, directory) as (env, log):
                run = subprocess.run(
                    [os.environ.get("GITLAB_CI_LOCAL_NODE", "node"), script, "--no-color", "composer"],
                    cwd=box.project, env={**box.env, **env}, capture_output=True, text=True, timeout=300,
                )
                requests = logged_requests(log)
        output = run.stdout + run.stderr
        assert run.returncode == 0, f"exit {run.returncode}:\n{output}"
        assert re.search(r"PASS\s+composer", output), output
        assert "GET /packages.json" in requests, f"the check never reached the repository: {requests}\n{output}"
        assert "GET /p2/magento/product-community-edition.json" in requests, f"auto checked no package: {requests}"
        assert box.restored() == EXISTING, "after_script did not restore auth.json byte for byte"
        assert not box.leftovers(), f"files still hold a key: {box.leftovers()}"
        for secret in SECRETS:
            assert secret not in output, "a key was printed"
    finally:
        box.close()


# ---- the Bitbucket recipe ----------------------------------------------------------

ASSET = "magento-auth-x86_64-unknown-linux-musl"


def bitbucket_step(recipe=BITBUCKET):
    """The first recipe's step, as written: its script and after-script (anchors resolved)."""
    pipeline = YAML(typ="safe").load(Path(recipe).read_text())
    return pipeline["pipelines"]["default"][0]["step"]


def run_bitbucket(binary, sha256_value, asset=ASSET, extra_env=None, files=None):
    """The recipe's script (Composer's own command left out) in one shell, after-script in another."""
    step = bitbucket_step()
    script = [line for line in step["script"] if not line.startswith("composer ")]
    at = script.index("magento-auth setup") + 1
    script.insert(at, 'grep -q \'"repo.magento.com"\' "$COMPOSER_HOME/auth.json"')
    box = Sandbox(None, {"composer.json": COMPOSER_JSON, **(files or {})})
    try:
        with tempfile.TemporaryDirectory(prefix="magento-auth-repo-") as directory:
            with repo_magento_com(binary, directory) as (env, log):
                pki_ca = env["SSL_CERT_FILE"]
                (Path(directory) / "downloads").mkdir()
                pki = Pki(Path(directory) / "downloads")
                files = {f"/v0.0.0/{ASSET}": Path(binary).read_bytes()}
                with https_files(pki, files) as base:
                    job_env = {
                        **box.env,
                        **env,
                        # The download server's CA and repo.magento.com's, for curl and the binary.
                        "SSL_CERT_FILE": str(bundle(Path(directory), pki_ca, pki.ca)),
                        "CURL_CA_BUNDLE": str(bundle(Path(directory), pki_ca, pki.ca)),
                        "NO_PROXY": "127.0.0.1",
                        "no_proxy": "127.0.0.1",
                        "BITBUCKET_BUILD_NUMBER": "7",
                        "BITBUCKET_STEP_UUID": "{8c3e1a52-0f3c-4b0e-9f5e-4b2a0c7e9d11}",
                        "MAGENTO_AUTH_URL": f"{base}/v0.0.0/{asset}",
                        "MAGENTO_AUTH_SHA256": sha256_value,
                        "BITBUCKET_CLONE_DIR": str(box.project),
                        **(extra_env or {}),
                    }
                    main = subprocess.run(
                        ["sh", "-e", "-c", "\n".join(script)],
                        cwd=box.project, env=job_env, capture_output=True, text=True, timeout=120,
                    )
                    after = subprocess.run(
                        ["sh", "-e", "-c", "\n".join(step["after-script"])],
                        cwd=box.project, env=job_env, capture_output=True, text=True, timeout=120,
                    )
                requests = logged_requests(log)
        return main, after, box.restored(), box.leftovers(), requests
    finally:
        box.close()


def bundle(directory, *cas):
    path = directory / "bundle.pem"
    path.write_text("".join(Path(ca).read_text() for ca in cas))
    return path


def test_bitbucket_sha256_forms(binary):
    digest = hashlib.sha256(Path(binary).read_bytes()).hexdigest()
    for form in (digest, f"{digest}  {ASSET}", f"{digest} *{ASSET}\r\n"):
        main, after, restored, leftovers, requests = run_bitbucket(binary, form)
        assert main.returncode == 0, f"{form!r}: exit {main.returncode}: {main.stdout}{main.stderr}"
        assert after.returncode == 0, after.stdout + after.stderr
        assert "GET /packages.json" in requests, f"{form!r}: setup did not check: {requests}"
        assert_clean(main, after, restored, leftovers)


def test_bitbucket_sha256_refusals(binary):
    digest = hashlib.sha256(Path(binary).read_bytes()).hexdigest()
    other = "magento-auth-aarch64-unknown-linux-musl"
    for form, expected in (
        (f"{digest}  {other}", f"the line of {other}, not of {ASSET}"),
        ("0" * 64, "checksum mismatch"),
        (f"{'0' * 64}  {ASSET}", "checksum mismatch"),
        ("", "set MAGENTO_AUTH_SHA256"),
    ):
        main, after, restored, leftovers, requests = run_bitbucket(binary, form)
        assert main.returncode == 1, f"{form!r}: exit {main.returncode}: {main.stderr}"
        assert expected in main.stderr, f"{form!r}: {main.stderr}"
        assert requests == [], f"{form!r}: the binary ran: {requests}"
        assert after.returncode == 0, after.stdout + after.stderr
        assert_clean(main, after, restored, leftovers)


def readme_yaml(section):
    """The ```yaml block of README.md's `## {section}`, as written."""
    text = README.read_text()
    part = next(p for p in re.split(r"^## ", text, flags=re.M) if p.startswith(section))
    block = re.search(r"```yaml\n(.*?)\n```", part, flags=re.S)
    assert block, f"README.md's {section} section has no ```yaml block"
    return block.group(1)


def test_readme_gitlab_quick_start(binary):
    """
    README's GitLab quick start as written: its include's inputs, and the
    component as a release tag holds it (the release lines that
    scripts/update-checksums writes, naming the release asset served on
    127.0.0.1 and its SHA-256), its job's script with a composer that records
    the auth.json it would read, against repo.magento.com (local).
    """
    quick = YAML(typ="safe").load(readme_yaml("GitLab CI"))
    (include,) = quick["include"]
    assert include["component"].endswith("/magento-auth/magento-auth@VERSION"), include
    job = quick["composer"]
    assert job["extends"] == ".magento-auth", job
    inputs, component_job = component()
    given = dict(include["inputs"])
    assert not any(name.startswith("binary") for name in given), f"the release needs no binary input: {given}"
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}[os.uname().machine]
    asset = f"magento-auth-{arch}-unknown-linux-musl"
    body = Path(binary).read_bytes()
    box = Sandbox(None)
    try:
        with tempfile.TemporaryDirectory(prefix="magento-auth-repo-") as directory:
            with repo_magento_com(binary, directory) as (env, log):
                (Path(directory) / "downloads").mkdir()
                pki = Pki(Path(directory) / "downloads")
                with https_files(pki, {f"/vVERSION/{asset}": body}) as base:
                    released = [
                        script.replace("magento_auth_release=\n", f"magento_auth_release={base}/vVERSION\n").replace(
                            f"magento_auth_release_{arch}=\n",
                            f"magento_auth_release_{arch}={hashlib.sha256(body).hexdigest()}\n",
                        )
                        for script in component_job["before_script"]
                    ]
                    assert released != component_job["before_script"], "the component has no release lines"
                    cas = bundle(Path(directory), env["SSL_CERT_FILE"], pki.ca)
                    seen = box.root / "composer-saw"
                    composer = box.bindir / "composer"
                    composer.write_text(f"#!/bin/sh\ncat \"$COMPOSER_HOME/auth.json\" > '{seen}'\n")
                    composer.chmod(0o755)
                    job_env = {
                        **box.env,
                        **env,
                        "SSL_CERT_FILE": str(cas),
                        "CURL_CA_BUNDLE": str(cas),
                        "NO_PROXY": "127.0.0.1",
                        "no_proxy": "127.0.0.1",
                        "GITLAB_CI": "true",
                        "CI_JOB_ID": "4711",
                        **job_variables(inputs, component_job, given),
                    }
                    main = subprocess.run(
                        ["sh", "-e", "-c", "\n".join([*released, *job["script"]])],
                        cwd=box.project, env=job_env, capture_output=True, text=True, timeout=120,
                    )
                    after = subprocess.run(
                        ["sh", "-c", "\n".join(component_job["after_script"])],
                        cwd=box.project, env=job_env, capture_output=True, text=True, timeout=120,
                    )
                requests = logged_requests(log)
        assert main.returncode == 0, f"exit {main.returncode}: {main.stdout}{main.stderr}"
        assert after.returncode == 0, after.stdout + after.stderr
        wanted = given["require-packages"]
        assert f"GET /p2/{wanted}.json" in requests, f"{wanted} was not checked: {requests}"
        saw = seen.read_text()
        seen.unlink()
        assert PUB in saw and PRIV in saw, "composer install did not get the keys"
        assert_clean(main, after, box.restored(), box.leftovers())
    finally:
        box.close()


def test_readme_bitbucket_step():
    """README's Bitbucket step runs the first recipe's script and after-script, line for line."""

    def scripts(lines):
        kept = [line.strip() for line in lines]
        return [
            line for line in kept
            if line in ("script:", "after-script:") or (line.startswith("- ") and line not in ("- step:", "- composer"))
        ]

    readme = scripts(readme_yaml("Bitbucket Pipelines").split("\n"))
    recipe = BITBUCKET.read_text().split("\n")
    steps = [n for n, line in enumerate(recipe) if line.strip() == "- step:"]
    first = scripts(recipe[steps[0] : steps[1]])
    assert readme == first, f"README's step is not the recipe's: {readme} vs {first}"
# ---- the leak sweep (scan) in both -------------------------------------------------

# What `bin/magento sampledata:deploy` leaves in a project: a copy of the keys.
LEAK = {"var/composer_home/auth.json": f'{{"http-basic": {{"repo.magento.com": {{"username": "{PUB}", "password": "{PRIV}"}}}}}}'}
LEAK_LINE = "leak: var/composer_home/auth.json (raw)"


def assert_nothing_shown(*runs):
    for run in runs:
        for text in (run.stdout, run.stderr):
            for secret in SECRETS:
                assert secret not in text, "a key was printed"


def test_component_scan(binary):
    """scan: warn names the file, fail fails the job from the script's last line, false does not search."""
    _, end_step = component(job=".magento-auth-scan")
    for policy, code in (("warn", 0), ("fail", 7), ("false", 0)):
        main, after, restored, _ = run_job(
            binary, {"check": "false", "scan": policy}, "\n".join(end_step["script"]),
            files={"composer.json": COMPOSER_JSON, **LEAK},
        )
        assert main.returncode == code, f"{policy}: exit {main.returncode}: {main.stdout}{main.stderr}"
        assert (LEAK_LINE in main.stdout) == (policy != "false"), f"{policy}: {main.stdout}"
        assert LEAK_LINE not in after.stdout, f"{policy}: after_script searched again: {after.stdout}"
        assert after.returncode == 0, after.stdout + after.stderr
        assert restored == EXISTING, f"{policy}: auth.json not restored"
        assert_nothing_shown(main, after)


def test_component_scan_after_script(binary):
    """Without the last-line step: after_script names the file and cannot fail the job, and says so under fail."""
    for policy in ("warn", "fail", "false"):
        main, after, restored, _ = run_job(
            binary, {"check": "false", "scan": policy}, "true", files={"composer.json": COMPOSER_JSON, **LEAK}
        )
        assert main.returncode == 0, f"{policy}: {main.stdout}{main.stderr}"
        assert after.returncode == 0, f"{policy}: {after.stdout}{after.stderr}"
        assert (LEAK_LINE in after.stdout) == (policy != "false"), f"{policy}: {after.stdout}"
        assert ("after_script cannot fail a job" in after.stdout) == (policy == "fail"), after.stdout
        assert restored == EXISTING
        assert_nothing_shown(main, after)
    # A clean project: nothing named, under fail too.
    _, end_step = component(job=".magento-auth-scan")
    main, after, restored, leftovers = run_job(
        binary, {"check": "false", "scan": "fail"}, "\n".join(end_step["script"]), files={"composer.json": COMPOSER_JSON}
    )
    assert main.returncode == 0, main.stdout + main.stderr
    assert "leak: " not in main.stdout + after.stdout
    assert_clean(main, after, restored, leftovers)


def test_bitbucket_scan(binary):
    """MAGENTO_AUTH_SCAN: unset or warn names the file, fail fails the step (exit 7), false does not search."""
    digest = hashlib.sha256(Path(binary).read_bytes()).hexdigest()
    for value, code in ((None, 0), ("warn", 0), ("fail", 7), ("false", 0)):
        extra = {} if value is None else {"MAGENTO_AUTH_SCAN": value}
        main, after, restored, _, _ = run_bitbucket(binary, digest, extra_env=extra, files=LEAK)
        assert main.returncode == code, f"{value}: exit {main.returncode}: {main.stdout}{main.stderr}"
        assert (LEAK_LINE in main.stdout) == (value != "false"), f"{value}: {main.stdout}"
        assert LEAK_LINE not in after.stdout, f"{value}: after-script searched again"
        assert after.returncode == 0, after.stdout + after.stderr
        assert restored == EXISTING
        assert_nothing_shown(main, after)


def shell_blocks():
    yaml = YAML(typ="safe")
    _, job = component()
    for key in ("before_script", "after_script"):
        for i, block in enumerate(job[key]):
            yield f"{COMPONENT.name} {key}[{i}]", block
    _, end_step = component(job=".magento-auth-scan")
    for i, block in enumerate(end_step["script"]):
        yield f"{COMPONENT.name} .magento-auth-scan script[{i}]", block
    bitbucket = yaml.load(BITBUCKET.read_text())
    for i, block in enumerate(bitbucket["definitions"]["scripts"]):
        yield f"{BITBUCKET.name} definitions.scripts[{i}]", block


def test_shellcheck():
    problems = []
    for name, block in shell_blocks():
        result = subprocess.run(
            ["shellcheck", "-s", "sh", "-"], input=block, capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0:
            problems.append(f"{name}:\n{result.stdout}")
    assert not problems, "\n".join(problems)


def main():
    binary = sys.argv[1]
    for name, fn in [
        ("gitlab component: home mode, after_script restores auth.json", lambda: test_home_mode(binary)),
        ("gitlab component: env mode exports COMPOSER_AUTH to the script only", lambda: test_env_mode(binary)),
        ("gitlab component: failed setup stops the job, after_script is harmless", lambda: test_failed_setup(binary)),
        ("gitlab component: a malformed binary-sha256 refuses the download", lambda: test_binary_checksum(binary)),
        (
            "gitlab component: every input at its default, the check on, against repo.magento.com (local)",
            lambda: test_defaults_checked(binary),
        ),
        ("gitlab component under gitlab-ci-local: every input at its default, the check on", lambda: test_gitlab_ci_local(binary)),
        ("bitbucket recipe: MAGENTO_AUTH_SHA256 as the bare hash or a line of SHA256SUMS", lambda: test_bitbucket_sha256_forms(binary)),
        ("bitbucket recipe: a wrong hash or another file's line refuses the download", lambda: test_bitbucket_sha256_refusals(binary)),
        ("README's GitLab quick start as written, against repo.magento.com (local)", lambda: test_readme_gitlab_quick_start(binary)),
        ("README's Bitbucket step is the recipe the tests run", test_readme_bitbucket_step),
        ("gitlab component: scan warn/fail/false, with the last-line step", lambda: test_component_scan(binary)),
        ("gitlab component: scan in after_script alone reports, never fails", lambda: test_component_scan_after_script(binary)),
        ("bitbucket recipe: MAGENTO_AUTH_SCAN warn/fail/false", lambda: test_bitbucket_scan(binary)),
        ("shellcheck: component and Bitbucket shell blocks", test_shellcheck),
    ]:
        check(name, fn)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
