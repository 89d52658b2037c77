/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-platform"

#include "config.h"

#include "gate-spool-fs.h"

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <windows.h>

/* Files are opened with CreateFileW and wrapped in C runtime descriptors.
 * They share delete access, so that a message can be deleted (from the
 * command line) while the relay has it open, as on Unix.  Renames are
 * MoveFileExW with MOVEFILE_WRITE_THROUGH: they are durable when it returns,
 * so there is no folder to sync. */

static int
errno_from_win32 (DWORD code)
{
  switch (code)
    {
      case ERROR_SUCCESS:
        return 0;
      case ERROR_DISK_FULL:
      case ERROR_HANDLE_DISK_FULL:
        return ENOSPC;
      case ERROR_FILE_NOT_FOUND:
      case ERROR_PATH_NOT_FOUND:
        return ENOENT;
      case ERROR_FILE_EXISTS:
      case ERROR_ALREADY_EXISTS:
        return EEXIST;
      case ERROR_LOCK_VIOLATION:
      case ERROR_SHARING_VIOLATION:
        return EWOULDBLOCK;
      case ERROR_ACCESS_DENIED:
        return EACCES;
      case ERROR_INVALID_HANDLE:
        return EBADF;
      default:
        return EIO;
    }
}

static int
last_errno (void)
{
  return errno_from_win32 (GetLastError ());
}

static HANDLE
handle_of (int fd)
{
  return (HANDLE)_get_osfhandle (fd);
}

static int
open_file (const char *path, DWORD access, DWORD disposition, int crt_flags, int *fd)
{
  gunichar2 *wpath = g_utf8_to_utf16 (path, -1, NULL, NULL, NULL);
  HANDLE handle;
  int saved;

  *fd = -1;
  if (wpath == NULL)
    return EINVAL;
  handle
      = CreateFileW ((const wchar_t *)wpath, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                     NULL, disposition, FILE_ATTRIBUTE_NORMAL, NULL);
  saved = last_errno ();
  g_free (wpath);
  if (handle == INVALID_HANDLE_VALUE)
    return saved ? saved : EIO;
  *fd = _open_osfhandle ((intptr_t)handle, crt_flags | _O_BINARY | _O_NOINHERIT);
  if (*fd < 0)
    {
      CloseHandle (handle);
      return EMFILE;
    }
  return 0;
}

int
gate_spool_fs_create (const char *path, gboolean exclusive, int *fd)
{
  return open_file (path, GENERIC_WRITE, exclusive ? CREATE_NEW : CREATE_ALWAYS, _O_WRONLY, fd);
}

int
gate_spool_fs_open_for_overwrite (const char *path, int *fd)
{
  return open_file (path, GENERIC_WRITE, OPEN_EXISTING, _O_WRONLY, fd);
}

gint64
gate_spool_fs_size (int fd)
{
  gint64 length = _filelengthi64 (fd);

  return length >= 0 ? length : -1;
}

int
gate_spool_fs_cut (int fd, gint64 size)
{
  gint64 length = gate_spool_fs_size (fd);

  if (length < 0)
    return errno;
  return length > size ? _chsize_s (fd, size) : 0;
}

int
gate_spool_fs_open_existing (const char *path, int *fd)
{
  return open_file (path, GENERIC_READ, OPEN_EXISTING, _O_RDONLY, fd);
}

int
gate_spool_fs_open_lock_file (const char *path, int *fd)
{
  return open_file (path, GENERIC_READ | GENERIC_WRITE, OPEN_ALWAYS, _O_RDWR, fd);
}

int
gate_spool_fs_open_append (const char *path, int *fd)
{
  return open_file (path, FILE_APPEND_DATA | SYNCHRONIZE, OPEN_ALWAYS, _O_WRONLY | _O_APPEND, fd);
}

int
gate_spool_fs_take_contents (int fd, char **data, gsize *len)
{
  HANDLE handle = handle_of (fd);
  LARGE_INTEGER size;
  LARGE_INTEGER zero = { 0 };
  DWORD done = 0;
  char *buffer;

  *data = NULL;
  *len = 0;
  if (!GetFileSizeEx (handle, &size) || !SetFilePointerEx (handle, zero, NULL, FILE_BEGIN))
    return last_errno ();
  if (size.QuadPart > 64 * 1024 * 1024)
    return EFBIG;
  buffer = g_malloc0 ((gsize)size.QuadPart + 1);
  if (size.QuadPart > 0 && !ReadFile (handle, buffer, (DWORD)size.QuadPart, &done, NULL))
    {
      int saved = last_errno ();

      g_free (buffer);
      return saved;
    }
  /* Only when there was something: emptying the file is a change that its
   * watcher sees. */
  if (done > 0 && (!SetFilePointerEx (handle, zero, NULL, FILE_BEGIN) || !SetEndOfFile (handle)))
    {
      int saved = last_errno ();

      g_free (buffer);
      return saved;
    }
  buffer[done] = '\0';
  *data = buffer;
  *len = done;
  return 0;
}

