/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The profile model, its validation and serialisation, and the provider
 * presets read from the engine's data. */
#include "config.h"

#include <glib.h>

#include "gate-profile.h"
#include "gate-provider-preset.h"
#include "gate-secret-store.h"

static void
test_presets_list (void)
{
  GListModel *presets = gate_provider_preset_list ();
  GateProviderPreset *smtp2go = gate_provider_preset_lookup (GATE_PRESET_SMTP2GO);
  GateProviderPreset *other = gate_provider_preset_lookup (GATE_PRESET_OTHER);

  g_assert_cmpuint (g_list_model_get_n_items (presets), >=, 2);
  g_assert_true (g_list_model_get_item_type (presets) == GATE_TYPE_PROVIDER_PRESET);
  g_assert_nonnull (smtp2go);
  g_assert_nonnull (other);
  g_assert_null (gate_provider_preset_lookup ("no-such-provider"));
  g_assert_null (gate_provider_preset_lookup (NULL));
  g_assert_cmpstr (gate_provider_preset_get_name (smtp2go), ==, "SMTP2GO");
  g_assert_true (gate_provider_preset_get_has_fixed_host (smtp2go));
  g_assert_false (gate_provider_preset_get_has_fixed_host (other));
  g_assert_true (gate_provider_preset_get_rewrite_sender (smtp2go));
  g_assert_false (gate_provider_preset_get_rewrite_sender (other));
  g_assert_true (gate_provider_preset_get_has_api (smtp2go));
}

static void
test_presets_smtp2go (void)
{
  GateProviderPreset *preset = gate_provider_preset_lookup (GATE_PRESET_SMTP2GO);
  static const struct
  {
    const char *region, *host, *api;
  } regions[] = {
    { "global", "mail.smtp2go.com", "https://api.smtp2go.com/v3/" },
    { "us", "mail-us.smtp2go.com", "https://us-api.smtp2go.com/v3/" },
    { "eu", "mail-eu.smtp2go.com", "https://eu-api.smtp2go.com/v3/" },
    { "au", "mail-au.smtp2go.com", "https://au-api.smtp2go.com/v3/" },
  };
  static const struct
  {
    guint16 port;
    GateSmtpSecurity security;
    gboolean plain_too;
  } ports[] = {
    { 25, GATE_SMTP_SECURITY_STARTTLS, TRUE },   { 2525, GATE_SMTP_SECURITY_STARTTLS, TRUE },
    { 8025, GATE_SMTP_SECURITY_STARTTLS, TRUE }, { 587, GATE_SMTP_SECURITY_STARTTLS, TRUE },
    { 80, GATE_SMTP_SECURITY_STARTTLS, TRUE },   { 465, GATE_SMTP_SECURITY_TLS, FALSE },
    { 8465, GATE_SMTP_SECURITY_TLS, FALSE },     { 443, GATE_SMTP_SECURITY_TLS, FALSE },
  };
  const GateProviderLimits *limits;
  const GatePortCandidate *candidates;
  guint n_candidates = 0;

  g_assert_cmpuint (g_list_model_get_n_items (gate_provider_preset_get_regions (preset)), ==, 4);
  for (guint i = 0; i < G_N_ELEMENTS (regions); i++)
    {
      GateProviderRegion *region = gate_provider_preset_get_region (preset, regions[i].region);

      g_assert_nonnull (region);
      g_assert_cmpstr (gate_provider_region_get_host (region), ==, regions[i].host);
      g_assert_cmpstr (gate_provider_region_get_api_base_url (region), ==, regions[i].api);
      g_assert_cmpstr (gate_provider_preset_get_host (preset, regions[i].region), ==, regions[i].host);
    }
  /* The default region is the worldwide one. */
  g_assert_cmpstr (gate_provider_preset_get_host (preset, NULL), ==, "mail.smtp2go.com");
  g_assert_null (gate_provider_preset_get_region (preset, "mars"));

  candidates = gate_provider_preset_get_candidate_ports (preset, &n_candidates);
  g_assert_cmpuint (n_candidates, ==, G_N_ELEMENTS (ports));
  /* The submission port comes first; 25, often blocked, late. */
  g_assert_cmpuint (candidates[0].port, ==, 587);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (candidates[i].port, !=, 25);
  for (guint i = 0; i < G_N_ELEMENTS (ports); i++)
    {
      const GatePortCandidate *candidate = gate_provider_preset_get_port (preset, ports[i].port);

      g_assert_nonnull (candidate);
      g_assert_cmpint (candidate->security, ==, ports[i].security);
      g_assert_cmpint (gate_provider_preset_get_port_security (preset, ports[i].port), ==, ports[i].security);
      g_assert_true (gate_provider_preset_port_allows (preset, ports[i].port, ports[i].security));
      g_assert_true (gate_provider_preset_port_allows (preset, ports[i].port, GATE_SMTP_SECURITY_NONE)
                     == ports[i].plain_too);
      if (ports[i].security == GATE_SMTP_SECURITY_TLS)
        g_assert_false (
            gate_provider_preset_port_allows (preset, ports[i].port, GATE_SMTP_SECURITY_STARTTLS));
    }
  g_assert_null (gate_provider_preset_get_port (preset, 26));
  g_assert_false (gate_provider_preset_port_allows (preset, 26, GATE_SMTP_SECURITY_STARTTLS));

  limits = gate_provider_preset_get_limits (preset);
  g_assert_cmpuint (limits->max_message_size, ==, 52428800);
  g_assert_cmpuint (limits->max_recipients, ==, 400);
  g_assert_cmpuint (limits->max_connections, ==, 40);
  g_assert_cmpuint (limits->messages_per_connection, ==, 2500);
  g_assert_cmpuint (limits->messages_per_hour, ==, 200000);
}

