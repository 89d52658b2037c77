/* SPDX-License-Identifier: GPL-3.0-or-later */
/* postgate-cli queue list | retry ID|--all | hold ID | delete ID | save ID FILE
 *
 * Works on the relay's spool folder directly, also while the relay runs:
 * every change takes the message's lock and the running relay notices it. */
#define G_LOG_DOMAIN "postgate-cli"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <string.h>

#include "cli-commands.h"
#include "cli-profile-loader.h"
#include "gate-profile-store.h"
#include "gate-queue.h"
#include "gate-spool.h"

static char *
format_time (gint64 unix_seconds)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_unix_local (unix_seconds);
  return time ? g_date_time_format (time, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
}

/* @held_back: the relay says above the list why mail waits (the outgoing
 * server out of reach, the hourly limit); a message due now then goes when
 * that allows, not at once. */
static char *
format_wait (gint64 when, gboolean held_back)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 delta = when - now;

  if ((when == 0 || delta <= 0) && held_back)
    return g_strdup (_ ("as soon as the relay can send again (see above)"));
  if (when == 0 || delta <= 0)
    return g_strdup (_ ("as soon as possible"));
  if (delta < 120)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "in %d second", "in %d seconds", (gulong)delta),
                            (int)delta);
  if (delta < 7200)
    return g_strdup_printf (
        g_dngettext (GETTEXT_PACKAGE, "in %d minute", "in %d minutes", (gulong)(delta / 60)),
        (int)(delta / 60));
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "in %d hour", "in %d hours", (gulong)(delta / 3600)),
                          (int)(delta / 3600));
}

static const char *
recipient_state_label (GateSpoolRecipientState state)
{
  switch (state)
    {
      case GATE_SPOOL_RECIPIENT_DELIVERED:
        return _ ("delivered");
      case GATE_SPOOL_RECIPIENT_FAILED:
        return _ ("failed");
      case GATE_SPOOL_RECIPIENT_PENDING:
      default:
        return _ ("waiting");
    }
}

static void
print_entry (GateSpoolEntry *entry, gboolean held_back)
{
  g_autofree char *received = format_time (gate_spool_entry_get_received_time (entry));
  GateSpoolStatus status = gate_spool_entry_get_status (entry);
  const char *sender = gate_spool_entry_get_sender (entry);
  const char *original = gate_spool_entry_get_original_sender (entry);
  const char *error = gate_spool_entry_get_last_error (entry);

  printf ("%s  %s\n", gate_spool_entry_get_id (entry), gate_spool_status_get_label (status));
  printf ("  %-12s %s, %s %s, %" G_GINT64_FORMAT " %s\n", _ ("Received:"), received, _ ("from"),
          *gate_spool_entry_get_client_address (entry) ? gate_spool_entry_get_client_address (entry) : "?",
          gate_spool_entry_get_size (entry), _ ("bytes"));
  if (original)
    printf ("  %-12s %s (%s %s)\n", _ ("Sender:"), sender, _ ("sent by the device as"), original);
  else
    printf ("  %-12s %s\n", _ ("Sender:"), *sender ? sender : _ ("(none)"));
  if (gate_spool_entry_get_subject (entry))
    printf ("  %-12s %s\n", _ ("Subject:"), gate_spool_entry_get_subject (entry));
  for (guint i = 0; i < gate_spool_entry_get_n_recipients (entry); i++)
    {
      const char *reply = gate_spool_entry_get_recipient_reply (entry, i);

      printf ("  %-12s %s, %s%s%s\n", i == 0 ? _ ("Recipients:") : "",
              gate_spool_entry_get_recipient (entry, i),
              recipient_state_label (gate_spool_entry_get_recipient_state (entry, i)), reply ? ": " : "",
              reply ? reply : "");
    }
  if (gate_spool_entry_get_message_id (entry))
    printf ("  %-12s %s\n", _ ("Message-ID:"), gate_spool_entry_get_message_id (entry));
  if (gate_spool_entry_get_attempts (entry) > 0)
    printf ("  %-12s %u\n", _ ("Attempts:"), gate_spool_entry_get_attempts (entry));
  if (status == GATE_SPOOL_STATUS_QUEUED)
    {
      g_autofree char *wait = format_wait (gate_spool_entry_get_next_attempt (entry), held_back);
      printf ("  %-12s %s\n", _ ("Next try:"), wait);
    }
  if (error)
    printf ("  %-12s %s\n", status == GATE_SPOOL_STATUS_FAILED ? _ ("Reason:") : _ ("Last problem:"), error);
}

