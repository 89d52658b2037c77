/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-spool"

#include "config.h"

#include "gate-spool.h"

#include "gate-spool-fs.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#define TMP_PREFIX "tmp-"
#define OWNER_LOCK ".owner.lock"
#define OWNER_NOTE ".owner-note"
/* Other processes (the command line) append the ids they changed to
 * CONTROL_DIR/CONTROL_FILE; the relay watches only that folder, so that its
 * own writes to the queue do not come back to it. */
#define CONTROL_DIR ".control"
#define CONTROL_FILE "changes"
/* The files of delivered messages wait under this prefix to be written over
 * for new ones: creating and freeing a file costs far more than renaming one
 * (on ext4 without a journal, creating one looks through every file freed
 * in the last minute).  They stay in the queue folder itself: a rename
 * within one folder is made durable by that folder's sync. */
#define FREE_PREFIX "free-"
#define FREE_FILES_MAX 128              /* of each kind */
#define FREE_FILE_MAX_SIZE (128 * 1024) /* larger ones give their space back */
#define WRITE_BUFFER_SIZE (64 * 1024)
#define INITIAL_BUFFER_SIZE (8 * 1024)

/* Left as written: formatted, the quark's name would get spaces. */
/* clang-format off */
G_DEFINE_QUARK (gate-spool-error-quark, gate_spool_error)
/* clang-format on */

/* ------------------------------------------------------------------------ */
/* Small helpers */

static int
errno_to_spool_error (int saved_errno)
{
  switch (saved_errno)
    {
      case ENOSPC:
#ifdef EDQUOT
      case EDQUOT:
#endif
      case EFBIG: /* RLIMIT_FSIZE: as final as a full disk for this message */
        return GATE_SPOOL_ERROR_NO_SPACE;
      case ENOENT:
        return GATE_SPOOL_ERROR_NOT_FOUND;
      default:
        return GATE_SPOOL_ERROR_FAILED;
    }
}

static void
set_errno_error (GError **error, int saved_errno, const char *what, const char *path)
{
  int code = errno_to_spool_error (saved_errno);

  if (code == GATE_SPOOL_ERROR_NO_SPACE)
    g_set_error (error, GATE_SPOOL_ERROR, code, _ ("The disk holding the mail queue is full (%s)"),
                 g_strerror (saved_errno));
  else
    g_set_error (error, GATE_SPOOL_ERROR, code, _ ("Could not %s “%s” in the mail queue: %s"), what, path,
                 g_strerror (saved_errno));
}

static void
set_not_found (GError **error, const char *id)
{
  g_set_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_NOT_FOUND,
               _ ("There is no message “%s” in the mail queue"), id);
}

static gboolean
write_all (int fd, const void *data, gsize len, int *saved_errno)
{
  *saved_errno = gate_spool_fs_write_all (fd, data, len);
  return *saved_errno == 0;
}

static gboolean
id_is_valid (const char *id)
{
  if (id == NULL || *id == '\0' || strlen (id) > 64)
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-')
      return FALSE;
  return strncmp (id, TMP_PREFIX, strlen (TMP_PREFIX)) != 0;
}

/* "ID.env" → "ID" when the name is one of the message's final files. */
static char *
id_from_name (const char *name, const char *suffix)
{
  g_autofree char *id = NULL;

  if (!g_str_has_suffix (name, suffix))
    return NULL;
  id = g_strndup (name, strlen (name) - strlen (suffix));
  if (!id_is_valid (id))
    return NULL;
  return g_steal_pointer (&id);
}

static const char *const status_names[] = { "queued", "in-flight", "held", "failed" };
static const char *const rcpt_names[] = { "pending", "delivered", "failed" };

const char *
gate_spool_status_to_string (GateSpoolStatus status)
{
  g_return_val_if_fail (status <= GATE_SPOOL_STATUS_FAILED, NULL);
  return status_names[status];
}

const char *
gate_spool_status_get_label (GateSpoolStatus status)
{
  switch (status)
    {
      case GATE_SPOOL_STATUS_QUEUED:
        return _ ("Waiting");
      case GATE_SPOOL_STATUS_IN_FLIGHT:
        return _ ("Sending");
      case GATE_SPOOL_STATUS_HELD:
        return _ ("On hold");
      case GATE_SPOOL_STATUS_FAILED:
        return _ ("Failed");
      default:
        g_return_val_if_reached (NULL);
    }
}

static int
name_to_enum (const char *name, const char *const *names, int n, int fallback)
{
  for (int i = 0; name != NULL && i < n; i++)
    if (g_strcmp0 (name, names[i]) == 0)
      return i;
  return fallback;
}

/* ------------------------------------------------------------------------ */
/* GateSpoolEntry */

struct _GateSpoolEntry
{
  gatomicrefcount ref_count;
  char *id;
  char *client_address;
  char *client_name;
  gint64 received;
  char *sender;
  char *original_sender;
  char *message_id;
  char *subject;
  GateSmtpBodyFlags body_flags;
  gint64 size;
  guint n_recipients;
  char **recipients;
  GateSpoolRecipientState *states;
  char **replies;
  GateSpoolStatus status;
  guint attempts;
  gint64 next_attempt;
  char *last_error;
  gint64 release_time;
};

G_DEFINE_BOXED_TYPE (GateSpoolEntry, gate_spool_entry, gate_spool_entry_ref, gate_spool_entry_unref)

static GateSpoolEntry *
entry_new (guint n_recipients)
{
  GateSpoolEntry *entry = g_new0 (GateSpoolEntry, 1);

  g_atomic_ref_count_init (&entry->ref_count);
  entry->n_recipients = n_recipients;
  entry->recipients = g_new0 (char *, n_recipients + 1);
  entry->states = g_new0 (GateSpoolRecipientState, n_recipients + 1);
  entry->replies = g_new0 (char *, n_recipients + 1);
  return entry;
}

GateSpoolEntry *
gate_spool_entry_ref (GateSpoolEntry *entry)
{
  g_return_val_if_fail (entry != NULL, NULL);
  g_atomic_ref_count_inc (&entry->ref_count);
  return entry;
}

void
gate_spool_entry_unref (GateSpoolEntry *entry)
{
  g_return_if_fail (entry != NULL);
  if (!g_atomic_ref_count_dec (&entry->ref_count))
    return;
  g_free (entry->id);
  g_free (entry->client_address);
  g_free (entry->client_name);
  g_free (entry->sender);
  g_free (entry->original_sender);
  g_free (entry->message_id);
  g_free (entry->subject);
  for (guint i = 0; i < entry->n_recipients; i++)
    {
      g_free (entry->recipients[i]);
      g_free (entry->replies[i]);
    }
  g_free (entry->recipients);
  g_free (entry->replies);
  g_free (entry->states);
  g_free (entry->last_error);
  g_free (entry);
}

static GateSpoolEntry *
entry_copy (const GateSpoolEntry *entry)
{
  GateSpoolEntry *copy = entry_new (entry->n_recipients);

  copy->id = g_strdup (entry->id);
  copy->client_address = g_strdup (entry->client_address);
  copy->client_name = g_strdup (entry->client_name);
  copy->received = entry->received;
  copy->sender = g_strdup (entry->sender);
  copy->original_sender = g_strdup (entry->original_sender);
  copy->message_id = g_strdup (entry->message_id);
  copy->subject = g_strdup (entry->subject);
  copy->body_flags = entry->body_flags;
  copy->size = entry->size;
  for (guint i = 0; i < entry->n_recipients; i++)
    {
      copy->recipients[i] = g_strdup (entry->recipients[i]);
      copy->states[i] = entry->states[i];
      copy->replies[i] = g_strdup (entry->replies[i]);
    }
  copy->status = entry->status;
  copy->attempts = entry->attempts;
  copy->next_attempt = entry->next_attempt;
  copy->last_error = g_strdup (entry->last_error);
  copy->release_time = entry->release_time;
  return copy;
}

static gboolean
entry_equal (const GateSpoolEntry *a, const GateSpoolEntry *b)
{
  if (a->status != b->status || a->attempts != b->attempts || a->next_attempt != b->next_attempt
      || a->release_time != b->release_time || g_strcmp0 (a->last_error, b->last_error) != 0
      || a->n_recipients != b->n_recipients)
    return FALSE;
  for (guint i = 0; i < a->n_recipients; i++)
    if (a->states[i] != b->states[i] || g_strcmp0 (a->replies[i], b->replies[i]) != 0)
      return FALSE;
  return TRUE;
}

#define ENTRY_GETTER(type, name, field)                                                                      \
  type gate_spool_entry_get_##name (const GateSpoolEntry *entry)                                             \
  {                                                                                                          \
    g_return_val_if_fail (entry != NULL, (type)0);                                                           \
    return entry->field;                                                                                     \
  }

ENTRY_GETTER (const char *, id, id)
ENTRY_GETTER (const char *, client_address, client_address)
ENTRY_GETTER (const char *, client_name, client_name)
ENTRY_GETTER (gint64, received_time, received)
ENTRY_GETTER (const char *, sender, sender)
ENTRY_GETTER (const char *, original_sender, original_sender)
ENTRY_GETTER (const char *, message_id, message_id)
ENTRY_GETTER (const char *, subject, subject)
ENTRY_GETTER (GateSmtpBodyFlags, body_flags, body_flags)
ENTRY_GETTER (gint64, size, size)
ENTRY_GETTER (guint, n_recipients, n_recipients)
ENTRY_GETTER (GateSpoolStatus, status, status)
ENTRY_GETTER (guint, attempts, attempts)
ENTRY_GETTER (gint64, next_attempt, next_attempt)
ENTRY_GETTER (const char *, last_error, last_error)
ENTRY_GETTER (gint64, release_time, release_time)

const char *
gate_spool_entry_get_recipient (const GateSpoolEntry *entry, guint index)
{
  g_return_val_if_fail (entry != NULL, NULL);
  g_return_val_if_fail (index < entry->n_recipients, NULL);
  return entry->recipients[index];
}

GateSpoolRecipientState
gate_spool_entry_get_recipient_state (const GateSpoolEntry *entry, guint index)
{
  g_return_val_if_fail (entry != NULL, GATE_SPOOL_RECIPIENT_PENDING);
  g_return_val_if_fail (index < entry->n_recipients, GATE_SPOOL_RECIPIENT_PENDING);
  return entry->states[index];
}

const char *
gate_spool_entry_get_recipient_reply (const GateSpoolEntry *entry, guint index)
{
  g_return_val_if_fail (entry != NULL, NULL);
  g_return_val_if_fail (index < entry->n_recipients, NULL);
  return entry->replies[index];
}

guint
gate_spool_entry_get_n_pending (const GateSpoolEntry *entry)
{
  guint n = 0;

  g_return_val_if_fail (entry != NULL, 0);
  for (guint i = 0; i < entry->n_recipients; i++)
    if (entry->states[i] == GATE_SPOOL_RECIPIENT_PENDING)
      n++;
  return n;
}

GateSmtpEnvelope *
gate_spool_entry_to_envelope (const GateSpoolEntry *entry)
{
  GateSmtpEnvelope *envelope;

  g_return_val_if_fail (entry != NULL, NULL);
  envelope = gate_smtp_envelope_new (entry->sender);
  for (guint i = 0; i < entry->n_recipients; i++)
    if (entry->states[i] == GATE_SPOOL_RECIPIENT_PENDING)
      gate_smtp_envelope_add_recipient (envelope, entry->recipients[i]);
  gate_smtp_envelope_set_body_flags (envelope, entry->body_flags);
  gate_smtp_envelope_set_size (envelope, entry->size);
  return envelope;
}

/* ------------------------------------------------------------------------ */
/* Envelope and state files */

#define ENV_GROUP "Envelope"
#define STATE_GROUP "State"

/* Appends "key=value" as GKeyFile writes it, and reads it back: line breaks
 * and backslashes escaped, and spaces and tabs at the start. */