static void
test_presets_other (void)
{
  GateProviderPreset *preset = gate_provider_preset_lookup (GATE_PRESET_OTHER);
  const GatePortCandidate *candidates;
  guint n = 0;

  g_assert_cmpuint (g_list_model_get_n_items (gate_provider_preset_get_regions (preset)), ==, 0);
  g_assert_null (gate_provider_preset_get_host (preset, NULL));
  g_assert_null (gate_provider_preset_get_api_base_url (preset, NULL));
  candidates = gate_provider_preset_get_candidate_ports (preset, &n);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpuint (candidates[0].port, ==, 587);
  g_assert_cmpint (candidates[0].security, ==, GATE_SMTP_SECURITY_STARTTLS);
  g_assert_cmpuint (candidates[1].port, ==, 465);
  g_assert_cmpint (candidates[1].security, ==, GATE_SMTP_SECURITY_TLS);
  g_assert_nonnull (gate_provider_preset_get_port (preset, 25));
  g_assert_nonnull (gate_provider_preset_get_port (preset, 2525));
  g_assert_cmpuint (gate_provider_preset_get_limits (preset)->max_message_size, ==, 0);
  /* Ports no preset lists get the conventional mode. */
  g_assert_cmpint (gate_provider_preset_get_port_security (NULL, 465), ==, GATE_SMTP_SECURITY_TLS);
  g_assert_cmpint (gate_provider_preset_get_port_security (preset, 10025), ==, GATE_SMTP_SECURITY_STARTTLS);
}

static void
count_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  GPtrArray *names = user_data;

  g_ptr_array_add (names, g_strdup (pspec->name));
}

static gboolean
has_name (GPtrArray *names, const char *name)
{
  for (guint i = 0; i < names->len; i++)
    if (g_str_equal (g_ptr_array_index (names, i), name))
      return TRUE;
  return FALSE;
}

