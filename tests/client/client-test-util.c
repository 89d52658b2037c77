/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "client-test"

#include "config.h"

#include "client-test-util.h"

#include <glib/gstdio.h>
#include <signal.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "gate-smtp-auth.h"

static const char *
tests_dir (void)
{
  const char *dir = g_getenv ("POSTGATE_TESTS_DIR");

  if (dir == NULL)
    dir = SOURCE_DIR "/tests";
  return dir;
}

static const char *
python_path (void)
{
  /* Debian's own Python has aiosmtpd; another python3 on PATH may not. */
  if (g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE))
    return "/usr/bin/python3";
  return "python3";
}

/* In the child, before exec: a test that aborts must not leave its servers
 * running (and holding the test runner's pipes) until their time limit. */
static void
die_with_parent (gpointer data)
{
#ifdef __linux__
  prctl (PR_SET_PDEATHSIG, SIGKILL);
#endif
}

TestServer *
test_server_start (const char *script, const char *const *args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree char *line = NULL;
  TestServer *server = g_new0 (TestServer, 1);
  const char *port_text;

  server->dir = g_dir_make_tmp ("postgate-server-XXXXXX", &error);
  g_assert_no_error (error);
  server->log = g_build_filename (server->dir, "server.log", NULL);
  server->maildir = g_build_filename (server->dir, "mail", NULL);
  g_assert_cmpint (g_mkdir (server->maildir, 0700), ==, 0);
  /* The log exists even before the first connection. */
  g_assert_true (g_file_set_contents (server->log, "", 0, NULL));

  g_ptr_array_add (argv, g_strdup (python_path ()));
  g_ptr_array_add (argv, g_build_filename (tests_dir (), "servers", script, NULL));
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, g_strdup ("--log"));
  g_ptr_array_add (argv, g_strdup (server->log));
  g_ptr_array_add (argv, g_strdup ("--max-lifetime"));
  g_ptr_array_add (argv, g_strdup ("120"));
  if (g_str_equal (script, "smtp-test-server.py"))
    {
      g_ptr_array_add (argv, g_strdup ("--maildir"));
      g_ptr_array_add (argv, g_strdup (server->maildir));
    }
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  server->process = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (server->process));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  if (line == NULL)
    g_error ("%s did not start", script);

  port_text = strstr (line, "\"port\":");
  g_assert_nonnull (port_text);
  server->port = (guint16)g_ascii_strtoull (port_text + strlen ("\"port\":"), NULL, 10);
  g_assert_cmpuint (server->port, >, 0);
  return server;
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR))
            remove_tree (child);
          else
            g_unlink (child);
        }
    }
  g_rmdir (path);
}

void
test_server_stop (TestServer *server)
{
  if (server == NULL)
    return;

  if (server->process != NULL)
    {
      g_subprocess_force_exit (server->process);
      g_subprocess_wait (server->process, NULL, NULL);
      g_clear_object (&server->process);
    }
  if (server->dir != NULL)
    remove_tree (server->dir);
  g_free (server->dir);
  g_free (server->log);
  g_free (server->maildir);
  g_free (server);
}

char *
test_server_read_log (TestServer *server)
{
  char *contents = NULL;

  g_assert_true (g_file_get_contents (server->log, &contents, NULL, NULL));
  return contents;
}

GBytes *
test_server_read_message (TestServer *server, guint n)
{
  g_autofree char *name = g_strdup_printf ("%u.eml", n);
  g_autofree char *path = g_build_filename (server->maildir, name, NULL);
  char *contents = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, NULL))
    return NULL;
  return g_bytes_new_take (contents, len);
}

static char *certs_dir;

static void
remove_certs (void)
{
  if (certs_dir != NULL)
    remove_tree (certs_dir);
  g_clear_pointer (&certs_dir, g_free);
}

const char *
test_certs_dir (void)
{
  if (certs_dir == NULL)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *script = g_build_filename (tests_dir (), "servers", "make-certs.sh", NULL);
      g_autoptr (GSubprocess) process = NULL;

      certs_dir = g_dir_make_tmp ("postgate-certs-XXXXXX", &error);
      g_assert_no_error (error);
      process = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, "/bin/sh", script, certs_dir, NULL);
      g_assert_no_error (error);
      g_subprocess_wait_check (process, NULL, &error);
      g_assert_no_error (error);
      atexit (remove_certs);
    }
  return certs_dir;
}

char *
test_cert_path (const char *name_with_extension)
{
  return g_build_filename (test_certs_dir (), name_with_extension, NULL);
}

static void
on_transcript (GateSmtpClient *client, GateTranscriptEvent *event, gpointer data)
{
  GString *text = data;
  g_autofree char *line = gate_transcript_event_format (event);

  g_assert_true (g_utf8_validate (line, -1, NULL));
  g_assert_null (strchr (line, '\n'));
  g_string_append (text, line);
  g_string_append_c (text, '\n');
  if (g_test_verbose ())
    g_printerr ("%s\n", line);
}

static void assert_no_secrets_in (const char *text);

/* Every client a test makes has its transcript checked for secrets when it
 * goes away, whatever the test asserted itself. */
static void
free_transcript (gpointer data)
{
  GString *text = data;

  assert_no_secrets_in (text->str);
  g_string_free (text, TRUE);
}

