/* SPDX-License-Identifier: GPL-3.0-or-later */
/* GateQueue over a real spool folder: counts that follow the messages'
 * states, the user's actions, and the descriptions shown to people. */
#define G_LOG_DOMAIN "test-queue"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "gate-queue.h"

static void
commit_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GateSpoolEntry **out = user_data;
  g_autoptr (GError) error = NULL;

  *out = gate_spool_writer_commit_finish (GATE_SPOOL (source), result, &error);
  g_assert_no_error (error);
}

static char *
store (GateSpool *spool)
{
  g_autoptr (GError) error = NULL;
  GateSpoolWriter *writer = gate_spool_begin (spool, &error);
  GateSpoolEntry *entry = NULL;
  char *id;

  g_assert_no_error (error);
  gate_spool_writer_set_sender (writer, "dev@example.test");
  gate_spool_writer_add_recipient (writer, "to@example.test");
  gate_spool_writer_write (writer, "Subject: x\r\n\r\nx\r\n", 17, &error);
  gate_spool_writer_commit_async (writer, NULL, commit_cb, &entry);
  while (entry == NULL)
    g_main_context_iteration (NULL, TRUE);
  id = g_strdup (gate_spool_entry_get_id (entry));
  gate_spool_entry_unref (entry);
  return id;
}

static void
notify_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  guint *notifications = user_data;
  (*notifications)++;
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      g_unlink (child);
    }
  g_rmdir (path);
}

static void
test_counts_and_actions (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("queue-test-XXXXXX", &error);
  g_autoptr (GateSpool) spool = gate_spool_open (dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GateQueue) queue = gate_queue_new (spool);
  g_autofree char *a = NULL, *b = NULL, *c = NULL;
  g_autoptr (GateSpoolEntry) e = NULL;
  g_autoptr (GPtrArray) failed = NULL;
  g_autofree char *text = NULL;
  guint notifications = 0;

  g_assert_no_error (error);
  g_signal_connect (queue, "notify::n-waiting", G_CALLBACK (notify_cb), &notifications);
  a = store (spool);
  b = store (spool);
  c = store (spool);
  g_assert_cmpuint (gate_queue_get_n_waiting (queue), ==, 3);
  g_assert_cmpuint (notifications, ==, 3);

  e = gate_spool_claim (spool, a, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gate_queue_get_n_sending (queue), ==, 1);
  text = gate_queue_describe (e);
  g_assert_cmpstr (text, ==, "Sending now");
  g_clear_pointer (&e, gate_spool_entry_unref);
  g_clear_pointer (&text, g_free);

  e = gate_spool_fail (spool, a, "550 5.7.1 Sender domain not verified", &error);
  g_assert_no_error (error);
  text = gate_queue_describe (e);
  g_assert_cmpstr (text, ==, "Failed: 550 5.7.1 Sender domain not verified");
  g_clear_pointer (&e, gate_spool_entry_unref);
  g_clear_pointer (&text, g_free);
  g_assert_cmpuint (gate_queue_get_n_failed (queue), ==, 1);
  failed = gate_queue_list (queue, GATE_SPOOL_STATUS_FAILED);
  g_assert_cmpuint (failed->len, ==, 1);
  g_assert_cmpstr (gate_spool_entry_get_id (failed->pdata[0]), ==, a);

  g_assert_true (gate_queue_hold (queue, b, &error));
  g_assert_cmpuint (gate_queue_get_n_held (queue), ==, 1);
  g_assert_true (gate_queue_delete (queue, c, &error));
  g_assert_cmpuint (gate_queue_get_n_waiting (queue), ==, 0);

  /* Retry all: the failed and the held one wait again. */
  g_assert_cmpuint (gate_queue_retry_all (queue), ==, 2);
  g_assert_cmpuint (gate_queue_get_n_waiting (queue), ==, 2);
  g_assert_cmpuint (gate_queue_get_n_failed (queue), ==, 0);
  g_assert_cmpuint (gate_queue_get_n_held (queue), ==, 0);

  /* A deferral is described with its next try and its reason. */
  e = gate_spool_claim (spool, b, &error);
  g_clear_pointer (&e, gate_spool_entry_unref);
  e = gate_spool_finish_attempt (spool, b, g_get_real_time () / G_USEC_PER_SEC + 600, "451 Try again later",
                                 NULL, &error);
  g_assert_no_error (error);
  text = gate_queue_describe (e);
  g_assert_true (g_str_has_prefix (text, "Waiting; next try in 10 minutes"));
  g_assert_nonnull (strstr (text, "451 Try again later"));

  g_assert_false (gate_queue_retry (queue, c, &error));
  g_assert_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_NOT_FOUND);

  g_clear_object (&queue);
  g_clear_object (&spool);
  remove_tree (dir);
}

