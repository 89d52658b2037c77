/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-smtp-envelope.h"

G_BEGIN_DECLS

/* The relay's durable store.  One folder per relay; each message is
 *
 *   ID.msg    the content, exactly as it will be sent (CRLF lines, not
 *             dot-stuffed), written once;
 *   ID.env    the envelope: who sent it, to whom, when, from where.  Written
 *             once, never rewritten, so it doubles as the message's lock file
 *             (flock) for every later change;
 *   ID.state  what happened since: status, attempts, next attempt, last error,
 *             each recipient's result.  Rewritten atomically (temporary file +
 *             rename) under the lock.  A missing or unreadable state file means
 *             "queued, every recipient pending": delivery is at least once.
 *
 * A message exists once ID.env exists; both ID.msg and ID.env are written to
 * temporary names, synced, renamed, and the folder synced before the commit
 * completes, so the server answers 250 only for what is on disk.
 *
 * Ids sort by receive time.  Everything except the group-commit worker runs on
 * the thread that opened the spool (the main loop). */

#define GATE_SPOOL_ERROR (gate_spool_error_quark ())
GQuark gate_spool_error_quark (void);

typedef enum
{
  GATE_SPOOL_ERROR_FAILED,    /* any other I/O problem */
  GATE_SPOOL_ERROR_NO_SPACE,  /* disk full or over quota or file size limit: answer 452 */
  GATE_SPOOL_ERROR_NOT_FOUND, /* no such message (e.g. deleted from the command line) */
  GATE_SPOOL_ERROR_BUSY,      /* another relay already owns this spool folder */
  GATE_SPOOL_ERROR_INVALID,   /* an unreadable envelope, or a change that does not apply */
} GateSpoolError;

typedef enum
{
  GATE_SPOOL_STATUS_QUEUED,    /* waiting for its next attempt */
  GATE_SPOOL_STATUS_IN_FLIGHT, /* being forwarded now */
  GATE_SPOOL_STATUS_HELD,      /* the user put it on hold */
  GATE_SPOOL_STATUS_FAILED,    /* given up; kept for the user to see, retry or delete */
} GateSpoolStatus;

typedef enum
{
  GATE_SPOOL_RECIPIENT_PENDING,
  GATE_SPOOL_RECIPIENT_DELIVERED,
  GATE_SPOOL_RECIPIENT_FAILED,
} GateSpoolRecipientState;

const char *
gate_spool_status_to_string (GateSpoolStatus status); /* "queued", "in-flight", "held", "failed" */
const char *gate_spool_status_get_label (
    GateSpoolStatus status); /* translated: "Waiting", "Sending", "On hold", "Failed" */

/* ---- GateSpoolEntry: an immutable snapshot of one message's envelope and state.
 * Every change makes a new entry; hold a reference as long as you like. */
typedef struct _GateSpoolEntry GateSpoolEntry;

#define GATE_TYPE_SPOOL_ENTRY (gate_spool_entry_get_type ())
GType gate_spool_entry_get_type (void) G_GNUC_CONST;

GateSpoolEntry *gate_spool_entry_ref (GateSpoolEntry *entry);
void gate_spool_entry_unref (GateSpoolEntry *entry);

const char *gate_spool_entry_get_id (const GateSpoolEntry *entry);
const char *gate_spool_entry_get_client_address (const GateSpoolEntry *entry); /* "192.168.1.20", may be "" */
const char *gate_spool_entry_get_client_name (const GateSpoolEntry *entry);    /* HELO/EHLO name, may be "" */
gint64 gate_spool_entry_get_received_time (const GateSpoolEntry *entry);       /* Unix seconds */
const char *gate_spool_entry_get_sender (
    const GateSpoolEntry *entry); /* envelope sender to use upstream, "" = null path */
/* The device's own sender when the relay rewrote it, else NULL. */
const char *gate_spool_entry_get_original_sender (const GateSpoolEntry *entry);
/* The Message-ID header's value (with <>), or NULL when unknown. */
const char *gate_spool_entry_get_message_id (const GateSpoolEntry *entry);
/* The Subject header's value as a person reads it (see
 * gate_encoded_words_decode), for the queue view; NULL when there is none. */
