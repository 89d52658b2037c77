/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The spool on a real folder: writing, group commit, state changes, changes
 * from another process, start-up recovery, and crash safety (kill -9 of a
 * writer process in the middle of its writes). */
#define G_LOG_DOMAIN "test-spool"

#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gate-spool.h"

static const char *self_path;

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->dir = g_dir_make_tmp ("spool-test-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  remove_tree (f->dir);
  g_free (f->dir);
}

/* The files of the folder, sorted, without the owner lock, the control folder
 * and the files kept for reuse. */
static GPtrArray *
list_files (const char *dir_path)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    if (strcmp (name, ".owner.lock") != 0 && strcmp (name, ".control") != 0
        && !g_str_has_prefix (name, "free-"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc)(void (*) (void))g_strcmp0);
  return names;
}

static char *
make_content (guint n)
{
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "Subject: message %u\r\n\r\n", n);
  for (guint i = 0; i < 50; i++)
    g_string_append_printf (s, "line %u of message %u\r\n", i, n);
  g_string_append (s, "END\r\n");
  return g_string_free (s, FALSE);
}

static void
commit_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GPtrArray *done = user_data;
  g_autoptr (GError) error = NULL;
  GateSpoolEntry *entry = gate_spool_writer_commit_finish (GATE_SPOOL (source), result, &error);

  g_assert_no_error (error);
  g_assert_nonnull (entry);
  g_ptr_array_add (done, entry);
}

static GateSpoolWriter *
begin_message (GateSpool *spool, guint n, const char *const *recipients)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *content = make_content (n);
  GateSpoolWriter *writer = gate_spool_begin (spool, &error);

  g_assert_no_error (error);
  gate_spool_writer_set_sender (writer, "device@example.test");
  gate_spool_writer_set_client (writer, "127.0.0.1", "printer");
  for (guint i = 0; recipients[i]; i++)
    gate_spool_writer_add_recipient (writer, recipients[i]);
  /* In several pieces, like a network reader would. */
  for (gsize off = 0, len = strlen (content); off < len; off += 37)
    {
      gate_spool_writer_write (writer, content + off, MIN (37, len - off), &error);
      g_assert_no_error (error);
    }
  return writer;
}

static GateSpoolEntry *
store_message (GateSpool *spool, guint n, const char *const *recipients)
{
  g_autoptr (GPtrArray) done = g_ptr_array_new ();
  GateSpoolEntry *entry;

  gate_spool_writer_commit_async (begin_message (spool, n, recipients), NULL, commit_cb, done);
  while (done->len == 0)
    g_main_context_iteration (NULL, TRUE);
  entry = done->pdata[0];
  return entry;
}

static char *
read_content (GateSpool *spool, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) in = gate_spool_open_content (spool, id, &error);
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();

  g_assert_no_error (error);
  g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE, NULL, &error);
  g_assert_no_error (error);
  /* The terminating nul, before the stream is closed. */
  g_output_stream_write (out, "", 1, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (out, NULL, NULL);
  return g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (out));
}

