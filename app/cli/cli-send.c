/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-cli"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <string.h>

#ifdef G_OS_UNIX
#include <glib-unix.h>
#include <signal.h>
#endif

#include "cli-commands.h"
#include "cli-connection-options.h"
#include "cli-profile-loader.h"
#include "gate-message-builder.h"
#include "gate-smtp-client.h"

/* Exit status per stage; documented in --help and the README. */
enum {
  GATE_CLI_SEND_OK = 0,
  GATE_CLI_SEND_USAGE = 1,
  GATE_CLI_SEND_CONNECTION = 2,
  GATE_CLI_SEND_SECURITY = 3,
  GATE_CLI_SEND_SIGN_IN = 4,
  GATE_CLI_SEND_SENDER = 5,
  GATE_CLI_SEND_RECIPIENTS = 6,
  GATE_CLI_SEND_MESSAGE = 7,
  GATE_CLI_SEND_SERVER = 8,
  GATE_CLI_SEND_CANCELLED = 9,
};

typedef struct {
  GMainLoop *loop;
  GCancellable *cancellable;
  GateCliConnectionOptions *connection;
  GateSmtpClient *client;
  gboolean quiet;
  int timeout;

  char **to;
  char *subject;
  char *body;
  char *html;
  char **attach;
  char *message_file;

  char *token;
  GateSmtpEnvelope *envelope;
  GInputStream *message;
  GateSmtpSendResult *result;
  GError *error;
  gboolean cancelled_by_user;
} SendRun;

static void
send_run_clear (SendRun *run)
{
  if (run->client != NULL)
    gate_smtp_client_close (run->client);
  g_clear_object (&run->client);
  g_clear_pointer (&run->loop, g_main_loop_unref);
  g_clear_object (&run->cancellable);
  g_clear_pointer (&run->connection, gate_cli_connection_options_free);
  g_strfreev (run->to);
  g_free (run->subject);
  g_free (run->body);
  g_free (run->html);
  g_strfreev (run->attach);
  g_free (run->message_file);
  g_free (run->token);
  g_clear_pointer (&run->envelope, gate_smtp_envelope_unref);
  g_clear_object (&run->message);
  g_clear_pointer (&run->result, gate_smtp_send_result_unref);
  g_clear_error (&run->error);
}

/* ---- output ---- */

static void
on_transcript (GateSmtpClient *client, GateTranscriptEvent *event, gpointer user_data)
{
  SendRun *run = user_data;
  g_autofree char *line = NULL;

  if (run->quiet)
    return;
  line = gate_transcript_event_format (event);
  fprintf (stdout, "%s\n", line);
  /* Live: a slow server shows where it waits. */
  fflush (stdout);
}

static void
print_reply (FILE *out, const char *label, GateSmtpReply *reply)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  if (reply == NULL)
    return;
  text = gate_smtp_reply_to_string (reply);
  lines = g_strsplit (text, "\n", -1);
  fprintf (out, "%s %s\n", label, lines[0]);
  for (guint i = 1; lines[i] != NULL; i++)
    fprintf (out, "%*s %s\n", (int) g_utf8_strlen (label, -1), "", lines[i]);
}

static void
print_success (SendRun *run)
{
  guint n = gate_smtp_send_result_get_n_recipients (run->result);
  guint n_refused = n - gate_smtp_send_result_get_n_accepted (run->result);

  if (!run->quiet)
    fputc ('\n', stdout);
  fprintf (stdout, "%s\n", _("Sent: the server accepted the message for delivery."));
  print_reply (stdout, _("Server reply:"), gate_smtp_send_result_get_final_reply (run->result));

  if (n_refused > 0)
    {
      fprintf (stdout, "%s\n", _("These recipients were refused and will not get the message:"));
      for (guint i = 0; i < n; i++)
        {
          GateSmtpReply *reply;
          g_autofree char *reply_text = NULL;

          if (gate_smtp_send_result_recipient_accepted (run->result, i))
            continue;
          reply = gate_smtp_send_result_get_recipient_reply (run->result, i);
          reply_text = reply != NULL ? gate_smtp_reply_to_string (reply) : g_strdup ("");
          fprintf (stdout, "  %s  (%s)\n", gate_smtp_send_result_get_recipient (run->result, i), reply_text);
        }
    }

  if (run->token != NULL)
    /* TRANSLATORS: %s is a short code such as PG-7F3K9Q. */
    fprintf (stdout, _("To find it, search the recipient’s mailbox for %s (it is in the subject).\n"),
             run->token);
  fflush (stdout);
}

