/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "gate-smtp-reply.h"

G_BEGIN_DECLS

typedef enum /*< flags >*/ {
  GATE_SMTP_CAP_NONE = 0,
  GATE_SMTP_CAP_SIZE = 1 << 0,
  GATE_SMTP_CAP_PIPELINING = 1 << 1,
  GATE_SMTP_CAP_8BITMIME = 1 << 2,
  GATE_SMTP_CAP_SMTPUTF8 = 1 << 3,
  GATE_SMTP_CAP_ENHANCEDSTATUSCODES = 1 << 4,
  GATE_SMTP_CAP_AUTH = 1 << 5,
  GATE_SMTP_CAP_STARTTLS = 1 << 6,
  GATE_SMTP_CAP_CHUNKING = 1 << 7,
  GATE_SMTP_CAP_DSN = 1 << 8,
} GateSmtpCapabilityFlags;

/* What a server said it can do in its EHLO reply.  Immutable, reference counted. */
typedef struct _GateSmtpCapabilities GateSmtpCapabilities;

#define GATE_TYPE_SMTP_CAPABILITIES (gate_smtp_capabilities_get_type ())
GType gate_smtp_capabilities_get_type (void) G_GNUC_CONST;

/* Parses a 250 EHLO reply: the first line is the greeting, each further line a
 * keyword with parameters, case-insensitive.  Also reads the old "AUTH=" form.
 * Unknown keywords are ignored; a malformed SIZE counts as SIZE without a limit. */
GateSmtpCapabilities *gate_smtp_capabilities_new_from_ehlo (const GateSmtpReply *reply);
/* For a server that only answered HELO. */
GateSmtpCapabilities *gate_smtp_capabilities_new_empty (void);
GateSmtpCapabilities *gate_smtp_capabilities_ref (GateSmtpCapabilities *caps);
void gate_smtp_capabilities_unref (GateSmtpCapabilities *caps);

GateSmtpCapabilityFlags gate_smtp_capabilities_get_flags (const GateSmtpCapabilities *caps);
gboolean gate_smtp_capabilities_has (const GateSmtpCapabilities *caps, GateSmtpCapabilityFlags flag);
/* The SIZE limit in bytes; 0 when none was given. */
guint64 gate_smtp_capabilities_get_size_limit (const GateSmtpCapabilities *caps);
/* AUTH mechanisms as offered, upper-case, NULL-terminated (never NULL itself). */
const char *const *gate_smtp_capabilities_get_auth_mechanisms (const GateSmtpCapabilities *caps);
gboolean gate_smtp_capabilities_has_auth_mechanism (const GateSmtpCapabilities *caps, const char *name);
/* The server's name from the first line of the EHLO reply. */
const char *gate_smtp_capabilities_get_server_name (const GateSmtpCapabilities *caps);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GateSmtpCapabilities, gate_smtp_capabilities_unref)

G_END_DECLS