static void
test_roundtrip (Fixture *f, gconstpointer data)
{
  const char *rcpts[] = { "a@example.test", "b@example.test", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GateSpoolEntry) entry = NULL;
  g_autoptr (GateSpool) again = NULL;
  g_autoptr (GateSpoolEntry) loaded = NULL;
  g_autofree char *content = NULL;
  g_autofree char *expected = make_content (7);
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GateSmtpEnvelope) envelope = NULL;
  GStatBuf st;

  g_assert_no_error (error);
  g_assert_cmpint (g_stat (f->dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  entry = store_message (spool, 7, rcpts);
  g_assert_cmpstr (gate_spool_entry_get_sender (entry), ==, "device@example.test");
  g_assert_cmpuint (gate_spool_entry_get_n_recipients (entry), ==, 2);
  g_assert_cmpint (gate_spool_entry_get_status (entry), ==, GATE_SPOOL_STATUS_QUEUED);
  g_assert_cmpint (gate_spool_entry_get_size (entry), ==, (gint64)strlen (expected));
  g_assert_cmpuint (gate_spool_get_n_messages (spool), ==, 1);

  /* The first reading is from memory, the next ones from the file. */
  content = read_content (spool, gate_spool_entry_get_id (entry));
  g_assert_cmpstr (content, ==, expected);
  g_clear_pointer (&content, g_free);
  content = read_content (spool, gate_spool_entry_get_id (entry));
  g_assert_cmpstr (content, ==, expected);

  files = list_files (f->dir);
  g_assert_cmpuint (files->len, ==, 2); /* ID.env, ID.msg: no temporary files */

  envelope = gate_spool_entry_to_envelope (entry);
  g_assert_cmpuint (gate_smtp_envelope_get_n_recipients (envelope), ==, 2);

  /* Another reader sees the same. */
  again = gate_spool_open (f->dir, GATE_SPOOL_OPEN_NONE, &error);
  g_assert_no_error (error);
  loaded = gate_spool_lookup (again, gate_spool_entry_get_id (entry));
  g_assert_nonnull (loaded);
  g_assert_cmpstr (gate_spool_entry_get_recipient (loaded, 1), ==, "b@example.test");
  g_assert_cmpstr (gate_spool_entry_get_client_name (loaded), ==, "printer");
}

static void
test_abort (Fixture *f, gconstpointer data)
{
  const char *rcpts[] = { "a@example.test", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GPtrArray) files = NULL;

  g_assert_no_error (error);
  gate_spool_writer_abort (begin_message (spool, 1, rcpts));
  files = list_files (f->dir);
  g_assert_cmpuint (files->len, ==, 0);
  g_assert_cmpuint (gate_spool_get_n_messages (spool), ==, 0);
}

static void
count_changed_cb (GateSpool *spool, const char *id, GateSpoolEntry *entry, gpointer user_data)
{
  guint *count = user_data;
  (*count)++;
}

/* Many commits handed over together all complete, each exactly once, and
 * all are on disk. */
static void
test_group_commit (Fixture *f, gconstpointer data)
{
  const char *rcpts[] = { "a@example.test", NULL };
  const guint n = 300;
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = NULL;
  g_autoptr (GPtrArray) done = g_ptr_array_new_with_free_func ((GDestroyNotify)gate_spool_entry_unref);
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  guint changed = 0;

  /* Each way of syncing a batch: the default, and files one by one. */
  if (data != NULL)
    g_setenv ("GATE_SPOOL_SYNC", data, TRUE);
  spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_unsetenv ("GATE_SPOOL_SYNC");

  g_assert_no_error (error);
  g_signal_connect (spool, "changed", G_CALLBACK (count_changed_cb), &changed);
  for (guint i = 0; i < n; i++)
    gate_spool_writer_commit_async (begin_message (spool, i, rcpts), NULL, commit_cb, done);
  while (done->len < n)
    g_main_context_iteration (NULL, TRUE);

  for (guint i = 0; i < n; i++)
    g_hash_table_add (ids, (gpointer)gate_spool_entry_get_id (done->pdata[i]));
  g_assert_cmpuint (g_hash_table_size (ids), ==, n);
  g_assert_cmpuint (changed, ==, n);
  g_assert_cmpuint (gate_spool_get_n_messages (spool), ==, n);
  files = list_files (f->dir);
  g_assert_cmpuint (files->len, ==, 2 * n);
}

static void
test_states (Fixture *f, gconstpointer data)
{
  const char *rcpts[] = { "a@example.test", "b@example.test", "c@example.test", NULL };
  const char *a[] = { "a@example.test", NULL };
  const char *b[] = { "b@example.test", NULL };
  const char *c[] = { "c@example.test", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GateSpoolEntry) entry = NULL;
  g_autoptr (GateSpoolEntry) e = NULL;
  g_autoptr (GateSmtpEnvelope) envelope = NULL;
  g_autoptr (GateSpool) reader = NULL;
  g_autoptr (GPtrArray) files = NULL;
  gboolean removed = TRUE;
  const char *id;

  g_assert_no_error (error);
  entry = store_message (spool, 1, rcpts);
  id = gate_spool_entry_get_id (entry);

  e = gate_spool_claim (spool, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_IN_FLIGHT);
  g_assert_cmpuint (gate_spool_entry_get_attempts (e), ==, 1);
  g_clear_pointer (&e, gate_spool_entry_unref);

  /* Claiming twice is refused. */
  g_assert_null (gate_spool_claim (spool, id, &error));
  g_assert_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (gate_spool_set_recipients (spool, id, a, GATE_SPOOL_RECIPIENT_DELIVERED, "250 ok", &error));
  g_assert_true (gate_spool_set_recipients (spool, id, b, GATE_SPOOL_RECIPIENT_FAILED,
                                            "550 5.1.1 no such user", &error));
  e = gate_spool_finish_attempt (spool, id, 12345, "451 try later", &removed, &error);
  g_assert_no_error (error);
  g_assert_false (removed);
  g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_QUEUED);
  g_assert_cmpint (gate_spool_entry_get_next_attempt (e), ==, 12345);
  g_assert_cmpstr (gate_spool_entry_get_last_error (e), ==, "451 try later");
  g_assert_cmpuint (gate_spool_entry_get_n_pending (e), ==, 1);
  envelope = gate_spool_entry_to_envelope (e);
  g_assert_cmpuint (gate_smtp_envelope_get_n_recipients (envelope), ==, 1);
  g_assert_cmpstr (gate_smtp_envelope_get_recipients (envelope)[0], ==, "c@example.test");
  g_clear_pointer (&e, gate_spool_entry_unref);

  /* What is on disk is what another process reads. */
  reader = gate_spool_open (f->dir, GATE_SPOOL_OPEN_NONE, &error);
  e = gate_spool_lookup (reader, id);
  g_assert_cmpint (gate_spool_entry_get_recipient_state (e, 0), ==, GATE_SPOOL_RECIPIENT_DELIVERED);
  g_assert_cmpint (gate_spool_entry_get_recipient_state (e, 1), ==, GATE_SPOOL_RECIPIENT_FAILED);
  g_assert_cmpstr (gate_spool_entry_get_recipient_reply (e, 1), ==, "550 5.1.1 no such user");
  g_assert_cmpint (gate_spool_entry_get_recipient_state (e, 2), ==, GATE_SPOOL_RECIPIENT_PENDING);
  g_clear_pointer (&e, gate_spool_entry_unref);

  /* Last recipient delivered, one failed: kept as failed. */
  e = gate_spool_claim (spool, id, &error);
  g_clear_pointer (&e, gate_spool_entry_unref);
  g_assert_true (gate_spool_set_recipients (spool, id, c, GATE_SPOOL_RECIPIENT_DELIVERED, "250 ok", &error));
  e = gate_spool_finish_attempt (spool, id, 0, "Some recipients were refused", &removed, &error);
  g_assert_no_error (error);
  g_assert_false (removed);
  g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_FAILED);
  g_clear_pointer (&e, gate_spool_entry_unref);

  /* Retry: the failed recipient is pending again. */
  e = gate_spool_retry (spool, id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_QUEUED);
  g_assert_cmpuint (gate_spool_entry_get_n_pending (e), ==, 1);
  g_assert_cmpint (gate_spool_entry_get_release_time (e), >, 0);
  g_clear_pointer (&e, gate_spool_entry_unref);

  /* Delivered at last: removed from disk. */
  e = gate_spool_claim (spool, id, &error);
  g_clear_pointer (&e, gate_spool_entry_unref);
  g_assert_true (gate_spool_set_recipients (spool, id, b, GATE_SPOOL_RECIPIENT_DELIVERED, "250 ok", &error));
  e = gate_spool_finish_attempt (spool, id, 0, NULL, &removed, &error);
  g_assert_no_error (error);
  g_assert_null (e);
  g_assert_true (removed);
  g_assert_cmpuint (gate_spool_get_n_messages (spool), ==, 0);
  g_clear_pointer (&files, g_ptr_array_unref);
  files = list_files (f->dir);
  g_assert_cmpuint (files->len, ==, 0);

  /* Gone: a clear error. */
  g_assert_null (gate_spool_hold (spool, id, &error));
  g_assert_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_NOT_FOUND);
}

typedef struct
{
  char *id;
  GateSpoolStatus status;
  gboolean seen;
} WaitChange;

static void
wait_changed_cb (GateSpool *spool, const char *id, GateSpoolEntry *entry, gpointer user_data)
{
  WaitChange *w = user_data;

  if (g_strcmp0 (id, w->id) != 0)
    return;
  if ((int)w->status == -1 ? entry == NULL : (entry && gate_spool_entry_get_status (entry) == w->status))
    w->seen = TRUE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  g_error ("Timed out waiting for the spool to notice a change");
  return G_SOURCE_REMOVE;
}

static void
wait_for (WaitChange *w)
{
  guint timeout = g_timeout_add_seconds (20, timeout_cb, NULL);
  while (!w->seen)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout);
}

/* This test program, run again as another process that changes message
 * @id the way the command line would (--hold, --delete, --retry). */
