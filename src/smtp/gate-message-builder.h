/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define GATE_TYPE_MESSAGE_BUILDER (gate_message_builder_get_type ())
G_DECLARE_FINAL_TYPE (GateMessageBuilder, gate_message_builder, GATE, MESSAGE_BUILDER, GObject)

/* Builds an RFC 5322 message: Date, Message-ID, From, To, Subject,
 * MIME-Version; multipart/alternative text + HTML (or text alone); optional
 * attachments (multipart/mixed, base64); RFC 2047 for non-ASCII names and
 * subjects; quoted-printable bodies with lines under 78 characters.  A unique
 * token goes into the subject and the Message-ID so the user can find the
 * message.  Output uses CRLF and is 7-bit clean, except for an address whose
 * local part is not ASCII (that message needs SMTPUTF8); a non-ASCII domain is
 * written in its ASCII (IDNA) form.  Lines never exceed 998 bytes. */
GateMessageBuilder *gate_message_builder_new (void);

void gate_message_builder_set_from (GateMessageBuilder *self, const char *display_name, const char *address);
void gate_message_builder_add_to (GateMessageBuilder *self, const char *display_name, const char *address);
void gate_message_builder_set_subject (GateMessageBuilder *self, const char *subject);
void gate_message_builder_set_text_body (GateMessageBuilder *self, const char *text);
void gate_message_builder_set_html_body (GateMessageBuilder *self, const char *html);
/* Read while writing, in constant memory. */
void gate_message_builder_add_attachment (GateMessageBuilder *self, GFile *file, const char *content_type);
/* Defaults to now. */
void gate_message_builder_set_date (GateMessageBuilder *self, GDateTime *date);
/* When TRUE (the default) the token is appended to the subject as "[PG-XXXXXX]". */
void gate_message_builder_set_token_in_subject (GateMessageBuilder *self, gboolean in_subject);
/* A short random token, made at construction, e.g. "PG-7F3K9Q". */
const char *gate_message_builder_get_token (GateMessageBuilder *self);
/* "<token.random@domain-of-sender>" */
const char *gate_message_builder_get_message_id (GateMessageBuilder *self);

/* Writes the message to @output (blocking; run in a thread for large
 * attachments).  Fails with GATE_SMTP_ERROR_INVALID_INPUT when From or To is
 * missing or an attachment cannot be read. */
gboolean gate_message_builder_write (GateMessageBuilder *self,
                                     GOutputStream *output,
                                     GCancellable *cancellable,
                                     GError **error);
/* The whole message in memory (small messages, tests). */
GBytes *gate_message_builder_build_bytes (GateMessageBuilder *self, GError **error);
/* Writes the message to an unlinked temporary file in a worker thread and
 * gives back a stream positioned at its start, and its size. */
void gate_message_builder_build_async (GateMessageBuilder *self,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data);
GInputStream *gate_message_builder_build_finish (GateMessageBuilder *self,
                                                 GAsyncResult *result,
                                                 gint64 *size,
                                                 GError **error);

G_END_DECLS
