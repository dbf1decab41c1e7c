"""Generate a Magento-sized tree for the leak sweep's benchmark (bench/scan).

Usage: python3 scan-tree.py DIR [SCALE]
  Writes about 50,000 files and 500 MB under DIR (SCALE 1.0; 0.1 gives a tenth),
  shaped like a Magento project after `composer install`: many small PHP, XML,
  JSON, PHTML and JS files deep in vendor/, generated code, static assets,
  binary media, a few large logs and a database dump (each under 64 MiB, so
  that magento-auth and ripgrep both read every byte), and the canary keys of
  bench/run planted in five places and four forms. Deterministic (a fixed seed).

  Also writes DIR.patterns: every form magento-auth searches for (as
  src/sanitize/forms.rs makes them for keys of letters and digits), one a line,
  for `rg -F -f`; and prints the planted files' paths, one a line.
  The keys come from MAGENTO_PUBLIC_KEY and MAGENTO_PRIVATE_KEY, never argv.
"""

import base64
import os
import random
import sys
from pathlib import Path

VENDORS = ["magento", "laminas", "symfony", "monolog", "guzzlehttp", "composer", "phpunit", "colinmollenhour"]
WORDS = (
    "public function return array string int bool null self static protected private "
    "namespace use class interface extends implements throw new foreach if else elseif "
    "Magento Framework Catalog Product Model Resource Collection Factory Interface Api "
    "Data Repository Search Criteria Builder Config Scope Store Website Customer Quote "
    "Sales Order Invoice Shipment Payment Module Helper Block Template Controller Action "
    "Result Page Layout Element Attribute Entity Eav Indexer Cache Type Frontend Backend"
).split()


def b64_forms(data: bytes):
    """The base64 forms bench/scan gives ripgrep: as magento-auth builds them."""
    enc = lambda b: base64.b64encode(b).decode()
    forms = [enc(data), enc(data).rstrip("=")]
    for offset in range(3):
        rest = data[offset:]
        whole = len(rest) // 3 * 3
        forms.append(enc(rest[:whole]).rstrip("="))
        full = enc(rest)
        if len(full) > 8:
            forms.append(full[4:-4])
    return forms


def patterns(public: str, private: str):
    out = []
    for secret in (public, private, f"{public}:{private}"):
        for form in [secret, *b64_forms(secret.encode())]:
            if len(form) >= 6 and form not in out:
                out.append(form)
    return out


def text_pool(rng, kind, count=64, size=16384):
    """Blocks of source-like text to cut files from (fast, and never a key)."""
    pool = []
    for _ in range(count):
        words = []
        length = 0
        while length < size:
            word = rng.choice(WORDS)
            if kind == "xml":
                piece = f'<{word.lower()} name="{word}_{rng.randrange(999)}"/>\n'
            elif kind == "json":
                piece = f'    "{word.lower()}/{rng.choice(WORDS).lower()}": "^{rng.randrange(9)}.{rng.randrange(20)}",\n'
            else:
                piece = f"    {word} ${rng.choice(WORDS).lower()}{rng.randrange(99)} = {rng.choice(WORDS)}::{word.upper()};\n"
            words.append(piece)
            length += len(piece)
        pool.append("".join(words).encode())
    return pool


