# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared by the profile tests: run postgate-cli with a private config folder,
and check what it wrote."""

import os
import subprocess
import tempfile

CLI = os.environ["POSTGATE_CLI"]


class Sandbox:
    """A private XDG_CONFIG_HOME (and data/cache) for one test run."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="postgate-profiles-")
        self.root = self._tmp.name
        self.env = dict(os.environ)
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
            path = os.path.join(self.root, name.lower())
            os.makedirs(path, mode=0o700)
            self.env[name] = path
        self.env.pop("POSTGATE_PASSWORD", None)
        self.config = os.path.join(self.env["XDG_CONFIG_HOME"], "postgate")
        self.profiles = os.path.join(self.config, "profiles.ini")

    def cleanup(self):
        self._tmp.cleanup()

    def run(self, *args, stdin=None, env=None, check=True, timeout=60):
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        result = subprocess.run([CLI, *args], input=stdin, capture_output=True, text=True,
                                env=full_env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"postgate-cli {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def all_files(self):
        for base, _dirs, files in os.walk(self.root):
            for name in files:
                yield os.path.join(base, name)


def assert_in(needle, haystack, what=""):
    if needle not in haystack:
        raise AssertionError(f"{what}: expected {needle!r} in:\n{haystack}")


def assert_not_in(needle, haystack, what=""):
    if needle in haystack:
        raise AssertionError(f"{what}: did not expect {needle!r} in:\n{haystack}")


def assert_no_secret_in_files(paths, secrets):
    """No byte sequence of any secret in any of the files."""
    checked = 0
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        for secret in secrets:
            if secret.encode() in data:
                raise AssertionError(f"secret found in {path}")
        checked += 1
    return checked