static void
append_key_value (GString *out, const char *key, const char *value)
{
  g_autofree char *valid = g_utf8_validate (value, -1, NULL) ? NULL : g_utf8_make_valid (value, -1);
  gboolean leading = TRUE;

  g_string_append (out, key);
  g_string_append_c (out, '=');
  for (const char *p = valid ? valid : value; *p; p++)
    {
      switch (*p)
        {
          case ' ':
            g_string_append (out, leading ? "\\s" : " ");
            break;
          case '\t':
            g_string_append (out, leading ? "\\t" : "\t");
            break;
          case '\n':
            g_string_append (out, "\\n");
            break;
          case '\r':
            g_string_append (out, "\\r");
            break;
          case '\\':
            g_string_append (out, "\\\\");
            leading = FALSE;
            break;
          default:
            g_string_append_c (out, *p);
            leading = FALSE;
            break;
        }
    }
  g_string_append_c (out, '\n');
}

/* The envelope file's text: what GKeyFile would write, without building a
 * GKeyFile (which cost more than anything else the relay does with a
 * message in memory).  It is read back with GKeyFile. */
static char *
entry_envelope_to_data (const GateSpoolEntry *entry, gsize *len)
{
  GString *out = g_string_sized_new (512);
  char number[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (out, "[" ENV_GROUP "]\n");
  append_key_value (out, "Id", entry->id);
  g_snprintf (number, sizeof number, "%" G_GINT64_FORMAT, entry->received);
  append_key_value (out, "Received", number);
  append_key_value (out, "ClientAddress", entry->client_address);
  append_key_value (out, "ClientName", entry->client_name);
  append_key_value (out, "Sender", entry->sender);
  if (entry->original_sender)
    append_key_value (out, "OriginalSender", entry->original_sender);
  if (entry->message_id)
    append_key_value (out, "MessageId", entry->message_id);
  if (entry->subject)
    append_key_value (out, "Subject", entry->subject);
  append_key_value (out, "Body", (entry->body_flags & GATE_SMTP_BODY_8BITMIME) ? "8bitmime" : "7bit");
  append_key_value (out, "SmtpUtf8", (entry->body_flags & GATE_SMTP_BODY_SMTPUTF8) ? "true" : "false");
  g_snprintf (number, sizeof number, "%" G_GINT64_FORMAT, entry->size);
  append_key_value (out, "Size", number);
  g_snprintf (number, sizeof number, "%u", entry->n_recipients);
  append_key_value (out, "Recipients", number);
  for (guint i = 0; i < entry->n_recipients; i++)
    {
      char key[32];

      g_snprintf (key, sizeof key, "Recipient%u", i);
      append_key_value (out, key, entry->recipients[i]);
    }
  *len = out->len;
  return g_string_free (out, FALSE);
}

static char *
entry_state_to_data (const GateSpoolEntry *entry, gsize *len)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();

  g_key_file_set_string (kf, STATE_GROUP, "Status", status_names[entry->status]);
  g_key_file_set_integer (kf, STATE_GROUP, "Attempts", (int)entry->attempts);
  g_key_file_set_int64 (kf, STATE_GROUP, "NextAttempt", entry->next_attempt);
  g_key_file_set_int64 (kf, STATE_GROUP, "Released", entry->release_time);
  if (entry->last_error)
    g_key_file_set_string (kf, STATE_GROUP, "LastError", entry->last_error);
  for (guint i = 0; i < entry->n_recipients; i++)
    {
      char key[32];

      g_snprintf (key, sizeof key, "Recipient%u", i);
      g_key_file_set_string (kf, STATE_GROUP, key, rcpt_names[entry->states[i]]);
      if (entry->replies[i])
        {
          g_snprintf (key, sizeof key, "Reply%u", i);
          g_key_file_set_string (kf, STATE_GROUP, key, entry->replies[i]);
        }
    }
  return g_key_file_to_data (kf, len, NULL);
}

static char *
kf_string (GKeyFile *kf, const char *group, const char *key)
{
  return g_key_file_get_string (kf, group, key, NULL);
}

static GateSpoolEntry *
entry_load_envelope (const char *path, const char *id, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *body = NULL;
  g_autofree char *file_id = NULL;
  GateSpoolEntry *entry;
  int n;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        set_not_found (error, id);
      else
        g_set_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID,
                     _ ("The envelope of message “%s” is unreadable: %s"), id, local_error->message);
      return NULL;
    }

  file_id = kf_string (kf, ENV_GROUP, "Id");
  n = g_key_file_get_integer (kf, ENV_GROUP, "Recipients", NULL);
  if (g_strcmp0 (file_id, id) != 0 || n <= 0 || n > 100000)
    {
      g_set_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID,
                   _ ("The envelope of message “%s” is unreadable"), id);
      return NULL;
    }

  entry = entry_new ((guint)n);
  entry->id = g_steal_pointer (&file_id);
  entry->received = g_key_file_get_int64 (kf, ENV_GROUP, "Received", NULL);
  entry->client_address = kf_string (kf, ENV_GROUP, "ClientAddress");
  entry->client_name = kf_string (kf, ENV_GROUP, "ClientName");
  entry->sender = kf_string (kf, ENV_GROUP, "Sender");
  entry->original_sender = kf_string (kf, ENV_GROUP, "OriginalSender");
  entry->message_id = kf_string (kf, ENV_GROUP, "MessageId");
  entry->subject = kf_string (kf, ENV_GROUP, "Subject");
  body = kf_string (kf, ENV_GROUP, "Body");
  if (g_strcmp0 (body, "8bitmime") == 0)
    entry->body_flags |= GATE_SMTP_BODY_8BITMIME;
  if (g_key_file_get_boolean (kf, ENV_GROUP, "SmtpUtf8", NULL))
    entry->body_flags |= GATE_SMTP_BODY_SMTPUTF8;
  entry->size = g_key_file_get_int64 (kf, ENV_GROUP, "Size", NULL);
  if (entry->client_address == NULL)
    entry->client_address = g_strdup ("");
  if (entry->client_name == NULL)
    entry->client_name = g_strdup ("");
  if (entry->sender == NULL)
    entry->sender = g_strdup ("");

  for (guint i = 0; i < entry->n_recipients; i++)
    {
      char key[32];

      g_snprintf (key, sizeof key, "Recipient%u", i);
      entry->recipients[i] = kf_string (kf, ENV_GROUP, key);
      if (entry->recipients[i] == NULL)
        {
          gate_spool_entry_unref (entry);
          g_set_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID,
                       _ ("The envelope of message “%s” is unreadable"), id);
          return NULL;
        }
    }
  return entry;
}

/* Overlays the state file on @entry.  A missing or damaged state file leaves
 * the defaults (queued, all pending): at worst a message is sent twice. */
static void
entry_load_state (GateSpoolEntry *entry, const char *path)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *status = NULL;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        /* Translators: the first %s is a message's number in the queue, the
         * second says what is wrong with the file. */
        g_warning (_ ("What the queue knew about message %s (its tries, whether it is held) cannot be read, "
                      "so it counts as waiting to be sent: %s"),
                   entry->id, error->message);
      return;
    }
  status = kf_string (kf, STATE_GROUP, "Status");
  entry->status = name_to_enum (status, status_names, G_N_ELEMENTS (status_names), GATE_SPOOL_STATUS_QUEUED);
  entry->attempts = (guint)MAX (0, g_key_file_get_integer (kf, STATE_GROUP, "Attempts", NULL));
  entry->next_attempt = g_key_file_get_int64 (kf, STATE_GROUP, "NextAttempt", NULL);
  entry->release_time = g_key_file_get_int64 (kf, STATE_GROUP, "Released", NULL);
  entry->last_error = kf_string (kf, STATE_GROUP, "LastError");
  for (guint i = 0; i < entry->n_recipients; i++)
    {
      char key[32];
      g_autofree char *state = NULL;

      g_snprintf (key, sizeof key, "Recipient%u", i);
      state = kf_string (kf, STATE_GROUP, key);
      entry->states[i]
          = name_to_enum (state, rcpt_names, G_N_ELEMENTS (rcpt_names), GATE_SPOOL_RECIPIENT_PENDING);
      g_snprintf (key, sizeof key, "Reply%u", i);
      entry->replies[i] = kf_string (kf, STATE_GROUP, key);
    }
}

/* ------------------------------------------------------------------------ */
/* GateSpool */

/* What this process knows of one message's state file, so that the folder
 * monitor can tell our own writes from another process's. */
typedef struct
{
  GateSpoolEntry *entry;
  GateSpoolFsStamp state;
  /* When this process claimed the message without writing it down (see
   * gate_spool_claim()); 0 when the claim, if any, is on disk. */
  gint64 claimed_at;
} Record;

static void
record_free (Record *record)
{
  g_clear_pointer (&record->entry, gate_spool_entry_unref);
  g_free (record);
}

typedef enum
{
  FILE_CONTENT,
  FILE_ENVELOPE,
  N_FILE_KINDS,
} FileKind;

struct _GateSpoolWriter
{
  GateSpool *spool;
  char *id;
  int fd;
  int env_fd;
  /* The content stays here until the commit unless it outgrows the buffer:
   * the sync thread then creates and writes the files of a whole batch, and
   * the forwarder gets small messages from memory (GateSpool.contents). */
  guint8 *buffer;
  gsize buffer_size; /* grows up to WRITE_BUFFER_SIZE */
  gsize buffer_len;
  gboolean spilled; /* the content went to its file: the buffer is not all of it */
  /* Where the files are until they get their final names: a temporary name
   * or that of a kept file (to be cut to length once written). */
  char *msg_path;
  char *env_path;
  gboolean reused;
  gboolean env_reused;
  char *env_data;
  gsize env_len;
  gint64 size;
  GError *error;         /* sticky: the first write error */
  GateSpoolEntry *entry; /* envelope under construction (status QUEUED) */
  GPtrArray *recipients;
  GTask *task;
};

typedef enum
{
  SYNC_AUTO,
  SYNC_FILES,
  SYNC_FILE_SYSTEM,
} SyncMode;

struct _GateSpool
{
  GObject parent_instance;

  char *path;
  GateSpoolOpenFlags flags;
  int dir_fd;
  int owner_fd;
  GMainContext *context;
  GHashTable *records;          /* id → Record */
  GHashTable *committing;       /* ids handed to the sync thread, not yet done */
  GHashTable *unwritten_claims; /* ids claimed in memory only */
  GSource *claims_source;       /* writes down claims that last */
  /* Small messages just stored, kept in memory for their first sending: the
   * forwarder need not read back what it was just given. */
  GHashTable *contents; /* id → GBytes */
  gsize contents_size;
  /* Delivered messages are removed by a worker thread, off the main loop;
   * until it is done their ids are here (under the mutex). */
  GThreadPool *remover;
  GHashTable *removing;
  GQueue free_files[N_FILE_KINDS]; /* FreeFile, oldest first, under the mutex */
  /* The sync thread's folder syncs, numbered from 1: how many were started
   * and the last one done (under the mutex). */
  guint64 folder_syncs_started;
  guint64 folder_syncs_done;
  guint free_counter;
  SyncMode sync_mode;
  gint64 syncfs_paused_until; /* sync thread only */
  GFileMonitor *monitor;
  guint counter;

  /* Group commit: writers waiting for the sync thread. */
  GMutex mutex;
  GCond cond;
  GPtrArray *pending;
  gboolean quit;
  GThread *sync_thread;
};

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

