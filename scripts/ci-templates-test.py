"""Run the GitLab component's before_script and after_script with the real binary,
as GitLab would (before_script and script in one shell, after_script in another,
inputs as variables), and shellcheck every shell block of the GitLab component and
the Bitbucket example. Run by scripts/lint-ci with .venv-lint's Python (ruamel.yaml).

Usage: python ci-templates-test.py BINARY
"""

import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = ROOT / "templates" / "magento-auth.yml"
BITBUCKET = ROOT / "examples" / "bitbucket-pipelines.yml"
PUB = "CANARYpub" + "0" * 19 + "aaaa"
PRIV = "CANARYprv" + "1" * 19 + "bbbb"
SECRETS = [PUB, PRIV, base64.b64encode(f"{PUB}:{PRIV}".encode()).decode()]
EXISTING = b'{\n    "http-basic": {"example.org": {"username": "u", "password": "p"}}\n}\n'

passed = 0
failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
    except AssertionError as error:
        failed += 1
        print(f"FAIL {name}: {error}")
    else:
        passed += 1
        print(f"ok   {name}")


def component():
    spec_text, jobs_text = re.split(r"^---\s*$", COMPONENT.read_text(), maxsplit=1, flags=re.M)
    yaml = YAML(typ="safe")
    return yaml.load(spec_text)["spec"]["inputs"], yaml.load(jobs_text)[".magento-auth"]


def job_variables(inputs, job, overrides):
    values = {name: str(decl.get("default", "")) for name, decl in inputs.items()}
    values.update(overrides)
    return {
        key: re.sub(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]", lambda m: values[m.group(1)], str(value))
        for key, value in job["variables"].items()
    }


def run_job(binary, overrides, script, env_extra=None):
    """before_script + script in one `sh -e`, after_script in another; returns results."""
    inputs, job = component()
    tmp = Path(tempfile.mkdtemp(prefix="magento-auth-gitlab-"))
    try:
        bindir = tmp / "bin"
        bindir.mkdir()
        shutil.copy2(binary, bindir / "magento-auth")
        home = tmp / "home"
        composer_home = home / ".composer"
        composer_home.mkdir(parents=True)
        (composer_home / "auth.json").write_bytes(EXISTING)
        (tmp / "tmp").mkdir()
        env = {
            "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(home),
            "COMPOSER_HOME": str(composer_home),
            "TMPDIR": str(tmp / "tmp"),
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_JOB_ID": "31337",
            "MAGENTO_PUBLIC_KEY": PUB,
            "MAGENTO_PRIVATE_KEY": PRIV,
            **job_variables(inputs, job, overrides),
            **(env_extra or {}),
        }
        main = subprocess.run(
            ["sh", "-e", "-c", "\n".join([*job["before_script"], script])],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=120,
        )
        after = subprocess.run(
            ["sh", "-c", "\n".join(job["after_script"])],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=120,
        )
        restored = (composer_home / "auth.json").read_bytes()
        leftovers = [
            p for p in tmp.rglob("*")
            if p.is_file() and p.parent != bindir and any(s.encode() in p.read_bytes() for s in SECRETS)
        ]
        return main, after, restored, leftovers
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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


def shell_blocks():
    yaml = YAML(typ="safe")
    _, job = component()
    for key in ("before_script", "after_script"):
        for i, block in enumerate(job[key]):
            yield f"{COMPONENT.name} {key}[{i}]", block
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
        ("shellcheck: component and Bitbucket shell blocks", test_shellcheck),
    ]:
        check(name, fn)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