static int
list_spool (GateSpool *spool, gboolean only_failed)
{
  g_autoptr (GPtrArray) entries = gate_spool_list (spool);
  guint counts[GATE_SPOOL_STATUS_FAILED + 1] = { 0 };
  gboolean running = gate_spool_path_has_owner (gate_spool_get_path (spool));

  g_autofree char *note = running ? gate_spool_dup_owner_note (spool) : NULL;

  printf ("%s %s%s\n", _ ("Queue in"), gate_spool_get_path (spool),
          running ? _ (" (the relay is running)") : _ (" (the relay is not running)"));
  if (note != NULL)
    printf ("%s\n", note);
  for (guint i = 0; i < entries->len; i++)
    counts[gate_spool_entry_get_status (entries->pdata[i])]++;
  if (entries->len == 0)
    {
      printf ("%s\n", _ ("No messages are waiting."));
      return 0;
    }
  printf (g_dngettext (GETTEXT_PACKAGE, "%u message: ", "%u messages: ", entries->len), entries->len);
  printf (_ ("%u waiting, %u being sent, %u on hold, %u failed"), counts[GATE_SPOOL_STATUS_QUEUED],
          counts[GATE_SPOOL_STATUS_IN_FLIGHT], counts[GATE_SPOOL_STATUS_HELD],
          counts[GATE_SPOOL_STATUS_FAILED]);
  printf ("\n\n");
  if (only_failed && counts[GATE_SPOOL_STATUS_FAILED] == 0)
    printf ("%s\n", _ ("No message has failed."));
  for (guint i = 0; i < entries->len; i++)
    {
      if (only_failed && gate_spool_entry_get_status (entries->pdata[i]) != GATE_SPOOL_STATUS_FAILED)
        continue;
      print_entry (entries->pdata[i], note != NULL);
      printf ("\n");
    }
  return 0;
}

/* The spool folders to look at: --spool, the one of --profile, or every
 * folder under the default place. */
static GPtrArray *
find_spool_paths (const char *spool_dir, const char *profile_name, GError **error)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *base = NULL;
  g_autoptr (GDir) dir = NULL;
  const char *name;

  if (spool_dir)
    {
      g_ptr_array_add (paths, g_strdup (spool_dir));
      return paths;
    }
  if (profile_name)
    {
      g_autoptr (GateProfileStore) store = gate_cli_open_profile_store (error);
      g_autoptr (GateProfile) profile = NULL;

      if (store == NULL)
        {
          g_ptr_array_unref (paths);
          return NULL;
        }
      profile = gate_profile_store_lookup (store, profile_name);
      if (profile == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _ ("There is no profile called “%s”"),
                       profile_name);
          g_ptr_array_unref (paths);
          return NULL;
        }
      g_ptr_array_add (paths, gate_spool_default_path (gate_profile_get_id (profile)));
      return paths;
    }

  base = gate_spool_default_base ();
  dir = g_dir_open (base, 0, NULL);
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      char *path = g_build_filename (base, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (paths, path);
      else
        g_free (path);
    }
  g_ptr_array_sort (paths, (GCompareFunc)(void (*) (void))g_strcmp0);
  return paths;
}

/* Writes a message's content to standard output, through stdio: the same on
 * every system. */
