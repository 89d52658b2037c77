/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-widgets"

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>

#include "gate-stage-indicator.h"
#include "gate-transcript-view.h"

/* Runs the main loop until nothing is pending, so that layout happens. */
static void
settle (void)
{
  for (int i = 0; i < 40; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (5000);
    }
}

typedef struct
{
  GtkWindow *window;
  GateTranscriptView *view;
  GtkAdjustment *vadjustment;
} Fixture;

static GtkAdjustment *
find_vadjustment (GtkWidget *widget)
{
  if (GTK_IS_SCROLLED_WINDOW (widget))
    return gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (widget));
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkAdjustment *adjustment = find_vadjustment (child);

      if (adjustment != NULL)
        return adjustment;
    }
  return NULL;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (f->window, 500, 300);
  f->view = GATE_TRANSCRIPT_VIEW (gate_transcript_view_new ());
  gtk_window_set_child (f->window, GTK_WIDGET (f->view));
  gtk_window_present (f->window);
  f->vadjustment = find_vadjustment (GTK_WIDGET (f->view));
  g_assert_nonnull (f->vadjustment);
  settle ();
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  gtk_window_destroy (f->window);
  settle ();
}

static void
append (Fixture *f, GateTranscriptDirection direction, gboolean in_tls, gboolean hidden, const char *text)
{
  g_autoptr(GateTranscriptEvent) event = gate_transcript_event_new (direction, in_tls, hidden, text);

  gate_transcript_view_append (f->view, event);
}

static gboolean
at_bottom (Fixture *f)
{
  double value = gtk_adjustment_get_value (f->vadjustment);
  double upper = gtk_adjustment_get_upper (f->vadjustment);
  double page = gtk_adjustment_get_page_size (f->vadjustment);

  return value + page >= upper - 4.0;
}

static void
test_transcript_text (Fixture *f, gconstpointer data)
{
  g_autofree char *text = NULL;

  append (f, GATE_TRANSCRIPT_SERVER, FALSE, FALSE, "220 mail.example.test ESMTP");
  append (f, GATE_TRANSCRIPT_CLIENT, FALSE, FALSE, "STARTTLS");
  append (f, GATE_TRANSCRIPT_CLIENT, TRUE, TRUE, "AUTH PLAIN ********");
  append (f, GATE_TRANSCRIPT_SERVER, TRUE, FALSE, "235 2.7.0 OK");
  append (f, GATE_TRANSCRIPT_INFO, TRUE, FALSE, "TLS 1.3");
  append (f, GATE_TRANSCRIPT_ERROR, FALSE, FALSE, "failed");

  g_assert_cmpuint (gate_transcript_view_get_n_lines (f->view), ==, 6);
  text = gate_transcript_view_dup_text (f->view);
  g_assert_cmpstr (text, ==,
                   "<- 220 mail.example.test ESMTP\n"
                   "-> STARTTLS\n"
                   "~> AUTH PLAIN ********\n"
                   "<~ 235 2.7.0 OK\n"
                   "=== TLS 1.3\n"
                   "*** failed\n");

  /* With times, every line starts with "HH:MM:SS.mmm "; without, as before. */
  gate_transcript_view_set_show_time (f->view, TRUE);
  g_assert_cmpuint (gate_transcript_view_get_n_lines (f->view), ==, 6);
  g_free (text);
  text = gate_transcript_view_dup_text (f->view);
  {
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

    g_assert_cmpuint (g_strv_length (lines), ==, 7);
    for (guint i = 0; i < 6; i++)
      g_assert_true (g_regex_match_simple ("^[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} (<-|->|~>|<~|===|\\*\\*\\*) ",
                                           lines[i], 0, 0));
    g_assert_true (g_str_has_suffix (lines[2], "~> AUTH PLAIN ********"));
  }
  gate_transcript_view_set_show_time (f->view, FALSE);
  g_free (text);
  text = gate_transcript_view_dup_text (f->view);
  g_assert_true (g_str_has_prefix (text, "<- 220 mail.example.test ESMTP\n"));

  gate_transcript_view_clear (f->view);
  g_assert_cmpuint (gate_transcript_view_get_n_lines (f->view), ==, 0);
  g_free (text);
  text = gate_transcript_view_dup_text (f->view);
  g_assert_cmpstr (text, ==, "");
}