static void
change_from_other_process (const char *dir, const char *action, const char *id)
{
  g_autofree char *cli = g_strdup_printf ("%s %s %s %s", self_path, action, dir, id);
  g_autoptr (GError) error = NULL;
  int status = 0;

  g_assert_true (g_spawn_command_line_sync (cli, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* A hold from another process (the command line) is noticed by the relay,
 * and the relay's next update does not overwrite it. */
static void
test_other_process (Fixture *f, gconstpointer data)
{
  const char *rcpts[] = { "a@example.test", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) relay
      = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER | GATE_SPOOL_OPEN_WATCH, &error);
  g_autoptr (GateSpoolEntry) entry = NULL;
  g_autoptr (GateSpoolEntry) e = NULL;
  g_autoptr (GateSpoolEntry) seen = NULL;
  WaitChange w = { 0 };
  gboolean removed = FALSE;

  g_assert_no_error (error);
  entry = store_message (relay, 1, rcpts);
  w.id = g_strdup (gate_spool_entry_get_id (entry));
  g_signal_connect (relay, "changed", G_CALLBACK (wait_changed_cb), &w);

  /* The forwarder is sending it... */
  e = gate_spool_claim (relay, w.id, &error);
  g_assert_no_error (error);
  g_clear_pointer (&e, gate_spool_entry_unref);

  /* ...when the user holds it from another process. */
  change_from_other_process (f->dir, "--hold", w.id);
  w.status = GATE_SPOOL_STATUS_HELD;
  wait_for (&w);
  seen = gate_spool_lookup (relay, w.id);
  g_assert_cmpint (gate_spool_entry_get_status (seen), ==, GATE_SPOOL_STATUS_HELD);

  /* The attempt ends with a deferral: still held. */
  e = gate_spool_finish_attempt (relay, w.id, 0, "451 later", &removed, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_HELD);
  g_clear_pointer (&e, gate_spool_entry_unref);

  /* Deleted from another process: the relay notices; its updates say so. */
  change_from_other_process (f->dir, "--delete", w.id);
  w.seen = FALSE;
  w.status = (GateSpoolStatus)-1;
  wait_for (&w);
  g_assert_null (gate_spool_lookup (relay, w.id));
  g_assert_null (gate_spool_retry (relay, w.id, &error));
  g_assert_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_NOT_FOUND);
  g_free (w.id);
}

/* A message larger than the writer's buffer goes to its file as it comes;
 * one of exactly the buffer's size too.  Either way the content reads back
 * whole, and nothing of it is kept in memory. */
static void
test_large (Fixture *f, gconstpointer data)
{
  const gsize sizes[] = { 64 * 1024, 200 * 1024 + 17 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);

  g_assert_no_error (error);
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      g_autoptr (GPtrArray) done = g_ptr_array_new_with_free_func ((GDestroyNotify)gate_spool_entry_unref);
      g_autoptr (GString) expected = g_string_new ("Subject: large\r\n\r\n");
      GateSpoolWriter *writer = gate_spool_begin (spool, &error);
      g_autofree char *content = NULL;
      gsize off = 0;

      g_assert_no_error (error);
      while (expected->len < sizes[s])
        g_string_append_printf (expected, "line %" G_GSIZE_FORMAT "\r\n", expected->len);
      g_string_truncate (expected, sizes[s]);
      gate_spool_writer_set_sender (writer, "device@example.test");
      gate_spool_writer_add_recipient (writer, "a@example.test");
      /* One piece as large as the buffer, then small ones. */
      if (s == 1)
        {
          g_assert_true (gate_spool_writer_write (writer, expected->str, 64 * 1024, &error));
          off = 64 * 1024;
        }
      for (; off < expected->len; off += 1000)
        g_assert_true (
            gate_spool_writer_write (writer, expected->str + off, MIN (1000, expected->len - off), &error));
      gate_spool_writer_commit_async (writer, NULL, commit_cb, done);
      while (done->len == 0)
        g_main_context_iteration (NULL, TRUE);
      g_assert_cmpint (gate_spool_entry_get_size (done->pdata[0]), ==, (gint64)expected->len);
      content = read_content (spool, gate_spool_entry_get_id (done->pdata[0]));
      g_assert_cmpuint (strlen (content), ==, expected->len);
      g_assert_true (memcmp (content, expected->str, expected->len) == 0);
    }
}

static void
iterate_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
}

/* The relay claims a message in memory; only a claim that lasts is written
 * down for other programs to see.  A change another program makes to a
 * message being sent (a retry) does not free it for a second claim. */
static void
test_claims (Fixture *f, gconstpointer data)
{
  const char *rcpts[] = { "a@example.test", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) relay
      = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER | GATE_SPOOL_OPEN_WATCH, &error);
  g_autoptr (GateSpoolEntry) entry = NULL;
  g_autoptr (GateSpoolEntry) e = NULL;
  g_autoptr (GateSpool) reader = NULL;
  WaitChange w = { 0 };

  g_assert_no_error (error);
  entry = store_message (relay, 1, rcpts);
  w.id = g_strdup (gate_spool_entry_get_id (entry));

  e = gate_spool_claim (relay, w.id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_IN_FLIGHT);
  g_clear_pointer (&e, gate_spool_entry_unref);

  /* Not on disk yet... */
  reader = gate_spool_open (f->dir, GATE_SPOOL_OPEN_NONE, &error);
  e = gate_spool_lookup (reader, w.id);
  g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_QUEUED);
  g_clear_pointer (&e, gate_spool_entry_unref);
  g_clear_object (&reader);

  /* ...but once the claim has lasted a while. */
  iterate_for (1500);
  reader = gate_spool_open (f->dir, GATE_SPOOL_OPEN_NONE, &error);
  e = gate_spool_lookup (reader, w.id);
  g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_IN_FLIGHT);
  g_assert_cmpuint (gate_spool_entry_get_attempts (e), ==, 1);
  g_clear_pointer (&e, gate_spool_entry_unref);
  g_clear_object (&reader);

  /* The attempt ends; the next claim is in memory again, and "retry" from
   * the command line meanwhile does not undo it. */
  e = gate_spool_finish_attempt (relay, w.id, 0, "451 later", NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&e, gate_spool_entry_unref);
  e = gate_spool_claim (relay, w.id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gate_spool_entry_get_attempts (e), ==, 2);
  g_clear_pointer (&e, gate_spool_entry_unref);

  g_signal_connect (relay, "changed", G_CALLBACK (wait_changed_cb), &w);
  w.status = GATE_SPOOL_STATUS_IN_FLIGHT;
  change_from_other_process (f->dir, "--retry", w.id);
  wait_for (&w);
  e = gate_spool_lookup (relay, w.id);
  g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_IN_FLIGHT);
  g_assert_cmpuint (gate_spool_entry_get_attempts (e), ==, 2);
  g_clear_pointer (&e, gate_spool_entry_unref);
  g_assert_null (gate_spool_claim (relay, w.id, &error));
  g_assert_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID);
  g_signal_handlers_disconnect_by_data (relay, &w);
  g_free (w.id);
}