static gboolean
write_to_stdout (GInputStream *content, GError **error)
{
  char buffer[16384];
  gssize n;

  while ((n = g_input_stream_read (content, buffer, sizeof buffer, NULL, error)) > 0)
    if (fwrite (buffer, 1, (gsize)n, stdout) != (gsize)n)
      break;
  if (n < 0)
    return FALSE;
  if (fflush (stdout) != 0 || ferror (stdout))
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _ ("Could not write the message: %s"), g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

/* Copies a message's content, as it will be sent, to @path ("-": standard
 * output).  The file is made readable by the user only, and an existing
 * file is never replaced: it may be another message saved before. */
static gboolean
save_message (GateSpool *spool, const char *id, const char *path, GError **error)
{
  g_autoptr (GInputStream) content = gate_spool_open_content (spool, id, error);
  g_autoptr (GFileOutputStream) output = NULL;
  g_autoptr (GFile) file = NULL;
  g_autoptr (GError) local_error = NULL;

  if (content == NULL)
    return FALSE;
  if (strcmp (path, "-") == 0)
    return write_to_stdout (content, error);

  file = g_file_new_for_commandline_arg (path);
  output = g_file_create (file, G_FILE_CREATE_PRIVATE, NULL, &local_error);
  if (output == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                     _ ("There is already a file “%s”; choose another name."), path);
      else
        g_set_error (error, local_error->domain, local_error->code, _ ("Could not save to “%s”: %s"), path,
                     local_error->message);
      return FALSE;
    }
  if (g_output_stream_splice (G_OUTPUT_STREAM (output), content,
                              G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL,
                              &local_error)
      < 0)
    {
      g_set_error (error, local_error->domain, local_error->code, _ ("Could not save to “%s”: %s"), path,
                   local_error->message);
      /* Half a message is worse than none: it would look whole. */
      g_file_delete (file, NULL, NULL);
      return FALSE;
    }
  printf (_ ("Message %s was saved to %s; it stays in the queue.\n"), id, path);
  return TRUE;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "%s\n", _ ("Usage: postgate-cli queue list [--failed] [--spool DIR | --profile NAME]"));
  fprintf (out, "%s\n",
           _ ("       postgate-cli queue retry ID|--all|--failed [--spool DIR | --profile NAME]"));
  fprintf (out, "%s\n", _ ("       postgate-cli queue hold ID [--spool DIR | --profile NAME]"));
  fprintf (out, "%s\n", _ ("       postgate-cli queue delete ID|--failed [--spool DIR | --profile NAME]"));
  fprintf (out, "%s\n", _ ("       postgate-cli queue save ID FILE.eml [--spool DIR | --profile NAME]"));
  fprintf (out, "\n%s\n",
           _ ("Shows and changes the messages the relay has accepted and not yet delivered. "
              "Safe to use while the relay runs."));
  fprintf (out, "%s\n",
           _ ("  list    show every message with its state and the last problem (--failed: only those "
              "that failed)"));
  fprintf (out, "%s\n",
           _ ("  retry   send a waiting, held or failed message again now (--all: every one; --failed: every "
              "one that failed, for example once the problem given as its reason is solved)"));
  fprintf (out, "%s\n", _ ("  hold    keep a message from being sent until it is retried"));
  fprintf (out, "%s\n",
           _ ("  delete  remove a message without sending it (--failed: every one that failed)"));
  fprintf (out, "%s\n",
           _ ("  save    copy a message into a file any mail program opens (.eml), to read it or send it "
              "another way; \"-\" writes it to standard output"));
}

/* Which messages the command line names: one ID, or --all (retry only),
 * or --failed (list, retry, delete).  Says what is wrong and returns FALSE. */
static gboolean
check_selection (const char *action, const char *id, gboolean all, gboolean failed)
{
  gboolean is_list = g_strcmp0 (action, "list") == 0;
  gboolean is_retry = g_strcmp0 (action, "retry") == 0;
  gboolean is_delete = g_strcmp0 (action, "delete") == 0;
  const char *problem = NULL;

  if (all && failed)
    problem = _ ("Give either --all or --failed, not both.");
  else if (all && !is_retry)
    problem = _ ("--all goes with “retry” only; to delete every message that failed, use “delete --failed”.");
  else if (failed && !is_list && !is_retry && !is_delete)
    problem = _ ("--failed goes with “list”, “retry” or “delete”.");
  else if (is_list)
    return TRUE;
  else if (id != NULL && (all || failed))
    problem = all ? _ ("Give either a message ID or --all, not both.")
                  : _ ("Give either a message ID or --failed, not both.");
  else if (id == NULL && !all && !failed)
    problem = _ ("Which message? Give its ID (see “postgate-cli queue list”).");
  if (problem == NULL)
    return TRUE;
  fprintf (stderr, "%s\n", problem);
  return FALSE;
}

