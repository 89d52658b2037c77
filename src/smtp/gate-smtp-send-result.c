/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-smtp"

#include "config.h"

#include "gate-smtp-send-result.h"

typedef struct
{
  char *address;
  GateSmtpReply *reply; /* nullable */
} Recipient;

struct _GateSmtpSendResult
{
  gatomicrefcount ref_count;
  GArray *recipients; /* of Recipient */
  GateSmtpReply *final_reply;
  guint64 bytes_sent;
};

G_DEFINE_BOXED_TYPE (GateSmtpSendResult, gate_smtp_send_result, gate_smtp_send_result_ref,
                     gate_smtp_send_result_unref)

static void
recipient_clear (gpointer data)
{
  Recipient *r = data;

  g_clear_pointer (&r->address, g_free);
  g_clear_pointer (&r->reply, gate_smtp_reply_unref);
}

GateSmtpSendResult *
gate_smtp_send_result_new (void)
{
  GateSmtpSendResult *result = g_new0 (GateSmtpSendResult, 1);

  g_atomic_ref_count_init (&result->ref_count);
  result->recipients = g_array_new (FALSE, TRUE, sizeof (Recipient));
  g_array_set_clear_func (result->recipients, recipient_clear);
  return result;
}

GateSmtpSendResult *
gate_smtp_send_result_ref (GateSmtpSendResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_atomic_ref_count_inc (&result->ref_count);
  return result;
}

void
gate_smtp_send_result_unref (GateSmtpSendResult *result)
{
  g_return_if_fail (result != NULL);
  if (g_atomic_ref_count_dec (&result->ref_count))
    {
      g_array_unref (result->recipients);
      g_clear_pointer (&result->final_reply, gate_smtp_reply_unref);
      g_free (result);
    }
}

void
gate_smtp_send_result_add_recipient (GateSmtpSendResult *result, const char *recipient, GateSmtpReply *reply)
{
  Recipient r;

  g_return_if_fail (result != NULL);
  g_return_if_fail (recipient != NULL);

  r.address = g_strdup (recipient);
  r.reply = reply ? gate_smtp_reply_ref (reply) : NULL;
  g_array_append_val (result->recipients, r);
}

void
gate_smtp_send_result_set_final_reply (GateSmtpSendResult *result, GateSmtpReply *reply)
{
  g_return_if_fail (result != NULL);

  if (reply != NULL)
    gate_smtp_reply_ref (reply);
  g_clear_pointer (&result->final_reply, gate_smtp_reply_unref);
  result->final_reply = reply;
}

void
gate_smtp_send_result_set_bytes_sent (GateSmtpSendResult *result, guint64 bytes)
{
  g_return_if_fail (result != NULL);
  result->bytes_sent = bytes;
}

guint
gate_smtp_send_result_get_n_recipients (const GateSmtpSendResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->recipients->len;
}

const char *
gate_smtp_send_result_get_recipient (const GateSmtpSendResult *result, guint index)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (index < result->recipients->len, NULL);
  return g_array_index (result->recipients, Recipient, index).address;
}

GateSmtpReply *
gate_smtp_send_result_get_recipient_reply (const GateSmtpSendResult *result, guint index)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_return_val_if_fail (index < result->recipients->len, NULL);
  return g_array_index (result->recipients, Recipient, index).reply;
}

gboolean
gate_smtp_send_result_recipient_accepted (const GateSmtpSendResult *result, guint index)
{
  GateSmtpReply *reply;

  g_return_val_if_fail (result != NULL, FALSE);
  g_return_val_if_fail (index < result->recipients->len, FALSE);

  reply = g_array_index (result->recipients, Recipient, index).reply;
  return reply != NULL && gate_smtp_reply_get_code (reply) / 100 == 2;
}

guint
gate_smtp_send_result_get_n_accepted (const GateSmtpSendResult *result)
{
  guint n = 0;

  g_return_val_if_fail (result != NULL, 0);
  for (guint i = 0; i < result->recipients->len; i++)
    if (gate_smtp_send_result_recipient_accepted (result, i))
      n++;
  return n;
}

GateSmtpReply *
gate_smtp_send_result_get_final_reply (const GateSmtpSendResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  return result->final_reply;
}

guint64
gate_smtp_send_result_get_bytes_sent (const GateSmtpSendResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->bytes_sent;
}