/* DIR/ID.SUFFIX, a message's file. */
static char *
spool_path (const char *dir, const char *id, const char *suffix)
{
  g_autofree char *name = g_strconcat (id, suffix, NULL);
  return g_build_filename (dir, name, NULL);
}

static guint
count_free_files (const char *dir_path)
{
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;
  guint n = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    n += g_str_has_prefix (name, "free-");
  return n;
}

/* A delivered message leaves the queue at once and its files soon after;
 * closing the spool waits for them. */
static void
test_remove_delivered (Fixture *f, gconstpointer data)
{
  const char *rcpts[] = { "a@example.test", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) files = NULL;

  g_assert_no_error (error);
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr (GateSpoolEntry) entry = store_message (spool, 100000 + i, rcpts);
      g_autoptr (GateSpoolEntry) claimed = gate_spool_claim (spool, gate_spool_entry_get_id (entry), &error);

      g_assert_no_error (error);
      if (i % 5 == 0)
        {
          /* Tried once and deferred (its state file written), then claimed
           * again: the state file goes too. */
          g_autoptr (GateSpoolEntry) deferred = gate_spool_finish_attempt (
              spool, gate_spool_entry_get_id (entry), 0, "try later", NULL, &error);
          g_autofree char *state = spool_path (f->dir, gate_spool_entry_get_id (entry), ".state");

          g_assert_no_error (error);
          g_assert_true (g_file_test (state, G_FILE_TEST_EXISTS));
          g_clear_pointer (&claimed, gate_spool_entry_unref);
          claimed = gate_spool_claim (spool, gate_spool_entry_get_id (entry), &error);
          g_assert_no_error (error);
        }
      g_ptr_array_add (ids, g_strdup (gate_spool_entry_get_id (entry)));
    }
  for (guint i = 0; i < ids->len; i++)
    {
      g_assert_true (gate_spool_remove_delivered (spool, ids->pdata[i], &error));
      g_assert_no_error (error);
      g_assert_null (gate_spool_lookup (spool, ids->pdata[i]));
    }
  g_assert_cmpuint (gate_spool_get_n_messages (spool), ==, 0);
  /* Removed twice: no such message any more. */
  g_assert_false (gate_spool_remove_delivered (spool, ids->pdata[0], &error));
  g_assert_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Their files are kept and used again for new messages, which read back
   * exactly (from the file, the second time), shorter as they are. */
  while (count_free_files (f->dir) < 2 * ids->len)
    g_usleep (10000);
  files = list_files (f->dir);
  for (guint i = 0; i < files->len; i++)
    g_test_message ("left: %s", (char *)files->pdata[i]);
  g_assert_cmpuint (files->len, ==, 0);
  g_clear_pointer (&files, g_ptr_array_unref);
  for (guint i = 0; i < 30; i++)
    {
      g_autoptr (GateSpoolEntry) entry = store_message (spool, i, rcpts);
      g_autofree char *expected = make_content (i);
      g_autofree char *first = read_content (spool, gate_spool_entry_get_id (entry));
      g_autofree char *again = read_content (spool, gate_spool_entry_get_id (entry));

      g_assert_cmpstr (first, ==, expected);
      g_assert_cmpstr (again, ==, expected);
      g_assert_true (gate_spool_delete (spool, gate_spool_entry_get_id (entry), &error));
    }
  /* Sixty files needed, the forty kept all used (a deletion by the user
   * removes its files). */
  g_assert_cmpuint (count_free_files (f->dir), ==, 0);

  g_clear_object (&spool);
  files = list_files (f->dir);
  g_assert_cmpuint (files->len, ==, 0);
  /* The next owner starts with none kept. */
  spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_free_files (f->dir), ==, 0);
}

/* Only small files are kept for reuse: a large message's content gives its
 * space back when it is delivered.  Its envelope (for many recipients) is
 * kept, and a shorter one written over it reads back alone. */
static void
test_large_not_kept (Fixture *f, gconstpointer data)
{
  const char *rcpts[] = { "a@example.test", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GPtrArray) done = g_ptr_array_new_with_free_func ((GDestroyNotify)gate_spool_entry_unref);
  g_autoptr (GateSpoolEntry) claimed = NULL;
  g_autoptr (GateSpoolEntry) small = NULL;
  g_autofree char *line = g_strnfill (998, 'x');
  GateSpoolWriter *writer;
  const char *id;

  g_assert_no_error (error);
  writer = gate_spool_begin (spool, &error);
  g_assert_no_error (error);
  gate_spool_writer_set_sender (writer, "device@example.test");
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *rcpt = g_strdup_printf ("recipient-%u@example.test", i);
      gate_spool_writer_add_recipient (writer, rcpt);
    }
  for (guint i = 0; i < 300; i++)
    {
      g_assert_true (gate_spool_writer_write (writer, line, strlen (line), &error));
      g_assert_true (gate_spool_writer_write (writer, "\r\n", 2, &error));
    }
  gate_spool_writer_commit_async (writer, NULL, commit_cb, done);
  while (done->len == 0)
    g_main_context_iteration (NULL, TRUE);
  id = gate_spool_entry_get_id (done->pdata[0]);
  claimed = gate_spool_claim (spool, id, &error);
  g_assert_no_error (error);
  g_assert_true (gate_spool_remove_delivered (spool, id, &error));
  g_assert_no_error (error);
  for (;;)
    {
      g_autoptr (GPtrArray) files = list_files (f->dir);
      if (files->len == 0)
        break;
      g_usleep (10000);
    }
  /* The envelope was kept, not the content.  It is not taken before a
   * folder sync has made its new name durable (a power cut could otherwise
   * bring the delivered message back with a new one's envelope): the next
   * message's commit makes it so, the one after takes it. */
  g_assert_cmpuint (count_free_files (f->dir), ==, 1);
  g_clear_pointer (&small, gate_spool_entry_unref);
  small = store_message (spool, 6, rcpts);
  g_assert_cmpuint (count_free_files (f->dir), ==, 1);
  g_clear_pointer (&small, gate_spool_entry_unref);
  small = store_message (spool, 7, rcpts);
  g_assert_cmpuint (count_free_files (f->dir), ==, 0);
  g_clear_object (&spool);
  /* Nothing of the longer envelope is left after the new one's end. */
  {
    g_autofree char *path = spool_path (f->dir, gate_spool_entry_get_id (small), ".env");
    g_autofree char *text = NULL;

    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    g_assert_null (strstr (text, "recipient-"));
  }

  spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_assert_no_error (error);
  g_clear_pointer (&claimed, gate_spool_entry_unref);
  claimed = gate_spool_lookup (spool, gate_spool_entry_get_id (small));
  g_assert_nonnull (claimed);
  g_assert_cmpuint (gate_spool_entry_get_n_recipients (claimed), ==, 1);
  g_assert_cmpstr (gate_spool_entry_get_recipient (claimed, 0), ==, "a@example.test");
}

