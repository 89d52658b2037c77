/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "gate-forwarder.h"

#include <glib/gstdio.h>

/* The retry schedule: a minute, doubling, never more than an hour. */
static void
test_retry_schedule (void)
{
  g_assert_cmpuint (gate_forwarder_compute_retry_delay (60, 3600, 1), ==, 60);
  g_assert_cmpuint (gate_forwarder_compute_retry_delay (60, 3600, 2), ==, 120);
  g_assert_cmpuint (gate_forwarder_compute_retry_delay (60, 3600, 3), ==, 240);
  g_assert_cmpuint (gate_forwarder_compute_retry_delay (60, 3600, 6), ==, 1920);
  g_assert_cmpuint (gate_forwarder_compute_retry_delay (60, 3600, 7), ==, 3600);
  g_assert_cmpuint (gate_forwarder_compute_retry_delay (60, 3600, 1000), ==, 3600);
  /* Attempt 0 (never tried) waits the base delay too. */
  g_assert_cmpuint (gate_forwarder_compute_retry_delay (60, 3600, 0), ==, 60);
  /* Short settings for tests behave the same way. */
  g_assert_cmpuint (gate_forwarder_compute_retry_delay (1, 4, 1), ==, 1);
  g_assert_cmpuint (gate_forwarder_compute_retry_delay (1, 4, 3), ==, 4);
  g_assert_cmpuint (gate_forwarder_compute_retry_delay (1, 4, 4), ==, 4);
  /* A maximum below the base wins. */
  g_assert_cmpuint (gate_forwarder_compute_retry_delay (60, 30, 1), ==, 30);
  /* No overflow for absurd counts or values. */
  g_assert_cmpuint (gate_forwarder_compute_retry_delay (G_MAXUINT / 2, G_MAXUINT, 40), ==, G_MAXUINT);
}

/* Properties keep their documented limits. */
static void
test_limits (void)
{
  g_autofree char *dir = g_dir_make_tmp ("postgate-forward-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpool) spool = gate_spool_open (dir, GATE_SPOOL_OPEN_NONE, &error);
  g_autoptr (GateForwarder) forwarder = NULL;
  guint value = 0;

  g_assert_no_error (error);
  forwarder = gate_forwarder_new (spool);
  g_assert_cmpuint (gate_forwarder_get_max_connections (forwarder), ==, 4);
  gate_forwarder_set_max_connections (forwarder, 100);
  g_assert_cmpuint (gate_forwarder_get_max_connections (forwarder), ==, GATE_FORWARDER_MAX_CONNECTIONS);
  gate_forwarder_set_max_connections (forwarder, 0);
  g_assert_cmpuint (gate_forwarder_get_max_connections (forwarder), ==, 1);
  g_object_get (forwarder, "messages-per-connection", &value, NULL);
  g_assert_cmpuint (value, ==, 2500);
  g_object_get (forwarder, "rate-per-hour", &value, NULL);
  g_assert_cmpuint (value, ==, 200000);
  g_object_get (forwarder, "max-age", &value, NULL);
  g_assert_cmpuint (value, ==, 5 * 86400);
  g_assert_cmpuint (gate_forwarder_get_queue_length (forwarder), ==, 0);
  g_assert_false (gate_forwarder_get_upstream_connected (forwarder));

  g_clear_object (&forwarder);
  g_clear_object (&spool);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/forwarder/retry-schedule", test_retry_schedule);
  g_test_add_func ("/forwarder/limits", test_limits);
  return g_test_run ();
}