enum
{
  PROP_0,
  PROP_PATH,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (GateSpool, gate_spool, G_TYPE_OBJECT)

static void writer_free (GateSpoolWriter *writer);
static void writer_write_files (GateSpoolWriter *writer);
static gboolean is_being_removed (GateSpool *self, const char *id);
static void remove_delivered_func (gpointer data, gpointer user_data);

static char *
spool_file (GateSpool *self, const char *id, const char *suffix)
{
  g_autofree char *name = g_strconcat (id, suffix, NULL);
  return g_build_filename (self->path, name, NULL);
}

static char *
spool_tmp_file (GateSpool *self, const char *id, const char *suffix)
{
  g_autofree char *name = g_strconcat (TMP_PREFIX, id, suffix, NULL);
  return g_build_filename (self->path, name, NULL);
}

static void
stat_state (GateSpool *self, const char *id, GateSpoolFsStamp *stamp)
{
  g_autofree char *path = spool_file (self, id, ".state");

  gate_spool_fs_stamp (path, stamp);
}

static GateSpoolEntry *
load_entry (GateSpool *self, const char *id, GError **error)
{
  g_autofree char *env_path = spool_file (self, id, ".env");
  g_autofree char *state_path = spool_file (self, id, ".state");
  GateSpoolEntry *entry = entry_load_envelope (env_path, id, error);

  if (entry != NULL)
    entry_load_state (entry, state_path);
  return entry;
}

/* A message the relay cannot send (@error says why) is listed as failed,
 * with why and what happens to it.  Only in memory: should the problem go
 * away (a file put back), the next reading of the queue sends it. */
static void
entry_mark_unusable (GateSpoolEntry *entry, const GError *error)
{
  entry->status = GATE_SPOOL_STATUS_FAILED;
  g_free (entry->last_error);
  /* Translators: %s says what is wrong, such as "The envelope of message
   * “…” is unreadable". */
  entry->last_error = g_strdup_printf (_ ("%s. The message will not be sent; its files are kept in the queue "
                                          "folder until you delete it."),
                                       error->message);
}

/* Content is renamed into place before its envelope and removed after it,
 * so an envelope without content is never a step of the relay's own: the
 * content was lost outside it (a failing disk, a file removed by hand),
 * after the client was told the message was queued.  Returns FALSE with
 * GATE_SPOOL_ERROR_INVALID then, or with G_FILE_ERROR_NOENT when the
 * envelope is gone too (the message was removed meanwhile). */
static gboolean
check_content (GateSpool *self, const char *id, GError **error)
{
  g_autofree char *msg_path = spool_file (self, id, ".msg");
  g_autofree char *env_path = NULL;

  if (g_file_test (msg_path, G_FILE_TEST_EXISTS))
    return TRUE;
  env_path = spool_file (self, id, ".env");
  if (g_file_test (env_path, G_FILE_TEST_EXISTS))
    g_set_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID,
                 _ ("The content of message “%s” is missing"), id);
  else
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, _ ("There is no message “%s” in the queue"), id);
  return FALSE;
}

/* For holding or retrying a message: FALSE when its content is missing.
 * Any other problem (no such message) is left to spool_update() to report.
 * Not under the message's lock: the relay never takes the content away from
 * a message it keeps. */
static gboolean
content_usable (GateSpool *self, const char *id, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  if (check_content (self, id, &local_error)
      || !g_error_matches (local_error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/* A message whose envelope cannot be read (damaged by hand, by the disk, or
 * by an old bug) is not sent, but it is not hidden either: it is listed as
 * failed, with why, for the user to look at and delete.  Holding or
 * retrying it reads the envelope again and says what is wrong. */
static GateSpoolEntry *
entry_new_unreadable (GateSpool *self, const char *id, const GError *error)
{
  g_autofree char *env_path = spool_file (self, id, ".env");
  g_autofree char *msg_path = spool_file (self, id, ".msg");
  GateSpoolEntry *entry = entry_new (0);
  GStatBuf st;

  entry->id = g_strdup (id);
  entry->client_address = g_strdup ("");
  entry->client_name = g_strdup ("");
  entry->sender = g_strdup ("");
  entry->status = GATE_SPOOL_STATUS_FAILED;
  if (g_stat (env_path, &st) == 0)
    entry->received = (gint64)st.st_mtime;
  if (g_stat (msg_path, &st) == 0)
    entry->size = (gint64)st.st_size;
  entry_mark_unusable (entry, error);
  return entry;
}

/* Reads message @id for the queue's list: its entry; or, when it cannot be
 * sent (its envelope unreadable, its content missing), a failed entry that
 * says why, with *@problem set too; or NULL, with *@problem set, when it is
 * gone or cannot be read at all. */
static GateSpoolEntry *
load_listed_entry (GateSpool *self, const char *id, GError **problem)
{
  GateSpoolEntry *entry = load_entry (self, id, problem);

  if (entry != NULL && check_content (self, id, problem))
    return entry;
  if (!g_error_matches (*problem, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID))
    {
      g_clear_pointer (&entry, gate_spool_entry_unref);
      return NULL;
    }
  if (entry == NULL)
    return entry_new_unreadable (self, id, *problem);
  entry_mark_unusable (entry, *problem);
  return entry;
}

/* Keeps a small message's content for its first sending, within a bound:
 * when the forwarder lags far behind, the rest is read back from disk. */
#define CONTENTS_MAX_SIZE (4 * 1024 * 1024)

static void
keep_content (GateSpool *self, GateSpoolWriter *writer)
{
  /* Not spilled: the buffer holds the whole content (written to the file by
   * now, which emptied it in name only). */
  gsize len = (gsize)writer->size;
  GBytes *bytes;

  if (self->contents_size + len > CONTENTS_MAX_SIZE)
    return;
  bytes = g_bytes_new_take (g_realloc (g_steal_pointer (&writer->buffer), MAX (len, 1)), len);
  writer->buffer_len = 0;
  self->contents_size += len;
  g_hash_table_replace (self->contents, g_strdup (writer->id), bytes);
}

static GBytes *
take_content (GateSpool *self, const char *id)
{
  gpointer key = NULL;
  gpointer bytes = NULL;

  if (!g_hash_table_steal_extended (self->contents, id, &key, &bytes))
    return NULL;
  g_free (key);
  self->contents_size -= g_bytes_get_size (bytes);
  return bytes;
}

/* Puts @entry (stolen, may be NULL for "removed") in the table and tells the
 * listeners when something changed.  @stamp is what is known of its state
 * file, NULL to look. */
static void
spool_set_entry_stamped (GateSpool *self, const char *id, GateSpoolEntry *entry,
                         const GateSpoolFsStamp *stamp)
{
  g_autofree char *id_copy = g_strdup (id);
  Record *record = g_hash_table_lookup (self->records, id);
  g_autoptr (GBytes) content = NULL;
  gboolean same;

  if (entry == NULL || entry->status != GATE_SPOOL_STATUS_IN_FLIGHT)
    g_hash_table_remove (self->unwritten_claims, id);
  if (entry == NULL)
    {
      content = take_content (self, id); /* dropped */
      if (record == NULL)
        return;
      g_hash_table_remove (self->records, id);
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0, id_copy, NULL);
      return;
    }

  if (record == NULL)
    {
      record = g_new0 (Record, 1);
      g_hash_table_insert (self->records, g_strdup (id), record);
    }
  same = record->entry != NULL && entry_equal (record->entry, entry);
  g_clear_pointer (&record->entry, gate_spool_entry_unref);
  record->entry = entry;
  if (!g_hash_table_contains (self->unwritten_claims, id))
    record->claimed_at = 0;
  if (stamp != NULL)
    record->state = *stamp;
  else
    stat_state (self, id, &record->state);
  if (!same)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0, id_copy, entry);
}

static void
spool_set_entry (GateSpool *self, const char *id, GateSpoolEntry *entry)
{
  spool_set_entry_stamped (self, id, entry, NULL);
}

/* This process claimed @entry's message in memory only: what is on disk still
 * says "queued".  Keeps the claim over what was just read back, unless the
 * user decided otherwise meanwhile (held it, for example). */
static void
keep_unwritten_claim (GateSpool *self, GateSpoolEntry *entry)
{
  Record *record;

  if (entry->status != GATE_SPOOL_STATUS_QUEUED || !g_hash_table_contains (self->unwritten_claims, entry->id))
    return;
  record = g_hash_table_lookup (self->records, entry->id);
  if (record == NULL || record->entry == NULL)
    return;
  entry->status = GATE_SPOOL_STATUS_IN_FLIGHT;
  entry->attempts = MAX (entry->attempts, record->entry->attempts);
}

/* A delivered message's file kept for a new one. */
typedef struct
{
  char *path;
  /* The number of folder syncs started when it got its FREE_PREFIX name. */
  guint64 named_before_sync;
} FreeFile;

static void
free_file_free (gpointer data)
{
  FreeFile *file = data;

  g_free (file->path);
  g_free (file);
}

/* Remover thread: keeps the file at @path, as it is, for a new message, or
 * removes it when enough are kept already or it is large (@size: its size,
 * -1 when not known).  Returns FALSE when @path is still there.  A kept file
 * is not emptied: the new message is written over it and the file cut to
 * its length before it is synced, and what is kept is removed at the next
 * start (the folder is the user's alone). */
static gboolean
recycle_file (GateSpool *self, const char *path, FileKind kind, gint64 size)
{
  g_autofree char *free_path = NULL;
  GStatBuf st;
  gboolean keep;

  g_mutex_lock (&self->mutex);
  keep = self->free_files[kind].length < FREE_FILES_MAX;
  if (keep)
    {
      g_autofree char *name = g_strdup_printf (FREE_PREFIX "%u", self->free_counter++);
      free_path = g_build_filename (self->path, name, NULL);
    }
  g_mutex_unlock (&self->mutex);

  if (keep && size < 0)
    size = g_stat (path, &st) == 0 ? (gint64)st.st_size : G_MAXINT64;
  if (!keep || size > FREE_FILE_MAX_SIZE || gate_spool_fs_rename (path, free_path) != 0)
    return g_unlink (path) == 0 || errno == ENOENT;
  g_mutex_lock (&self->mutex);
  {
    FreeFile *file = g_new0 (FreeFile, 1);

    file->path = g_steal_pointer (&free_path);
    file->named_before_sync = self->folder_syncs_started;
    g_queue_push_tail (&self->free_files[kind], file);
  }
  g_mutex_unlock (&self->mutex);
  return TRUE;
}

/* Sync thread (or the main thread for a large message): a new file of
 * @kind, a kept one when there is one (*@reused: it still holds a delivered
 * message, to be written over and cut to length), otherwise one made at
 * @tmp_path.  *@path is where it is. */
static int
create_message_file (GateSpool *self, FileKind kind, const char *tmp_path, char **path, int *fd,
                     gboolean *reused)
{
  g_autofree char *free_path = NULL;
  int err;

  g_mutex_lock (&self->mutex);
  /* Only a file whose new name a folder sync has made durable: until then
   * the disk may still hold it under the delivered message's name, and
   * after a power cut that message would come back with the new one's
   * data in it (and be sent again, to its own recipients).  Of those, the
   * one kept last: the fewer files in turn, the fewer blocks of the file
   * system's inode table each sync writes (and its pages are still in
   * memory).  The files kept since the last folder sync are the newest. */
  for (GList *link = self->free_files[kind].tail; link != NULL; link = link->prev)
    {
      FreeFile *file = link->data;

      if (file->named_before_sync < self->folder_syncs_done)
        {
          free_path = g_steal_pointer (&file->path);
          free_file_free (file);
          g_queue_delete_link (&self->free_files[kind], link);
          break;
        }
    }
  g_mutex_unlock (&self->mutex);
  *reused = FALSE;
  if (free_path != NULL)
    {
      if (gate_spool_fs_open_for_overwrite (free_path, fd) == 0)
        {
          *reused = TRUE;
          *path = g_steal_pointer (&free_path);
          return 0;
        }
      g_unlink (free_path);
    }
  if ((err = gate_spool_fs_create (tmp_path, TRUE, fd)) == 0)
    *path = g_strdup (tmp_path);
  return err;
}

/* Owner, at start: what was kept before is of no use. */
static void
clear_free_files (GateSpool *self)
{
  g_autoptr (GDir) dir = g_dir_open (self->path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, FREE_PREFIX))
      {
        g_autofree char *path = g_build_filename (self->path, name, NULL);
        g_unlink (path);
      }
}

