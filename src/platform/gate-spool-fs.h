/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The durable file operations of the relay's mail queue, one implementation
 * per platform (gate-spool-fs-unix.c, gate-spool-fs-windows.c).  Files are C
 * runtime descriptors.  Every call that can fail returns 0 or an errno value
 * (ENOSPC for a full disk, ENOENT for a missing file, EWOULDBLOCK for a lock
 * someone else holds), so that the queue reports errors the same way
 * everywhere. */

/* A new file for writing, private to the user: @exclusive fails with EEXIST
 * when it is there already, otherwise it is emptied. */
int gate_spool_fs_create (const char *path, gboolean exclusive, int *fd);

/* An existing file opened for writing from its start, what it holds kept
 * until written over: cut it to its new length with gate_spool_fs_cut() once
 * written.  Overwriting a file's blocks in place spares the file system
 * freeing them and finding new ones, which it would have to write down too
 * (and, mounted with online discard, tell the disk about at once). */
int gate_spool_fs_open_for_overwrite (const char *path, int *fd);

/* Cuts the file to @size bytes when it is longer. */
int gate_spool_fs_cut (int fd, gint64 size);

/* The size of the file open as @fd; -1 when it cannot be told. */
gint64 gate_spool_fs_size (int fd);

/* An existing file opened only to be locked (and read). */
int gate_spool_fs_open_existing (const char *path, int *fd);

/* A lock file, created private to the user when missing. */
int gate_spool_fs_open_lock_file (const char *path, int *fd);

/* A file every write of which goes to its end, created private to the user
 * when missing. */
int gate_spool_fs_open_append (const char *path, int *fd);

int gate_spool_fs_write_all (int fd, const void *data, gsize len);

/* Reads the whole file from its start into *@data (nul-terminated, free it
 * with g_free()) and empties it; the caller holds the file's lock. */
int gate_spool_fs_take_contents (int fd, char **data, gsize *len);
void gate_spool_fs_close (int fd);

/* Asks the system to start writing @fd's data now, without waiting: the
 * syncs that follow for a whole batch then mostly find it done.  A hint. */
void gate_spool_fs_start_writeback (int fd);

/* Waits until @fd's data (and what is needed to read it back) is on disk. */
int gate_spool_fs_sync_data (int fd);

/* Renames @from over @to; on Windows the rename itself is written through. */
int gate_spool_fs_rename (const char *from, const char *to);

/* A handle on a folder for gate_spool_fs_sync_folder() (-1 where the platform
 * needs none), closed with gate_spool_fs_close_folder(). */
int gate_spool_fs_open_folder (const char *path, int *folder_fd);
void gate_spool_fs_close_folder (int folder_fd);

/* Makes the names created, renamed or removed in the folder durable. */
int gate_spool_fs_sync_folder (int folder_fd);

/* Syncs everything written to the file system holding the folder, in one
 * call (Linux's syncfs); ENOSYS where there is no such call, or where it
 * would not reach the file system (FUSE). */
int gate_spool_fs_sync_file_system (int folder_fd);

/* An advisory lock on the whole file, shared or exclusive, released by
 * closing @fd.  Without @wait, EWOULDBLOCK when another process holds it. */
int gate_spool_fs_lock (int fd, gboolean exclusive, gboolean wait);

/* Whether the file open as @fd is still the one at @path: FALSE when it was
 * deleted or moved away meanwhile (the spool reuses the files of delivered
 * messages, so a name can come to hold another file). */
gboolean gate_spool_fs_is_at (int fd, const char *path);

/* Enough of a file's identity to tell one version of it from the next. */
typedef struct
{
  guint64 id;      /* inode or file index; 0 when unknown */
  gint64 mtime_ns; /* last write */
  gint64 size;     /* -1: no such file */
} GateSpoolFsStamp;

void gate_spool_fs_stamp (const char *path, GateSpoolFsStamp *stamp);

G_END_DECLS
