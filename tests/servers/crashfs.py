#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A file system that forgets whatever was never synced: a power cut on demand.

Mounted with FUSE over a backing folder, it passes every operation through,
and beside that keeps what a disk would still hold after losing power:

  - a file's data as it was at its last fsync() or fdatasync();
  - a folder's list of names as it was at its last fsync() of the folder
    (a new name, a rename or a removal is durable only then; a new folder
    itself only once the folder holding it was synced).

A file whose name is durable but whose data never was is empty afterwards.
This is the strict reading of POSIX that careful mail software is written
against (file systems often keep more, never less).

Making the folder ".power-cut" at the top of the mount cuts the power: what
the disk holds is written to --after (the mount itself goes on, so the
programs using it can then be killed), and last of all the folder
".power-cut-done" in --after's parent is made.  With --at-next-overwrite the
cut waits for the next fsync() that replaces data the disk held for that
file, and comes just after it: the riskiest instant for a program that
writes over files it used before, and, for one that syncs its data, then
renames, then syncs the folder, an instant with the most half done.
Operations are served one at a time, so nothing is half done at the
instant of the cut.

The process unmounts and exits on SIGINT or SIGTERM, and by itself after
--time-limit seconds.

  crashfs.py --backing DIR --after DIR [--at-next-overwrite] [--time-limit S] MOUNTPOINT
"""

import argparse
import errno
import os
import signal
import stat
import threading

import fusepy  # Debian: python3-fusepy

POWER_CUT = "/.power-cut"
ROOT_ID = 0


class CrashFS(fusepy.Operations):
    def __init__(self, backing, after, at_next_overwrite=False):
        self.backing = os.path.realpath(backing)
        self.after = after
        self.at_next_overwrite = at_next_overwrite
        self.armed = False
        self.next_id = ROOT_ID + 1
        self.by_inode = {os.lstat(self.backing).st_ino: ROOT_ID}  # backing inode → node
        self.is_dir = {ROOT_ID: True}
        self.open_files = {}  # file handle → node
        # What the disk holds: the root as it was at mount time (empty).
        self.durable_data = {}  # node → bytes
        self.durable_names = {ROOT_ID: {}}  # folder node → {name: node}
        if os.listdir(self.backing):
            raise SystemExit("crashfs: the backing folder must start empty")
        self.cuts = 0

    # ---- nodes ---------------------------------------------------------------

    def full(self, path):
        return os.path.join(self.backing, path.lstrip("/"))

    def node(self, full):
        st = os.lstat(full)
        found = self.by_inode.get(st.st_ino)
        if found is None:
            found = self.next_id
            self.next_id += 1
            self.by_inode[st.st_ino] = found
            self.is_dir[found] = stat.S_ISDIR(st.st_mode)
        return found

    def forget_if_last_link(self, full):
        """The backing inode number may be reused once its last name goes:
        the node keeps what the disk holds of it, under its own id."""
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode) or st.st_nlink <= 1:
            self.by_inode.pop(st.st_ino, None)

    # ---- the power cut -------------------------------------------------------

    def write_durable(self, folder_node, to):
        os.makedirs(to, mode=0o700, exist_ok=True)
        for name, child in self.durable_names.get(folder_node, {}).items():
            target = os.path.join(to, name)
            if self.is_dir.get(child):
                self.write_durable(child, target)
            else:
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    os.write(fd, self.durable_data.get(child, b""))
                finally:
                    os.close(fd)

    def power_cut(self):
        self.cuts += 1
        if self.cuts > 1:
            return
        self.write_durable(ROOT_ID, self.after)
        os.mkdir(os.path.join(os.path.dirname(os.path.abspath(self.after)), ".power-cut-done"))

    # ---- operations ----------------------------------------------------------

    def getattr(self, path, fh=None):
        st = os.lstat(self.full(path))
        return {key: getattr(st, key) for key in
                ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime", "st_mtime", "st_ctime")}

    def access(self, path, amode):
        if not os.access(self.full(path), amode):
            raise fusepy.FuseOSError(errno.EACCES)

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self.full(path))

    def statfs(self, path):
        sv = os.statvfs(self.full(path))
        return {key: getattr(sv, key) for key in
                ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag",
                 "f_frsize", "f_namemax")}

    def chmod(self, path, mode):
        os.chmod(self.full(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self.full(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self.full(path), times)

    def mkdir(self, path, mode):
        full = self.full(path)
        if path == POWER_CUT:
            if self.at_next_overwrite:
                self.armed = True
            else:
                self.power_cut()
            os.mkdir(full, mode)  # so that the caller's mkdir() succeeds
            return
        os.mkdir(full, mode)
        self.durable_names[self.node(full)] = {}

    def rmdir(self, path):
        full = self.full(path)
        self.forget_if_last_link(full)
        os.rmdir(full)

    def unlink(self, path):
        full = self.full(path)
        self.forget_if_last_link(full)
        os.unlink(full)

    def rename(self, old, new):
        if os.path.lexists(self.full(new)) and os.lstat(self.full(new)).st_ino != os.lstat(self.full(old)).st_ino:
            self.forget_if_last_link(self.full(new))
        os.rename(self.full(old), self.full(new))

    def link(self, target, source):
        os.link(self.full(source), self.full(target))

    def create(self, path, mode, fi=None):
        full = self.full(path)
        fh = os.open(full, os.O_RDWR | os.O_CREAT, mode)
        self.open_files[fh] = self.node(full)
        return fh

    def open(self, path, flags):
        full = self.full(path)
        fh = os.open(full, flags & ~(os.O_CREAT | os.O_EXCL))
        self.open_files[fh] = self.node(full)
        return fh

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self.full(path), length)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        self.open_files.pop(fh, None)
        os.close(fh)

    def fsync(self, path, datasync, fh):
        # The handle may be open for writing only: read through a new one.
        fd = os.open("/proc/self/fd/%d" % fh, os.O_RDONLY)
        try:
            chunks = []
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(fd)
        node = self.open_files[fh]
        overwrite = node in self.durable_data
        self.durable_data[node] = b"".join(chunks)
        if self.armed and overwrite:
            self.power_cut()

    def fsyncdir(self, path, datasync, fh):
        full = self.full(path)
        self.durable_names[self.node(full)] = {name: self.node(os.path.join(full, name))
                                               for name in os.listdir(full)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backing", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--at-next-overwrite", action="store_true")
    parser.add_argument("--time-limit", type=float, default=300)
    parser.add_argument("mountpoint")
    args = parser.parse_args()

    fs = CrashFS(args.backing, args.after, args.at_next_overwrite)
    # Bounded in time: the loop ends (and unmounts) on SIGINT, sent to itself.
    timer = threading.Timer(args.time_limit, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.daemon = True
    timer.start()
    fusepy.FUSE(fs, args.mountpoint, foreground=True, nothreads=True, fsname="crashfs", default_permissions=True)


if __name__ == "__main__":
    main()