static void
test_profile_properties (void)
{
  g_autoptr (GateProfile) profile = gate_profile_new ("Office");
  g_autoptr (GateProfile) other = gate_profile_new ("Other");
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *host = NULL;
  guint port = 0;

  /* Ids are generated, stable and distinct. */
  g_assert_nonnull (gate_profile_get_id (profile));
  g_assert_true (g_uuid_string_is_valid (gate_profile_get_id (profile)));
  g_assert_cmpstr (gate_profile_get_id (profile), !=, gate_profile_get_id (other));
  g_assert_nonnull (gate_profile_get_created (profile));

  /* Defaults. */
  g_assert_cmpstr (gate_profile_get_host (profile), ==, "");
  g_assert_cmpuint (gate_profile_get_port (profile), ==, 587);
  g_assert_cmpint (gate_profile_get_security (profile), ==, GATE_SMTP_SECURITY_STARTTLS);
  g_assert_cmpint (gate_profile_get_auth_mechanism (profile), ==, GATE_SMTP_AUTH_AUTOMATIC);
  g_assert_false (gate_profile_get_allow_plain_auth (profile));
  g_assert_null (gate_profile_get_last_success (profile));

  g_signal_connect (profile, "notify", G_CALLBACK (count_notify), names);

  gate_profile_set_host (profile, "  smtp.example.com ");
  g_assert_cmpstr (gate_profile_get_host (profile), ==, "smtp.example.com");
  g_assert_true (has_name (names, "host"));
  g_ptr_array_set_size (names, 0);

  /* Setting the same value again notifies nothing. */
  gate_profile_set_host (profile, "smtp.example.com");
  g_assert_cmpuint (names->len, ==, 0);

  g_object_set (profile, "port", 2525u, "username", "alice", "security", (guint)GATE_SMTP_SECURITY_TLS, NULL);
  g_assert_true (has_name (names, "port"));
  g_assert_true (has_name (names, "username"));
  g_assert_true (has_name (names, "security"));
  g_object_get (profile, "host", &host, "port", &port, NULL);
  g_assert_cmpstr (host, ==, "smtp.example.com");
  g_assert_cmpuint (port, ==, 2525);

  g_ptr_array_set_size (names, 0);
  gate_profile_set_last_success (profile, now);
  gate_profile_set_has_api_key (profile, TRUE);
  gate_profile_set_pinned_fingerprint (profile, "ab:cd");
  gate_profile_set_ca_file (profile, "/tmp/ca.pem");
  gate_profile_set_sender_name (profile, "Alice");
  gate_profile_set_sender_address (profile, "alice@example.com");
  gate_profile_set_allow_plain_auth (profile, TRUE);
  gate_profile_set_auth_mechanism (profile, GATE_SMTP_AUTH_LOGIN);
  gate_profile_set_rewrite_sender (profile, TRUE);
  {
    const char *listen[] = { "0.0.0.0:2525", NULL };
    const char *listen_tls[] = { "0.0.0.0:4650", NULL };
    const char *ranges[] = { "192.168.1.0/24", NULL };

    gate_profile_set_relay_listen (profile, listen);
    gate_profile_set_relay_listen_tls (profile, listen_tls);
    gate_profile_set_relay_allow (profile, ranges);
  }
  gate_profile_set_relay_starttls (profile, TRUE);
  gate_profile_set_relay_device_user (profile, "scanner");
  gate_profile_set_relay_tls_cert (profile, "/etc/ssl/relay.pem");
  gate_profile_set_relay_tls_key (profile, "/etc/ssl/private/relay.key");
  gate_profile_set_relay_require_sign_in (profile, TRUE);
  gate_profile_set_relay_allow_plain_sign_in (profile, TRUE);
  gate_profile_set_relay_connections (profile, 12);
  gate_profile_set_relay_rate (profile, 0);
  gate_profile_set_has_relay_password (profile, TRUE);
  gate_profile_set_name (profile, "Office 2");
  {
    static const char *expected[] = {
      "last-success",
      "has-api-key",
      "pinned-fingerprint",
      "ca-file",
      "sender-name",
      "sender-address",
      "allow-plain-auth",
      "auth-mechanism",
      "rewrite-sender",
      "relay-listen",
      "relay-listen-tls",
      "relay-allow",
      "relay-starttls",
      "relay-device-user",
      "relay-tls-cert",
      "relay-tls-key",
      "relay-require-sign-in",
      "relay-allow-plain-sign-in",
      "has-relay-password",
      "relay-connections",
      "relay-rate",
      "name",
    };

    for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
      g_assert_true (has_name (names, expected[i]));
  }

  /* Clearing a string reads back as "", a list as an empty one; the same
   * list again is no change. */
  gate_profile_set_ca_file (profile, NULL);
  g_assert_cmpstr (gate_profile_get_ca_file (profile), ==, "");
  g_ptr_array_set_size (names, 0);
  {
    const char *same[] = { "192.168.1.0/24", NULL };

    gate_profile_set_relay_allow (profile, same);
    g_assert_cmpuint (names->len, ==, 0);
  }
  gate_profile_set_relay_allow (profile, NULL);
  g_assert_nonnull (gate_profile_get_relay_allow (profile));
  g_assert_null (gate_profile_get_relay_allow (profile)[0]);
  g_assert_true (has_name (names, "relay-allow"));

  g_signal_handlers_disconnect_by_func (profile, count_notify, names);
}