/* Removes message @id's files. */
static void
remove_files (GateSpool *self, const char *id)
{
  const char *const suffixes[] = { ".env", ".msg", ".state" };

  /* The envelope first: without it the rest is debris that recovery removes. */
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *path = spool_file (self, id, suffixes[i]);

      if (g_unlink (path) != 0 && errno != ENOENT)
        g_warning (_ ("Could not remove %s: %s"), path, g_strerror (errno));
    }
}

static gboolean
write_state_file (GateSpool *self, const GateSpoolEntry *entry, gboolean durable, GError **error)
{
  g_autofree char *tmp_path = spool_tmp_file (self, entry->id, ".state");
  g_autofree char *path = spool_file (self, entry->id, ".state");
  g_autofree char *data = NULL;
  gsize len = 0;
  int saved_errno = 0;
  int fd;

  data = entry_state_to_data (entry, &len);
  if ((saved_errno = gate_spool_fs_create (tmp_path, FALSE, &fd)) != 0)
    {
      set_errno_error (error, saved_errno, _ ("create"), tmp_path);
      return FALSE;
    }
  /* Only user decisions are synced: losing a forwarder's progress in a crash
   * means a message is sent again, never that it is lost (see entry_load_state). */
  if (!write_all (fd, data, len, &saved_errno)
      || (durable && (saved_errno = gate_spool_fs_sync_data (fd)) != 0))
    {
      set_errno_error (error, saved_errno, _ ("write"), tmp_path);
      gate_spool_fs_close (fd);
      g_unlink (tmp_path);
      return FALSE;
    }
  gate_spool_fs_close (fd);
  if ((saved_errno = gate_spool_fs_rename (tmp_path, path)) != 0)
    {
      set_errno_error (error, saved_errno, _ ("rename"), tmp_path);
      g_unlink (tmp_path);
      return FALSE;
    }
  /* The new name is in place, but a user's decision is not done until it
   * lasts: a failure here is theirs to hear of. */
  if (durable && (saved_errno = gate_spool_fs_sync_folder (self->dir_fd)) != 0)
    {
      set_errno_error (error, saved_errno, _ ("sync"), self->path);
      return FALSE;
    }
  return TRUE;
}

static void
scan_folder (GateSpool *self, gboolean recover)
{
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) envs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GError) error = NULL;
  gboolean removed = FALSE;
  const char *name;

  dir = g_dir_open (self->path, 0, &error);
  if (dir == NULL)
    {
      g_warning (_ ("Could not read the mail queue folder: %s"), error->message);
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      char *id = id_from_name (name, ".env");
      if (id)
        g_hash_table_add (envs, id);
      g_ptr_array_add (names, g_strdup (name));
    }

  for (guint i = 0; i < names->len; i++)
    {
      const char *n = names->pdata[i];
      g_autofree char *msg_id = id_from_name (n, ".msg");
      g_autofree char *state_id = id_from_name (n, ".state");
      gboolean debris = g_str_has_prefix (n, TMP_PREFIX) || (msg_id && !g_hash_table_contains (envs, msg_id))
                        || (state_id && !g_hash_table_contains (envs, state_id));

      /* Half-written files, content whose envelope never got its final name
       * (never answered 250), states of deleted messages. */
      if (recover && debris)
        {
          g_autofree char *path = g_build_filename (self->path, n, NULL);
          g_debug ("Recovery: removing %s", n);
          g_unlink (path);
          removed = TRUE;
        }
    }

  {
    GHashTableIter iter;
    char *id;

    g_hash_table_iter_init (&iter, envs);
    while (g_hash_table_iter_next (&iter, (gpointer *)&id, NULL))
      {
        g_autoptr (GError) local_error = NULL;
        GateSpoolEntry *entry;

        entry = load_listed_entry (self, id, &local_error);
        /* The relay's log says so; a listing shows it anyway. */
        if (local_error != NULL && recover)
          g_message (_ ("Message %s will not be sent: %s"), id, local_error->message);
        if (entry == NULL)
          continue;
        if (recover && entry->status == GATE_SPOOL_STATUS_IN_FLIGHT)
          {
            g_autoptr (GError) write_error = NULL;

            g_message (_ ("Message %s was being sent when the relay stopped; it will be sent again"), id);
            entry->status = GATE_SPOOL_STATUS_QUEUED;
            if (!write_state_file (self, entry, TRUE, &write_error))
              g_warning ("%s", write_error->message);
          }
        spool_set_entry (self, id, entry);
      }
  }

  if (removed)
    gate_spool_fs_sync_folder (self->dir_fd);
}

static void
reload_id (GateSpool *self, const char *id)
{
  g_autofree char *env_path = spool_file (self, id, ".env");
  g_autoptr (GError) error = NULL;
  Record *record = g_hash_table_lookup (self->records, id);
  GateSpoolEntry *entry;

  /* Our own commit in progress: it appears (or not) when the batch is done,
   * never before the folder is synced.  Our own removal in progress: gone. */
  if (g_hash_table_contains (self->committing, id) || is_being_removed (self, id))
    return;
  if (!g_file_test (env_path, G_FILE_TEST_EXISTS))
    {
      spool_set_entry (self, id, NULL);
      return;
    }
  if (record != NULL)
    {
      GateSpoolFsStamp stamp;

      stat_state (self, id, &stamp);
      if (stamp.id == record->state.id && stamp.mtime_ns == record->state.mtime_ns
          && stamp.size == record->state.size)
        return; /* our own write */
    }
  else
    {
      /* A message being committed by this process appears once its commit
       * completes; another process never writes new messages. */
      g_autofree char *msg_path = spool_file (self, id, ".msg");
      if (!g_file_test (msg_path, G_FILE_TEST_EXISTS))
        return;
    }
  entry = load_listed_entry (self, id, &error);
  if (error != NULL)
    g_debug ("Reloading %s: %s", id, error->message);
  if (entry == NULL)
    return;
  keep_unwritten_claim (self, entry);
  spool_set_entry (self, id, entry);
}

static void
monitor_changed_cb (GFileMonitor *monitor, GFile *file, GFile *other_file, GFileMonitorEvent event,
                    gpointer user_data)
{
  GateSpool *self = user_data;
  GFile *files[2] = { file, other_file };

  if (event == G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT || event == G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED)
    return;
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *name = files[i] ? g_file_get_basename (files[i]) : NULL;
      g_autofree char *id = NULL;

      if (name == NULL || g_str_has_prefix (name, TMP_PREFIX))
        continue;
      id = id_from_name (name, ".state");
      if (id == NULL)
        id = id_from_name (name, ".env");
      if (id != NULL)
        reload_id (self, id);
    }
}

/* ---- changes from other processes --------------------------------------- */

static char *
control_path (GateSpool *self, gboolean folder_only)
{
  return g_build_filename (self->path, CONTROL_DIR, folder_only ? NULL : CONTROL_FILE, NULL);
}

/* @saved_errno: why telling it failed. */
static void
warn_owner_not_told (const char *id, int saved_errno)
{
  g_warning (
      _ ("The running relay could not be told about the change to message %s (it will see it at the latest "
         "when it is started again): %s"),
      id, g_strerror (saved_errno));
}

/* Another process changed @id: tell the relay owning the folder, if any. */
static void
notify_owner (GateSpool *self, const char *id)
{
  g_autofree char *folder = control_path (self, TRUE);
  g_autofree char *path = control_path (self, FALSE);
  g_autofree char *line = g_strconcat (id, "\n", NULL);
  int saved_errno;
  int fd;

  if (self->flags & GATE_SPOOL_OPEN_OWNER)
    return;
  if (g_mkdir (folder, 0700) < 0 && errno != EEXIST)
    {
      warn_owner_not_told (id, errno);
      return;
    }
  if ((saved_errno = gate_spool_fs_open_append (path, &fd)) != 0)
    {
      warn_owner_not_told (id, saved_errno);
      return;
    }
  /* The relay empties the file under the same lock. */
  gate_spool_fs_lock (fd, TRUE, TRUE);
  if ((saved_errno = gate_spool_fs_write_all (fd, line, strlen (line))) != 0)
    warn_owner_not_told (id, saved_errno);
  gate_spool_fs_close (fd);
}

/* Reloads the messages other processes changed since the last call. */
static void
drain_control (GateSpool *self)
{
  g_autofree char *path = control_path (self, FALSE);
  g_autofree char *data = NULL;
  g_auto (GStrv) ids = NULL;
  gsize len = 0;
  int saved_errno;
  int fd;

  if ((saved_errno = gate_spool_fs_open_lock_file (path, &fd)) != 0)
    {
      g_warning (_ ("Could not read the changes to the mail queue: %s"), g_strerror (saved_errno));
      return;
    }
  gate_spool_fs_lock (fd, TRUE, TRUE);
  saved_errno = gate_spool_fs_take_contents (fd, &data, &len);
  gate_spool_fs_close (fd);
  if (saved_errno != 0)
    {
      g_warning (_ ("Could not read the changes to the mail queue: %s"), g_strerror (saved_errno));
      return;
    }
  ids = g_strsplit (data, "\n", -1);
  for (guint i = 0; ids[i] != NULL; i++)
    if (id_is_valid (ids[i]))
      reload_id (self, ids[i]);
}

static void
control_changed_cb (GFileMonitor *monitor, GFile *file, GFile *other_file, GFileMonitorEvent event,
                    gpointer user_data)
{
  GateSpool *self = user_data;
  g_autofree char *name = NULL;

  if (event != G_FILE_MONITOR_EVENT_CREATED && event != G_FILE_MONITOR_EVENT_CHANGED
      && event != G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT && event != G_FILE_MONITOR_EVENT_MOVED_IN)
    return;
  name = g_file_get_basename (file);
  if (g_strcmp0 (name, CONTROL_FILE) == 0)
    drain_control (self);
}

/* The relay owning the folder watches only the control folder, where other
 * processes announce their changes; any other process watches the queue
 * folder itself (it sees the relay's changes, and the others'). */
static void
start_watching (GateSpool *self)
{
  g_autoptr (GError) local_error = NULL;
  gboolean owner = (self->flags & GATE_SPOOL_OPEN_OWNER) != 0;
  g_autofree char *folder = owner ? control_path (self, TRUE) : g_strdup (self->path);
  g_autoptr (GFile) dir = g_file_new_for_path (folder);

  if (owner && g_mkdir (folder, 0700) < 0 && errno != EEXIST)
    {
      g_warning (_ ("Changes from other programs to the mail queue will not be noticed: %s"),
                 g_strerror (errno));
      return;
    }
  self->monitor = g_file_monitor_directory (dir, owner ? G_FILE_MONITOR_NONE : G_FILE_MONITOR_WATCH_MOVES,
                                            NULL, &local_error);
  if (self->monitor == NULL)
    {
      g_warning (_ ("Changes from other programs to the mail queue will not be noticed: %s"),
                 local_error->message);
      return;
    }
  if (owner)
    {
      g_file_monitor_set_rate_limit (self->monitor, 100);
      g_signal_connect (self->monitor, "changed", G_CALLBACK (control_changed_cb), self);
      /* Announced while no relay was running: already read by the scan. */
      drain_control (self);
    }
  else
    {
      g_file_monitor_set_rate_limit (self->monitor, 200);
      g_signal_connect (self->monitor, "changed", G_CALLBACK (monitor_changed_cb), self);
    }
}

/* ---- group commit ------------------------------------------------------ */

typedef struct
{
  GateSpool *spool;
  GPtrArray *batch; /* GateSpoolWriter */
} BatchDone;

/* @path: the file (or the folder) the failing call was made on, for the
 * message to name it. */
static void
writer_fail (GateSpoolWriter *writer, int saved_errno, const char *what, const char *path)
{
  if (writer->error == NULL)
    set_errno_error (&writer->error, saved_errno, what, path != NULL ? path : writer->spool->path);
}

static void
writer_unlink_all (GateSpoolWriter *writer)
{
  const char *const suffixes[] = { ".env", ".msg" };
  char **paths[] = { &writer->env_path, &writer->msg_path };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *final = spool_file (writer->spool, writer->id, suffixes[i]);

      if (*paths[i] != NULL)
        g_unlink (*paths[i]);
      g_clear_pointer (paths[i], g_free);
      g_unlink (final);
    }
}

