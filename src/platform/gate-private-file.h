/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Files only the user may read, and a lock that serialises writers across
 * processes.  One implementation per platform (gate-private-file-unix.c,
 * gate-private-file-windows.c). */

typedef struct _GatePrivateFileLock GatePrivateFileLock;

/* Blocks until this process holds an exclusive advisory lock on @lock_path
 * (created, private to the user, when missing).  Other processes taking the
 * same lock wait. */
GatePrivateFileLock *gate_private_file_lock (const char *lock_path, GError **error);
void gate_private_file_unlock (GatePrivateFileLock *lock);

/* Creates @folder (and parents) private to the user; an existing folder that
 * others can read is made private.  *@fixed tells whether it had to be. */
gboolean gate_private_folder_ensure (const char *folder, gboolean *fixed, GError **error);

/* For an existing file that others could read or write: makes it private and
 * sets *@fixed.  A missing file is fine. */
gboolean gate_private_file_fix_permissions (const char *path, gboolean *fixed, GError **error);

/* Whether @path may be trusted to hold a secret: a regular file that no other
 * user can read or write.  On Windows, where files in the profile folder are
 * private by default, only that it is a regular file. */
gboolean gate_private_file_is_private (const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GatePrivateFileLock, gate_private_file_unlock)

G_END_DECLS