static void
print_failure (SendRun *run)
{
  const GError *error = run->error;

  fflush (stdout);
  if (!run->quiet)
    fputc ('\n', stderr);
  fprintf (stderr, _("Not sent: %s\n"), error->message);
  if (error->domain == GATE_SMTP_ERROR)
    {
      const char *next_step = gate_smtp_error_get_next_step (error);
      const char *fingerprint = gate_smtp_error_get_certificate_fingerprint (error);
      guint16 port = gate_smtp_error_get_suggested_port (error);

      if (next_step != NULL && *next_step != '\0')
        fprintf (stderr, _("What to do: %s\n"), next_step);
      if (fingerprint != NULL)
        fprintf (stderr, _("Server certificate fingerprint (SHA-256): %s\n"), fingerprint);
      if (port != 0)
        fprintf (stderr, _("Port worth trying: %u (postgate-cli probe %s shows which ports work)\n"), port,
                 run->connection->server);
      print_reply (stderr, _("Server reply:"), gate_smtp_error_get_reply (error));
    }
  fflush (stderr);
}

/* ---- the conversation ---- */

static void
finish (SendRun *run, GError *error /* owned, nullable */)
{
  if (error != NULL && run->error == NULL)
    run->error = error;
  else
    g_clear_error (&error);
  g_main_loop_quit (run->loop);
}

static void
quit_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  SendRun *run = user_data;
  g_autoptr (GError) error = NULL;

  /* The message is already taken or refused: a failing QUIT changes
   * nothing for the user, the transcript shows it. */
  gate_smtp_client_quit_finish (GATE_SMTP_CLIENT (source), res, &error);
  finish (run, NULL);
}

static void
quit_politely (SendRun *run)
{
  if (run->error != NULL && g_error_matches (run->error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_CANCELLED))
    {
      finish (run, NULL);
      return;
    }
  if (gate_smtp_client_is_connected (run->client))
    /* With the run's cancellable: after Ctrl-C nothing more is said. */
    gate_smtp_client_quit_async (run->client, run->cancellable, quit_cb, run);
  else
    finish (run, NULL);
}

static void
send_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  SendRun *run = user_data;
  GError *error = NULL;

  run->result = gate_smtp_client_send_finish (GATE_SMTP_CLIENT (source), res, &error);
  run->error = error;
  quit_politely (run);
}

static void
connect_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  SendRun *run = user_data;
  GError *error = NULL;

  if (!gate_smtp_client_connect_finish (GATE_SMTP_CLIENT (source), res, &error))
    {
      run->error = error;
      quit_politely (run);
      return;
    }

  gate_smtp_client_set_quit_after_send (run->client, TRUE);
  gate_smtp_client_send_async (run->client, run->envelope, run->message, run->cancellable, send_cb, run);
}

static void
start_connect (SendRun *run)
{
  run->client = gate_cli_connection_options_create_client (run->connection);
  /* One limit for every wait on the server; the end of a large message may
   * take the server longer to check, so DATA keeps at least its default. */
  if (run->timeout > 0)
    gate_smtp_client_set_timeouts (run->client, run->timeout, run->timeout, MAX (run->timeout, 600));
  g_signal_connect (run->client, "transcript", G_CALLBACK (on_transcript), run);
  gate_smtp_client_connect_async (run->client, run->cancellable, connect_cb, run);
}

static void
build_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  SendRun *run = user_data;
  GError *error = NULL;
  gint64 size = -1;

  run->message = gate_message_builder_build_finish (GATE_MESSAGE_BUILDER (source), res, &size, &error);
  if (run->message == NULL)
    {
      finish (run, error);
      return;
    }
  gate_smtp_envelope_set_size (run->envelope, size);
  start_connect (run);
}

#ifdef G_OS_UNIX
static gboolean
on_interrupt (gpointer user_data)
{
  SendRun *run = user_data;

  /* The transcript so far is already printed; the engine stops where it
   * is and reports the cancellation. */
  run->cancelled_by_user = TRUE;
  g_cancellable_cancel (run->cancellable);
  return G_SOURCE_CONTINUE;
}
#endif

/* ---- the message ---- */