/* retry --all, retry --failed, delete --failed, in every queue looked at. */
static int
act_on_many (GPtrArray *spools, gboolean delete, gboolean only_failed)
{
  int status_wanted = only_failed ? GATE_SPOOL_STATUS_FAILED : -1;
  guint n = 0;
  int status = 0;

  for (guint i = 0; i < spools->len; i++)
    {
      g_autoptr (GateQueue) queue = gate_queue_new (spools->pdata[i]);
      g_autoptr (GError) error = NULL;

      n += delete ? gate_queue_delete_each (queue, status_wanted, &error)
                  : gate_queue_retry_each (queue, status_wanted, &error);
      if (error != NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          status = 1;
        }
    }
  if (delete)
    printf (g_dngettext (GETTEXT_PACKAGE, "%u message that failed was deleted; it will not be sent.\n",
                         "%u messages that failed were deleted; they will not be sent.\n", n),
            n);
  else
    printf (g_dngettext (GETTEXT_PACKAGE, "%u message will be sent again now.\n",
                         "%u messages will be sent again now.\n", n),
            n);
  return status;
}

int
gate_cli_queue (int argc, char **argv)
{
  g_autofree char *spool_dir = NULL;
  g_autofree char *profile = NULL;
  gboolean all = FALSE;
  gboolean failed = FALSE;
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  g_autoptr (GPtrArray) spools = g_ptr_array_new_with_free_func (g_object_unref);
  const char *action;
  const char *id = NULL;
  int status = 0;
  GOptionEntry entries[]
      = { { "spool", 0, 0, G_OPTION_ARG_FILENAME, &spool_dir, N_ ("The relay's queue folder"), N_ ("DIR") },
          { "profile", 'p', 0, G_OPTION_ARG_STRING, &profile, N_ ("The queue of this profile's relay"),
            N_ ("NAME") },
          { "all", 0, 0, G_OPTION_ARG_NONE, &all, N_ ("With retry: every message"), NULL },
          { "failed", 0, 0, G_OPTION_ARG_NONE, &failed,
            N_ ("With list, retry or delete: every message that failed"), NULL },
          { NULL } };

  context = g_option_context_new (
      _ ("list [--failed] | retry ID|--all|--failed | hold ID | delete ID|--failed | save ID FILE"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      print_usage (stderr);
      return 2;
    }
  if (argc < 2)
    {
      print_usage (stderr);
      return 2;
    }
  action = argv[1];
  if (g_strcmp0 (action, "list") != 0 && g_strcmp0 (action, "retry") != 0 && g_strcmp0 (action, "hold") != 0
      && g_strcmp0 (action, "delete") != 0 && g_strcmp0 (action, "save") != 0)
    {
      fprintf (stderr, _ ("Unknown action “%s”.\n"), action);
      print_usage (stderr);
      return 2;
    }
  if (!check_selection (action, argc >= 3 ? argv[2] : NULL, all, failed))
    return 2;
  if (g_strcmp0 (action, "list") != 0)
    {
      id = argc >= 3 ? argv[2] : NULL;
      if (g_strcmp0 (action, "save") == 0 && argc < 4)
        {
          fprintf (stderr, "%s\n",
                   _ ("Where to? Give a file name after the ID, or “-” for standard output."));
          return 2;
        }
    }

  paths = find_spool_paths (spool_dir, profile, &error);
  if (paths == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  for (guint i = 0; i < paths->len; i++)
    {
      g_autoptr (GError) open_error = NULL;
      GateSpool *spool;

      /* Never create a folder just by looking: a folder named with --spool
       * that is not there is more likely mistyped than empty. */
      if (!g_file_test (paths->pdata[i], G_FILE_TEST_IS_DIR))
        {
          if (spool_dir != NULL)
            {
              fprintf (stderr, _ ("There is no relay queue in “%s”: the folder does not exist.\n"),
                       (const char *)paths->pdata[i]);
              status = 1;
            }
          continue;
        }
      spool = gate_spool_open (paths->pdata[i], GATE_SPOOL_OPEN_NONE, &open_error);
      if (spool == NULL)
        {
          fprintf (stderr, "%s\n", open_error->message);
          status = 1;
          continue;
        }
      g_ptr_array_add (spools, spool);
    }
  /* Said why already: nothing to list or change. */
  if (spools->len == 0 && status != 0)
    return status;

  if (g_strcmp0 (action, "list") == 0)
    {
      if (spools->len == 0 && status == 0)
        printf ("%s\n", _ ("There is no relay queue yet: no message has been accepted."));
      for (guint i = 0; i < spools->len; i++)
        {
          if (i > 0)
            printf ("\n");
          list_spool (spools->pdata[i], failed);
        }
      return status;
    }

  if (all || failed)
    return act_on_many (spools, g_strcmp0 (action, "delete") == 0, failed);

  /* The start of an ID is enough when it names one message. */
  {
    g_autofree char *full = NULL;
    guint matches = 0;

    for (guint i = 0; i < spools->len; i++)
      {
        g_autoptr (GPtrArray) list = gate_spool_list (spools->pdata[i]);

        for (guint j = 0; j < list->len; j++)
          {
            const char *candidate = gate_spool_entry_get_id (list->pdata[j]);

            if (strcmp (candidate, id) == 0)
              {
                matches = 1;
                g_free (full);
                full = g_strdup (candidate);
                goto found;
              }
            if (g_str_has_prefix (candidate, id))
              {
                matches++;
                g_free (full);
                full = g_strdup (candidate);
              }
          }
      }
  found:
    if (matches > 1)
      {
        fprintf (stderr, _ ("More than one message starts with “%s”; give more of the ID.\n"), id);
        return 1;
      }
    if (matches == 1)
      id = g_intern_string (full);
  }

  for (guint i = 0; i < spools->len; i++)
    {
      GateSpool *spool = spools->pdata[i];
      g_autoptr (GateSpoolEntry) entry = gate_spool_lookup (spool, id);
      g_autoptr (GateSpoolEntry) updated = NULL;

      if (entry == NULL)
        continue;
      if (g_strcmp0 (action, "save") == 0)
        {
          if (!save_message (spool, id, argv[3], &error))
            break;
          return 0;
        }
      if (g_strcmp0 (action, "delete") == 0)
        {
          if (!gate_spool_delete (spool, id, &error))
            break;
          if (gate_spool_entry_get_status (entry) == GATE_SPOOL_STATUS_IN_FLIGHT)
            printf (_ ("Message %s was deleted. It was being sent at that moment, so it may still arrive.\n"),
                    id);
          else
            printf (_ ("Message %s was deleted; it will not be sent.\n"), id);
          return 0;
        }
      if (g_strcmp0 (action, "hold") == 0)
        {
          updated = gate_spool_hold (spool, id, &error);
          if (updated == NULL)
            break;
          if (gate_spool_entry_get_status (entry) == GATE_SPOOL_STATUS_IN_FLIGHT)
            printf (_ ("Message %s will be held once the current attempt ends.\n"), id);
          else
            printf (_ ("Message %s is on hold; use “retry” to send it.\n"), id);
          return 0;
        }
      updated = gate_spool_retry (spool, id, &error);
      if (updated == NULL)
        break;
      printf (_ ("Message %s will be sent again now.\n"), id);
      return 0;
    }
  if (error == NULL)
    g_set_error (&error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_NOT_FOUND,
                 _ ("There is no message “%s” in the queue"), id);
  fprintf (stderr, "%s\n", error->message);
  return 1;
}
