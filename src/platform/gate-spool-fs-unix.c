/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-platform"
/* syncfs(), sync_file_range() */
#define _GNU_SOURCE 1

#include "config.h"

#include "gate-spool-fs.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/vfs.h>
#endif

/* From <linux/magic.h>. */
#define GATE_FUSE_SUPER_MAGIC 0x65735546

static int
open_file (const char *path, int flags, int *fd)
{
  *fd = g_open (path, flags | O_CLOEXEC, 0600);
  return *fd < 0 ? errno : 0;
}

int
gate_spool_fs_create (const char *path, gboolean exclusive, int *fd)
{
  return open_file (path, O_WRONLY | O_CREAT | (exclusive ? O_EXCL : O_TRUNC), fd);
}

int
gate_spool_fs_open_for_overwrite (const char *path, int *fd)
{
  return open_file (path, O_WRONLY, fd);
}

gint64
gate_spool_fs_size (int fd)
{
  struct stat st;

  return fstat (fd, &st) == 0 ? (gint64)st.st_size : -1;
}

int
gate_spool_fs_cut (int fd, gint64 size)
{
  gint64 length = gate_spool_fs_size (fd);
  int r;

  if (length < 0)
    return errno;
  if (length <= size)
    return 0;
  do
    r = ftruncate (fd, (off_t)size);
  while (r < 0 && errno == EINTR);
  return r < 0 ? errno : 0;
}

int
gate_spool_fs_open_existing (const char *path, int *fd)
{
  return open_file (path, O_RDONLY, fd);
}

int
gate_spool_fs_open_lock_file (const char *path, int *fd)
{
  return open_file (path, O_RDWR | O_CREAT, fd);
}

int
gate_spool_fs_open_append (const char *path, int *fd)
{
  return open_file (path, O_WRONLY | O_CREAT | O_APPEND, fd);
}

int
gate_spool_fs_take_contents (int fd, char **data, gsize *len)
{
  GByteArray *bytes = g_byte_array_new ();
  guint8 buffer[4096];

  *data = NULL;
  *len = 0;
  if (lseek (fd, 0, SEEK_SET) < 0)
    goto fail;
  for (;;)
    {
      ssize_t n = read (fd, buffer, sizeof buffer);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        goto fail;
      if (n == 0)
        break;
      g_byte_array_append (bytes, buffer, (guint)n);
    }
  /* Only when there was something: emptying the file is a change that its
   * watcher sees. */
  if (bytes->len > 0 && ftruncate (fd, 0) < 0)
    goto fail;
  *len = bytes->len;
  g_byte_array_append (bytes, (const guint8 *)"", 1);
  *data = (char *)g_byte_array_free (bytes, FALSE);
  return 0;

fail:
  {
    int saved_errno = errno;

    g_byte_array_unref (bytes);
    return saved_errno;
  }
}

int
gate_spool_fs_write_all (int fd, const void *data, gsize len)
{
  const guint8 *p = data;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return errno;
        }
      p += n;
      len -= (gsize)n;
    }
  return 0;
}

void
gate_spool_fs_close (int fd)
{
  if (fd >= 0)
    close (fd);
}

void
gate_spool_fs_start_writeback (int fd)
{
#ifdef SYNC_FILE_RANGE_WRITE
  /* Allocates the blocks of every file of a batch before the first sync, so
   * that one journal commit covers them all. */
  sync_file_range (fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
}

static int
retry_sync (int (*func) (int), int fd)
{
  int r;

  do
    r = func (fd);
  while (r < 0 && errno == EINTR);
  return r < 0 ? errno : 0;
}

int
gate_spool_fs_sync_data (int fd)
{
#if defined(_POSIX_SYNCHRONIZED_IO) && _POSIX_SYNCHRONIZED_IO > 0
  return retry_sync (fdatasync, fd);
#else
  return retry_sync (fsync, fd);
#endif
}

int
gate_spool_fs_rename (const char *from, const char *to)
{
  return g_rename (from, to) < 0 ? errno : 0;
}

int
gate_spool_fs_open_folder (const char *path, int *folder_fd)
{
  return open_file (path, O_RDONLY | O_DIRECTORY, folder_fd);
}

void
gate_spool_fs_close_folder (int folder_fd)
{
  gate_spool_fs_close (folder_fd);
}

int
gate_spool_fs_sync_folder (int folder_fd)
{
  if (folder_fd < 0)
    return EBADF;
  return retry_sync (fsync, folder_fd);
}

int
gate_spool_fs_sync_file_system (int folder_fd)
{
#ifdef __linux__
  struct statfs fs;

  /* On a FUSE file system syncfs() writes the kernel's cache to the file
   * system's process but never asks that process to sync (only fsync()
   * does): the files are then synced one by one. */
  if (fstatfs (folder_fd, &fs) == 0 && fs.f_type == GATE_FUSE_SUPER_MAGIC)
    return ENOSYS;
  /* Reports write-back errors since Linux 5.8. */
  return syncfs (folder_fd) < 0 ? errno : 0;
#else
  return ENOSYS;
#endif
}

int
gate_spool_fs_lock (int fd, gboolean exclusive, gboolean wait)
{
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);

  for (;;)
    {
      if (flock (fd, op) == 0)
        return 0;
      if (errno != EINTR)
        return errno == EAGAIN ? EWOULDBLOCK : errno;
    }
}

gboolean
gate_spool_fs_is_at (int fd, const char *path)
{
  struct stat open_st, path_st;

  if (fstat (fd, &open_st) < 0 || open_st.st_nlink == 0 || g_stat (path, &path_st) < 0)
    return FALSE;
  return open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino;
}

void
gate_spool_fs_stamp (const char *path, GateSpoolFsStamp *stamp)
{
  struct stat st;

  stamp->id = 0;
  stamp->mtime_ns = 0;
  stamp->size = -1;
  if (stat (path, &st) == 0)
    {
      stamp->id = (guint64)st.st_ino;
      stamp->mtime_ns = (gint64)st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st.st_mtim.tv_nsec;
      stamp->size = (gint64)st.st_size;
    }
}
