/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-widgets"

#include "config.h"

#include <adwaita.h>

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

int
main (int argc, char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/stage/mapping", test_stage_mapping);
  g_test_add_func ("/stage/indicator", test_stage_indicator);
  g_test_add ("/transcript/text", Fixture, NULL, fixture_set_up, test_transcript_text, fixture_tear_down);
  g_test_add ("/transcript/follows", Fixture, NULL, fixture_set_up, test_transcript_follows, fixture_tear_down);

  return g_test_run ();
}