static gboolean
batch_done_cb (gpointer user_data)
{
  BatchDone *done = user_data;

  for (guint i = 0; i < done->batch->len; i++)
    {
      GateSpoolWriter *writer = done->batch->pdata[i];
      GTask *task = g_steal_pointer (&writer->task);

      g_hash_table_remove (done->spool->committing, writer->id);
      if (writer->error)
        {
          g_task_return_error (task, g_steal_pointer (&writer->error));
        }
      else
        {
          GateSpoolEntry *entry = g_steal_pointer (&writer->entry);

          /* A new message has no state file yet. */
          const GateSpoolFsStamp no_state = { 0, 0, -1 };

          if (!writer->spilled)
            keep_content (done->spool, writer);
          spool_set_entry_stamped (done->spool, entry->id, gate_spool_entry_ref (entry), &no_state);
          g_task_return_pointer (task, entry, (GDestroyNotify)gate_spool_entry_unref);
        }
      g_object_unref (task);
      writer_free (writer);
    }
  g_ptr_array_unref (done->batch);
  g_object_unref (done->spool);
  g_free (done);
  return G_SOURCE_REMOVE;
}

/* A sync of the whole file system slower than this means others are
 * writing much to it: files are then synced one by one for a while. */
#define SLOW_SYNCFS_US (250 * 1000)
#define SYNCFS_PAUSE_US (30 * G_USEC_PER_SEC)

static void
sync_batch (GateSpool *self, GPtrArray *batch)
{
  gboolean any_renamed = FALSE;
  gboolean synced = FALSE;
  gboolean whole;
  guint64 sync_number;
  int err;

  /* The files of every message, then their data synced, then the renames,
   * then one folder sync that makes all the new names durable together.
   *
   * A batch of several messages is synced with one call for the whole file
   * system (syncfs): one write of the metadata and one cache flush of the
   * disk instead of two of each per message, which on the machines measured
   * takes a fifth off the time of a message.  It also writes what other
   * programs have written to that file system; when that makes it slow (a
   * large copy under way), the files are synced one by one for a while.
   * There, write-back of the whole batch starts before the first sync
   * waits, so that the syncs after the first mostly find their data written.
   * GATE_SPOOL_SYNC=files or =syncfs forces one way. */
  whole = batch->len >= 2
          && (self->sync_mode == SYNC_FILE_SYSTEM
              || (self->sync_mode == SYNC_AUTO && g_get_monotonic_time () >= self->syncfs_paused_until));

  for (guint i = 0; i < batch->len; i++)
    {
      GateSpoolWriter *writer = batch->pdata[i];

      writer_write_files (writer);
      if (writer->error == NULL && !whole)
        {
          gate_spool_fs_start_writeback (writer->fd);
          gate_spool_fs_start_writeback (writer->env_fd);
        }
    }
  if (whole)
    {
      gint64 start = g_get_monotonic_time ();

      err = gate_spool_fs_sync_file_system (self->dir_fd);
      if (err == 0)
        synced = TRUE;
      else if (err != ENOSYS)
        {
          for (guint i = 0; i < batch->len; i++)
            writer_fail (batch->pdata[i], err, _ ("sync"), self->path);
        }
      if (err == ENOSYS)
        self->sync_mode = SYNC_FILES;
      else if (g_get_monotonic_time () - start > SLOW_SYNCFS_US)
        self->syncfs_paused_until = g_get_monotonic_time () + SYNCFS_PAUSE_US;
    }
  if (!synced)
    for (guint i = 0; i < batch->len; i++)
      {
        GateSpoolWriter *writer = batch->pdata[i];

        if (writer->error)
          continue;
        if ((err = gate_spool_fs_sync_data (writer->fd)) != 0)
          writer_fail (writer, err, _ ("sync"), writer->msg_path);
        else if ((err = gate_spool_fs_sync_data (writer->env_fd)) != 0)
          writer_fail (writer, err, _ ("sync"), writer->env_path);
      }
  for (guint i = 0; i < batch->len; i++)
    {
      GateSpoolWriter *writer = batch->pdata[i];
      g_autofree char *msg = spool_file (self, writer->id, ".msg");
      g_autofree char *env = spool_file (self, writer->id, ".env");
      const char *failed = NULL;

      gate_spool_fs_close (writer->fd);
      gate_spool_fs_close (writer->env_fd);
      writer->fd = writer->env_fd = -1;
      if (writer->error)
        {
          writer_unlink_all (writer);
          continue;
        }
      /* Content before envelope: the envelope's name is the commit point. */
      if ((err = gate_spool_fs_rename (writer->msg_path, msg)) != 0)
        failed = writer->msg_path;
      else if ((err = gate_spool_fs_rename (writer->env_path, env)) != 0)
        failed = writer->env_path;
      if (failed != NULL)
        {
          writer_fail (writer, err, _ ("rename"), failed);
          writer_unlink_all (writer);
          continue;
        }
      any_renamed = TRUE;
    }
  if (!any_renamed)
    return;
  g_mutex_lock (&self->mutex);
  sync_number = ++self->folder_syncs_started;
  g_mutex_unlock (&self->mutex);
  if ((err = gate_spool_fs_sync_folder (self->dir_fd)) == 0)
    {
      g_mutex_lock (&self->mutex);
      self->folder_syncs_done = sync_number;
      g_mutex_unlock (&self->mutex);
    }
  else
    {
      for (guint i = 0; i < batch->len; i++)
        {
          GateSpoolWriter *writer = batch->pdata[i];
          if (writer->error == NULL)
            {
              writer_fail (writer, err, _ ("sync"), self->path);
              writer_unlink_all (writer);
            }
        }
    }
}

static gpointer
sync_thread_func (gpointer user_data)
{
  GateSpool *self = user_data; /* not a reference: dispose joins this thread */

  g_mutex_lock (&self->mutex);
  for (;;)
    {
      GPtrArray *batch;
      BatchDone *done;

      while (self->pending->len == 0 && !self->quit)
        g_cond_wait (&self->cond, &self->mutex);
      if (self->pending->len == 0 && self->quit)
        break;
      batch = self->pending;
      self->pending = g_ptr_array_new ();
      g_mutex_unlock (&self->mutex);

      sync_batch (self, batch);
      done = g_new0 (BatchDone, 1);
      /* Every writer's task holds a reference to the spool, so it is alive. */
      done->spool = g_object_ref (self);
      done->batch = batch;
      {
        /* Not g_main_context_invoke(): from this thread it may run the
         * callback right here when the main thread is between iterations. */
        GSource *source = g_idle_source_new ();

        g_source_set_priority (source, G_PRIORITY_DEFAULT);
        g_source_set_callback (source, batch_done_cb, done, NULL);
        g_source_set_static_name (source, "[gate-spool] commit done");
        g_source_attach (source, self->context);
        g_source_unref (source);
      }

      g_mutex_lock (&self->mutex);
    }
  g_mutex_unlock (&self->mutex);
  return NULL;
}

/* ---- object ------------------------------------------------------------ */

static void
gate_spool_dispose (GObject *object)
{
  GateSpool *self = GATE_SPOOL (object);

  if (self->sync_thread)
    {
      g_mutex_lock (&self->mutex);
      self->quit = TRUE;
      g_cond_signal (&self->cond);
      g_mutex_unlock (&self->mutex);
      g_thread_join (g_steal_pointer (&self->sync_thread));
    }
  if (self->remover)
    g_thread_pool_free (g_steal_pointer (&self->remover), FALSE, TRUE);
  if (self->claims_source)
    {
      g_source_destroy (self->claims_source);
      g_clear_pointer (&self->claims_source, g_source_unref);
    }
  if (self->monitor)
    {
      g_signal_handlers_disconnect_by_data (self->monitor, self);
      g_file_monitor_cancel (self->monitor);
      g_clear_object (&self->monitor);
    }
  if (self->flags & GATE_SPOOL_OPEN_OWNER)
    gate_spool_set_owner_note (self, NULL);
  G_OBJECT_CLASS (gate_spool_parent_class)->dispose (object);
}

static void
gate_spool_finalize (GObject *object)
{
  GateSpool *self = GATE_SPOOL (object);

  g_clear_pointer (&self->records, g_hash_table_unref);
  g_clear_pointer (&self->committing, g_hash_table_unref);
  g_clear_pointer (&self->unwritten_claims, g_hash_table_unref);
  g_clear_pointer (&self->contents, g_hash_table_unref);
  g_clear_pointer (&self->removing, g_hash_table_unref);
  for (guint i = 0; i < N_FILE_KINDS; i++)
    g_queue_clear_full (&self->free_files[i], free_file_free);
  g_clear_pointer (&self->pending, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  gate_spool_fs_close_folder (self->dir_fd);
  gate_spool_fs_close (self->owner_fd); /* releases the owner lock */
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);
  g_free (self->path);
  G_OBJECT_CLASS (gate_spool_parent_class)->finalize (object);
}

static void
gate_spool_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GateSpool *self = GATE_SPOOL (object);

  switch (prop_id)
    {
      case PROP_PATH:
        g_value_set_string (value, self->path);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_spool_class_init (GateSpoolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gate_spool_dispose;
  object_class->finalize = gate_spool_finalize;
  object_class->get_property = gate_spool_get_property;

  properties[PROP_PATH] = g_param_spec_string (
      "path", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                          NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, GATE_TYPE_SPOOL_ENTRY);
}

static void
gate_spool_init (GateSpool *self)
{
  self->dir_fd = -1;
  self->owner_fd = -1;
  self->records = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)record_free);
  self->committing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->unwritten_claims = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->contents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  self->removing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < N_FILE_KINDS; i++)
    g_queue_init (&self->free_files[i]);
  /* Read once here: getenv() is not safe to call from the sync thread. */
  {
    const char *mode = g_getenv ("GATE_SPOOL_SYNC");

    self->sync_mode = g_strcmp0 (mode, "syncfs") == 0  ? SYNC_FILE_SYSTEM
                      : g_strcmp0 (mode, "files") == 0 ? SYNC_FILES
                                                       : SYNC_AUTO;
  }
  self->pending = g_ptr_array_new ();
  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
}

char *
gate_spool_default_path (const char *profile_id)
{
  g_autofree char *name = g_strdup (profile_id && *profile_id ? profile_id : "default");

  g_strdelimit (name, "/\\", '_');
  if (name[0] == '.')
    name[0] = '_';
  return g_build_filename (g_get_user_data_dir (), "postgate", "spool", name, NULL);
}

char *
gate_spool_default_base (void)
{
  return g_build_filename (g_get_user_data_dir (), "postgate", "spool", NULL);
}

gboolean
gate_spool_path_has_owner (const char *path)
{
  g_autofree char *lock_path = g_build_filename (path, OWNER_LOCK, NULL);
  gboolean owned = FALSE;
  int fd;

  g_return_val_if_fail (path != NULL, FALSE);
  if (gate_spool_fs_open_existing (lock_path, &fd) != 0)
    return FALSE;
  owned = gate_spool_fs_lock (fd, FALSE, FALSE) == EWOULDBLOCK;
  gate_spool_fs_close (fd);
  return owned;
}