const char *gate_spool_entry_get_subject (const GateSpoolEntry *entry);
GateSmtpBodyFlags gate_spool_entry_get_body_flags (const GateSpoolEntry *entry);
gint64 gate_spool_entry_get_size (const GateSpoolEntry *entry); /* bytes of ID.msg */
guint gate_spool_entry_get_n_recipients (const GateSpoolEntry *entry);
const char *gate_spool_entry_get_recipient (const GateSpoolEntry *entry, guint index);
GateSpoolRecipientState gate_spool_entry_get_recipient_state (const GateSpoolEntry *entry, guint index);
/* The server's reply for that recipient ("550 5.1.1 No such user"), or NULL. */
const char *gate_spool_entry_get_recipient_reply (const GateSpoolEntry *entry, guint index);
guint gate_spool_entry_get_n_pending (const GateSpoolEntry *entry);
GateSpoolStatus gate_spool_entry_get_status (const GateSpoolEntry *entry);
guint gate_spool_entry_get_attempts (const GateSpoolEntry *entry);
/* Unix seconds; 0 means "as soon as possible". */
gint64 gate_spool_entry_get_next_attempt (const GateSpoolEntry *entry);
/* Why the last attempt did not finish, or why it failed; NULL if none. */
const char *gate_spool_entry_get_last_error (const GateSpoolEntry *entry);
/* When the user last released or retried it (Unix seconds, 0 = never): a retried
 * message's age for the maximum-age rule counts from here, not from received. */
gint64 gate_spool_entry_get_release_time (const GateSpoolEntry *entry);
/* A new envelope for the next attempt: sender, body flags, size, and only the
 * recipients still pending. */
GateSmtpEnvelope *gate_spool_entry_to_envelope (const GateSpoolEntry *entry);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GateSpoolEntry, gate_spool_entry_unref)

/* ---- GateSpoolWriter: one message being received.  begin → set envelope →
 * write chunks → commit_async/commit_finish, or abort.  Not a GObject. */
typedef struct _GateSpoolWriter GateSpoolWriter;

/* ---- GateSpool */
#define GATE_TYPE_SPOOL (gate_spool_get_type ())
G_DECLARE_FINAL_TYPE (GateSpool, gate_spool, GATE, SPOOL, GObject)

typedef enum /*< flags >*/
{
  GATE_SPOOL_OPEN_NONE = 0,
  /* The relay that owns the folder: takes the folder's owner lock (fails with
   * GATE_SPOOL_ERROR_BUSY if another process has it) and recovers: removes
   * half-written temporary files and half-committed messages, and queues again
   * messages left in flight.  Only the owner may write new messages. */
  GATE_SPOOL_OPEN_OWNER = 1 << 0,
  /* Watch the folder and reload entries other processes change (the command
   * line while the relay runs); emits ::changed for them. */
  GATE_SPOOL_OPEN_WATCH = 1 << 1,
} GateSpoolOpenFlags;

/* g_get_user_data_dir()/postgate/spool/<profile_id or "default">.  The one place
 * that decides where a relay's spool lives by default. */
char *gate_spool_default_path (const char *profile_id);
/* g_get_user_data_dir()/postgate/spool: the folder holding every default spool. */
char *gate_spool_default_base (void);

/* Opens (creating it with mode 0700 if needed) and loads the folder.  Synchronous:
 * a directory scan. */
GateSpool *gate_spool_open (const char *path, GateSpoolOpenFlags flags, GError **error);
const char *gate_spool_get_path (GateSpool *self);
/* TRUE when some process holds the owner lock of @path (a relay is running on it). */
gboolean gate_spool_path_has_owner (const char *path);
/* The owner's word to other programs looking at the queue, such as why mail
 * waits: one line, NULL to take it back.  Only the owner sets it; it goes
 * when the owner stops. */
void gate_spool_set_owner_note (GateSpool *self, const char *note);
/* The owner's note, from any process: NULL when there is none or no owner runs. */
char *gate_spool_dup_owner_note (GateSpool *self);

/* Snapshots of every message, oldest first; a new array of new references. */
GPtrArray *gate_spool_list (GateSpool *self);
/* A new reference, or NULL. */
GateSpoolEntry *gate_spool_lookup (GateSpool *self, const char *id);
guint gate_spool_get_n_messages (GateSpool *self);
/* The content as stored; the stream owns its file descriptor. */
GInputStream *gate_spool_open_content (GateSpool *self, const char *id, GError **error);

/* Signal "changed" (GateSpool *self, const char *id, GateSpoolEntry *entry_or_NULL,
 * gpointer user_data): a message was added or changed (entry = the new snapshot) or
 * removed (NULL).  Emitted on the spool's thread for this process's own changes and,
 * with GATE_SPOOL_OPEN_WATCH, for other processes' changes. */

