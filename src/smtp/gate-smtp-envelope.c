/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-smtp"

#include "config.h"

#include "gate-smtp-envelope.h"

#include <string.h>

struct _GateSmtpEnvelope
{
  gatomicrefcount ref_count;
  char *sender;
  GPtrArray *recipients; /* NULL-terminated */
  GateSmtpBodyFlags body_flags;
  gint64 size;
};

G_DEFINE_BOXED_TYPE (GateSmtpEnvelope, gate_smtp_envelope, gate_smtp_envelope_ref, gate_smtp_envelope_unref)

GateSmtpEnvelope *
gate_smtp_envelope_new (const char *sender)
{
  GateSmtpEnvelope *envelope;

  g_return_val_if_fail (sender != NULL, NULL);

  envelope = g_new0 (GateSmtpEnvelope, 1);
  g_atomic_ref_count_init (&envelope->ref_count);
  envelope->sender = g_strdup (sender);
  envelope->recipients = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (envelope->recipients, NULL);
  envelope->size = -1;
  return envelope;
}

GateSmtpEnvelope *
gate_smtp_envelope_ref (GateSmtpEnvelope *envelope)
{
  g_return_val_if_fail (envelope != NULL, NULL);
  g_atomic_ref_count_inc (&envelope->ref_count);
  return envelope;
}

void
gate_smtp_envelope_unref (GateSmtpEnvelope *envelope)
{
  g_return_if_fail (envelope != NULL);
  if (g_atomic_ref_count_dec (&envelope->ref_count))
    {
      g_free (envelope->sender);
      g_ptr_array_unref (envelope->recipients);
      g_free (envelope);
    }
}

void
gate_smtp_envelope_add_recipient (GateSmtpEnvelope *envelope, const char *recipient)
{
  g_return_if_fail (envelope != NULL);
  g_return_if_fail (recipient != NULL);

  g_ptr_array_insert (envelope->recipients, envelope->recipients->len - 1, g_strdup (recipient));
}

const char *
gate_smtp_envelope_get_sender (const GateSmtpEnvelope *envelope)
{
  g_return_val_if_fail (envelope != NULL, NULL);
  return envelope->sender;
}

const char *const *
gate_smtp_envelope_get_recipients (const GateSmtpEnvelope *envelope)
{
  g_return_val_if_fail (envelope != NULL, NULL);
  return (const char *const *)envelope->recipients->pdata;
}

guint
gate_smtp_envelope_get_n_recipients (const GateSmtpEnvelope *envelope)
{
  g_return_val_if_fail (envelope != NULL, 0);
  return envelope->recipients->len - 1;
}

void
gate_smtp_envelope_set_body_flags (GateSmtpEnvelope *envelope, GateSmtpBodyFlags flags)
{
  g_return_if_fail (envelope != NULL);
  envelope->body_flags = flags;
}

GateSmtpBodyFlags
gate_smtp_envelope_get_body_flags (const GateSmtpEnvelope *envelope)
{
  g_return_val_if_fail (envelope != NULL, GATE_SMTP_BODY_7BIT);
  return envelope->body_flags;
}

void
gate_smtp_envelope_set_size (GateSmtpEnvelope *envelope, gint64 size)
{
  g_return_if_fail (envelope != NULL);
  envelope->size = size < 0 ? -1 : size;
}

gint64
gate_smtp_envelope_get_size (const GateSmtpEnvelope *envelope)
{
  g_return_val_if_fail (envelope != NULL, -1);
  return envelope->size;
}

gboolean
gate_smtp_address_is_valid (const char *address)
{
  const char *at;
  gsize len;

  if (address == NULL)
    return FALSE;
  len = strlen (address);
  if (len < 3 || len > 254 || !g_utf8_validate (address, len, NULL))
    return FALSE;

  /* Anything that could end the command or the path early is refused. */
  for (const char *p = address; *p != '\0'; p++)
    {
      guchar c = (guchar)*p;

      if (c <= ' ' || c == 0x7f || c == '<' || c == '>')
        return FALSE;
    }

  at = strrchr (address, '@');
  if (at == NULL || at == address || at[1] == '\0')
    return FALSE;
  if (at[1] == '.' || address[len - 1] == '.')
    return FALSE;
  return TRUE;
}

gboolean
gate_smtp_address_needs_smtputf8 (const char *address)
{
  g_return_val_if_fail (address != NULL, FALSE);

  for (const char *p = address; *p != '\0'; p++)
    if ((guchar)*p > 0x7f)
      return TRUE;
  return FALSE;
}