static void
test_transcript_follows (Fixture *f, gconstpointer data)
{
  double held;

  for (int i = 0; i < 200; i++)
    {
      g_autofree char *line = g_strdup_printf ("250-LINE %d", i);

      append (f, GATE_TRANSCRIPT_SERVER, FALSE, FALSE, line);
    }
  settle ();
  g_assert_cmpfloat (gtk_adjustment_get_upper (f->vadjustment), >, gtk_adjustment_get_page_size (f->vadjustment));
  g_assert_true (at_bottom (f));

  /* The user scrolls up to read: new lines must not pull the view down. */
  gtk_adjustment_set_value (f->vadjustment, 0);
  settle ();
  held = gtk_adjustment_get_value (f->vadjustment);
  for (int i = 0; i < 50; i++)
    append (f, GATE_TRANSCRIPT_SERVER, FALSE, FALSE, "250 more");
  settle ();
  g_assert_cmpfloat (gtk_adjustment_get_value (f->vadjustment), ==, held);
  g_assert_false (at_bottom (f));

  /* Back at the end, it follows again. */
  gtk_adjustment_set_value (f->vadjustment,
                            gtk_adjustment_get_upper (f->vadjustment) - gtk_adjustment_get_page_size (f->vadjustment));
  settle ();
  for (int i = 0; i < 50; i++)
    append (f, GATE_TRANSCRIPT_SERVER, FALSE, FALSE, "250 again");
  settle ();
  g_assert_true (at_bottom (f));
}

static void
test_stage_mapping (void)
{
  g_assert_cmpint (gate_step_from_stage (GATE_SMTP_STAGE_NONE), ==, GATE_STEP_NONE);
  g_assert_cmpint (gate_step_from_stage (GATE_SMTP_STAGE_CONNECT), ==, GATE_STEP_CONNECTING);
  g_assert_cmpint (gate_step_from_stage (GATE_SMTP_STAGE_GREETING), ==, GATE_STEP_CONNECTING);
  g_assert_cmpint (gate_step_from_stage (GATE_SMTP_STAGE_HELLO), ==, GATE_STEP_CONNECTING);
  g_assert_cmpint (gate_step_from_stage (GATE_SMTP_STAGE_TLS), ==, GATE_STEP_SECURING);
  g_assert_cmpint (gate_step_from_stage (GATE_SMTP_STAGE_AUTH), ==, GATE_STEP_SIGNING_IN);
  g_assert_cmpint (gate_step_from_stage (GATE_SMTP_STAGE_MAIL), ==, GATE_STEP_SENDING);
  g_assert_cmpint (gate_step_from_stage (GATE_SMTP_STAGE_RCPT), ==, GATE_STEP_SENDING);
  g_assert_cmpint (gate_step_from_stage (GATE_SMTP_STAGE_DATA), ==, GATE_STEP_SENDING);
  g_assert_cmpint (gate_step_from_stage (GATE_SMTP_STAGE_QUIT), ==, GATE_STEP_SENDING);
  g_assert_cmpint (gate_step_from_stage (GATE_SMTP_STAGE_DONE), ==, GATE_STEP_DONE);
}

static void
test_stage_indicator (void)
{
  GateStageIndicator *indicator = GATE_STAGE_INDICATOR (g_object_ref_sink (gate_stage_indicator_new ()));

  g_assert_cmpint (gate_stage_indicator_get_step (indicator), ==, GATE_STEP_NONE);
  gate_stage_indicator_set_step (indicator, GATE_STEP_SIGNING_IN);
  g_assert_cmpint (gate_stage_indicator_get_step (indicator), ==, GATE_STEP_SIGNING_IN);
  /* Within one send the steps only move forward. */
  gate_stage_indicator_set_step (indicator, GATE_STEP_CONNECTING);
  g_assert_cmpint (gate_stage_indicator_get_step (indicator), ==, GATE_STEP_SIGNING_IN);
  /* A failure "after Done" is a failure while sending. */
  gate_stage_indicator_set_failed (indicator, GATE_STEP_DONE);
  g_assert_cmpint (gate_stage_indicator_get_step (indicator), ==, GATE_STEP_SENDING);
  gate_stage_indicator_reset (indicator);
  g_assert_cmpint (gate_stage_indicator_get_step (indicator), ==, GATE_STEP_NONE);
  gate_stage_indicator_set_skipped (indicator, GATE_STEP_SECURING);
  gate_stage_indicator_set_step (indicator, GATE_STEP_DONE);
  g_assert_cmpint (gate_stage_indicator_get_step (indicator), ==, GATE_STEP_DONE);
  g_object_unref (indicator);
}