void
gate_spool_set_owner_note (GateSpool *self, const char *note)
{
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;

  g_return_if_fail (GATE_IS_SPOOL (self));
  g_return_if_fail (self->flags & GATE_SPOOL_OPEN_OWNER);

  path = g_build_filename (self->path, OWNER_NOTE, NULL);
  /* Not synced: after a crash the next owner removes it anyway. */
  if (note == NULL)
    g_unlink (path);
  else if (!g_file_set_contents_full (path, note, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_warning (_ ("Could not write the relay's note in the mail queue: %s"), error->message);
}

char *
gate_spool_dup_owner_note (GateSpool *self)
{
  g_autofree char *path = NULL;
  char *note = NULL;

  g_return_val_if_fail (GATE_IS_SPOOL (self), NULL);

  path = g_build_filename (self->path, OWNER_NOTE, NULL);
  if (!gate_spool_path_has_owner (self->path) || !g_file_get_contents (path, &note, NULL, NULL))
    return NULL;
  /* One line of text, whatever the file holds. */
  note[strcspn (note, "\r\n")] = '\0';
  if (!g_utf8_validate (note, -1, NULL) || note[0] == '\0')
    g_clear_pointer (&note, g_free);
  return note;
}

/* Creates @path and the missing folders above it, each new name synced in
 * the folder holding it: mail synced into a folder whose own name never was
 * could vanish with it in a power cut.  0 or an errno value. */
static int
make_folder_durably (const char *path)
{
  g_autoptr (GPtrArray) created = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *missing = g_strdup (path);

  /* The missing folders, deepest first. */
  while (!g_file_test (missing, G_FILE_TEST_EXISTS))
    {
      char *parent = g_path_get_dirname (missing);

      if (strcmp (parent, missing) == 0) /* a root: nothing above it to sync */
        {
          g_free (parent);
          break;
        }
      g_ptr_array_add (created, g_steal_pointer (&missing));
      missing = parent;
    }

  if (g_mkdir_with_parents (path, 0700) < 0)
    return errno;
  for (guint i = 0; i < created->len; i++)
    {
      g_autofree char *parent = g_path_get_dirname (created->pdata[i]);
      int folder_fd;
      int err;

      if ((err = gate_spool_fs_open_folder (parent, &folder_fd)) != 0)
        return err;
      err = gate_spool_fs_sync_folder (folder_fd);
      gate_spool_fs_close_folder (folder_fd);
      if (err != 0)
        return err;
    }
  return 0;
}

GateSpool *
gate_spool_open (const char *path, GateSpoolOpenFlags flags, GError **error)
{
  g_autoptr (GateSpool) self = NULL;
  int saved_errno;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (GATE_TYPE_SPOOL, NULL);
  self->path = g_canonicalize_filename (path, NULL);
  self->flags = flags;
  self->context = g_main_context_ref_thread_default ();

  /* The queue holds other people's mail: only the user may read it. */
  if ((saved_errno = make_folder_durably (self->path)) != 0)
    {
      set_errno_error (error, saved_errno, _ ("create"), self->path);
      return NULL;
    }
  if ((saved_errno = gate_spool_fs_open_folder (self->path, &self->dir_fd)) != 0)
    {
      set_errno_error (error, saved_errno, _ ("open"), self->path);
      return NULL;
    }

  if (flags & GATE_SPOOL_OPEN_OWNER)
    {
      g_autofree char *lock_path = g_build_filename (self->path, OWNER_LOCK, NULL);

      if ((saved_errno = gate_spool_fs_open_lock_file (lock_path, &self->owner_fd)) != 0)
        {
          set_errno_error (error, saved_errno, _ ("create"), lock_path);
          return NULL;
        }
      if ((saved_errno = gate_spool_fs_lock (self->owner_fd, TRUE, FALSE)) != 0)
        {
          if (saved_errno == EWOULDBLOCK)
            g_set_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_BUSY,
                         _ ("Another relay is already using the mail queue in “%s”"), self->path);
          else
            set_errno_error (error, saved_errno, _ ("lock"), lock_path);
          return NULL;
        }
    }

  scan_folder (self, (flags & GATE_SPOOL_OPEN_OWNER) != 0);

  if (flags & GATE_SPOOL_OPEN_WATCH)
    start_watching (self);

  if (flags & GATE_SPOOL_OPEN_OWNER)
    {
      clear_free_files (self);
      gate_spool_set_owner_note (self, NULL); /* the last owner's, if it crashed */
      self->sync_thread = g_thread_new ("gate-spool-sync", sync_thread_func, self);
      self->remover = g_thread_pool_new (remove_delivered_func, self, 1, FALSE, NULL);
    }

  return g_steal_pointer (&self);
}

const char *
gate_spool_get_path (GateSpool *self)
{
  g_return_val_if_fail (GATE_IS_SPOOL (self), NULL);
  return self->path;
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  const GateSpoolEntry *ea = *(GateSpoolEntry *const *)a;
  const GateSpoolEntry *eb = *(GateSpoolEntry *const *)b;

  if (ea->received != eb->received)
    return ea->received < eb->received ? -1 : 1;
  return strcmp (ea->id, eb->id);
}

GPtrArray *
gate_spool_list (GateSpool *self)
{
  GPtrArray *array;
  GHashTableIter iter;
  Record *record;

  g_return_val_if_fail (GATE_IS_SPOOL (self), NULL);
  array = g_ptr_array_new_full (g_hash_table_size (self->records), (GDestroyNotify)gate_spool_entry_unref);
  g_hash_table_iter_init (&iter, self->records);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&record))
    g_ptr_array_add (array, gate_spool_entry_ref (record->entry));
  g_ptr_array_sort (array, compare_entries);
  return array;
}

GateSpoolEntry *
gate_spool_lookup (GateSpool *self, const char *id)
{
  Record *record;

  g_return_val_if_fail (GATE_IS_SPOOL (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);
  record = g_hash_table_lookup (self->records, id);
  return record ? gate_spool_entry_ref (record->entry) : NULL;
}

guint
gate_spool_get_n_messages (GateSpool *self)
{
  g_return_val_if_fail (GATE_IS_SPOOL (self), 0);
  return g_hash_table_size (self->records);
}

GInputStream *
gate_spool_open_content (GateSpool *self, const char *id, GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr (GFile) file = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) content = NULL;
  GFileInputStream *stream;

  g_return_val_if_fail (GATE_IS_SPOOL (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);
  if (!id_is_valid (id))
    {
      set_not_found (error, id);
      return NULL;
    }
  /* Kept from its arrival for this first sending; later ones read the file. */
  content = take_content (self, id);
  if (content != NULL)
    return g_memory_input_stream_new_from_bytes (content);
  path = spool_file (self, id, ".msg");
  file = g_file_new_for_path (path);
  stream = g_file_read (file, NULL, &local_error);
  if (stream == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        set_not_found (error, id);
      else
        g_set_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_FAILED, "%s", local_error->message);
      return NULL;
    }
  return G_INPUT_STREAM (stream);
}

/* ---- writing ------------------------------------------------------------ */

static void
writer_free (GateSpoolWriter *writer)
{
  gate_spool_fs_close (writer->fd);
  gate_spool_fs_close (writer->env_fd);
  g_clear_error (&writer->error);
  g_clear_pointer (&writer->entry, gate_spool_entry_unref);
  g_clear_pointer (&writer->recipients, g_ptr_array_unref);
  g_clear_object (&writer->task);
  g_clear_object (&writer->spool);
  g_free (writer->buffer);
  g_free (writer->env_data);
  g_free (writer->msg_path);
  g_free (writer->env_path);
  g_free (writer->id);
  g_free (writer);
}

GateSpoolWriter *
gate_spool_begin (GateSpool *self, GError **error)
{
  GateSpoolWriter *writer;

  g_return_val_if_fail (GATE_IS_SPOOL (self), NULL);
  g_return_val_if_fail (self->flags & GATE_SPOOL_OPEN_OWNER, NULL);

  writer = g_new0 (GateSpoolWriter, 1);
  writer->spool = g_object_ref (self);
  writer->fd = -1;
  writer->env_fd = -1;
  /* Sortable by time; the counter and random part keep ids apart within one
   * microsecond and across restarts. */
  writer->id = g_strdup_printf ("%013" G_GINT64_MODIFIER "x-%04x%04x", g_get_real_time (),
                                (self->counter++) & 0xffff, g_random_int () & 0xffff);
  writer->recipients = g_ptr_array_new_with_free_func (g_free);
  writer->entry = entry_new (0);
  writer->entry->sender = g_strdup ("");
  writer->entry->client_address = g_strdup ("");
  writer->entry->client_name = g_strdup ("");
  /* Most messages are small: 64 KB taken and given back for each of them
   * kept moving the top of the heap. */
  writer->buffer_size = INITIAL_BUFFER_SIZE;
  writer->buffer = g_malloc (writer->buffer_size);
  return writer;
}

const char *
gate_spool_writer_get_id (GateSpoolWriter *writer)
{
  g_return_val_if_fail (writer != NULL, NULL);
  return writer->id;
}

static void
replace_string (char **field, const char *value)
{
  g_free (*field);
  *field = value ? g_utf8_make_valid (value, -1) : NULL;
}

void
gate_spool_writer_set_sender (GateSpoolWriter *writer, const char *sender)
{
  g_return_if_fail (writer != NULL);
  replace_string (&writer->entry->sender, sender ? sender : "");
}

void
gate_spool_writer_set_original_sender (GateSpoolWriter *writer, const char *original_sender)
{
  g_return_if_fail (writer != NULL);
  replace_string (&writer->entry->original_sender, original_sender);
}

void
gate_spool_writer_add_recipient (GateSpoolWriter *writer, const char *recipient)
{
  g_return_if_fail (writer != NULL);
  g_return_if_fail (recipient != NULL);
  g_ptr_array_add (writer->recipients, g_utf8_make_valid (recipient, -1));
}

void
gate_spool_writer_set_client (GateSpoolWriter *writer, const char *address, const char *helo_name)
{
  g_return_if_fail (writer != NULL);
  replace_string (&writer->entry->client_address, address ? address : "");
  replace_string (&writer->entry->client_name, helo_name ? helo_name : "");
}

void
gate_spool_writer_set_body_flags (GateSpoolWriter *writer, GateSmtpBodyFlags flags)
{
  g_return_if_fail (writer != NULL);
  writer->entry->body_flags = flags;
}

void
gate_spool_writer_set_message_id (GateSpoolWriter *writer, const char *message_id)
{
  g_return_if_fail (writer != NULL);
  replace_string (&writer->entry->message_id, message_id);
}

void
gate_spool_writer_set_subject (GateSpoolWriter *writer, const char *subject)
{
  g_return_if_fail (writer != NULL);
  replace_string (&writer->entry->subject, subject);
}

/* Writes the buffer to the content file, creating it first; used by the
 * main thread when a message outgrows the buffer, and by the sync thread for
 * the rest of every message. */
static gboolean
writer_flush (GateSpoolWriter *writer)
{
  int saved_errno = 0;

  if (writer->error)
    return FALSE;
  if (writer->fd < 0)
    {
      g_autofree char *path = spool_tmp_file (writer->spool, writer->id, ".msg");

      if ((saved_errno = create_message_file (writer->spool, FILE_CONTENT, path, &writer->msg_path,
                                              &writer->fd, &writer->reused))
          != 0)
        {
          writer_fail (writer, saved_errno, _ ("create"), path);
          return FALSE;
        }
    }
  if (writer->buffer_len > 0 && !write_all (writer->fd, writer->buffer, writer->buffer_len, &saved_errno))
    {
      writer_fail (writer, saved_errno, _ ("write"), writer->msg_path);
      return FALSE;
    }
  writer->buffer_len = 0;
  return TRUE;
}

gboolean
gate_spool_writer_write (GateSpoolWriter *writer, const void *data, gsize len, GError **error)
{
  g_return_val_if_fail (writer != NULL, FALSE);
  g_return_val_if_fail (writer->task == NULL, FALSE);

  if (writer->error == NULL && writer->buffer_len + len >= WRITE_BUFFER_SIZE)
    {
      /* Too large to keep: the content goes to its file from now on. */
      writer->spilled = TRUE;
      writer_flush (writer);
    }
  if (writer->error == NULL)
    {
      int saved_errno = 0;

      if (len < WRITE_BUFFER_SIZE)
        {
          if (writer->buffer_len + len > writer->buffer_size)
            {
              writer->buffer_size
                  = MIN (MAX (2 * writer->buffer_size, writer->buffer_len + len), WRITE_BUFFER_SIZE);
              writer->buffer = g_realloc (writer->buffer, writer->buffer_size);
            }
          memcpy (writer->buffer + writer->buffer_len, data, len);
          writer->buffer_len += len;
        }
      else if (!write_all (writer->fd, data, len, &saved_errno))
        writer_fail (writer, saved_errno, _ ("write"), writer->msg_path);
    }
  if (writer->error)
    {
      g_propagate_error (error, g_error_copy (writer->error));
      return FALSE;
    }
  writer->size += len;
  return TRUE;
}