def write(path: Path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def cut(rng, pool, size):
    block = rng.choice(pool)
    out = bytearray()
    while len(out) < size:
        start = rng.randrange(len(block) // 2)
        out += block[start : start + size - len(out)]
    return bytes(out)


def generate(root: Path, scale: float, public: str, private: str):
    rng = random.Random(16)
    pools = {kind: text_pool(rng, kind) for kind in ("php", "xml", "json")}
    files = 0
    # vendor/: about 43,000 small files, 2 to 10 levels deep.
    modules = int(1100 * scale)
    for m in range(modules):
        vendor = VENDORS[m % len(VENDORS)]
        module = root / "vendor" / vendor / f"module-{rng.choice(WORDS).lower()}-{m}"
        for n in range(39):
            sub = rng.choice(["Model", "Model/ResourceModel", "Block/Adminhtml", "Controller/Index",
                              "Test/Unit/Model", "etc", "etc/adminhtml", "view/frontend/templates",
                              "view/frontend/web/js", "i18n", "Api/Data", "Plugin"])
            if sub.startswith("etc"):
                name, pool, size = f"{rng.choice(WORDS).lower()}{n}.xml", pools["xml"], rng.randrange(300, 9000)
            elif sub.startswith("view") and sub.endswith("js"):
                name, pool, size = f"{rng.choice(WORDS).lower()}{n}.js", pools["php"], rng.randrange(500, 12000)
            elif sub.startswith("view"):
                name, pool, size = f"{rng.choice(WORDS).lower()}{n}.phtml", pools["php"], rng.randrange(300, 6000)
            elif sub == "i18n":
                name, pool, size = f"en_US{n}.csv", pools["json"], rng.randrange(1000, 20000)
            else:
                name, pool, size = f"{rng.choice(WORDS)}{n}.php", pools["php"], rng.randrange(400, 7000)
            write(module / sub / name, cut(rng, pool, size))
            files += 1
        write(module / "composer.json", cut(rng, pools["json"], rng.randrange(300, 2000)))
        write(module / "registration.php", b"<?php\n\\Magento\\Framework\\Component\\ComponentRegistrar::register();\n")
        files += 2
    # generated/ and pub/static/: interceptors, factories, deployed assets.
    for n in range(int(3000 * scale)):
        write(root / "generated/code/Magento" / f"M{n % 60}" / f"Interceptor{n}.php",
              cut(rng, pools["php"], rng.randrange(800, 6000)))
        files += 1
    for n in range(int(2000 * scale)):
        ext = "js" if n % 3 else "css"
        write(root / "pub/static/frontend/Magento/luma/en_US" / f"d{n % 80}" / f"asset{n}.{ext}",
              cut(rng, pools["php"], rng.randrange(5000, 80000)))
        files += 1
    # pub/media: binary images (random bytes, as compressed data looks).
    for n in range(int(1000 * scale)):
        write(root / "pub/media/catalog/product" / f"{n % 16:x}" / f"{n % 256:02x}" / f"image{n}.jpg",
              rng.randbytes(rng.randrange(20000, 100000)))
        files += 1
    # A few large files, each under the 64 MiB whole-file limit.
    for name, size in (("var/log/system.log", 35), ("var/log/debug.log", 50), ("var/backups/db.sql", 45)):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            for _ in range(int(size * scale * 4)):
                out.write(cut(rng, pools["php"], 256 * 1024))
        files += 1
    write(root / "composer.json", b'{"require": {"magento/product-community-edition": "2.4.7"}}\n')
    write(root / ".gitignore", b"/vendor/\n/var/\n/generated/\n/pub/static/\n/build/\n/auth.json\n")
    files += 2
    return files + plant(root, public, private)


def plant(root: Path, public: str, private: str):
    """The keys in five places and four forms; prints each path."""
    pair = f"{public}:{private}".encode()
    entry = f'{{"http-basic": {{"repo.magento.com": {{"username": "{public}", "password": "{private}"}}}}}}'
    planted = {
        # raw, deep in vendor/ (a package that shipped its author's auth.json)
        "vendor/magento/module-catalog-7/Test/Unit/Model/fixtures/auth.json": entry.encode(),
        # raw, what sampledata:deploy leaves
        "var/composer_home/auth.json": entry.encode(),
        # base64 of COMPOSER_AUTH in an ignored build context
        "build/docker/.env": b"COMPOSER_AUTH_B64=" + base64.b64encode(entry.encode()) + b"\n",
        # the Basic header at another alignment, in deployed JavaScript
        "pub/static/frontend/Magento/luma/en_US/d7/bundle-leak.js": b"var b='" + base64.b64encode(b"x" + pair) + b"';\n",
    }
    for rel, data in planted.items():
        write(root / rel, data)
        print(rel)
    # the Basic header of a -vvv run, in the tail of the largest log
    with open(root / "var/log/debug.log", "ab") as log:
        log.write(b"\n[curl] Authorization: Basic " + base64.b64encode(pair) + b"\n")
    print("var/log/debug.log")
    return len(planted)


def main():
    root = Path(sys.argv[1])
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    public, private = os.environ["MAGENTO_PUBLIC_KEY"], os.environ["MAGENTO_PRIVATE_KEY"]
    root.mkdir(parents=True, exist_ok=True)
    files = generate(root, scale, public, private)
    Path(f"{root}.patterns").write_text("\n".join(patterns(public, private)) + "\n")
    print(f"{files} files", file=sys.stderr)


if __name__ == "__main__":
    main()
