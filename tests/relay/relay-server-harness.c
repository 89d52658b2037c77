/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Runs the relay's SMTP server and spool only (no forwarding) for the tests:
 * prints "PORT <n>" on stdout once listening, stops on SIGTERM/SIGINT or after
 * --time-limit seconds.  On SIGUSR1 it prints the spool's entries ("ENTRY id
 * status") followed by "END", so a test can see what the running relay knows
 * (changes made by another process included).  With --deliver, each message
 * stored is taken as delivered at once, as by an upstream that takes
 * everything, so that the spool reuses the files of delivered messages. */
#define G_LOG_DOMAIN "relay-harness"

#include "config.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "gate-local-certificate.h"
#include "gate-relay-server.h"
#include "gate-spool.h"

static GMainLoop *loop;
static GateSpool *spool;
static gboolean deliver;

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static gboolean
time_limit_cb (gpointer user_data)
{
  g_printerr ("relay-server-harness: time limit reached\n");
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static gboolean
dump_cb (gpointer user_data)
{
  g_autoptr (GPtrArray) entries = gate_spool_list (spool);

  for (guint i = 0; i < entries->len; i++)
    printf ("ENTRY %s %s\n", gate_spool_entry_get_id (entries->pdata[i]),
            gate_spool_status_to_string (gate_spool_entry_get_status (entries->pdata[i])));
  printf ("END\n");
  fflush (stdout);
  return G_SOURCE_CONTINUE;
}

static gboolean
deliver_cb (gpointer data)
{
  const char *id = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GateSpoolEntry) claimed = gate_spool_claim (spool, id, &error);

  if (claimed == NULL || !gate_spool_remove_delivered (spool, id, &error))
    g_printerr ("relay-server-harness: could not deliver %s: %s\n", id, error->message);
  return G_SOURCE_REMOVE;
}

static void
changed_cb (GateSpool *s, const char *id, GateSpoolEntry *entry, gpointer user_data)
{
  printf ("CHANGED %s %s\n", id,
          entry ? gate_spool_status_to_string (gate_spool_entry_get_status (entry)) : "removed");
  fflush (stdout);
  /* Not from within the signal: the spool is in the middle of a change. */
  if (deliver && entry != NULL && gate_spool_entry_get_status (entry) == GATE_SPOOL_STATUS_QUEUED)
    g_idle_add_full (G_PRIORITY_DEFAULT, deliver_cb, g_strdup (id), g_free);
}