static void
commit_error_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError **error = user_data;
  GateSpoolEntry *entry = gate_spool_writer_commit_finish (GATE_SPOOL (source), result, error);

  g_assert_null (entry);
  g_assert_nonnull (*error);
}

/* A commit that fails names the file it failed on (the user reads it in the
 * relay's log), and leaves nothing of the message: here the final name of
 * one of its files is taken by a folder, so that the rename fails.  With a
 * kept file, the file named is that one. */
static void
test_error_names_file (Fixture *f, gconstpointer data)
{
  const char *rcpts[] = { "a@example.test", NULL };
  const char *const suffixes[] = { ".msg", ".env" };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);

  g_assert_no_error (error);
  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
      {
        if (round == 1)
          {
            /* A delivered message, whose two files the next one takes. */
            g_autoptr (GateSpoolEntry) entry = store_message (spool, 10 + i, rcpts);
            const char *delivered = gate_spool_entry_get_id (entry);
            g_autoptr (GateSpoolEntry) claimed = gate_spool_claim (spool, delivered, &error);

            g_assert_no_error (error);
            g_assert_true (gate_spool_remove_delivered (spool, delivered, &error));
            g_assert_no_error (error);
            while (count_free_files (f->dir) < 2)
              g_usleep (10000);
            /* They are taken once a folder sync has made their new names
             * durable: another message's commit does. */
            {
              g_autoptr (GateSpoolEntry) other = store_message (spool, 20 + i, rcpts);

              g_assert_true (gate_spool_delete (spool, gate_spool_entry_get_id (other), &error));
              g_assert_no_error (error);
              g_assert_cmpuint (count_free_files (f->dir), ==, 2);
            }
          }
        GateSpoolWriter *writer = begin_message (spool, i, rcpts);
        g_autofree char *id = g_strdup (gate_spool_writer_get_id (writer));
        g_autofree char *blocker = spool_path (f->dir, id, suffixes[i]);
        g_autofree char *inside = g_build_filename (blocker, "x", NULL);
        g_autofree char *temporary = NULL;
        g_autoptr (GPtrArray) files = NULL;
        g_autoptr (GError) commit_error = NULL;

        g_assert_cmpint (g_mkdir (blocker, 0700), ==, 0);
        g_assert_true (g_file_set_contents (inside, "", 0, NULL));
        gate_spool_writer_commit_async (writer, NULL, commit_error_cb, &commit_error);
        while (commit_error == NULL)
          g_main_context_iteration (NULL, TRUE);
        g_test_message ("%s", commit_error->message);
        if (round == 0)
          {
            temporary = g_strdup_printf ("tmp-%s%s", id, suffixes[i]);
            g_assert_nonnull (strstr (commit_error->message, temporary));
          }
        else
          g_assert_nonnull (strstr (commit_error->message, "free-"));
        g_assert_null (strstr (commit_error->message, suffixes[1 - i]));

        g_assert_cmpint (g_unlink (inside), ==, 0);
        g_assert_cmpint (g_rmdir (blocker), ==, 0);
        files = list_files (f->dir);
        g_assert_cmpuint (files->len, ==, 0);
        g_assert_cmpuint (gate_spool_get_n_messages (spool), ==, 0);
      }
}

/* The envelope file is written by hand: it must be what GKeyFile itself
 * writes for the same values, and read back the same, whatever a device puts
 * in its greeting or addresses. */
static void
test_envelope_text (Fixture *f, gconstpointer data)
{
  const char *odd[]
      = { "  two leading spaces", "\ttab first, then\ta tab", "line\nbreak\rreturn",
          "back\\slash \\s",      "trailing space ",          "caf\xc3\xa9@\xc3\xa9xample.test" };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GPtrArray) done = g_ptr_array_new_with_free_func ((GDestroyNotify)gate_spool_entry_unref);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *expected = NULL;
  g_autoptr (GateSpoolEntry) loaded = NULL;
  GateSpoolEntry *entry;
  GateSpoolWriter *writer;

  g_assert_no_error (error);
  writer = gate_spool_begin (spool, &error);
  g_assert_no_error (error);
  gate_spool_writer_set_sender (writer, odd[0]);
  gate_spool_writer_set_original_sender (writer, odd[1]);
  gate_spool_writer_set_client (writer, odd[2], odd[3]);
  gate_spool_writer_set_message_id (writer, odd[4]);
  gate_spool_writer_add_recipient (writer, odd[5]);
  gate_spool_writer_add_recipient (writer, "plain@example.test");
  g_assert_true (gate_spool_writer_write (writer, "Subject: x\r\n\r\nx\r\n", 17, &error));
  gate_spool_writer_commit_async (writer, NULL, commit_cb, done);
  while (done->len == 0)
    g_main_context_iteration (NULL, TRUE);
  entry = done->pdata[0];

  path = spool_path (f->dir, gate_spool_entry_get_id (entry), ".env");
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_key_file_set_string (kf, "Envelope", "Id", gate_spool_entry_get_id (entry));
  g_key_file_set_int64 (kf, "Envelope", "Received", gate_spool_entry_get_received_time (entry));
  g_key_file_set_string (kf, "Envelope", "ClientAddress", odd[2]);
  g_key_file_set_string (kf, "Envelope", "ClientName", odd[3]);
  g_key_file_set_string (kf, "Envelope", "Sender", odd[0]);
  g_key_file_set_string (kf, "Envelope", "OriginalSender", odd[1]);
  g_key_file_set_string (kf, "Envelope", "MessageId", odd[4]);
  g_key_file_set_string (kf, "Envelope", "Body", "8bitmime");
  g_key_file_set_boolean (kf, "Envelope", "SmtpUtf8", FALSE);
  g_key_file_set_int64 (kf, "Envelope", "Size", 17);
  g_key_file_set_integer (kf, "Envelope", "Recipients", 2);
  g_key_file_set_string (kf, "Envelope", "Recipient0", odd[5]);
  g_key_file_set_string (kf, "Envelope", "Recipient1", "plain@example.test");
  expected = g_key_file_to_data (kf, NULL, NULL);
  /* Body: the writer was given no body flags, so 7bit. */
  {
    g_autoptr (GString) fixed = g_string_new (expected);
    g_string_replace (fixed, "Body=8bitmime", "Body=7bit", 1);
    g_assert_cmpstr (text, ==, fixed->str);
  }

  g_clear_object (&spool);
  spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_assert_no_error (error);
  loaded = gate_spool_lookup (spool, gate_spool_entry_get_id (entry));
  g_assert_nonnull (loaded);
  g_assert_cmpstr (gate_spool_entry_get_sender (loaded), ==, odd[0]);
  g_assert_cmpstr (gate_spool_entry_get_original_sender (loaded), ==, odd[1]);
  g_assert_cmpstr (gate_spool_entry_get_client_address (loaded), ==, odd[2]);
  g_assert_cmpstr (gate_spool_entry_get_client_name (loaded), ==, odd[3]);
  g_assert_cmpstr (gate_spool_entry_get_message_id (loaded), ==, odd[4]);
  g_assert_cmpstr (gate_spool_entry_get_recipient (loaded, 0), ==, odd[5]);
  g_assert_cmpstr (gate_spool_entry_get_recipient (loaded, 1), ==, "plain@example.test");
}