static gboolean
address_list_needs_smtputf8 (SendRun *run)
{
  if (gate_smtp_address_needs_smtputf8 (run->connection->from))
    return TRUE;
  for (guint i = 0; run->to[i] != NULL; i++)
    if (gate_smtp_address_needs_smtputf8 (run->to[i]))
      return TRUE;
  return FALSE;
}

/* A ready message is sent as it is; its bytes decide whether the server must
 * accept 8-bit data.  Read once, in constant memory. */
static gboolean
open_message_file (SendRun *run, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_commandline_arg (run->message_file);
  g_autoptr (GFileInfo) info = NULL;
  g_autoptr (GFileInputStream) scan = NULL;
  g_autoptr (GFileInputStream) stream = NULL;
  g_autofree guchar *buffer = g_malloc (65536);
  gboolean eight_bit = FALSE;
  gssize n;

  info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE, G_FILE_QUERY_INFO_NONE, NULL, error);
  if (info == NULL)
    return FALSE;

  scan = g_file_read (file, NULL, error);
  if (scan == NULL)
    return FALSE;
  while (!eight_bit && (n = g_input_stream_read (G_INPUT_STREAM (scan), buffer, 65536, NULL, error)) > 0)
    for (gssize i = 0; i < n; i++)
      if (buffer[i] >= 0x80)
        {
          eight_bit = TRUE;
          break;
        }
  if (n < 0)
    return FALSE;

  stream = g_file_read (file, NULL, error);
  if (stream == NULL)
    return FALSE;

  gate_smtp_envelope_set_size (run->envelope, g_file_info_get_size (info));
  if (eight_bit)
    gate_smtp_envelope_set_body_flags (run->envelope, gate_smtp_envelope_get_body_flags (run->envelope)
                                                        | GATE_SMTP_BODY_8BITMIME);
  run->message = G_INPUT_STREAM (g_steal_pointer (&stream));
  return TRUE;
}

static GateMessageBuilder *
make_builder (SendRun *run, GError **error)
{
  g_autoptr (GateMessageBuilder) builder = gate_message_builder_new ();

  run->token = g_strdup (gate_message_builder_get_token (builder));

  gate_message_builder_set_from (builder, NULL, run->connection->from);
  for (guint i = 0; run->to[i] != NULL; i++)
    gate_message_builder_add_to (builder, NULL, run->to[i]);
  gate_message_builder_set_subject (builder, run->subject != NULL ? run->subject
                                                                  : _("Test email from Postgate"));
  if (run->body != NULL)
    {
      gate_message_builder_set_text_body (builder, run->body);
    }
  else
    {
      g_autofree char *body =
        /* TRANSLATORS: the first %s is a server name, the second a short
         * code such as PG-7F3K9Q. */
        g_strdup_printf (_("Hello,\n\n"
                           "this is a test email sent with Postgate through the outgoing server %s.\n"
                           "If you can read it, sending mail works.\n\n"
                           "To find this message again, search your mailbox for %s.\n"),
                         run->connection->server, run->token);
      gate_message_builder_set_text_body (builder, body);
    }
  if (run->html != NULL)
    gate_message_builder_set_html_body (builder, run->html);

  for (guint i = 0; run->attach != NULL && run->attach[i] != NULL; i++)
    {
      g_autoptr (GFile) file = g_file_new_for_commandline_arg (run->attach[i]);
      g_autofree char *content_type = NULL;
      g_autofree char *mime_type = NULL;

      if (!g_file_query_exists (file, NULL) || g_file_query_file_type (file, G_FILE_QUERY_INFO_NONE, NULL)
                                                 != G_FILE_TYPE_REGULAR)
        {
          g_set_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_INVALID_INPUT,
                       _("The file to attach “%s” does not exist or is not a regular file."), run->attach[i]);
          return NULL;
        }
      content_type = g_content_type_guess (run->attach[i], NULL, 0, NULL);
      mime_type = g_content_type_get_mime_type (content_type);
      gate_message_builder_add_attachment (builder, file, mime_type != NULL ? mime_type
                                                                            : "application/octet-stream");
    }

  return g_steal_pointer (&builder);
}

/* ---- exit status ---- */