/* ---- Writing a new message (owner only). */
GateSpoolWriter *gate_spool_begin (GateSpool *self, GError **error);
const char *gate_spool_writer_get_id (GateSpoolWriter *writer);
void gate_spool_writer_set_sender (GateSpoolWriter *writer, const char *sender);
void gate_spool_writer_set_original_sender (GateSpoolWriter *writer, const char *original_sender);
void gate_spool_writer_add_recipient (GateSpoolWriter *writer, const char *recipient);
void gate_spool_writer_set_client (GateSpoolWriter *writer, const char *address, const char *helo_name);
void gate_spool_writer_set_body_flags (GateSpoolWriter *writer, GateSmtpBodyFlags flags);
void gate_spool_writer_set_message_id (GateSpoolWriter *writer, const char *message_id);
void gate_spool_writer_set_subject (GateSpoolWriter *writer, const char *subject);
/* Appends content (buffered).  GATE_SPOOL_ERROR_NO_SPACE when the disk is full. */
gboolean gate_spool_writer_write (GateSpoolWriter *writer, const void *data, gsize len, GError **error);
gint64 gate_spool_writer_get_size (GateSpoolWriter *writer);
/* Hands the message to the group-commit worker: commits that arrive together are
 * synced in one batch (one folder sync for the lot).  Completes after the content and
 * envelope are synced, renamed and the folder synced; then ::changed is emitted.  The
 * writer is consumed: do not use it after this call.  @cancellable is only checked
 * before the batch starts. */
void gate_spool_writer_commit_async (GateSpoolWriter *writer, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
/* Returns the new entry; on error nothing of the message is left on disk. */
GateSpoolEntry *gate_spool_writer_commit_finish (GateSpool *self, GAsyncResult *result, GError **error);
/* Drops the message (client disconnected, too large…): nothing is left behind.
 * Frees the writer. */
void gate_spool_writer_abort (GateSpoolWriter *writer);

/* ---- Changing a message.  Each takes the message's lock, re-reads its state from
 * disk (another process may have changed it), applies the change, writes it back
 * atomically and emits ::changed.  GATE_SPOOL_ERROR_NOT_FOUND when it is gone.
 * The returned entry (where there is one) is a new reference to the new snapshot. */

/* For the forwarder: QUEUED → IN_FLIGHT and attempts + 1.  Fails with
 * GATE_SPOOL_ERROR_INVALID when the message is not queued (held meanwhile…). */
GateSpoolEntry *gate_spool_claim (GateSpool *self, const char *id, GError **error);
/* Records one result for the named recipients (addresses as in the entry). */
gboolean gate_spool_set_recipients (GateSpool *self, const char *id, const char *const *recipients,
                                    GateSpoolRecipientState state, const char *reply, GError **error);
/* Ends an attempt after set_recipients: every recipient delivered → the message is
 * removed (returns NULL, *removed = TRUE); every recipient final and some failed →
 * FAILED (kept with @last_error); recipients still pending → QUEUED again with
 * @next_attempt and @last_error.  A message the user held meanwhile stays held. */
GateSpoolEntry *gate_spool_finish_attempt (GateSpool *self, const char *id, gint64 next_attempt,
                                           const char *last_error, gboolean *removed, GError **error);
/* Gives up: pending recipients → failed with @reason, status FAILED. */
GateSpoolEntry *gate_spool_fail (GateSpool *self, const char *id, const char *reason, GError **error);
/* The upstream server took every recipient: removes the message, like
 * gate_spool_delete() but without waiting for the removal to reach the disk
 * (undone by a crash, it is only sent once more). */
gboolean gate_spool_remove_delivered (GateSpool *self, const char *id, GError **error);
/* User actions (CLI, GUI).  hold: QUEUED/FAILED → HELD (an in-flight message is held
 * once its attempt ends).  retry: QUEUED/HELD/FAILED → QUEUED now, failed
 * recipients pending again, release time = now.  delete: removes it whatever its
 * state (an attempt in flight may still deliver it). */
GateSpoolEntry *gate_spool_hold (GateSpool *self, const char *id, GError **error);
GateSpoolEntry *gate_spool_retry (GateSpool *self, const char *id, GError **error);
gboolean gate_spool_delete (GateSpool *self, const char *id, GError **error);
/* delete, only if the message is still in @status when its lock is taken
 * (GATE_SPOOL_ERROR_INVALID otherwise, the message left as it is): "delete
 * every failed message" must not take one another program retried since the
 * list was read. */
gboolean gate_spool_delete_in_state (GateSpool *self, const char *id, GateSpoolStatus status, GError **error);
/* Every IN_FLIGHT message → QUEUED (a relay stopping cleanly). */
void gate_spool_requeue_in_flight (GateSpool *self);

G_END_DECLS