/* Whether process @pid waits for a file lock, as /proc/locks shows. */
static gboolean
waits_for_lock (GPid pid)
{
  g_autofree char *locks = NULL;
  g_autofree char *needle = g_strdup_printf (" %d ", (int)pid);
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/locks", &locks, NULL, NULL))
    return FALSE;
  lines = g_strsplit (locks, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (strstr (lines[i], "-> FLOCK") && strstr (lines[i], needle))
      return TRUE;
  return FALSE;
}

/* Another process (the command line) waits for a message's lock while the
 * relay delivers it: by the time it gets the lock, the envelope's file has
 * been moved away to be used again, maybe already for another message.  It
 * must find the message gone, and leave that file alone. */
static void
test_lock_after_reuse (Fixture *f, gconstpointer data)
{
  const char *rcpts[] = { "a@example.test", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GateSpoolEntry) entry = NULL;
  g_autofree char *env = NULL;
  g_autofree char *msg = NULL;
  g_autofree char *state = NULL;
  g_autofree char *kept = g_build_filename (f->dir, "free-999", NULL);
  g_autofree char *kept_msg = g_build_filename (f->dir, "free-998", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  char *argv[] = { (char *)self_path, (char *)"--hold", f->dir, NULL, NULL };
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  GPid pid;
  int status;
  int fd;

  if (!g_file_test ("/proc/locks", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no /proc/locks to see the other process wait");
      return;
    }
  g_assert_no_error (error);
  entry = store_message (spool, 1, rcpts);
  env = spool_path (f->dir, gate_spool_entry_get_id (entry), ".env");
  msg = spool_path (f->dir, gate_spool_entry_get_id (entry), ".msg");
  state = spool_path (f->dir, gate_spool_entry_get_id (entry), ".state");
  g_assert_true (g_file_get_contents (env, &before, NULL, NULL));

  /* The relay's remover holds the message's lock... */
  fd = open (env, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (flock (fd, LOCK_EX), ==, 0);
  /* ...while the user holds the message from the command line. */
  argv[3] = (char *)gate_spool_entry_get_id (entry);
  g_assert_true (g_spawn_async (NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  while (!waits_for_lock (pid))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
  /* Delivered: its files move away to be used again, and the lock goes. */
  g_assert_cmpint (g_rename (env, kept), ==, 0);
  g_assert_cmpint (g_rename (msg, kept_msg), ==, 0);
  close (fd);

  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1); /* no such message */
  g_assert_false (g_file_test (state, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (env, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_get_contents (kept, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, before);
}

static void
test_owner_lock (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) first = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GateSpool) second = NULL;
  g_autofree char *cli = NULL;
  int status = 0;

  g_assert_no_error (error);
  g_assert_true (gate_spool_path_has_owner (f->dir));
  /* Another process cannot own it too. */
  cli = g_strdup_printf ("%s --own %s", self_path, f->dir);
  g_assert_true (g_spawn_command_line_sync (cli, NULL, NULL, &status, &error));
  g_assert_cmpint (WEXITSTATUS (status), ==, 3);
  g_clear_object (&first);
  g_assert_false (gate_spool_path_has_owner (f->dir));
  g_assert_true (g_spawn_command_line_sync (cli, NULL, NULL, &status, &error));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  (void)second;
}

static void
write_file (const char *dir, const char *name, const char *content)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, content, -1, &error);
  g_assert_no_error (error);
}

/* The owner's note reaches other programs only while the owner runs: taken
 * back, or gone with the owner (also one a crashed owner left behind). */
static void
test_owner_note (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) owner = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GateSpool) viewer = NULL;
  g_autofree char *path = g_build_filename (f->dir, ".owner-note", NULL);
  g_autofree char *note = NULL;

  g_assert_no_error (error);
  viewer = gate_spool_open (f->dir, GATE_SPOOL_OPEN_NONE, &error);
  g_assert_no_error (error);
  g_assert_null (gate_spool_dup_owner_note (viewer));

  gate_spool_set_owner_note (owner, "Holding mail back");
  note = gate_spool_dup_owner_note (viewer);
  g_assert_cmpstr (note, ==, "Holding mail back");
  g_clear_pointer (&note, g_free);
  gate_spool_set_owner_note (owner, NULL);
  g_assert_null (gate_spool_dup_owner_note (viewer));

  gate_spool_set_owner_note (owner, "Holding mail back");
  g_clear_object (&owner);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_null (gate_spool_dup_owner_note (viewer));

  /* Left by an owner that did not stop cleanly, and several lines long:
   * not shown without an owner, removed by the next one. */
  g_assert_true (g_file_set_contents (path, "stale\nsecond line", -1, NULL));
  g_assert_null (gate_spool_dup_owner_note (viewer));
  owner = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_assert_no_error (error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_null (gate_spool_dup_owner_note (viewer));
}

/* A message whose envelope was damaged is neither sent nor hidden: listed as
 * failed with the reason, by the owner and by another program; holding or
 * retrying it says what is wrong; deleting it works. */
/* Message @id in the queue folder @dir cannot be sent: another process (the
 * command line) lists it as failed, cannot hold or retry it and is told
 * why, and can delete it, files and all. */
static void
assert_unusable_then_deleted (const char *dir, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) other = gate_spool_open (dir, 0, &error);
  g_autoptr (GateSpoolEntry) e = NULL;
  g_autoptr (GPtrArray) files = NULL;

  g_assert_no_error (error);
  e = gate_spool_lookup (other, id);
  g_assert_nonnull (e);
  g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_FAILED);
  g_assert_null (gate_spool_retry (other, id, &error));
  g_assert_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (gate_spool_hold (other, id, &error));
  g_assert_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (gate_spool_delete (other, id, &error));
  g_assert_no_error (error);
  g_assert_null (gate_spool_lookup (other, id));
  files = list_files (dir);
  for (guint i = 0; i < files->len; i++)
    g_assert_false (g_str_has_prefix (files->pdata[i], id));
}

static void
test_unreadable_listed (Fixture *f, gconstpointer data)
{
  const char *rcpts[] = { "a@example.test", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GateSpoolEntry) stored = NULL;
  g_autoptr (GateSpoolEntry) e = NULL;
  g_autofree char *id = NULL;
  g_autofree char *env_name = NULL;

  g_assert_no_error (error);
  stored = store_message (spool, 1, rcpts);
  id = g_strdup (gate_spool_entry_get_id (stored));
  g_clear_object (&spool);
  env_name = g_strconcat (id, ".env", NULL);
  write_file (f->dir, env_name, "[Envelope]\nId=someone-else\n");

  spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gate_spool_get_n_messages (spool), ==, 1);
  e = gate_spool_lookup (spool, id);
  g_assert_nonnull (e);
  g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_FAILED);
  g_assert_cmpuint (gate_spool_entry_get_n_recipients (e), ==, 0);
  g_assert_cmpint (gate_spool_entry_get_size (e), >, 0);
  g_test_message ("%s", gate_spool_entry_get_last_error (e));
  g_assert_nonnull (strstr (gate_spool_entry_get_last_error (e), "unreadable"));
  g_assert_nonnull (strstr (gate_spool_entry_get_last_error (e), "will not be sent"));
  g_clear_pointer (&e, gate_spool_entry_unref);
  g_assert_null (gate_spool_claim (spool, id, &error));
  g_clear_error (&error);

  assert_unusable_then_deleted (f->dir, id);
}

