/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "gate-smtp-reply.h"

G_BEGIN_DECLS

/* What the server said about one message: a reply per recipient (some may be
 * refused while others pass) and the reply to the end of DATA. */
typedef struct _GateSmtpSendResult GateSmtpSendResult;

#define GATE_TYPE_SMTP_SEND_RESULT (gate_smtp_send_result_get_type ())
GType gate_smtp_send_result_get_type (void) G_GNUC_CONST;

GateSmtpSendResult *gate_smtp_send_result_new (void);
GateSmtpSendResult *gate_smtp_send_result_ref (GateSmtpSendResult *result);
void gate_smtp_send_result_unref (GateSmtpSendResult *result);

void gate_smtp_send_result_add_recipient (GateSmtpSendResult *result, const char *recipient, GateSmtpReply *reply);
void gate_smtp_send_result_set_final_reply (GateSmtpSendResult *result, GateSmtpReply *reply);
void gate_smtp_send_result_set_bytes_sent (GateSmtpSendResult *result, guint64 bytes);

guint gate_smtp_send_result_get_n_recipients (const GateSmtpSendResult *result);
const char *gate_smtp_send_result_get_recipient (const GateSmtpSendResult *result, guint index);
GateSmtpReply *gate_smtp_send_result_get_recipient_reply (const GateSmtpSendResult *result, guint index);
gboolean gate_smtp_send_result_recipient_accepted (const GateSmtpSendResult *result, guint index);
guint gate_smtp_send_result_get_n_accepted (const GateSmtpSendResult *result);
/* The reply to the final dot ("250 2.0.0 OK id=…"). */
GateSmtpReply *gate_smtp_send_result_get_final_reply (const GateSmtpSendResult *result);
/* Bytes of DATA written, after dot-stuffing. */
guint64 gate_smtp_send_result_get_bytes_sent (const GateSmtpSendResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GateSmtpSendResult, gate_smtp_send_result_unref)

G_END_DECLS
