/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* MAIL FROM and RCPT TO of one message, and what the body needs of the
 * server.  Reference counted; not changed once handed to the client. */
typedef struct _GateSmtpEnvelope GateSmtpEnvelope;

typedef enum /*< flags >*/ {
  GATE_SMTP_BODY_7BIT = 0,
  GATE_SMTP_BODY_8BITMIME = 1 << 0, /* send BODY=8BITMIME */
  GATE_SMTP_BODY_SMTPUTF8 = 1 << 1, /* addresses or headers need SMTPUTF8 */
} GateSmtpBodyFlags;

#define GATE_TYPE_SMTP_ENVELOPE (gate_smtp_envelope_get_type ())
GType gate_smtp_envelope_get_type (void) G_GNUC_CONST;

/* @sender may be "" for the null reverse path. */
GateSmtpEnvelope *gate_smtp_envelope_new (const char *sender);
GateSmtpEnvelope *gate_smtp_envelope_ref (GateSmtpEnvelope *envelope);
void gate_smtp_envelope_unref (GateSmtpEnvelope *envelope);

void gate_smtp_envelope_add_recipient (GateSmtpEnvelope *envelope, const char *recipient);
const char *gate_smtp_envelope_get_sender (const GateSmtpEnvelope *envelope);
/* NULL-terminated. */
const char *const *gate_smtp_envelope_get_recipients (const GateSmtpEnvelope *envelope);
guint gate_smtp_envelope_get_n_recipients (const GateSmtpEnvelope *envelope);
void gate_smtp_envelope_set_body_flags (GateSmtpEnvelope *envelope, GateSmtpBodyFlags flags);
GateSmtpBodyFlags gate_smtp_envelope_get_body_flags (const GateSmtpEnvelope *envelope);
/* The message's size in bytes, -1 (the default) when unknown.  A known size is
 * declared with SIZE= and checked against the server's limit before MAIL. */
void gate_smtp_envelope_set_size (GateSmtpEnvelope *envelope, gint64 size);
gint64 gate_smtp_envelope_get_size (const GateSmtpEnvelope *envelope);

/* TRUE for a syntactically usable address (local@domain, no spaces, CR, LF,
 * '<' or '>', at most 254 bytes). */
gboolean gate_smtp_address_is_valid (const char *address);
/* TRUE when the address has non-ASCII characters. */
gboolean gate_smtp_address_needs_smtputf8 (const char *address);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GateSmtpEnvelope, gate_smtp_envelope_unref)

G_END_DECLS