/* A message whose content file is gone (a failing disk, a file removed by
 * hand) after it was accepted: kept and listed as failed, with its envelope
 * and why, never sent and never removed by the relay; hold and retry say
 * why; delete removes it. */
static void
test_content_missing (Fixture *f, gconstpointer data)
{
  const char *rcpts[] = { "a@example.test", "b@example.test", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GateSpoolEntry) stored = NULL;
  g_autoptr (GateSpoolEntry) e = NULL;
  g_autofree char *id = NULL;
  g_autofree char *msg_path = NULL;
  g_autofree char *env_path = NULL;

  g_assert_no_error (error);
  stored = store_message (spool, 1, rcpts);
  id = g_strdup (gate_spool_entry_get_id (stored));
  g_clear_object (&spool);
  msg_path = g_strconcat (f->dir, G_DIR_SEPARATOR_S, id, ".msg", NULL);
  env_path = g_strconcat (f->dir, G_DIR_SEPARATOR_S, id, ".env", NULL);
  g_assert_cmpint (g_unlink (msg_path), ==, 0);

  for (guint round = 0; round < 2; round++)
    {
      spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
      g_assert_no_error (error);
      g_assert_true (g_file_test (env_path, G_FILE_TEST_EXISTS));
      e = gate_spool_lookup (spool, id);
      g_assert_nonnull (e);
      g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_FAILED);
      g_assert_cmpuint (gate_spool_entry_get_n_recipients (e), ==, 2);
      g_assert_cmpstr (gate_spool_entry_get_recipient (e, 1), ==, "b@example.test");
      g_test_message ("%s", gate_spool_entry_get_last_error (e));
      g_assert_nonnull (strstr (gate_spool_entry_get_last_error (e), "content"));
      g_assert_nonnull (strstr (gate_spool_entry_get_last_error (e), "missing"));
      g_assert_nonnull (strstr (gate_spool_entry_get_last_error (e), "will not be sent"));
      g_clear_pointer (&e, gate_spool_entry_unref);
      g_assert_null (gate_spool_claim (spool, id, &error));
      g_clear_error (&error);
      g_assert_null (gate_spool_retry (spool, id, &error));
      g_assert_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID);
      g_clear_error (&error);
      g_clear_object (&spool);
    }

  assert_unusable_then_deleted (f->dir, id);
}

static void
test_recovery (Fixture *f, gconstpointer data)
{
  const char *rcpts[] = { "a@example.test", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GateSpoolEntry) kept = NULL;
  g_autoptr (GateSpoolEntry) flying = NULL;
  g_autoptr (GateSpoolEntry) e = NULL;
  g_autoptr (GPtrArray) files = NULL;
  g_autofree char *kept_id = NULL;
  g_autofree char *flying_id = NULL;

  g_assert_no_error (error);
  kept = store_message (spool, 1, rcpts);
  flying = store_message (spool, 2, rcpts);
  kept_id = g_strdup (gate_spool_entry_get_id (kept));
  flying_id = g_strdup (gate_spool_entry_get_id (flying));
  e = gate_spool_claim (spool, flying_id, &error);
  g_clear_pointer (&e, gate_spool_entry_unref);
  g_clear_object (&spool);

  /* Debris of a crash: half-written files, content whose envelope never got
   * its name, a state without a message. */
  write_file (f->dir, "tmp-0000000000001-00000001.msg", "half");
  write_file (f->dir, "tmp-0000000000001-00000001.env", "[Envel");
  write_file (f->dir, "0000000000002-00000002.msg", "orphan content");
  write_file (f->dir, "0000000000003-00000003.state", "[State]\nStatus=held\n");

  spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gate_spool_get_n_messages (spool), ==, 2);
  e = gate_spool_lookup (spool, flying_id);
  g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_QUEUED);
  g_clear_pointer (&e, gate_spool_entry_unref);
  e = gate_spool_lookup (spool, kept_id);
  g_assert_cmpint (gate_spool_entry_get_status (e), ==, GATE_SPOOL_STATUS_QUEUED);

  files = list_files (f->dir);
  for (guint i = 0; i < files->len; i++)
    {
      const char *name = files->pdata[i];
      g_assert_true (g_str_has_prefix (name, kept_id) || g_str_has_prefix (name, flying_id));
    }
}

/* A writer process killed with SIGKILL at an arbitrary moment: after
 * recovery every message it was told is committed is there and complete, and
 * nothing else (no partial message, no temporary file) is. */