static void
log_cb (GateRelayServer *server, const char *line, gpointer user_data)
{
  printf ("LOG %s\n", line);
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  g_autofree char *spool_dir = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *rewrite = NULL;
  g_autofree char *cert_file = NULL;
  g_autofree char *key_file = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *local_cert = NULL;
  g_auto (GStrv) allow = NULL;
  gint64 max_size = 0;
  int max_connections = 0;
  int idle_timeout = 300;
  int time_limit = 60;
  gboolean auth_plain = FALSE;
  gboolean auth_required = FALSE;
  g_autofree char *listen_tls = NULL;
  gboolean no_starttls = FALSE;
  g_autoptr (GError) error = NULL;
  g_autoptr (GateRelayServer) server = NULL;
  g_autoptr (GOptionContext) context = NULL;
  GOptionEntry entries[]
      = { { "spool", 0, 0, G_OPTION_ARG_FILENAME, &spool_dir, "Spool folder", "DIR" },
          { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Address to listen on (port 0 = any)",
            "ADDR:PORT" },
          { "listen-tls", 0, 0, G_OPTION_ARG_STRING, &listen_tls,
            "Also listen here with TLS from the first byte (needs a certificate)", "ADDR:PORT" },
          { "no-starttls", 0, 0, G_OPTION_ARG_NONE, &no_starttls,
            "Keep the certificate for --listen-tls only", NULL },
          { "allow", 0, 0, G_OPTION_ARG_STRING_ARRAY, &allow, "Allowed range", "CIDR" },
          { "max-size", 0, 0, G_OPTION_ARG_INT64, &max_size, "Size limit", "BYTES" },
          { "max-connections", 0, 0, G_OPTION_ARG_INT, &max_connections, "Connection cap", "N" },
          { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &idle_timeout, "Idle timeout", "SECONDS" },
          { "rewrite", 0, 0, G_OPTION_ARG_STRING, &rewrite, "Verified sender for sender rewrite", "ADDRESS" },
          { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &cert_file, "Certificate (PEM)", "FILE" },
          { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &key_file, "Private key (PEM)", "FILE" },
          { "local-cert", 0, 0, G_OPTION_ARG_FILENAME, &local_cert,
            "Make or load the relay's own certificate here", "DIR" },
          { "auth", 0, 0, G_OPTION_ARG_STRING, &auth, "Local credentials", "USER:PASSWORD" },
          { "auth-plain", 0, 0, G_OPTION_ARG_NONE, &auth_plain, "Allow AUTH without TLS", NULL },
          { "auth-required", 0, 0, G_OPTION_ARG_NONE, &auth_required, "Require AUTH", NULL },
          { "time-limit", 0, 0, G_OPTION_ARG_INT, &time_limit, "Exit after this many seconds", "SECONDS" },
          { "deliver", 0, 0, G_OPTION_ARG_NONE, &deliver, "Take each message stored as delivered", NULL },
          { NULL } };

  /* A file size limit (the full-disk test) must give EFBIG, not kill us. */
  signal (SIGXFSZ, SIG_IGN);
  signal (SIGPIPE, SIG_IGN);

  context = g_option_context_new (NULL);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || spool_dir == NULL)
    {
      g_printerr ("relay-server-harness: %s\n", error ? error->message : "--spool is required");
      return 2;
    }

  loop = g_main_loop_new (NULL, FALSE);
  spool = gate_spool_open (spool_dir, GATE_SPOOL_OPEN_OWNER | GATE_SPOOL_OPEN_WATCH, &error);
  if (spool == NULL)
    {
      g_printerr ("relay-server-harness: %s\n", error->message);
      return 1;
    }
  g_signal_connect (spool, "changed", G_CALLBACK (changed_cb), NULL);

  server = gate_relay_server_new (spool);
  g_signal_connect (server, "log", G_CALLBACK (log_cb), NULL);
  for (guint i = 0; allow && allow[i]; i++)
    if (!gate_relay_server_add_allowed (server, allow[i], &error))
      {
        g_printerr ("relay-server-harness: %s\n", error->message);
        return 2;
      }
  if (max_size > 0)
    gate_relay_server_set_max_size (server, (guint64)max_size);
  if (max_connections > 0)
    gate_relay_server_set_max_connections (server, (guint)max_connections);
  gate_relay_server_set_timeouts (server, (guint)idle_timeout, 3600);
  gate_relay_server_set_hostname (server, "relay.test");
  gate_relay_server_set_sender_rewrite (server, rewrite);
  if (cert_file)
    {
      g_autoptr (GTlsCertificate) cert
          = g_tls_certificate_new_from_files (cert_file, key_file ? key_file : cert_file, &error);
      if (cert == NULL)
        {
          g_printerr ("relay-server-harness: %s\n", error->message);
          return 2;
        }
      gate_relay_server_set_tls_certificate (server, cert);
    }
  if (local_cert)
    {
      g_autoptr (GateLocalCertificate) local = gate_local_certificate_new (local_cert);
      g_autoptr (GTlsCertificate) cert = gate_local_certificate_load (local, NULL, &error);
      if (cert == NULL)
        {
          g_printerr ("relay-server-harness: %s\n", error->message);
          return 2;
        }
      gate_relay_server_set_tls_certificate (server, cert);
      printf ("FINGERPRINT %s %s\n", gate_local_certificate_get_fingerprint (local),
              gate_local_certificate_get_created (local) ? "created" : "loaded");
    }
  if (auth)
    {
      g_auto (GStrv) parts = g_strsplit (auth, ":", 2);
      gate_relay_server_set_credentials (server, parts[0], parts[1] ? parts[1] : "", auth_plain,
                                         auth_required);
    }
  gate_relay_server_set_starttls (server, !no_starttls);
  if (!gate_relay_server_listen_string (server, listen ? listen : "127.0.0.1:0", FALSE, &error)
      || (listen_tls != NULL && !gate_relay_server_listen_string (server, listen_tls, TRUE, &error)))
    {
      g_printerr ("relay-server-harness: %s\n", error->message);
      return 1;
    }
  /* Handlers before the port is known: a test may signal right after. */
  g_unix_signal_add (SIGTERM, quit_cb, NULL);
  g_unix_signal_add (SIGINT, quit_cb, NULL);
  g_unix_signal_add (SIGUSR1, dump_cb, NULL);
  printf ("PORT %u\n", gate_relay_server_get_port (server));
  fflush (stdout);
  g_timeout_add_seconds ((guint)time_limit, time_limit_cb, NULL);
  g_main_loop_run (loop);

  gate_relay_server_stop (server);
  g_clear_object (&server);
  g_clear_object (&spool);
  g_main_loop_unref (loop);
  return 0;
}
