/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A minimal stand-in for the GLib/GIO headers, only so that the Windows
 * secret store can be type-checked with the mingw-w64 cross compiler on a
 * machine without a Windows GLib.  The declarations copy GLib 2.74's; the
 * Windows API calls are checked against mingw-w64's real headers. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define G_BEGIN_DECLS
#define G_END_DECLS
#define TRUE 1
#define FALSE 0
#define NULL_SHIM ((void *)0)

typedef int gboolean;
typedef int gint;
typedef unsigned int guint;
typedef char gchar;
typedef void *gpointer;
typedef const void *gconstpointer;
typedef uint16_t gunichar2;
typedef long glong;
typedef size_t gsize;
typedef ptrdiff_t gssize;
typedef uint32_t GQuark;
typedef void (*GDestroyNotify) (gpointer data);

typedef struct
{
  GQuark domain;
  gint code;
  gchar *message;
} GError;

typedef struct _GObject GObject;
typedef struct _GCancellable GCancellable;
typedef struct _GAsyncResult GAsyncResult;
typedef struct _GTask GTask;
typedef void (*GAsyncReadyCallback) (GObject *source_object, GAsyncResult *res, gpointer user_data);
typedef void (*GTaskThreadFunc) (GTask *task, gpointer source_object, gpointer task_data,
                                 GCancellable *cancellable);

#define G_TASK(o) ((GTask *)(o))

typedef enum
{
  G_FILE_TEST_IS_REGULAR = 1 << 0,
  G_FILE_TEST_IS_SYMLINK = 1 << 1,
  G_FILE_TEST_IS_DIR = 1 << 2,
  G_FILE_TEST_IS_EXECUTABLE = 1 << 3,
  G_FILE_TEST_EXISTS = 1 << 4
} GFileTest;

/* Only the codes the Windows files use, with GIO's values. */
typedef enum
{
  G_IO_ERROR_FAILED = 0,
  G_IO_ERROR_INVALID_ARGUMENT = 13,
} GIOErrorEnum;
GQuark g_io_error_quark (void);
#define G_IO_ERROR g_io_error_quark ()

#define G_GNUC_PRINTF(format_idx, arg_idx) __attribute__ ((__format__ (__printf__, format_idx, arg_idx)))
#define G_PASTE_ARGS(a, b) a##b
#define G_PASTE(a, b) G_PASTE_ARGS (a, b)
/* Enough of g_autoptr for the declarations in the headers. */
#define G_DEFINE_AUTOPTR_CLEANUP_FUNC(TypeName, func)                                                        \
  static inline void G_PASTE (glib_autoptr_cleanup_, TypeName) (TypeName * *p)                               \
  {                                                                                                          \
    if (*p)                                                                                                  \
      func (*p);                                                                                             \
  }

void g_free (gpointer mem);
gpointer g_malloc0 (gsize n_bytes);
#define g_new0(type, n) ((type *)g_malloc0 (sizeof (type) * (n)))
gchar *g_strdup (const gchar *str);
gchar *g_strndup (const gchar *str, gsize n);
gchar *g_strdup_printf (const gchar *format, ...) __attribute__ ((format (printf, 1, 2)));
gchar *g_strdup_vprintf (const gchar *format, va_list args) __attribute__ ((format (printf, 1, 0)));
gchar *g_filename_display_name (const gchar *filename);
gboolean g_file_test (const gchar *filename, GFileTest test);
gint g_mkdir_with_parents (const gchar *pathname, gint mode);
gunichar2 *g_utf8_to_utf16 (const gchar *str, glong len, glong *items_read, glong *items_written,
                            GError **error);
gchar *g_win32_error_message (gint error);
void g_set_error (GError **err, GQuark domain, gint code, const gchar *format, ...)
    __attribute__ ((format (printf, 4, 5)));
void g_set_error_literal (GError **err, GQuark domain, gint code, const gchar *message);
gboolean g_cancellable_set_error_if_cancelled (GCancellable *cancellable, GError **error);
void g_object_unref (gpointer object);

GTask *g_task_new (gpointer source_object, GCancellable *cancellable, GAsyncReadyCallback callback,
                   gpointer callback_data);
void g_task_set_source_tag (GTask *task, gpointer source_tag);
void g_task_set_task_data (GTask *task, gpointer task_data, GDestroyNotify task_data_destroy);
void g_task_run_in_thread (GTask *task, GTaskThreadFunc task_func);
void g_task_return_boolean (GTask *task, gboolean result);
void g_task_return_pointer (GTask *task, gpointer result, GDestroyNotify result_destroy);
void g_task_return_error (GTask *task, GError *error);
gboolean g_task_is_valid (gpointer result, gpointer source_object);
gboolean g_task_propagate_boolean (GTask *task, GError **error);
gpointer g_task_propagate_pointer (GTask *task, GError **error);

#define g_autofree __attribute__ ((cleanup (g_autoptr_cleanup_generic_gfree)))
static inline void
g_autoptr_cleanup_generic_gfree (void *p)
{
  void **pp = (void **)p;
  g_free (*pp);
}

#define g_return_if_fail(expr)                                                                               \
  do                                                                                                         \
    {                                                                                                        \
      if (!(expr))                                                                                           \
        return;                                                                                              \
    }                                                                                                        \
  while (0)
#define g_return_val_if_fail(expr, val)                                                                      \
  do                                                                                                         \
    {                                                                                                        \
      if (!(expr))                                                                                           \
        return (val);                                                                                        \
    }                                                                                                        \
  while (0)
