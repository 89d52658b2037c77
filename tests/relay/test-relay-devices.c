/* SPDX-License-Identifier: GPL-3.0-or-later */
/* How GateRelay gives devices STARTTLS and sign-in: from a profile (its
 * certificate files or the one Postgate makes, the devices' password from a
 * real keyring, run through with-keyring.sh) or from what the caller sets,
 * with an error that names the profile when its setting cannot be used. */
#define G_LOG_DOMAIN "test-relay-devices"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "gate-local-certificate.h"
#include "gate-relay.h"
#include "gate-secret-store.h"

#define DEVICE_PASSWORD "scanner-pässword-42"

static char *data_home;

typedef struct
{
  GateProfile *profile;
  char *spool;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("relay-devices-XXXXXX", &error);

  g_assert_no_error (error);
  fixture->spool = g_build_filename (dir, "spool", NULL);
  fixture->profile = gate_profile_new ("Scanner room");
  /* Nothing is sent: the outgoing server is never reached. */
  gate_profile_set_host (fixture->profile, "127.0.0.1");
  gate_profile_set_port (fixture->profile, 9);
  gate_profile_set_relay_starttls (fixture->profile, TRUE);
  gate_profile_set_relay_device_user (fixture->profile, "scanner");
  gate_profile_set_relay_require_sign_in (fixture->profile, TRUE);
  gate_profile_set_has_relay_password (fixture->profile, TRUE);
  g_assert_true (gate_secret_store_store_sync (gate_profile_get_id (fixture->profile),
                                               GATE_SECRET_RELAY_PASSWORD, "Scanner room", DEVICE_PASSWORD,
                                               NULL, &error));
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer user_data)
{
  g_assert_true (gate_secret_store_delete_all_sync (gate_profile_get_id (fixture->profile), NULL, NULL));
  g_clear_object (&fixture->profile);
  g_free (fixture->spool);
}

static GateRelay *
new_relay (Fixture *fixture)
{
  GateRelay *relay = gate_relay_new ();

  gate_relay_set_profile (relay, fixture->profile, NULL);
  gate_relay_set_spool_path (relay, fixture->spool);
  gate_relay_add_listen (relay, "127.0.0.1:0");
  return relay;
}

static void
result_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static gboolean
start (GateRelay *relay, GCancellable *cancellable, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  gate_relay_start_async (relay, cancellable, result_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return gate_relay_start_finish (relay, result, error);
}

static void
stop (GateRelay *relay)
{
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;

  gate_relay_stop_async (relay, NULL, result_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (gate_relay_stop_finish (relay, result, &error));
  g_assert_no_error (error);
  g_assert_false (gate_relay_is_running (relay));
  g_assert_null (gate_relay_get_tls_fingerprint (relay));
}

/* The log signal passes its line as a string owned by the emission: keep a
 * copy of each. */
static GPtrArray *
new_log (void)
{
  return g_ptr_array_new_with_free_func (g_free);
}

static void
copy_line_cb (GateRelay *relay, const char *line, GPtrArray *log)
{
  g_ptr_array_add (log, g_strdup (line));
}

static gboolean
log_has (GPtrArray *log, const char *words)
{
  for (guint i = 0; i < log->len; i++)
    if (strstr (g_ptr_array_index (log, i), words) != NULL)
      return TRUE;
  return FALSE;
}

static char *
file_fingerprint (const char *cert_file, const char *key_file)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTlsCertificate) certificate = NULL;
  char *fingerprint = NULL;

  certificate = gate_local_certificate_load_files (cert_file, key_file, &fingerprint, &error);
  g_assert_no_error (error);
  g_assert_nonnull (certificate);
  return fingerprint;
}

/* The profile's own settings: STARTTLS with a certificate Postgate makes the
 * first time (kept for the next start), the devices' password from the
 * keyring, sign-in required; all of it said in the log. */