static void
test_profile_apply_preset (void)
{
  g_autoptr (GateProfile) profile = gate_profile_new ("SMTP2GO");

  gate_profile_apply_preset (profile, GATE_PRESET_SMTP2GO, "eu");
  g_assert_cmpstr (gate_profile_get_preset_id (profile), ==, "smtp2go");
  g_assert_cmpstr (gate_profile_get_region (profile), ==, "eu");
  g_assert_cmpstr (gate_profile_get_host (profile), ==, "mail-eu.smtp2go.com");
  g_assert_cmpuint (gate_profile_get_port (profile), ==, 587);
  g_assert_cmpint (gate_profile_get_security (profile), ==, GATE_SMTP_SECURITY_STARTTLS);
  g_assert_true (gate_profile_get_rewrite_sender (profile));
  g_assert_cmpstr (gate_profile_get_api_base_url (profile), ==, "https://eu-api.smtp2go.com/v3/");

  gate_profile_apply_preset (profile, GATE_PRESET_SMTP2GO, NULL);
  g_assert_cmpstr (gate_profile_get_region (profile), ==, "global");
  g_assert_cmpstr (gate_profile_get_host (profile), ==, "mail.smtp2go.com");

  /* "Other" has no server of its own: the host typed stays. */
  gate_profile_set_host (profile, "mail.example.org");
  gate_profile_apply_preset (profile, GATE_PRESET_OTHER, NULL);
  g_assert_cmpstr (gate_profile_get_host (profile), ==, "mail.example.org");
  g_assert_cmpstr (gate_profile_get_region (profile), ==, "");
  g_assert_false (gate_profile_get_rewrite_sender (profile));
  g_assert_null (gate_profile_get_api_base_url (profile));
}