static void
test_crash (Fixture *f, gconstpointer data)
{
  const char *argv[] = { self_path, "--writer", f->dir, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) acked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GateSpool) spool = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GIOChannel) channel = NULL;
  GPid pid;
  int out_fd;
  guint lines = 0;

  for (guint round = 0; round < 3; round++)
    {
      g_assert_true (g_spawn_async_with_pipes (NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                               NULL, &pid, NULL, &out_fd, NULL, &error));
      g_assert_no_error (error);
      channel = g_io_channel_unix_new (out_fd);
      g_io_channel_set_close_on_unref (channel, TRUE);
      /* Let it commit a varying number of messages, then kill it mid-stream. */
      for (guint n = 0; n < 40 + round * 53;)
        {
          g_autofree char *line = NULL;
          if (g_io_channel_read_line (channel, &line, NULL, NULL, NULL) != G_IO_STATUS_NORMAL)
            g_error ("writer ended early");
          g_strstrip (line);
          if (g_str_has_prefix (line, "OK "))
            {
              g_hash_table_add (acked, g_strdup (line + 3));
              n++;
              lines++;
            }
        }
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      g_spawn_close_pid (pid);
      /* Acks already written to the pipe still count. */
      {
        g_autofree char *rest = NULL;
        g_io_channel_read_to_end (channel, &rest, NULL, NULL);
        if (rest)
          {
            g_auto (GStrv) rest_lines = g_strsplit (rest, "\n", -1);
            for (guint i = 0; rest_lines[i]; i++)
              if (g_str_has_prefix (rest_lines[i], "OK "))
                g_hash_table_add (acked, g_strdup (rest_lines[i] + 3));
          }
      }
      g_clear_pointer (&channel, g_io_channel_unref);
    }
  g_assert_cmpuint (lines, >, 0);

  spool = gate_spool_open (f->dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_assert_no_error (error);
  entries = gate_spool_list (spool);
  {
    GHashTableIter iter;
    const char *id;

    g_hash_table_iter_init (&iter, acked);
    while (g_hash_table_iter_next (&iter, (gpointer *)&id, NULL))
      {
        g_autoptr (GateSpoolEntry) e = gate_spool_lookup (spool, id);
        if (e == NULL)
          g_error ("message %s was acknowledged but is missing after the crash", id);
      }
  }
  for (guint i = 0; i < entries->len; i++)
    {
      GateSpoolEntry *e = entries->pdata[i];
      g_autofree char *content = read_content (spool, gate_spool_entry_get_id (e));
      g_assert_cmpint ((gint64)strlen (content), ==, gate_spool_entry_get_size (e));
      g_assert_true (g_str_has_suffix (content, "END\r\n"));
    }
  files = list_files (f->dir);
  for (guint i = 0; i < files->len; i++)
    g_assert_false (g_str_has_prefix (files->pdata[i], "tmp-"));
  g_assert_cmpuint (files->len, ==, 2 * entries->len);
  g_test_message ("%u acknowledged, %u on disk after the crashes", g_hash_table_size (acked), entries->len);
}

/* ---- helper modes (run as a separate process by the tests above) ---- */

static void
writer_commit_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpoolEntry) entry = gate_spool_writer_commit_finish (GATE_SPOOL (source), result, &error);
  guint *in_flight = user_data;

  (*in_flight)--;
  if (entry)
    {
      printf ("OK %s\n", gate_spool_entry_get_id (entry));
      fflush (stdout);
    }
}

static int
run_writer (const char *dir)
{
  const char *rcpts[] = { "a@example.test", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (dir, GATE_SPOOL_OPEN_OWNER, &error);
  guint in_flight = 0;

  if (spool == NULL)
    return 1;
  /* Forever, a few commits at a time, until killed. */
  for (guint n = 0;; n++)
    {
      while (in_flight < 8)
        {
          in_flight++;
          gate_spool_writer_commit_async (begin_message (spool, n, rcpts), NULL, writer_commit_cb,
                                          &in_flight);
        }
      g_main_context_iteration (NULL, TRUE);
    }
  return 0;
}

int
main (int argc, char **argv)
{
  self_path = argv[0];

  if (argc == 3 && strcmp (argv[1], "--writer") == 0)
    return run_writer (argv[2]);
  if (argc == 4
      && (strcmp (argv[1], "--hold") == 0 || strcmp (argv[1], "--delete") == 0
          || strcmp (argv[1], "--retry") == 0))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GateSpool) spool = gate_spool_open (argv[2], GATE_SPOOL_OPEN_NONE, &error);
      g_autoptr (GateSpoolEntry) e = NULL;

      if (spool == NULL)
        return 1;
      if (strcmp (argv[1], "--hold") == 0)
        return (e = gate_spool_hold (spool, argv[3], &error)) != NULL ? 0 : 1;
      if (strcmp (argv[1], "--retry") == 0)
        return (e = gate_spool_retry (spool, argv[3], &error)) != NULL ? 0 : 1;
      return gate_spool_delete (spool, argv[3], &error) ? 0 : 1;
    }
  if (argc == 3 && strcmp (argv[1], "--own") == 0)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GateSpool) spool = gate_spool_open (argv[2], GATE_SPOOL_OPEN_OWNER, &error);

      if (spool == NULL)
        return g_error_matches (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_BUSY) ? 3 : 1;
      return 0;
    }

  g_test_init (&argc, &argv, NULL);
  g_test_add ("/spool/roundtrip", Fixture, NULL, fixture_setup, test_roundtrip, fixture_teardown);
  g_test_add ("/spool/abort", Fixture, NULL, fixture_setup, test_abort, fixture_teardown);
  g_test_add ("/spool/group-commit", Fixture, NULL, fixture_setup, test_group_commit, fixture_teardown);
  g_test_add ("/spool/group-commit-files", Fixture, "files", fixture_setup, test_group_commit,
              fixture_teardown);
  g_test_add ("/spool/states", Fixture, NULL, fixture_setup, test_states, fixture_teardown);
  g_test_add ("/spool/other-process", Fixture, NULL, fixture_setup, test_other_process, fixture_teardown);
  g_test_add ("/spool/large", Fixture, NULL, fixture_setup, test_large, fixture_teardown);
  g_test_add ("/spool/claims", Fixture, NULL, fixture_setup, test_claims, fixture_teardown);
  g_test_add ("/spool/remove-delivered", Fixture, NULL, fixture_setup, test_remove_delivered,
              fixture_teardown);
  g_test_add ("/spool/large-not-kept", Fixture, NULL, fixture_setup, test_large_not_kept, fixture_teardown);
  g_test_add ("/spool/error-names-file", Fixture, NULL, fixture_setup, test_error_names_file,
              fixture_teardown);
  g_test_add ("/spool/envelope-text", Fixture, NULL, fixture_setup, test_envelope_text, fixture_teardown);
  g_test_add ("/spool/lock-after-reuse", Fixture, NULL, fixture_setup, test_lock_after_reuse,
              fixture_teardown);
  g_test_add ("/spool/owner-lock", Fixture, NULL, fixture_setup, test_owner_lock, fixture_teardown);
  g_test_add ("/spool/owner-note", Fixture, NULL, fixture_setup, test_owner_note, fixture_teardown);
  g_test_add ("/spool/recovery", Fixture, NULL, fixture_setup, test_recovery, fixture_teardown);
  g_test_add ("/spool/unreadable-listed", Fixture, NULL, fixture_setup, test_unreadable_listed,
              fixture_teardown);
  g_test_add ("/spool/content-missing", Fixture, NULL, fixture_setup, test_content_missing, fixture_teardown);
  g_test_add ("/spool/crash", Fixture, NULL, fixture_setup, test_crash, fixture_teardown);
  return g_test_run ();
}