int
gate_spool_fs_write_all (int fd, const void *data, gsize len)
{
  const char *p = data;
  HANDLE handle = handle_of (fd);

  while (len > 0)
    {
      DWORD chunk = len > 0x40000000 ? 0x40000000 : (DWORD)len;
      DWORD written = 0;

      if (!WriteFile (handle, p, chunk, &written, NULL))
        return last_errno ();
      p += written;
      len -= written;
    }
  return 0;
}

void
gate_spool_fs_close (int fd)
{
  if (fd >= 0)
    _close (fd);
}

void
gate_spool_fs_start_writeback (int fd)
{
  /* No such hint on Windows. */
}

int
gate_spool_fs_sync_data (int fd)
{
  return FlushFileBuffers (handle_of (fd)) ? 0 : last_errno ();
}

int
gate_spool_fs_rename (const char *from, const char *to)
{
  gunichar2 *wfrom = g_utf8_to_utf16 (from, -1, NULL, NULL, NULL);
  gunichar2 *wto = g_utf8_to_utf16 (to, -1, NULL, NULL, NULL);
  int result = EINVAL;

  if (wfrom != NULL && wto != NULL)
    result = MoveFileExW ((const wchar_t *)wfrom, (const wchar_t *)wto,
                          MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)
                 ? 0
                 : last_errno ();
  g_free (wfrom);
  g_free (wto);
  return result;
}

int
gate_spool_fs_open_folder (const char *path, int *folder_fd)
{
  *folder_fd = -1;
  return 0;
}

void
gate_spool_fs_close_folder (int folder_fd)
{
}

int
gate_spool_fs_sync_folder (int folder_fd)
{
  /* Renames are written through (see above). */
  return 0;
}

int
gate_spool_fs_sync_file_system (int folder_fd)
{
  return ENOSYS;
}

int
gate_spool_fs_lock (int fd, gboolean exclusive, gboolean wait)
{
  OVERLAPPED overlapped = { 0 };
  DWORD flags = (exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0) | (wait ? 0 : LOCKFILE_FAIL_IMMEDIATELY);

  if (LockFileEx (handle_of (fd), flags, 0, MAXDWORD, MAXDWORD, &overlapped))
    return 0;
  return last_errno ();
}

static gboolean
file_identity (HANDLE handle, BY_HANDLE_FILE_INFORMATION *info)
{
  return handle != INVALID_HANDLE_VALUE && GetFileInformationByHandle (handle, info);
}

gboolean
gate_spool_fs_is_at (int fd, const char *path)
{
  FILE_STANDARD_INFO standard;
  BY_HANDLE_FILE_INFORMATION open_info, path_info;
  gunichar2 *wpath;
  HANDLE handle;
  gboolean same;

  if (!GetFileInformationByHandleEx (handle_of (fd), FileStandardInfo, &standard, sizeof standard)
      || standard.DeletePending || standard.NumberOfLinks == 0 || !file_identity (handle_of (fd), &open_info))
    return FALSE;
  wpath = g_utf8_to_utf16 (path, -1, NULL, NULL, NULL);
  if (wpath == NULL)
    return FALSE;
  /* No access asked: only the file's identity is read. */
  handle = CreateFileW ((const wchar_t *)wpath, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                        NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
  g_free (wpath);
  same = file_identity (handle, &path_info)
         && open_info.dwVolumeSerialNumber == path_info.dwVolumeSerialNumber
         && open_info.nFileIndexHigh == path_info.nFileIndexHigh
         && open_info.nFileIndexLow == path_info.nFileIndexLow;
  if (handle != INVALID_HANDLE_VALUE)
    CloseHandle (handle);
  return same;
}

void
gate_spool_fs_stamp (const char *path, GateSpoolFsStamp *stamp)
{
  gunichar2 *wpath = g_utf8_to_utf16 (path, -1, NULL, NULL, NULL);
  WIN32_FILE_ATTRIBUTE_DATA data;

  stamp->id = 0;
  stamp->mtime_ns = 0;
  stamp->size = -1;
  if (wpath != NULL && GetFileAttributesExW ((const wchar_t *)wpath, GetFileExInfoStandard, &data))
    {
      ULARGE_INTEGER t;

      t.LowPart = data.ftLastWriteTime.dwLowDateTime;
      t.HighPart = data.ftLastWriteTime.dwHighDateTime;
      stamp->mtime_ns = (gint64)t.QuadPart * 100; /* 100 ns units */
      stamp->size = ((gint64)data.nFileSizeHigh << 32) | data.nFileSizeLow;
    }
  g_free (wpath);
}