static void
test_validation (void)
{
  static const char *good_hosts[] = {
    "mail.smtp2go.com",      "localhost",      "127.0.0.1",         "::1", "[::1]", "mail-eu.example.co.uk",
    "xn--bcher-kva.example", "bücher.example", "mail.example.com.",
  };
  static const char *bad_hosts[] = {
    "",
    "mail example.com",
    "smtp://mail.example.com",
    "user@example.com",
    "-bad.example.com",
    "bad-.example.com",
    "a..b",
    ".example.com",
    "1.2.3",
    "mail.exa$mple.com",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good_hosts); i++)
    {
      g_test_message ("good host %s", good_hosts[i]);
      g_assert_null (gate_profile_check_host (good_hosts[i]));
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad_hosts); i++)
    {
      g_test_message ("bad host %s", bad_hosts[i]);
      g_assert_nonnull (gate_profile_check_host (bad_hosts[i]));
    }
  g_assert_cmpstr (gate_profile_check_host (""), ==, "Enter a server name like mail.example.com");
  g_assert_nonnull (gate_profile_check_host (NULL));

  g_assert_null (gate_profile_check_port (587));
  g_assert_null (gate_profile_check_port (1));
  g_assert_null (gate_profile_check_port (65535));
  g_assert_nonnull (gate_profile_check_port (0));
  g_assert_nonnull (gate_profile_check_port (65536));
  g_assert_null (gate_profile_check_port_text ("2525"));
  g_assert_nonnull (gate_profile_check_port_text (""));
  g_assert_nonnull (gate_profile_check_port_text ("25x"));
  g_assert_nonnull (gate_profile_check_port_text ("-1"));
  g_assert_nonnull (gate_profile_check_port_text ("70000"));

  g_assert_null (gate_profile_check_address ("alice@example.com", TRUE));
  g_assert_null (gate_profile_check_address ("", FALSE));
  g_assert_nonnull (gate_profile_check_address ("", TRUE));
  g_assert_nonnull (gate_profile_check_address ("alice", FALSE));
  g_assert_nonnull (gate_profile_check_address ("alice @example.com", FALSE));
  g_assert_nonnull (gate_profile_check_address ("<alice@example.com>", FALSE));

  g_assert_null (gate_profile_check_name ("Office"));
  g_assert_nonnull (gate_profile_check_name ("   "));
  g_assert_nonnull (gate_profile_check_name ("two\nlines"));

  g_assert_null (gate_profile_check_fingerprint (""));
  g_assert_null (
      gate_profile_check_fingerprint ("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  g_assert_null (gate_profile_check_fingerprint (
      "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF"));
  g_assert_nonnull (gate_profile_check_fingerprint ("0123"));
  g_assert_nonnull (
      gate_profile_check_fingerprint ("zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));

  g_assert_null (gate_profile_check_ca_file (""));
  g_assert_nonnull (gate_profile_check_ca_file ("/nonexistent/ca.pem"));
}

static void
test_validate_profile (void)
{
  g_autoptr (GateProfile) profile = gate_profile_new ("Office");
  g_autoptr (GError) error = NULL;

  g_assert_false (gate_profile_validate (profile, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "Enter a server name like mail.example.com");
  g_clear_error (&error);

  gate_profile_set_host (profile, "mail.example.com");
  gate_profile_set_sender_address (profile, "not an address");
  g_assert_false (gate_profile_validate (profile, &error));
  g_clear_error (&error);

  gate_profile_set_sender_address (profile, "office@example.com");
  g_assert_true (gate_profile_validate (profile, &error));
  g_assert_no_error (error);
}

static void
test_key_file_round_trip (void)
{
  g_autoptr (GateProfile) profile = gate_profile_new ("Büro “main”");
  g_autoptr (GateProfile) copy = NULL;
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  g_autoptr (GDateTime) when = g_date_time_new_utc (2026, 3, 4, 5, 6, 7);
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;

  gate_profile_apply_preset (profile, GATE_PRESET_SMTP2GO, "au");
  gate_profile_set_port (profile, 8465);
  gate_profile_set_security (profile, GATE_SMTP_SECURITY_TLS);
  gate_profile_set_auth_mechanism (profile, GATE_SMTP_AUTH_PLAIN | GATE_SMTP_AUTH_LOGIN);
  gate_profile_set_username (profile, "user;with=odd chars");
  gate_profile_set_allow_plain_auth (profile, TRUE);
  gate_profile_set_sender_name (profile, "Office\tTeam");
  gate_profile_set_sender_address (profile, "office@example.com");
  gate_profile_set_pinned_fingerprint (profile, "AB:CD");
  gate_profile_set_ca_file (profile, "/etc/ssl/company.pem");
  gate_profile_set_has_password (profile, TRUE);
  gate_profile_set_has_api_key (profile, TRUE);
  gate_profile_set_last_success (profile, when);
  {
    const char *listen[] = { "0.0.0.0:2525", "[::]:2525", NULL };
    const char *listen_tls[] = { "[::]:4650", NULL };
    const char *ranges[] = { "192.168.1.0/24", "fd00::/8", NULL };

    gate_profile_set_relay_listen (profile, listen);
    gate_profile_set_relay_listen_tls (profile, listen_tls);
    gate_profile_set_relay_allow (profile, ranges);
  }
  gate_profile_set_relay_starttls (profile, TRUE);
  gate_profile_set_relay_device_user (profile, "scanner 2");
  gate_profile_set_relay_tls_cert (profile, "/home/ann/relay cert.pem");
  gate_profile_set_relay_tls_key (profile, "/home/ann/relay.key");
  gate_profile_set_relay_require_sign_in (profile, TRUE);
  gate_profile_set_has_relay_password (profile, TRUE);
  gate_profile_set_relay_connections (profile, 7);
  /* 0 (no limit) is not the default (-1): both survive a save. */
  gate_profile_set_relay_rate (profile, 0);

  gate_profile_save_to_key_file (profile, key_file, "Profile x", TRUE);
  data = g_key_file_to_data (key_file, NULL, NULL);
  g_test_message ("%s", data);

  copy = gate_profile_new_from_key_file (key_file, "Profile x", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gate_profile_get_id (copy), ==, gate_profile_get_id (profile));
  g_assert_cmpstr (gate_profile_get_name (copy), ==, "Büro “main”");
  g_assert_cmpstr (gate_profile_get_preset_id (copy), ==, "smtp2go");
  g_assert_cmpstr (gate_profile_get_region (copy), ==, "au");
  g_assert_cmpstr (gate_profile_get_host (copy), ==, "mail-au.smtp2go.com");
  g_assert_cmpuint (gate_profile_get_port (copy), ==, 8465);
  g_assert_cmpint (gate_profile_get_security (copy), ==, GATE_SMTP_SECURITY_TLS);
  g_assert_cmpint (gate_profile_get_auth_mechanism (copy), ==, GATE_SMTP_AUTH_PLAIN | GATE_SMTP_AUTH_LOGIN);
  g_assert_cmpstr (gate_profile_get_username (copy), ==, "user;with=odd chars");
  g_assert_true (gate_profile_get_allow_plain_auth (copy));
  g_assert_cmpstr (gate_profile_get_sender_name (copy), ==, "Office\tTeam");
  g_assert_cmpstr (gate_profile_get_sender_address (copy), ==, "office@example.com");
  g_assert_cmpstr (gate_profile_get_pinned_fingerprint (copy), ==, "AB:CD");
  g_assert_cmpstr (gate_profile_get_ca_file (copy), ==, "/etc/ssl/company.pem");
  g_assert_true (gate_profile_get_rewrite_sender (copy));
  g_assert_true (g_strv_equal (gate_profile_get_relay_listen (copy),
                               (const char *const[]){ "0.0.0.0:2525", "[::]:2525", NULL }));
  g_assert_true (g_strv_equal (gate_profile_get_relay_allow (copy),
                               (const char *const[]){ "192.168.1.0/24", "fd00::/8", NULL }));
  g_assert_true (
      g_strv_equal (gate_profile_get_relay_listen_tls (copy), (const char *const[]){ "[::]:4650", NULL }));
  g_assert_true (gate_profile_get_relay_starttls (copy));
  g_assert_cmpstr (gate_profile_get_relay_device_user (copy), ==, "scanner 2");
  g_assert_cmpstr (gate_profile_get_relay_tls_cert (copy), ==, "/home/ann/relay cert.pem");
  g_assert_cmpstr (gate_profile_get_relay_tls_key (copy), ==, "/home/ann/relay.key");
  g_assert_true (gate_profile_get_relay_require_sign_in (copy));
  g_assert_false (gate_profile_get_relay_allow_plain_sign_in (copy));
  g_assert_true (gate_profile_get_has_relay_password (copy));
  g_assert_cmpuint (gate_profile_get_relay_connections (copy), ==, 7);
  g_assert_cmpint (gate_profile_get_relay_rate (copy), ==, 0);
  g_assert_true (gate_profile_get_has_password (copy));
  g_assert_true (gate_profile_get_has_api_key (copy));
  g_assert_true (g_date_time_equal (gate_profile_get_last_success (copy), when));
  g_assert_cmpint (g_date_time_compare (gate_profile_get_created (copy), gate_profile_get_created (profile)),
                   ==, 0);

  /* Without the secret flags (exports). */
  gate_profile_save_to_key_file (profile, key_file, "Profile y", FALSE);
  g_assert_false (g_key_file_has_key (key_file, "Profile y", "has-password", NULL));
  g_assert_false (g_key_file_has_key (key_file, "Profile y", "has-api-key", NULL));
  g_assert_false (g_key_file_has_key (key_file, "Profile y", "has-relay-password", NULL));
  g_assert_true (g_key_file_has_key (key_file, "Profile y", "relay-device-user", NULL));

  /* A group without a name is not a profile. */
  g_key_file_set_string (key_file, "Profile z", "host", "x.example.com");
  g_assert_null (gate_profile_new_from_key_file (key_file, "Profile z", NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* Unknown keys survive a save into the same group. */
  g_key_file_set_string (key_file, "Profile x", "future-key", "kept");
  gate_profile_set_ca_file (profile, NULL);
  gate_profile_set_relay_listen (profile, NULL);
  gate_profile_set_relay_listen_tls (profile, NULL);
  gate_profile_set_relay_rate (profile, -1);
  gate_profile_save_to_key_file (profile, key_file, "Profile x", TRUE);
  g_assert_false (g_key_file_has_key (key_file, "Profile x", "relay-rate", NULL));
  {
    g_autoptr (GateProfile) fresh = gate_profile_new ("Default");

    g_assert_cmpint (gate_profile_get_relay_rate (fresh), ==, -1);
  }
  g_assert_true (g_key_file_has_key (key_file, "Profile x", "future-key", NULL));
  g_assert_false (g_key_file_has_key (key_file, "Profile x", "ca-file", NULL));
  g_assert_false (g_key_file_has_key (key_file, "Profile x", "relay-listen", NULL));
  g_assert_false (g_key_file_has_key (key_file, "Profile x", "relay-listen-tls", NULL));
  g_assert_true (g_key_file_has_key (key_file, "Profile x", "relay-allow", NULL));
}

static void
test_duplicate (void)
{
  g_autoptr (GateProfile) profile = gate_profile_new ("A");
  g_autoptr (GateProfile) copy = NULL;

  gate_profile_set_host (profile, "mail.example.com");
  gate_profile_set_has_password (profile, TRUE);
  gate_profile_set_relay_allow (profile, (const char *const[]){ "10.0.0.0/8", NULL });
  gate_profile_set_has_relay_password (profile, TRUE);
  gate_profile_set_relay_tls_cert (profile, "/etc/ssl/relay.pem");
  copy = gate_profile_duplicate (profile, "B");
  g_assert_cmpstr (gate_profile_get_name (copy), ==, "B");
  g_assert_cmpstr (gate_profile_get_host (copy), ==, "mail.example.com");
  g_assert_cmpstr (gate_profile_get_relay_allow (copy)[0], ==, "10.0.0.0/8");
  g_assert_cmpstr (gate_profile_get_relay_tls_cert (copy), ==, "/etc/ssl/relay.pem");
  g_assert_cmpstr (gate_profile_get_id (copy), !=, gate_profile_get_id (profile));
  /* The copy's keyring entries do not exist yet. */
  g_assert_false (gate_profile_get_has_password (copy));
  g_assert_false (gate_profile_get_has_relay_password (copy));
  g_assert_cmpuint (gate_profile_get_secret_kinds (copy), ==, 0);
  g_assert_cmpuint (gate_profile_get_secret_kinds (profile), ==,
                    GATE_SECRET_KIND_FLAG (GATE_SECRET_PASSWORD)
                        | GATE_SECRET_KIND_FLAG (GATE_SECRET_RELAY_PASSWORD));
  /* Once copied (gate_secret_store_copy_all_sync()), the copy says so. */
  gate_profile_set_secret_kinds (copy, GATE_SECRET_KIND_FLAG (GATE_SECRET_API_KEY));
  g_assert_true (gate_profile_get_has_api_key (copy));
  g_assert_false (gate_profile_get_has_password (copy));
  g_assert_false (gate_profile_get_has_relay_password (copy));
}

static void
test_create_client (void)
{
  g_autoptr (GateProfile) profile = gate_profile_new ("A");
  g_autoptr (GateSmtpClient) client = NULL;
  g_autofree char *ca_file = NULL;
  gboolean allow_plain = FALSE;
  guint mechanisms = 0;

  gate_profile_set_host (profile, "mail.example.com");
  gate_profile_set_port (profile, 465);
  gate_profile_set_security (profile, GATE_SMTP_SECURITY_TLS);
  gate_profile_set_username (profile, "alice");
  gate_profile_set_allow_plain_auth (profile, TRUE);
  gate_profile_set_auth_mechanism (profile, GATE_SMTP_AUTH_LOGIN);
  gate_profile_set_ca_file (profile, "/etc/ssl/ca.pem");

  client = gate_profile_create_client (profile, "secret");
  g_assert_cmpstr (gate_smtp_client_get_host (client), ==, "mail.example.com");
  g_assert_cmpuint (gate_smtp_client_get_port (client), ==, 465);
  g_assert_cmpint (gate_smtp_client_get_security (client), ==, GATE_SMTP_SECURITY_TLS);

  /* The rest through the client's documented properties, when it has them. */
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (client), "ca-file"))
    {
      g_object_get (client, "ca-file", &ca_file, NULL);
      g_assert_cmpstr (ca_file, ==, "/etc/ssl/ca.pem");
    }
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (client), "allow-plain-auth"))
    {
      g_object_get (client, "allow-plain-auth", &allow_plain, NULL);
      g_assert_true (allow_plain);
    }
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (client), "auth-mechanisms"))
    {
      GValue value = G_VALUE_INIT;

      g_value_init (&value, G_PARAM_SPEC_VALUE_TYPE (g_object_class_find_property (
                                G_OBJECT_GET_CLASS (client), "auth-mechanisms")));
      g_object_get_property (G_OBJECT (client), "auth-mechanisms", &value);
      if (G_VALUE_HOLDS_FLAGS (&value))
        mechanisms = g_value_get_flags (&value);
      else if (G_VALUE_HOLDS_UINT (&value))
        mechanisms = g_value_get_uint (&value);
      else if (G_VALUE_HOLDS_INT (&value))
        mechanisms = (guint)g_value_get_int (&value);
      g_value_unset (&value);
      g_assert_cmpuint (mechanisms, ==, GATE_SMTP_AUTH_LOGIN);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/presets/list", test_presets_list);
  g_test_add_func ("/presets/smtp2go", test_presets_smtp2go);
  g_test_add_func ("/presets/other", test_presets_other);
  g_test_add_func ("/profile/properties", test_profile_properties);
  g_test_add_func ("/profile/apply-preset", test_profile_apply_preset);
  g_test_add_func ("/profile/validation", test_validation);
  g_test_add_func ("/profile/validate", test_validate_profile);
  g_test_add_func ("/profile/key-file", test_key_file_round_trip);
  g_test_add_func ("/profile/duplicate", test_duplicate);
  g_test_add_func ("/profile/create-client", test_create_client);

  return g_test_run ();
}