static int
status_for_error (const GError *error)
{
  if (error == NULL)
    return GATE_CLI_SEND_OK;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return GATE_CLI_SEND_CANCELLED;
  if (error->domain != GATE_SMTP_ERROR)
    return GATE_CLI_SEND_USAGE;

  switch ((GateSmtpError) error->code)
    {
    case GATE_SMTP_ERROR_INVALID_INPUT:
      return GATE_CLI_SEND_USAGE;
    case GATE_SMTP_ERROR_NAME_NOT_FOUND:
    case GATE_SMTP_ERROR_CONNECTION_REFUSED:
    case GATE_SMTP_ERROR_NETWORK:
      return GATE_CLI_SEND_CONNECTION;
    case GATE_SMTP_ERROR_TIMED_OUT:
      switch (gate_smtp_error_get_stage (error))
        {
        case GATE_SMTP_STAGE_NONE:
        case GATE_SMTP_STAGE_CONNECT:
        case GATE_SMTP_STAGE_GREETING:
          return GATE_CLI_SEND_CONNECTION;
        case GATE_SMTP_STAGE_TLS:
          return GATE_CLI_SEND_SECURITY;
        case GATE_SMTP_STAGE_AUTH:
          return GATE_CLI_SEND_SIGN_IN;
        default:
          return GATE_CLI_SEND_SERVER;
        }
    case GATE_SMTP_ERROR_TLS_FAILED:
    case GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED:
    case GATE_SMTP_ERROR_STARTTLS_NOT_OFFERED:
      return GATE_CLI_SEND_SECURITY;
    case GATE_SMTP_ERROR_PLAIN_AUTH_REFUSED:
    case GATE_SMTP_ERROR_NO_AUTH_MECHANISM:
    case GATE_SMTP_ERROR_AUTH_FAILED:
      return GATE_CLI_SEND_SIGN_IN;
    case GATE_SMTP_ERROR_SENDER_REFUSED:
      return GATE_CLI_SEND_SENDER;
    case GATE_SMTP_ERROR_RECIPIENT_REFUSED:
      return GATE_CLI_SEND_RECIPIENTS;
    case GATE_SMTP_ERROR_MESSAGE_REFUSED:
    case GATE_SMTP_ERROR_MESSAGE_TOO_LARGE:
      return GATE_CLI_SEND_MESSAGE;
    case GATE_SMTP_ERROR_CANCELLED:
      return GATE_CLI_SEND_CANCELLED;
    case GATE_SMTP_ERROR_SERVICE_UNAVAILABLE:
    case GATE_SMTP_ERROR_PROTOCOL:
    default:
      return GATE_CLI_SEND_SERVER;
    }
}

/* ---- the command ---- */

static const char *
send_description (void)
{
  return _("Sends one email and shows the conversation with the server as it happens:\n"
           "  ->  <-   what Postgate sent / what the server answered, unencrypted\n"
           "  ~>  <~   the same, inside TLS encryption\n"
           "  ===      information (TLS details, timings)\n"
           "  ***      what went wrong\n"
           "Passwords and tokens are never shown.  Without --message-file a test\n"
           "message is made, with a code in its subject to find it by.\n"
           "\n"
           "Exit status:\n"
           "  0  the server accepted the message (some recipients may be refused: listed)\n"
           "  1  wrong options or unreadable input (files, password)\n"
           "  2  no connection: server name not found, refused, network down, no greeting\n"
           "  3  security: TLS failed, certificate not trusted, STARTTLS not offered\n"
           "  4  sign-in failed or not possible\n"
           "  5  sender address refused\n"
           "  6  every recipient refused\n"
           "  7  message refused or too large\n"
           "  8  server error or protocol violation\n"
           "  9  cancelled (Ctrl-C)");
}