GateSmtpClient *
test_client_new (const char *host, guint16 port, GateSmtpSecurity security)
{
  GateSmtpClient *client = gate_smtp_client_new (host, port, security);
  GString *text = g_string_new (NULL);

  g_object_set_data_full (G_OBJECT (client), "test-transcript", text, free_transcript);
  g_signal_connect (client, "transcript", G_CALLBACK (on_transcript), text);
  gate_smtp_client_set_timeouts (client, TEST_CONNECT_TIMEOUT, TEST_COMMAND_TIMEOUT, TEST_DATA_TIMEOUT);
  return client;
}

const char *
test_transcript_text (GateSmtpClient *client)
{
  GString *text = g_object_get_data (G_OBJECT (client), "test-transcript");

  g_assert_nonnull (text);
  return text->str;
}

static void
assert_absent (const char *haystack, const char *needle)
{
  if (needle != NULL && *needle != '\0' && strstr (haystack, needle) != NULL)
    g_error ("A secret shows in the transcript (%zu bytes of it)", strlen (needle));
}

void
test_assert_no_secrets (GateSmtpClient *client)
{
  assert_no_secrets_in (test_transcript_text (client));
}

static void
assert_no_secrets_in (const char *text)
{
  g_autofree char *b64_password = g_base64_encode ((const guchar *)TEST_PASSWORD, strlen (TEST_PASSWORD));
  g_autofree char *b64_token = g_base64_encode ((const guchar *)TEST_TOKEN, strlen (TEST_TOKEN));
  g_autofree char *plain = gate_smtp_auth_plain_response (NULL, TEST_USER, TEST_PASSWORD);
  g_autofree char *plain_wrong = gate_smtp_auth_plain_response (NULL, TEST_USER, "wrong-" TEST_PASSWORD);
  g_autofree char *login = gate_smtp_auth_login_response (TEST_PASSWORD);
  g_autofree char *xoauth2 = gate_smtp_auth_xoauth2_response (TEST_USER, TEST_TOKEN);

  assert_absent (text, TEST_PASSWORD);
  assert_absent (text, TEST_TOKEN);
  assert_absent (text, b64_password);
  assert_absent (text, b64_token);
  assert_absent (text, plain);
  assert_absent (text, plain_wrong);
  assert_absent (text, login);
  assert_absent (text, xoauth2);
  /* Base64 of a longer payload holds the password's bytes at some offset:
   * the three shifted encodings of its middle must not show either. */
  for (guint shift = 0; shift < 3; shift++)
    {
      g_autofree char *padded = g_strdup_printf ("%.*s%s", shift, "xx", TEST_PASSWORD);
      g_autofree char *enc = g_base64_encode ((const guchar *)padded, strlen (padded));
      g_autofree char *middle = g_strndup (enc + 4, strlen (enc) > 12 ? strlen (enc) - 8 : 0);

      assert_absent (text, middle);
    }
}

typedef struct
{
  GMainLoop *loop;
  GAsyncResult *result;
} Waiter;

static void
on_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Waiter *waiter = data;

  waiter->result = g_object_ref (result);
  g_main_loop_quit (waiter->loop);
}

static GAsyncResult *
wait_for (Waiter *waiter)
{
  g_main_loop_run (waiter->loop);
  g_main_loop_unref (waiter->loop);
  return waiter->result;
}

gboolean
test_run_connect (GateSmtpClient *client, GCancellable *cancellable, GError **error)
{
  Waiter waiter = { g_main_loop_new (NULL, FALSE), NULL };
  g_autoptr (GAsyncResult) result = NULL;

  gate_smtp_client_connect_async (client, cancellable, on_done, &waiter);
  result = wait_for (&waiter);
  return gate_smtp_client_connect_finish (client, result, error);
}

GateSmtpSendResult *
test_run_send (GateSmtpClient *client, GateSmtpEnvelope *envelope, GInputStream *message,
               GCancellable *cancellable, GError **error)
{
  Waiter waiter = { g_main_loop_new (NULL, FALSE), NULL };
  g_autoptr (GAsyncResult) result = NULL;

  gate_smtp_client_send_async (client, envelope, message, cancellable, on_done, &waiter);
  result = wait_for (&waiter);
  return gate_smtp_client_send_finish (client, result, error);
}

gboolean
test_run_quit (GateSmtpClient *client, GError **error)
{
  Waiter waiter = { g_main_loop_new (NULL, FALSE), NULL };
  g_autoptr (GAsyncResult) result = NULL;

  gate_smtp_client_quit_async (client, NULL, on_done, &waiter);
  result = wait_for (&waiter);
  return gate_smtp_client_quit_finish (client, result, error);
}

GInputStream *
test_message_stream (const char *text)
{
  return g_memory_input_stream_new_from_data (g_strdup (text), -1, g_free);
}

GateSmtpEnvelope *
test_envelope_new (const char *sender, ...)
{
  GateSmtpEnvelope *envelope = gate_smtp_envelope_new (sender);
  const char *recipient;
  va_list args;

  va_start (args, sender);
  while ((recipient = va_arg (args, const char *)) != NULL)
    gate_smtp_envelope_add_recipient (envelope, recipient);
  va_end (args);
  return envelope;
}
