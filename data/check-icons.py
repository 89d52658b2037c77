#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks the hand-written application icons: well-formed SVG, square, and
the symbolic one in a single colour so the desktop can recolour it."""
import re
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
failures = []

for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        failures.append(f"{path}: not well-formed XML: {e}")
        continue
    if root.tag != SVG + "svg":
        failures.append(f"{path}: root element is {root.tag}, not svg")
        continue
    box = root.get("viewBox", "").split()
    if len(box) != 4 or box[2] != box[3]:
        failures.append(f"{path}: viewBox {box} is not square")
    symbolic = path.endswith("-symbolic.svg")
    if symbolic and box[2:] != ["16", "16"]:
        failures.append(f"{path}: a symbolic icon is drawn on 16x16")
    if not symbolic and box[2:] != ["128", "128"]:
        failures.append(f"{path}: an application icon is drawn on 128x128")
    colours = set()
    for el in root.iter():
        for attr in ("fill", "stroke"):
            v = el.get(attr)
            if v and v.startswith("#"):
                colours.add(v.lower())
        if el.tag in (SVG + "image", SVG + "script"):
            failures.append(f"{path}: has an embedded {el.tag}")
    if symbolic and len(colours) != 1:
        failures.append(f"{path}: symbolic icon uses colours {sorted(colours)}, not one")
    shapes = [el for el in root.iter() if el.tag in
              (SVG + "path", SVG + "rect", SVG + "circle", SVG + "ellipse")]
    if not shapes:
        failures.append(f"{path}: draws nothing")

for f in failures:
    print(f)
print(f"{len(sys.argv) - 1} icons checked, {len(failures)} problems")
sys.exit(1 if failures or len(sys.argv) < 2 else 0)
