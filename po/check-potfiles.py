#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fails when a file with translatable strings is missing from POTFILES.in,
or when POTFILES.in lists a file that does not exist."""
import os
import re
import sys

source_root = sys.argv[1]
potfiles = os.path.join(source_root, "po", "POTFILES.in")

listed = []
with open(potfiles, encoding="utf-8") as f:
    for line in f:
        line = line.strip()
        if line and not line.startswith("#"):
            listed.append(line)

MARKERS = re.compile(r'(?<![A-Za-z0-9_])(?:N?C?_|NC_|g_dngettext|ngettext)\s*\(|translatable="yes"')
ALWAYS = (".desktop.in", ".metainfo.xml.in", ".gschema.xml")
EXTENSIONS = (".c", ".h", ".ui") + ALWAYS

wanted = set()
for top in ("src", "app", "data"):
    for dirpath, dirnames, filenames in os.walk(os.path.join(source_root, top)):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.endswith(EXTENSIONS):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, source_root)
            if name.endswith(ALWAYS):
                wanted.add(rel)
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            if MARKERS.search(text):
                wanted.add(rel)

problems = 0
for rel in sorted(wanted - set(listed)):
    print(f"missing from po/POTFILES.in: {rel}")
    problems += 1
for rel in listed:
    if not os.path.exists(os.path.join(source_root, rel)):
        print(f"po/POTFILES.in lists a file that does not exist: {rel}")
        problems += 1
dupes = {p for p in listed if listed.count(p) > 1}
for rel in sorted(dupes):
    print(f"listed twice in po/POTFILES.in: {rel}")
    problems += 1
print(f"{len(wanted)} files with translatable strings, {len(listed)} listed, {problems} problems")
sys.exit(1 if problems else 0)
