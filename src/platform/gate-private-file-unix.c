/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-platform"

#include "config.h"

#include "gate-private-file.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct _GatePrivateFileLock
{
  int fd;
};

static void set_errno_error (GError **error, int saved_errno, const char *format, ...) G_GNUC_PRINTF (3, 4);

/* @format has one %s, for a file name. */
static void
set_errno_error (GError **error, int saved_errno, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s (%s)", message,
               g_strerror (saved_errno));
}

GatePrivateFileLock *
gate_private_file_lock (const char *lock_path, GError **error)
{
  GatePrivateFileLock *lock;
  int fd;

  g_return_val_if_fail (lock_path != NULL, NULL);

  fd = g_open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      set_errno_error (error, saved_errno, _("Could not open the lock file “%s”"), lock_path);
      return NULL;
    }

  /* flock locks the open file description, so two stores in one process
   * also exclude each other, which keeps tests honest. */
  while (flock (fd, LOCK_EX) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == EINTR)
        continue;
      close (fd);
      set_errno_error (error, saved_errno, _("Could not lock the file “%s”"), lock_path);
      return NULL;
    }

  lock = g_new0 (GatePrivateFileLock, 1);
  lock->fd = fd;
  return lock;
}

void
gate_private_file_unlock (GatePrivateFileLock *lock)
{
  if (lock == NULL)
    return;
  flock (lock->fd, LOCK_UN);
  close (lock->fd);
  g_free (lock);
}

gboolean
gate_private_folder_ensure (const char *folder, gboolean *fixed, GError **error)
{
  GStatBuf st;

  g_return_val_if_fail (folder != NULL, FALSE);

  if (fixed != NULL)
    *fixed = FALSE;

  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      int saved_errno = errno;

      set_errno_error (error, saved_errno, _("Could not create the folder “%s”"), folder);
      return FALSE;
    }

  if (g_stat (folder, &st) != 0)
    {
      int saved_errno = errno;

      set_errno_error (error, saved_errno, _("Could not read the folder “%s”"), folder);
      return FALSE;
    }

  if ((st.st_mode & 077) != 0)
    {
      if (g_chmod (folder, 0700) != 0)
        {
          int saved_errno = errno;

          set_errno_error (error, saved_errno, _("Could not make the folder “%s” private"), folder);
          return FALSE;
        }
      if (fixed != NULL)
        *fixed = TRUE;
    }

  return TRUE;
}

gboolean
gate_private_file_fix_permissions (const char *path, gboolean *fixed, GError **error)
{
  GStatBuf st;

  g_return_val_if_fail (path != NULL, FALSE);

  if (fixed != NULL)
    *fixed = FALSE;

  if (g_stat (path, &st) != 0)
    {
      int saved_errno = errno;

      if (saved_errno == ENOENT)
        return TRUE;
      set_errno_error (error, saved_errno, _("Could not read the file “%s”"), path);
      return FALSE;
    }

  if ((st.st_mode & 077) != 0)
    {
      if (g_chmod (path, st.st_mode & 0700) != 0)
        {
          int saved_errno = errno;

          set_errno_error (error, saved_errno, _("Could not make the file “%s” private"), path);
          return FALSE;
        }
      if (fixed != NULL)
        *fixed = TRUE;
    }

  return TRUE;
}

gboolean
gate_private_file_is_private (const char *path, GError **error)
{
  GStatBuf st;
  g_autofree char *display = NULL;

  g_return_val_if_fail (path != NULL, FALSE);

  if (g_stat (path, &st) != 0)
    {
      int saved_errno = errno;

      set_errno_error (error, saved_errno, _("Could not read the file “%s”"), path);
      return FALSE;
    }

  display = g_filename_display_name (path);
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("“%s” is not a regular file"), display);
      return FALSE;
    }
  if ((st.st_mode & 077) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _("“%s” can be read by other users of this computer. "
                      "Make it readable only by you first, with: chmod 600 %s"),
                   display, display);
      return FALSE;
    }
  if (st.st_uid != getuid ())
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   _("“%s” belongs to another user; use a file of your own"), display);
      return FALSE;
    }

  return TRUE;
}
