/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-smtp"

#include "config.h"

#include "gate-smtp-capabilities.h"

#include <string.h>

struct _GateSmtpCapabilities
{
  gatomicrefcount ref_count;
  GateSmtpCapabilityFlags flags;
  guint64 size_limit;
  GPtrArray *auth_mechanisms; /* upper-case, NULL-terminated */
  char *server_name;
};

G_DEFINE_BOXED_TYPE (GateSmtpCapabilities, gate_smtp_capabilities, gate_smtp_capabilities_ref,
                     gate_smtp_capabilities_unref)

GateSmtpCapabilities *
gate_smtp_capabilities_new_empty (void)
{
  GateSmtpCapabilities *caps = g_new0 (GateSmtpCapabilities, 1);

  g_atomic_ref_count_init (&caps->ref_count);
  caps->auth_mechanisms = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (caps->auth_mechanisms, NULL);
  caps->server_name = g_strdup ("");
  return caps;
}

static void
add_mechanism (GateSmtpCapabilities *caps, const char *name)
{
  g_autofree char *upper = NULL;
  guint n;

  if (name == NULL || name[0] == '\0')
    return;
  upper = g_ascii_strup (name, -1);
  n = caps->auth_mechanisms->len - 1; /* without the NULL */
  for (guint i = 0; i < n; i++)
    if (strcmp (g_ptr_array_index (caps->auth_mechanisms, i), upper) == 0)
      return;
  g_ptr_array_insert (caps->auth_mechanisms, n, g_steal_pointer (&upper));
}

static void
parse_keyword_line (GateSmtpCapabilities *caps, const char *line)
{
  g_auto (GStrv) words = g_strsplit_set (line, " \t", -1);
  g_autofree char *keyword = NULL;
  const char *value = NULL;
  char *equals;
  guint first_param = 1;

  if (words[0] == NULL || words[0][0] == '\0')
    return;

  keyword = g_ascii_strup (words[0], -1);
  /* Old servers (and some still) write "AUTH=LOGIN PLAIN". */
  equals = strchr (keyword, '=');
  if (equals != NULL)
    {
      *equals = '\0';
      value = words[0] + (equals - keyword) + 1;
    }

  if (strcmp (keyword, "SIZE") == 0)
    {
      const char *number = value ? value : words[1];
      guint64 limit = 0;

      caps->flags |= GATE_SMTP_CAP_SIZE;
      if (number != NULL && number[0] != '\0'
          && g_ascii_string_to_unsigned (number, 10, 0, G_MAXUINT64, &limit, NULL))
        caps->size_limit = limit;
    }
  else if (strcmp (keyword, "AUTH") == 0)
    {
      caps->flags |= GATE_SMTP_CAP_AUTH;
      add_mechanism (caps, value);
      for (guint i = first_param; words[i] != NULL; i++)
        add_mechanism (caps, words[i]);
    }
  else if (equals != NULL)
    return; /* only AUTH and SIZE have the old '=' form */
  else if (strcmp (keyword, "PIPELINING") == 0)
    caps->flags |= GATE_SMTP_CAP_PIPELINING;
  else if (strcmp (keyword, "8BITMIME") == 0)
    caps->flags |= GATE_SMTP_CAP_8BITMIME;
  else if (strcmp (keyword, "SMTPUTF8") == 0)
    caps->flags |= GATE_SMTP_CAP_SMTPUTF8;
  else if (strcmp (keyword, "ENHANCEDSTATUSCODES") == 0)
    caps->flags |= GATE_SMTP_CAP_ENHANCEDSTATUSCODES;
  else if (strcmp (keyword, "STARTTLS") == 0)
    caps->flags |= GATE_SMTP_CAP_STARTTLS;
  else if (strcmp (keyword, "CHUNKING") == 0)
    caps->flags |= GATE_SMTP_CAP_CHUNKING;
  else if (strcmp (keyword, "DSN") == 0)
    caps->flags |= GATE_SMTP_CAP_DSN;
}

GateSmtpCapabilities *
gate_smtp_capabilities_new_from_ehlo (const GateSmtpReply *reply)
{
  GateSmtpCapabilities *caps;
  const char *const *lines;
  const char *space;

  g_return_val_if_fail (reply != NULL, NULL);

  caps = gate_smtp_capabilities_new_empty ();
  lines = gate_smtp_reply_get_lines (reply);

  space = strchr (lines[0], ' ');
  g_free (caps->server_name);
  caps->server_name = space ? g_strndup (lines[0], space - lines[0]) : g_strdup (lines[0]);

  for (guint i = 1; lines[i] != NULL; i++)
    parse_keyword_line (caps, lines[i]);

  return caps;
}

GateSmtpCapabilities *
gate_smtp_capabilities_ref (GateSmtpCapabilities *caps)
{
  g_return_val_if_fail (caps != NULL, NULL);
  g_atomic_ref_count_inc (&caps->ref_count);
  return caps;
}

void
gate_smtp_capabilities_unref (GateSmtpCapabilities *caps)
{
  g_return_if_fail (caps != NULL);
  if (g_atomic_ref_count_dec (&caps->ref_count))
    {
      g_ptr_array_unref (caps->auth_mechanisms);
      g_free (caps->server_name);
      g_free (caps);
    }
}

GateSmtpCapabilityFlags
gate_smtp_capabilities_get_flags (const GateSmtpCapabilities *caps)
{
  g_return_val_if_fail (caps != NULL, GATE_SMTP_CAP_NONE);
  return caps->flags;
}

gboolean
gate_smtp_capabilities_has (const GateSmtpCapabilities *caps, GateSmtpCapabilityFlags flag)
{
  g_return_val_if_fail (caps != NULL, FALSE);
  return flag != 0 && (caps->flags & flag) == flag;
}

guint64
gate_smtp_capabilities_get_size_limit (const GateSmtpCapabilities *caps)
{
  g_return_val_if_fail (caps != NULL, 0);
  return caps->size_limit;
}

const char *const *
gate_smtp_capabilities_get_auth_mechanisms (const GateSmtpCapabilities *caps)
{
  g_return_val_if_fail (caps != NULL, NULL);
  return (const char *const *)caps->auth_mechanisms->pdata;
}

gboolean
gate_smtp_capabilities_has_auth_mechanism (const GateSmtpCapabilities *caps, const char *name)
{
  g_return_val_if_fail (caps != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i + 1 < caps->auth_mechanisms->len; i++)
    if (g_ascii_strcasecmp (g_ptr_array_index (caps->auth_mechanisms, i), name) == 0)
      return TRUE;
  return FALSE;
}

const char *
gate_smtp_capabilities_get_server_name (const GateSmtpCapabilities *caps)
{
  g_return_val_if_fail (caps != NULL, NULL);
  return caps->server_name;
}
