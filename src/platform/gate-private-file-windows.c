/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-platform"

#include "config.h"

#include "gate-private-file.h"

#include <gio/gio.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <windows.h>

/* On Windows the files live under %APPDATA%, whose access list already keeps
 * other users out; the lock is LockFileEx on a lock file. */

struct _GatePrivateFileLock
{
  HANDLE handle;
};

static void set_win32_error (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
set_win32_error (GError **error, const char *format, ...)
{
  DWORD code = GetLastError ();
  g_autofree char *reason = g_win32_error_message ((gint)code);
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s (%s)", message, reason);
}

GatePrivateFileLock *
gate_private_file_lock (const char *lock_path, GError **error)
{
  g_autofree gunichar2 *wide = NULL;
  GatePrivateFileLock *lock;
  OVERLAPPED overlapped = { 0 };
  HANDLE handle;

  g_return_val_if_fail (lock_path != NULL, NULL);

  wide = g_utf8_to_utf16 (lock_path, -1, NULL, NULL, error);
  if (wide == NULL)
    return NULL;

  handle = CreateFileW ((LPCWSTR)wide, GENERIC_READ | GENERIC_WRITE,
                        FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_ALWAYS,
                        FILE_ATTRIBUTE_NORMAL, NULL);
  if (handle == INVALID_HANDLE_VALUE)
    {
      set_win32_error (error, _("Could not open the lock file “%s”"), lock_path);
      return NULL;
    }

  if (!LockFileEx (handle, LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &overlapped))
    {
      set_win32_error (error, _("Could not lock the file “%s”"), lock_path);
      CloseHandle (handle);
      return NULL;
    }

  lock = g_new0 (GatePrivateFileLock, 1);
  lock->handle = handle;
  return lock;
}

void
gate_private_file_unlock (GatePrivateFileLock *lock)
{
  OVERLAPPED overlapped = { 0 };

  if (lock == NULL)
    return;
  UnlockFileEx (lock->handle, 0, 1, 0, &overlapped);
  CloseHandle (lock->handle);
  g_free (lock);
}

gboolean
gate_private_folder_ensure (const char *folder, gboolean *fixed, GError **error)
{
  if (fixed != NULL)
    *fixed = FALSE;
  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      g_autofree char *display = g_filename_display_name (folder);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not create the folder “%s”"), display);
      return FALSE;
    }
  return TRUE;
}

gboolean
gate_private_file_fix_permissions (const char *path, gboolean *fixed, GError **error)
{
  if (fixed != NULL)
    *fixed = FALSE;
  return TRUE;
}

gboolean
gate_private_file_is_private (const char *path, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("“%s” is not a regular file"), display);
      return FALSE;
    }
  return TRUE;
}