gint64
gate_spool_writer_get_size (GateSpoolWriter *writer)
{
  g_return_val_if_fail (writer != NULL, -1);
  return writer->size;
}

void
gate_spool_writer_abort (GateSpoolWriter *writer)
{
  g_return_if_fail (writer != NULL);
  g_return_if_fail (writer->task == NULL);

  gate_spool_fs_close (writer->fd);
  gate_spool_fs_close (writer->env_fd);
  writer->fd = writer->env_fd = -1;
  writer_unlink_all (writer);
  writer_free (writer);
}

/* Completes the entry and puts its envelope into words, for the sync thread
 * to write. */
static void
writer_make_envelope (GateSpoolWriter *writer)
{
  GateSpoolEntry *entry = writer->entry;
  GateSpoolEntry *full;

  /* The entry was made with no recipients; make the real one now. */
  full = entry_new (writer->recipients->len);
  full->id = g_strdup (writer->id);
  full->client_address = g_steal_pointer (&entry->client_address);
  full->client_name = g_steal_pointer (&entry->client_name);
  full->sender = g_steal_pointer (&entry->sender);
  full->original_sender = g_steal_pointer (&entry->original_sender);
  full->message_id = g_steal_pointer (&entry->message_id);
  full->subject = g_steal_pointer (&entry->subject);
  full->body_flags = entry->body_flags;
  full->received = g_get_real_time () / G_USEC_PER_SEC;
  full->size = writer->size;
  for (guint i = 0; i < writer->recipients->len; i++)
    full->recipients[i] = g_strdup (writer->recipients->pdata[i]);
  gate_spool_entry_unref (writer->entry);
  writer->entry = full;
  writer->env_data = entry_envelope_to_data (full, &writer->env_len);
}

/* Sync thread: the files of one message, under their temporary names. */
static void
writer_write_files (GateSpoolWriter *writer)
{
  g_autofree char *tmp_path = NULL;
  int saved_errno = 0;

  if (!writer_flush (writer))
    return;
  if (writer->reused && (saved_errno = gate_spool_fs_cut (writer->fd, writer->size)) != 0)
    {
      writer_fail (writer, saved_errno, _ ("write"), writer->msg_path);
      return;
    }
  tmp_path = spool_tmp_file (writer->spool, writer->id, ".env");
  if ((saved_errno = create_message_file (writer->spool, FILE_ENVELOPE, tmp_path, &writer->env_path,
                                          &writer->env_fd, &writer->env_reused))
      != 0)
    writer_fail (writer, saved_errno, _ ("create"), tmp_path);
  else if (!write_all (writer->env_fd, writer->env_data, writer->env_len, &saved_errno)
           || (writer->env_reused
               && (saved_errno = gate_spool_fs_cut (writer->env_fd, writer->env_len)) != 0))
    writer_fail (writer, saved_errno, _ ("write"), writer->env_path);
}

void
gate_spool_writer_commit_async (GateSpoolWriter *writer, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  GateSpool *self;

  g_return_if_fail (writer != NULL);
  g_return_if_fail (writer->task == NULL);

  self = writer->spool;
  writer->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (writer->task, gate_spool_writer_commit_async);

  if (writer->recipients->len == 0)
    g_set_error (&writer->error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID,
                 _ ("A message needs at least one recipient"));

  if (g_cancellable_set_error_if_cancelled (cancellable, writer->error ? NULL : &writer->error)
      || writer->error != NULL)
    {
      GTask *task = g_steal_pointer (&writer->task);

      gate_spool_fs_close (writer->fd);
      gate_spool_fs_close (writer->env_fd);
      writer->fd = writer->env_fd = -1;
      writer_unlink_all (writer);
      g_task_return_error (task, g_steal_pointer (&writer->error));
      g_object_unref (task);
      writer_free (writer);
      return;
    }

  writer_make_envelope (writer);
  g_hash_table_add (self->committing, g_strdup (writer->id));
  g_mutex_lock (&self->mutex);
  g_ptr_array_add (self->pending, writer);
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->mutex);
}

GateSpoolEntry *
gate_spool_writer_commit_finish (GateSpool *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GATE_IS_SPOOL (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gate_spool_writer_commit_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- changing ------------------------------------------------------------ */

typedef enum
{
  UPDATE_NONE,
  UPDATE_WRITE,
  UPDATE_WRITE_DURABLE,
  UPDATE_DELETE,
  UPDATE_ERROR,
} UpdateAction;

typedef UpdateAction (*UpdateFunc) (GateSpoolEntry *entry, gpointer data, GError **error);

/* Opens the envelope at @env_path and takes its lock, the one every change
 * holds; from any thread.  ENOENT when the message is gone: deleted, or
 * delivered (its file then moved away to be used again) while we waited. */
static int
lock_envelope (const char *env_path, int *fd)
{
  int saved_errno;

  if ((saved_errno = gate_spool_fs_open_existing (env_path, fd)) != 0)
    return saved_errno;
  gate_spool_fs_lock (*fd, TRUE, TRUE);
  if (!gate_spool_fs_is_at (*fd, env_path))
    {
      gate_spool_fs_close (*fd);
      return ENOENT;
    }
  return 0;
}

/* lock_envelope() for message @id; a message found gone is dropped from the
 * table. */
static gboolean
lock_message (GateSpool *self, const char *id, int *fd, GError **error)
{
  g_autofree char *env_path = NULL;
  int saved_errno;

  if (!id_is_valid (id))
    {
      set_not_found (error, id);
      return FALSE;
    }
  env_path = spool_file (self, id, ".env");
  if ((saved_errno = lock_envelope (env_path, fd)) == 0)
    return TRUE;
  if (saved_errno == ENOENT)
    {
      set_not_found (error, id);
      spool_set_entry (self, id, NULL);
    }
  else
    set_errno_error (error, saved_errno, _ ("open"), env_path);
  return FALSE;
}

/* Takes the message's lock (flock on its envelope, never replaced while the
 * message exists), re-reads its state from disk, applies @func and writes the
 * result.  Returns the new entry, or NULL with *deleted set or an error. */
static GateSpoolEntry *
spool_update (GateSpool *self, const char *id, UpdateFunc func, gpointer data, gboolean *deleted,
              GError **error)
{
  GateSpoolEntry *entry = NULL;
  UpdateAction action;
  int fd;

  if (deleted)
    *deleted = FALSE;
  if (!lock_message (self, id, &fd, error))
    return NULL;

  entry = load_entry (self, id, error);
  if (entry == NULL)
    {
      gate_spool_fs_close (fd);
      return NULL;
    }
  keep_unwritten_claim (self, entry);
  action = func (entry, data, error);
  switch (action)
    {
      case UPDATE_NONE:
        break;
      case UPDATE_WRITE:
      case UPDATE_WRITE_DURABLE:
        if (!write_state_file (self, entry, action == UPDATE_WRITE_DURABLE, error))
          g_clear_pointer (&entry, gate_spool_entry_unref);
        else
          g_hash_table_remove (self->unwritten_claims, id); /* on disk now */
        break;
      case UPDATE_DELETE:
        /* Every recipient done: as gate_spool_remove_delivered(), no folder
         * sync. */
        remove_files (self, id);
        g_clear_pointer (&entry, gate_spool_entry_unref);
        if (deleted)
          *deleted = TRUE;
        break;
      case UPDATE_ERROR:
      default:
        /* Keep what we learnt from disk even though the change did not apply. */
        spool_set_entry (self, id, entry);
        gate_spool_fs_close (fd);
        return NULL;
    }
  gate_spool_fs_close (fd);

  if (entry != NULL)
    {
      notify_owner (self, id);
      spool_set_entry (self, id, gate_spool_entry_ref (entry));
      return entry;
    }
  if (action == UPDATE_DELETE)
    {
      notify_owner (self, id);
      spool_set_entry (self, id, NULL);
    }
  return NULL;
}

static UpdateAction
claim_func (GateSpoolEntry *entry, gpointer data, GError **error)
{
  if (entry->status != GATE_SPOOL_STATUS_QUEUED)
    {
      g_set_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID,
                   _ ("Message “%s” is not waiting to be sent (%s)"), entry->id,
                   gate_spool_status_get_label (entry->status));
      return UPDATE_ERROR;
    }
  entry->status = GATE_SPOOL_STATUS_IN_FLIGHT;
  entry->attempts++;
  return UPDATE_WRITE;
}

static UpdateAction
write_claim_func (GateSpoolEntry *entry, gpointer data, GError **error)
{
  return entry->status == GATE_SPOOL_STATUS_IN_FLIGHT ? UPDATE_WRITE : UPDATE_NONE;
}

/* Claims that last (a large message, a slow server) are written down, so
 * that other programs looking at the queue see the message being sent. */
#define CLAIM_WRITE_DELAY_US (G_USEC_PER_SEC)

static gboolean
write_lasting_claims_cb (gpointer user_data)
{
  GateSpool *self = user_data;
  g_autoptr (GPtrArray) due = g_ptr_array_new_with_free_func (g_free);
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  const char *id;

  g_hash_table_iter_init (&iter, self->unwritten_claims);
  while (g_hash_table_iter_next (&iter, (gpointer *)&id, NULL))
    {
      Record *record = g_hash_table_lookup (self->records, id);

      if (record == NULL || now - record->claimed_at >= CLAIM_WRITE_DELAY_US)
        g_ptr_array_add (due, g_strdup (id));
    }
  for (guint i = 0; i < due->len; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GateSpoolEntry) entry = NULL;

      /* Still in the set while the update runs, so that the claim is kept
       * over what is read back. */
      entry = spool_update (self, due->pdata[i], write_claim_func, NULL, NULL, &error);
      g_hash_table_remove (self->unwritten_claims, due->pdata[i]);
      if (error != NULL && !g_error_matches (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_NOT_FOUND))
        g_debug ("Writing down the claim on %s: %s", (char *)due->pdata[i], error->message);
    }
  if (g_hash_table_size (self->unwritten_claims) > 0)
    return G_SOURCE_CONTINUE;
  g_clear_pointer (&self->claims_source, g_source_unref);
  return G_SOURCE_REMOVE;
}