int
gate_cli_send (int argc, char **argv)
{
  SendRun run = { 0 };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  int status;
  const GOptionEntry entries[] = {
    { "to", 0, 0, G_OPTION_ARG_STRING_ARRAY, &run.to, N_("Recipient address (repeatable)"), N_("ADDR") },
    { "subject", 0, 0, G_OPTION_ARG_STRING, &run.subject, N_("Subject (default: “Test email from Postgate”)"),
      N_("TEXT") },
    { "body", 0, 0, G_OPTION_ARG_STRING, &run.body, N_("Plain text of the message"), N_("TEXT") },
    { "html", 0, 0, G_OPTION_ARG_STRING, &run.html, N_("HTML version of the message"), N_("TEXT") },
    { "attach", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &run.attach, N_("Attach a file (repeatable)"), N_("FILE") },
    { "message-file", 0, 0, G_OPTION_ARG_FILENAME, &run.message_file,
      N_("Send this ready message (RFC 5322) as it is instead of a test message"), N_("FILE") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &run.quiet, N_("Show only the result, not the conversation"), NULL },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &run.timeout,
      N_("Give up when the server does not answer within this many seconds (default: 30 to connect, 60 "
         "for each answer)"),
      N_("SECONDS") },
    { NULL }
  };

  /* "postgate-cli send": what --help shows in its usage line. */
  g_set_prgname (argv[0]);
  run.connection = gate_cli_connection_options_new (GATE_CLI_CONNECTION_ALL);
  context = g_option_context_new (NULL);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _("Send an email and show the conversation with the server."));
  g_option_context_set_description (context, send_description ());
  gate_cli_connection_options_set_profile_loader (gate_cli_profile_loader);
  gate_cli_connection_options_add_to_context (run.connection, context);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      fprintf (stderr, "%s\n", _("Run “postgate-cli send --help” to see the options."));
      send_run_clear (&run);
      return GATE_CLI_SEND_USAGE;
    }
  if (argc > 1)
    {
      fprintf (stderr, _("Unexpected argument “%s”.\n"), argv[1]);
      send_run_clear (&run);
      return GATE_CLI_SEND_USAGE;
    }

  if (run.connection->from == NULL && run.connection->profile_name == NULL)
    g_set_error_literal (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         _("Give the sender address with --from ADDR."));
  else if (run.to == NULL || run.to[0] == NULL)
    g_set_error_literal (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         _("Give at least one recipient with --to ADDR."));
  else if (run.timeout < 0 || run.timeout > 3600)
    g_set_error_literal (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         _("--timeout takes a number of seconds from 1 to 3600."));
  else if (run.message_file != NULL && (run.subject != NULL || run.body != NULL || run.html != NULL
                                        || run.attach != NULL))
    g_set_error_literal (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         _("A ready message (--message-file) is sent as it is: --subject, --body, --html "
                           "and --attach cannot change it."));
  else
    gate_cli_connection_options_validate (run.connection, &error);

  if (error == NULL && run.connection->from == NULL)
    g_set_error_literal (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         _("Give the sender address with --from ADDR."));
  for (guint i = 0; error == NULL && run.to[i] != NULL; i++)
    if (!gate_smtp_address_is_valid (run.to[i]))
      g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("“%s” is not an email address."),
                   run.to[i]);
  if (error != NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      send_run_clear (&run);
      return GATE_CLI_SEND_USAGE;
    }

  run.loop = g_main_loop_new (NULL, FALSE);
  run.cancellable = g_cancellable_new ();
  run.envelope = gate_smtp_envelope_new (run.connection->from);
  for (guint i = 0; run.to[i] != NULL; i++)
    gate_smtp_envelope_add_recipient (run.envelope, run.to[i]);
  if (address_list_needs_smtputf8 (&run))
    gate_smtp_envelope_set_body_flags (run.envelope, GATE_SMTP_BODY_SMTPUTF8);

#ifdef G_OS_UNIX
  {
    guint sigint_id = g_unix_signal_add (SIGINT, on_interrupt, &run);
    guint sigterm_id = g_unix_signal_add (SIGTERM, on_interrupt, &run);
#endif

    if (run.message_file != NULL)
      {
        if (open_message_file (&run, &error))
          start_connect (&run);
        else
          {
            g_prefix_error (&error, _("Could not read the message file “%s”: "), run.message_file);
            g_set_error_literal (&run.error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_INVALID_INPUT, error->message);
          }
      }
    else
      {
        g_autoptr (GateMessageBuilder) builder = make_builder (&run, &run.error);

        if (builder != NULL)
          gate_message_builder_build_async (builder, run.cancellable, build_cb, &run);
      }

    if (run.error == NULL)
      g_main_loop_run (run.loop);

#ifdef G_OS_UNIX
    g_source_remove (sigint_id);
    g_source_remove (sigterm_id);
  }
#endif

  if (run.cancelled_by_user && run.error == NULL && run.result == NULL)
    g_set_error_literal (&run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Cancelled."));

  if (run.error == NULL && run.result != NULL)
    {
      print_success (&run);
      status = GATE_CLI_SEND_OK;
    }
  else
    {
      if (run.error == NULL)
        g_set_error_literal (&run.error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_PROTOCOL,
                             _("The server did not confirm the message."));
      print_failure (&run);
      status = status_for_error (run.error);
    }

  send_run_clear (&run);
  return status;
}
