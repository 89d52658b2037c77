#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every language in LINGUAS has a .po file that compiles and translates
every message the sources hold today: a fresh template is extracted from the
files in POTFILES.in and merged into a copy of each .po first, so a string
added after the last translation pass fails this test."""
import os
import subprocess
import sys
import tempfile

po_dir = sys.argv[1]
source_root = os.path.dirname(os.path.abspath(po_dir))
tmp = tempfile.mkdtemp(prefix="postgate-po-")
pot = os.path.join(tmp, "postgate.pot")
subprocess.run(["xgettext", "--files-from=" + os.path.join(po_dir, "POTFILES.in"),
                "--directory=" + source_root, "--output=" + pot,
                "--from-code=UTF-8", "--add-comments", "--package-name=postgate",
                "--keyword=_", "--keyword=N_", "--keyword=C_:1c,2", "--keyword=NC_:1c,2",
                "--keyword=g_dngettext:2,3", "--keyword=ngettext:1,2",
                "--keyword=g_dpgettext2:2c,3"], check=True)
with open(os.path.join(po_dir, "LINGUAS"), encoding="utf-8") as f:
    languages = [l.strip() for l in f if l.strip() and not l.startswith("#")]

problems = 0
if not languages:
    print("LINGUAS lists no language")
    problems += 1
for lang in languages:
    po = os.path.join(po_dir, lang + ".po")
    if not os.path.exists(po):
        print(f"{lang}: {po} is missing")
        problems += 1
        continue
    merged = os.path.join(tmp, lang + ".po")
    subprocess.run(["msgmerge", "--quiet", "--no-fuzzy-matching", "-o", merged, po, pot], check=True)
    po = merged
    r = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull, po],
                       capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
    stats = r.stderr.strip()
    print(f"{lang}: {stats}")
    if r.returncode != 0:
        problems += 1
        continue
    for flag in ("--untranslated", "--only-fuzzy"):
        r = subprocess.run(["msgattrib", flag, "--no-obsolete", po],
                           capture_output=True, text=True)
        entries = [b for b in r.stdout.split("\n\n") if "msgid" in b and 'msgid ""\nmsgstr' not in b]
        if r.returncode != 0 or entries:
            problems += 1
            print(f"{lang}: {len(entries)} entries {flag.strip('-')}")
            for e in entries[:5]:
                print("   ", e.replace("\n", "\n    "))
print(f"{len(languages)} languages, {problems} problems")
sys.exit(1 if problems else 0)