static void
test_from_profile (Fixture *fixture, gconstpointer user_data)
{
  g_autofree char *cert_file = g_build_filename (data_home, "postgate", "relay-cert.pem", NULL);
  g_autofree char *key_file = g_build_filename (data_home, "postgate", "relay-key.pem", NULL);
  g_autofree char *made_fingerprint = NULL;
  g_autoptr (GError) error = NULL;

  for (guint run = 0; run < 2; run++)
    {
      g_autoptr (GPtrArray) log = new_log ();
      g_autoptr (GateRelay) relay = new_relay (fixture);
      GateRelayServer *server;

      g_signal_connect (relay, "log", G_CALLBACK (copy_line_cb), log);
      g_assert_true (start (relay, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (gate_relay_is_running (relay));

      /* Made at the first start only. */
      g_assert_true (g_file_test (cert_file, G_FILE_TEST_IS_REGULAR));
      g_assert_cmpint (log_has (log, "Made the relay's certificate for secure connections: "), ==, run == 0);
      if (made_fingerprint == NULL)
        made_fingerprint = file_fingerprint (cert_file, key_file);
      g_assert_cmpstr (gate_relay_get_tls_fingerprint (relay), ==, made_fingerprint);
      g_assert_true (log_has (log, made_fingerprint));

      server = gate_relay_get_server (relay);
      g_assert_nonnull (gate_relay_server_get_tls_certificate (server));
      g_assert_true (gate_relay_server_get_auth_enabled (server));
      g_assert_false (gate_relay_server_get_auth_without_tls (server));
      g_assert_true (gate_relay_server_check_credentials (server, "scanner", DEVICE_PASSWORD));
      g_assert_false (gate_relay_server_check_credentials (server, "scanner", "guess"));
      g_assert_true (log_has (log, "Devices must sign in as “scanner” to send mail"));
      for (guint i = 0; i < log->len; i++)
        g_assert_null (strstr (g_ptr_array_index (log, i), DEVICE_PASSWORD));
      stop (relay);
    }
}

/* The profile's own certificate files; moved away, the relay does not start
 * and the error names the profile. */
static void
test_profile_certificate_files (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GateLocalCertificate) local = NULL;
  g_autoptr (GTlsCertificate) made = NULL;
  g_autofree char *parent = g_path_get_dirname (fixture->spool);
  g_autofree char *folder = g_build_filename (parent, "own", NULL);
  g_autofree char *fingerprint = NULL;
  g_autofree char *moved = NULL;

  local = gate_local_certificate_new (folder);
  gate_local_certificate_add_name (local, "scanner-room.example");
  made = gate_local_certificate_load (local, NULL, &error);
  g_assert_no_error (error);
  fingerprint = g_strdup (gate_local_certificate_get_fingerprint (local));
  gate_profile_set_relay_tls_cert (fixture->profile, gate_local_certificate_get_certificate_path (local));
  gate_profile_set_relay_tls_key (fixture->profile, gate_local_certificate_get_key_path (local));
  gate_profile_set_relay_starttls (fixture->profile, TRUE);
  {
    g_autoptr (GateRelay) relay = new_relay (fixture);

    g_assert_true (start (relay, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (gate_relay_get_tls_fingerprint (relay), ==, fingerprint);
    g_assert_true (gate_relay_server_get_starttls_offered (gate_relay_get_server (relay)));
    stop (relay);
  }
  /* STARTTLS off as saved: the files serve the TLS addresses alone. */
  gate_profile_set_relay_starttls (fixture->profile, FALSE);
  {
    const char *tls_listen[] = { "127.0.0.1:0", NULL };
    g_autoptr (GateRelay) relay = NULL;

    gate_profile_set_relay_listen_tls (fixture->profile, tls_listen);
    relay = new_relay (fixture);
    g_assert_true (start (relay, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (gate_relay_get_tls_fingerprint (relay), ==, fingerprint);
    g_assert_false (gate_relay_server_get_starttls_offered (gate_relay_get_server (relay)));
    stop (relay);
    gate_profile_set_relay_listen_tls (fixture->profile, NULL);
  }
  gate_profile_set_relay_starttls (fixture->profile, TRUE);

  moved = g_strconcat (gate_local_certificate_get_key_path (local), ".moved", NULL);
  g_assert_cmpint (g_rename (gate_local_certificate_get_key_path (local), moved), ==, 0);
  {
    g_autoptr (GateRelay) relay = new_relay (fixture);

    g_assert_false (start (relay, NULL, &error));
    g_assert_nonnull (error);
    g_assert_true (g_str_has_prefix (error->message,
                                     "The profile “Scanner room” has a relay setting that cannot be used: "));
    g_assert_false (gate_relay_is_running (relay));
    g_assert_null (gate_relay_get_server (relay));
  }
}

/* The devices' password gone from the keyring, or never saved: the relay
 * does not start, says which, and leaves the queue folder free. */
static void
test_password_missing (Fixture *fixture, gconstpointer user_data)
{
  const char *id = gate_profile_get_id (fixture->profile);
  g_autoptr (GError) error = NULL;
  g_autoptr (GateRelay) relay = new_relay (fixture);

  g_assert_true (gate_secret_store_delete_sync (id, GATE_SECRET_RELAY_PASSWORD, NULL, &error));
  g_assert_false (start (relay, NULL, &error));
  g_assert_error (error, GATE_RELAY_ERROR, GATE_RELAY_ERROR_DEVICE_PASSWORD_MISSING);
  g_assert_cmpstr (error->message, ==,
                   "The devices’ password of the profile “Scanner room” is no longer in the keyring.");
  g_assert_false (gate_relay_is_running (relay));
  g_clear_error (&error);

  gate_profile_set_has_relay_password (fixture->profile, FALSE);
  g_assert_false (start (relay, NULL, &error));
  g_assert_error (error, GATE_RELAY_ERROR, GATE_RELAY_ERROR_DEVICE_PASSWORD_MISSING);
  g_assert_cmpstr (error->message, ==,
                   "The profile “Scanner room” lets devices sign in, but their password is not saved.");
  g_clear_error (&error);

  /* Saved again: the same relay object starts. */
  g_assert_true (
      gate_secret_store_store_sync (id, GATE_SECRET_RELAY_PASSWORD, NULL, DEVICE_PASSWORD, NULL, &error));
  g_assert_true (start (relay, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (
      gate_relay_server_check_credentials (gate_relay_get_server (relay), "scanner", DEVICE_PASSWORD));
  stop (relay);
}

/* A profiles file edited by hand: a device user with neither STARTTLS nor
 * sign-in in plain would never be offered a way to sign in. */
static void
test_profile_sign_in_never_offered (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GateRelay) relay = new_relay (fixture);

  gate_profile_set_relay_starttls (fixture->profile, FALSE);
  g_assert_false (start (relay, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==,
                   "The profile “Scanner room” has a relay setting that cannot be used: Devices can sign in "
                   "only over a secured connection (STARTTLS or TLS), and both are turned off.");
  g_clear_error (&error);

  /* An address secured from the start is a way in: the certificate is
   * made for it, and STARTTLS stays off on the plain address. */
  {
    const char *const listen_tls[] = { "127.0.0.1:0", NULL };

    gate_profile_set_relay_listen_tls (fixture->profile, listen_tls);
    g_assert_true (start (relay, NULL, &error));
    g_assert_no_error (error);
    g_assert_nonnull (gate_relay_get_tls_fingerprint (relay));
    g_assert_nonnull (gate_relay_server_get_tls_certificate (gate_relay_get_server (relay)));
    g_assert_false (gate_relay_server_get_starttls_offered (gate_relay_get_server (relay)));
    g_assert_true (gate_relay_server_get_auth_enabled (gate_relay_get_server (relay)));
    stop (relay);
    gate_profile_set_relay_listen_tls (fixture->profile, NULL);
  }

  /* Allowed in plain, it is offered without TLS. */
  gate_profile_set_relay_allow_plain_sign_in (fixture->profile, TRUE);
  g_assert_true (start (relay, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (gate_relay_get_tls_fingerprint (relay));
  g_assert_true (gate_relay_server_get_auth_without_tls (gate_relay_get_server (relay)));
  stop (relay);
}

/* What the caller sets replaces all of the profile's device settings; its
 * mistakes are refused without naming the profile. */
static void
test_caller_settings (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GateRelay) relay = new_relay (fixture);
  GateRelayServer *server;

  gate_relay_set_device_tls (relay, FALSE, NULL, NULL);
  g_assert_true (start (relay, NULL, &error));
  g_assert_no_error (error);
  server = gate_relay_get_server (relay);
  g_assert_null (gate_relay_get_tls_fingerprint (relay));
  g_assert_null (gate_relay_server_get_tls_certificate (server));
  g_assert_false (gate_relay_server_get_auth_enabled (server));
  stop (relay);

  gate_relay_set_device_credentials (relay, "printer", "ink", FALSE, TRUE);
  g_assert_false (start (relay, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==,
                   "Devices can sign in only over a secured connection (STARTTLS or TLS), and both are "
                   "turned off.");
  g_clear_error (&error);

  gate_relay_set_device_tls (relay, TRUE, NULL, NULL);
  g_assert_true (start (relay, NULL, &error));
  g_assert_no_error (error);
  server = gate_relay_get_server (relay);
  g_assert_nonnull (gate_relay_get_tls_fingerprint (relay));
  g_assert_true (gate_relay_server_check_credentials (server, "printer", "ink"));
  g_assert_false (gate_relay_server_check_credentials (server, "scanner", DEVICE_PASSWORD));
  stop (relay);
}

/* Cancelled while reading the keyring: nothing runs, and it can start later. */
static void
test_cancelled (Fixture *fixture, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GateRelay) relay = new_relay (fixture);

  g_cancellable_cancel (cancellable);
  g_assert_false (start (relay, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (gate_relay_is_running (relay));
  g_clear_error (&error);
  g_assert_true (start (relay, NULL, &error));
  g_assert_no_error (error);
  stop (relay);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int status;

  /* Before GLib reads it: the certificate Postgate makes goes here. */
  data_home = g_dir_make_tmp ("relay-devices-data-XXXXXX", &error);
  g_assert_no_error (error);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);

  g_test_init (&argc, &argv, NULL);
#define ADD(path, test) g_test_add (path, Fixture, NULL, fixture_set_up, test, fixture_tear_down)
  ADD ("/relay-devices/from-profile", test_from_profile);
  ADD ("/relay-devices/profile-certificate-files", test_profile_certificate_files);
  ADD ("/relay-devices/password-missing", test_password_missing);
  ADD ("/relay-devices/profile-sign-in-never-offered", test_profile_sign_in_never_offered);
  ADD ("/relay-devices/caller-settings", test_caller_settings);
  ADD ("/relay-devices/cancelled", test_cancelled);
#undef ADD
  status = g_test_run ();
  g_free (data_home);
  return status;
}