GateSpoolEntry *
gate_spool_claim (GateSpool *self, const char *id, GError **error)
{
  g_autofree char *id_copy = NULL;
  GateSpoolEntry *claimed;
  Record *record;

  g_return_val_if_fail (GATE_IS_SPOOL (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  if (!(self->flags & GATE_SPOOL_OPEN_OWNER))
    return spool_update (self, id, claim_func, NULL, NULL, error);

  /* The relay owns the queue and knows its state: claiming costs nothing on
   * disk.  A crash then finds the message "queued", which is what recovery
   * would make of "in flight" anyway; what is lost is only the count of
   * attempts that did not end.  Changes from other programs come through
   * reload_id(), which keeps the claim. */
  record = g_hash_table_lookup (self->records, id);
  if (record == NULL || record->entry == NULL)
    {
      set_not_found (error, id);
      return NULL;
    }
  claimed = entry_copy (record->entry);
  if (claim_func (claimed, NULL, error) == UPDATE_ERROR)
    {
      gate_spool_entry_unref (claimed);
      return NULL;
    }
  id_copy = g_strdup (id);
  g_hash_table_add (self->unwritten_claims, g_strdup (id));
  gate_spool_entry_unref (record->entry);
  record->entry = gate_spool_entry_ref (claimed);
  record->claimed_at = g_get_monotonic_time ();
  if (self->claims_source == NULL)
    {
      self->claims_source = g_timeout_source_new (CLAIM_WRITE_DELAY_US / 1000);
      g_source_set_callback (self->claims_source, write_lasting_claims_cb, self, NULL);
      g_source_set_static_name (self->claims_source, "[gate-spool] write lasting claims");
      g_source_attach (self->claims_source, self->context);
    }
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0, id_copy, claimed);
  return claimed;
}

typedef struct
{
  const char *const *recipients;
  GateSpoolRecipientState state;
  const char *reply;
} SetRecipients;

static UpdateAction
set_recipients_func (GateSpoolEntry *entry, gpointer data, GError **error)
{
  SetRecipients *set = data;

  for (guint r = 0; set->recipients[r] != NULL; r++)
    for (guint i = 0; i < entry->n_recipients; i++)
      if (g_strcmp0 (entry->recipients[i], set->recipients[r]) == 0)
        {
          entry->states[i] = set->state;
          g_free (entry->replies[i]);
          entry->replies[i] = g_strdup (set->reply);
        }
  return UPDATE_WRITE;
}

gboolean
gate_spool_set_recipients (GateSpool *self, const char *id, const char *const *recipients,
                           GateSpoolRecipientState state, const char *reply, GError **error)
{
  SetRecipients set = { recipients, state, reply };
  g_autoptr (GateSpoolEntry) entry = NULL;

  g_return_val_if_fail (GATE_IS_SPOOL (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (recipients != NULL, FALSE);
  entry = spool_update (self, id, set_recipients_func, &set, NULL, error);
  return entry != NULL;
}

typedef struct
{
  gint64 next_attempt;
  const char *last_error;
} FinishAttempt;

static UpdateAction
finish_attempt_func (GateSpoolEntry *entry, gpointer data, GError **error)
{
  FinishAttempt *finish = data;
  guint pending = gate_spool_entry_get_n_pending (entry);
  gboolean any_failed = FALSE;

  for (guint i = 0; i < entry->n_recipients; i++)
    if (entry->states[i] == GATE_SPOOL_RECIPIENT_FAILED)
      any_failed = TRUE;

  if (pending == 0 && !any_failed)
    return UPDATE_DELETE;

  g_free (entry->last_error);
  entry->last_error = g_strdup (finish->last_error);
  if (pending == 0)
    {
      entry->status = GATE_SPOOL_STATUS_FAILED;
      return UPDATE_WRITE_DURABLE;
    }
  entry->next_attempt = finish->next_attempt;
  /* The user's hold (given while the attempt ran) wins. */
  if (entry->status != GATE_SPOOL_STATUS_HELD)
    entry->status = GATE_SPOOL_STATUS_QUEUED;
  return UPDATE_WRITE;
}

GateSpoolEntry *
gate_spool_finish_attempt (GateSpool *self, const char *id, gint64 next_attempt, const char *last_error,
                           gboolean *removed, GError **error)
{
  FinishAttempt finish = { next_attempt, last_error };

  g_return_val_if_fail (GATE_IS_SPOOL (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);
  return spool_update (self, id, finish_attempt_func, &finish, removed, error);
}

static UpdateAction
fail_func (GateSpoolEntry *entry, gpointer data, GError **error)
{
  const char *reason = data;

  for (guint i = 0; i < entry->n_recipients; i++)
    if (entry->states[i] == GATE_SPOOL_RECIPIENT_PENDING)
      {
        entry->states[i] = GATE_SPOOL_RECIPIENT_FAILED;
        g_free (entry->replies[i]);
        entry->replies[i] = g_strdup (reason);
      }
  g_free (entry->last_error);
  entry->last_error = g_strdup (reason);
  entry->status = GATE_SPOOL_STATUS_FAILED;
  return UPDATE_WRITE_DURABLE;
}

GateSpoolEntry *
gate_spool_fail (GateSpool *self, const char *id, const char *reason, GError **error)
{
  g_return_val_if_fail (GATE_IS_SPOOL (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);
  return spool_update (self, id, fail_func, (gpointer)reason, NULL, error);
}

static UpdateAction
hold_func (GateSpoolEntry *entry, gpointer data, GError **error)
{
  entry->status = GATE_SPOOL_STATUS_HELD;
  return UPDATE_WRITE_DURABLE;
}

GateSpoolEntry *
gate_spool_hold (GateSpool *self, const char *id, GError **error)
{
  g_return_val_if_fail (GATE_IS_SPOOL (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);
  if (!content_usable (self, id, error))
    return NULL;
  return spool_update (self, id, hold_func, NULL, NULL, error);
}

static UpdateAction
retry_func (GateSpoolEntry *entry, gpointer data, GError **error)
{
  if (entry->status == GATE_SPOOL_STATUS_IN_FLIGHT)
    {
      g_set_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID,
                   _ ("Message “%s” is being sent right now"), entry->id);
      return UPDATE_ERROR;
    }
  for (guint i = 0; i < entry->n_recipients; i++)
    if (entry->states[i] == GATE_SPOOL_RECIPIENT_FAILED)
      {
        entry->states[i] = GATE_SPOOL_RECIPIENT_PENDING;
        g_clear_pointer (&entry->replies[i], g_free);
      }
  entry->status = GATE_SPOOL_STATUS_QUEUED;
  entry->next_attempt = 0;
  entry->release_time = g_get_real_time () / G_USEC_PER_SEC;
  return UPDATE_WRITE_DURABLE;
}

GateSpoolEntry *
gate_spool_retry (GateSpool *self, const char *id, GError **error)
{
  g_return_val_if_fail (GATE_IS_SPOOL (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);
  if (!content_usable (self, id, error))
    return NULL;
  return spool_update (self, id, retry_func, NULL, NULL, error);
}

/* Removes a message under its lock.  Unlike spool_update() it reads the
 * message's state only with @only_status >= 0, to remove it only if it is
 * still in that state; and the user's removal (@durable) is synced, which
 * spool_update()'s removal of a message done with is not. */
static gboolean
spool_remove (GateSpool *self, const char *id, gboolean durable, int only_status, GError **error)
{
  int saved_errno = 0;
  int fd;

  if (!lock_message (self, id, &fd, error))
    return FALSE;
  if (only_status >= 0)
    {
      GateSpoolEntry *entry = load_entry (self, id, error);

      if (entry == NULL)
        {
          gate_spool_fs_close (fd);
          return FALSE;
        }
      keep_unwritten_claim (self, entry);
      if ((int)entry->status != only_status)
        {
          g_set_error (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_INVALID,
                       _ ("Message “%s” changed meanwhile (%s now) and was left as it is"), id,
                       gate_spool_status_get_label (entry->status));
          spool_set_entry (self, id, entry); /* what was learnt from disk */
          gate_spool_fs_close (fd);
          return FALSE;
        }
      gate_spool_entry_unref (entry);
    }
  remove_files (self, id);
  /* A delivered message needs no folder sync: a removal undone by a crash
   * only means it is sent once more (delivery is at least once).  The
   * user's deletion is kept, or they hear that it may not have been. */
  if (durable && (saved_errno = gate_spool_fs_sync_folder (self->dir_fd)) != 0)
    set_errno_error (error, saved_errno, _ ("sync"), self->path);
  gate_spool_fs_close (fd);
  notify_owner (self, id);
  spool_set_entry (self, id, NULL);
  return saved_errno == 0;
}

gboolean
gate_spool_delete (GateSpool *self, const char *id, GError **error)
{
  g_return_val_if_fail (GATE_IS_SPOOL (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  return spool_remove (self, id, TRUE, -1, error);
}

gboolean
gate_spool_delete_in_state (GateSpool *self, const char *id, GateSpoolStatus status, GError **error)
{
  g_return_val_if_fail (GATE_IS_SPOOL (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  return spool_remove (self, id, TRUE, (int)status, error);
}

static gboolean
is_being_removed (GateSpool *self, const char *id)
{
  gboolean removing;

  g_mutex_lock (&self->mutex);
  removing = g_hash_table_contains (self->removing, id);
  g_mutex_unlock (&self->mutex);
  return removing;
}

/* A delivered message whose files the remover thread takes away, with what
 * the main thread knew of them: fewer lookups in the folder. */
typedef struct
{
  char *id;
  gint64 content_size;
  gboolean state_file; /* the message has a state file, or may have */
} RemoveJob;

/* Remover thread: one delivered message's files, its content and envelope
 * files kept for new messages. */
static void
remove_delivered_func (gpointer data, gpointer user_data)
{
  RemoveJob *job = data;
  GateSpool *self = user_data; /* not a reference: dispose waits for this thread */
  g_autofree char *env_path = spool_file (self, job->id, ".env");
  int fd;

  /* Under the message's lock, as every change: another program may be
   * holding or deleting it right now. */
  if (lock_envelope (env_path, &fd) == 0)
    {
      g_autofree char *msg_path = spool_file (self, job->id, ".msg");

      /* The envelope first: without it the rest is debris that recovery
       * removes. */
      if (!recycle_file (self, env_path, FILE_ENVELOPE, gate_spool_fs_size (fd)))
        g_warning (_ ("Could not remove %s: %s"), env_path, g_strerror (errno));
      if (!recycle_file (self, msg_path, FILE_CONTENT, job->content_size))
        g_warning (_ ("Could not remove %s: %s"), msg_path, g_strerror (errno));
      if (job->state_file)
        {
          g_autofree char *state_path = spool_file (self, job->id, ".state");

          if (g_unlink (state_path) != 0 && errno != ENOENT)
            g_warning (_ ("Could not remove %s: %s"), state_path, g_strerror (errno));
        }
      gate_spool_fs_close (fd);
    }
  g_mutex_lock (&self->mutex);
  g_hash_table_remove (self->removing, job->id);
  g_mutex_unlock (&self->mutex);
  g_free (job->id);
  g_free (job);
}

gboolean
gate_spool_remove_delivered (GateSpool *self, const char *id, GError **error)
{
  Record *record;
  RemoveJob *job;

  g_return_val_if_fail (GATE_IS_SPOOL (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  if (self->remover != NULL && is_being_removed (self, id))
    {
      set_not_found (error, id);
      return FALSE;
    }
  record = self->remover != NULL ? g_hash_table_lookup (self->records, id) : NULL;
  if (record == NULL)
    return spool_remove (self, id, FALSE, -1, error);
  /* Gone from the queue at once; its files go in the background (unlinking
   * and freeing them is a good part of the cost of a message).  A crash
   * before they are gone means the message is sent once more, as for any
   * removal without a folder sync. */
  job = g_new0 (RemoveJob, 1);
  job->id = g_strdup (id);
  job->content_size = record->entry != NULL ? record->entry->size : -1;
  /* Known absent when this process last looked (at the commit, or when it
   * wrote one, or heard of another program's change).  One written by
   * another program just now is left as debris that the next start
   * removes. */
  job->state_file = record->state.size >= 0;
  g_mutex_lock (&self->mutex);
  g_hash_table_add (self->removing, g_strdup (id));
  g_mutex_unlock (&self->mutex);
  spool_set_entry (self, id, NULL);
  g_thread_pool_push (self->remover, job, NULL);
  return TRUE;
}

static UpdateAction
requeue_func (GateSpoolEntry *entry, gpointer data, GError **error)
{
  if (entry->status != GATE_SPOOL_STATUS_IN_FLIGHT)
    return UPDATE_WRITE;
  entry->status = GATE_SPOOL_STATUS_QUEUED;
  return UPDATE_WRITE_DURABLE;
}

void
gate_spool_requeue_in_flight (GateSpool *self)
{
  g_autoptr (GPtrArray) entries = NULL;

  g_return_if_fail (GATE_IS_SPOOL (self));
  entries = gate_spool_list (self);
  for (guint i = 0; i < entries->len; i++)
    {
      GateSpoolEntry *entry = entries->pdata[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (GateSpoolEntry) updated = NULL;

      if (entry->status != GATE_SPOOL_STATUS_IN_FLIGHT)
        continue;
      updated = spool_update (self, entry->id, requeue_func, NULL, NULL, &error);
      if (updated == NULL && !g_error_matches (error, GATE_SPOOL_ERROR, GATE_SPOOL_ERROR_NOT_FOUND))
        g_warning (_ ("Could not queue message %s again: %s"), entry->id, error->message);
    }
}