static GtkWidget *
find_button (GtkWidget *widget, const char *icon_name)
{
  if (GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_button_get_icon_name (GTK_BUTTON (widget)), icon_name) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_button (child, icon_name);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static GtkWidget *
find_file_chooser (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWidget) window = g_list_model_get_item (toplevels, i);

      if (GTK_IS_FILE_CHOOSER (window) && gtk_widget_get_visible (window))
        return window;
    }
  return NULL;
}

static void
clipboard_text_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  char **text = user_data;
  g_autoptr(GError) error = NULL;

  *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*text);
}

/* The Copy and Save buttons: off while there is nothing, then the text as
 * shown (secrets already hidden) on the display's clipboard, and in a file
 * only its owner may read, chosen in the file chooser. */
static void
test_transcript_copy_save (Fixture *f, gconstpointer data)
{
  GtkWidget *copy = find_button (GTK_WIDGET (f->view), "edit-copy-symbolic");
  GtkWidget *save = find_button (GTK_WIDGET (f->view), "document-save-symbolic");
  g_autofree char *expected = NULL;
  g_autofree char *copied = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *saved = NULL;
  g_autofree char *name = NULL;
  g_autoptr(GFile) folder = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *chooser;
  GStatBuf st;

  g_assert_nonnull (copy);
  g_assert_nonnull (save);
  g_assert_false (gtk_widget_get_sensitive (copy));
  g_assert_false (gtk_widget_get_sensitive (save));

  append (f, GATE_TRANSCRIPT_SERVER, FALSE, FALSE, "220 mail.example.test ESMTP");
  append (f, GATE_TRANSCRIPT_CLIENT, TRUE, TRUE, "AUTH PLAIN ********");
  append (f, GATE_TRANSCRIPT_SERVER, TRUE, FALSE, "235 2.7.0 OK");
  settle ();
  g_assert_true (gtk_widget_get_sensitive (copy));
  g_assert_true (gtk_widget_get_sensitive (save));
  expected = gate_transcript_view_dup_text (f->view);

  g_signal_emit_by_name (copy, "clicked");
  gdk_clipboard_read_text_async (gdk_display_get_clipboard (gdk_display_get_default ()), NULL, clipboard_text_cb,
                                 &copied);
  while (copied == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (copied, ==, expected);

  dir = g_dir_make_tmp ("transcript-XXXXXX", &error);
  g_assert_no_error (error);
  g_signal_emit_by_name (save, "clicked");
  settle ();
  chooser = find_file_chooser ();
  g_assert_nonnull (chooser);
  /* The name offered as it is; the folder chosen, and looked at by the
   * chooser before it is told to save. */
  folder = g_file_new_for_path (dir);
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  g_assert_true (gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 200; i++)
    {
      g_autoptr(GFile) current = gtk_file_chooser_get_current_folder (GTK_FILE_CHOOSER (chooser));

      if (current != NULL && g_file_equal (current, folder))
        break;
      settle ();
    }
  name = gtk_file_chooser_get_current_name (GTK_FILE_CHOOSER (chooser));
  g_assert_true (g_regex_match_simple ("^postgate-transcript-[0-9]{8}-[0-9]{6}\\.txt$", name, 0, 0));
  path = g_build_filename (dir, name, NULL);
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
  G_GNUC_END_IGNORE_DEPRECATIONS
  /* The chooser looks at the folder before it answers. */
  for (int i = 0; i < 200 && find_file_chooser () != NULL; i++)
    {
      settle ();
    }
  settle ();
  g_assert_true (g_file_get_contents (path, &saved, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (saved, ==, expected);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0077, ==, 0);
  g_assert_null (find_file_chooser ());

  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/stage/mapping", test_stage_mapping);
  g_test_add_func ("/stage/indicator", test_stage_indicator);
  g_test_add ("/transcript/text", Fixture, NULL, fixture_set_up, test_transcript_text, fixture_tear_down);
  g_test_add ("/transcript/follows", Fixture, NULL, fixture_set_up, test_transcript_follows, fixture_tear_down);
  g_test_add ("/transcript/copy-save", Fixture, NULL, fixture_set_up, test_transcript_copy_save, fixture_tear_down);

  return g_test_run ();
}