static void
fail_message (GateSpool *spool, const char *id, const char *reason)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpoolEntry) claimed = gate_spool_claim (spool, id, &error);
  g_autoptr (GateSpoolEntry) failed = NULL;

  g_assert_no_error (error);
  failed = gate_spool_fail (spool, id, reason, &error);
  g_assert_no_error (error);
}

/* The failed messages all at once, as `queue retry --failed` and `queue
 * delete --failed` (and the tray) ask: the others are left as they are, a
 * message being sent is never touched. */
static void
test_each_in_a_state (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("queue-test-XXXXXX", &error);
  g_autoptr (GateSpool) spool = gate_spool_open (dir, GATE_SPOOL_OPEN_OWNER, &error);
  g_autoptr (GateQueue) queue = gate_queue_new (spool);
  g_autofree char *a = store (spool), *b = store (spool), *c = store (spool), *d = store (spool);
  g_autoptr (GateSpoolEntry) sending = NULL;
  g_autoptr (GateSpoolEntry) gone = NULL;

  g_assert_no_error (error);
  fail_message (spool, a, "550 5.7.1 Sender domain not verified");
  fail_message (spool, b, "550 5.7.1 Sender domain not verified");
  g_assert_true (gate_queue_hold (queue, c, &error));
  g_assert_cmpuint (gate_queue_get_n_failed (queue), ==, 2);

  g_assert_cmpuint (gate_queue_retry_each (queue, GATE_SPOOL_STATUS_FAILED, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_cmpuint (gate_queue_get_n_failed (queue), ==, 0);
  g_assert_cmpuint (gate_queue_get_n_waiting (queue), ==, 3);
  g_assert_cmpuint (gate_queue_get_n_held (queue), ==, 1);

  fail_message (spool, a, "550 5.1.1 No such user");
  g_assert_cmpuint (gate_queue_delete_each (queue, GATE_SPOOL_STATUS_FAILED, &error), ==, 1);
  g_assert_no_error (error);
  gone = gate_spool_lookup (spool, a);
  g_assert_null (gone);
  g_assert_cmpuint (gate_queue_get_n_waiting (queue), ==, 2);
  g_assert_cmpuint (gate_queue_get_n_held (queue), ==, 1);
  g_assert_cmpuint (gate_queue_delete_each (queue, GATE_SPOOL_STATUS_FAILED, &error), ==, 0);

  /* Retried by another program after this one listed it as failed: left
   * in the queue, the error says why. */
  fail_message (spool, b, "550 5.7.1 Sender domain not verified");
  {
    g_autoptr (GateSpool) other = gate_spool_open (dir, GATE_SPOOL_OPEN_NONE, &error);
    g_autoptr (GateSpoolEntry) retried = NULL;
    g_autoptr (GateSpoolEntry) kept = NULL;

    g_assert_no_error (error);
    retried = gate_spool_retry (other, b, &error);
    g_assert_no_error (error);
    g_assert_false (gate_spool_delete_in_state (spool, b, GATE_SPOOL_STATUS_FAILED, &error));
    g_assert_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "changed meanwhile (Waiting now)"));
    g_clear_error (&error);
    kept = gate_spool_lookup (other, b);
    g_assert_nonnull (kept);
    g_assert_cmpint (gate_spool_entry_get_status (kept), ==, GATE_SPOOL_STATUS_QUEUED);
  }

  /* Every state but the one being sent. */
  sending = gate_spool_claim (spool, b, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gate_queue_delete_each (queue, -1, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_cmpuint (gate_queue_get_n_sending (queue), ==, 1);
  g_assert_cmpuint (gate_queue_get_n_waiting (queue) + gate_queue_get_n_held (queue), ==, 0);
  for (const char *const *id = (const char *const[]){ c, d, NULL }; *id != NULL; id++)
    {
      g_autoptr (GateSpoolEntry) deleted = gate_spool_lookup (spool, *id);

      g_assert_null (deleted);
    }

  g_clear_object (&queue);
  g_clear_object (&spool);
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/queue/counts-and-actions", test_counts_and_actions);
  g_test_add_func ("/queue/each-in-a-state", test_each_in_a_state);
  return g_test_run ();
}
