/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-smtp"

#include "config.h"

#include "gate-smtp-auth.h"

#include <string.h>

#include "gate-smtp-error.h"

/* Clears a copy of a secret in a way the compiler may not drop as a dead
 * store (explicit_bzero is not everywhere, e.g. not on Windows). */
static void
wipe (void *data, gsize len)
{
  volatile guchar *p = data;

  while (len-- > 0)
    *p++ = 0;
}

/* Frees a NUL-terminated secret after clearing it. */
static void
free_secret (char *secret)
{
  if (secret == NULL)
    return;
  wipe (secret, strlen (secret));
  g_free (secret);
}

const char *
gate_smtp_auth_mechanism_to_string (GateSmtpAuthMechanism mechanism)
{
  switch (mechanism)
    {
      case GATE_SMTP_AUTH_PLAIN:
        return "PLAIN";
      case GATE_SMTP_AUTH_LOGIN:
        return "LOGIN";
      case GATE_SMTP_AUTH_CRAM_MD5:
        return "CRAM-MD5";
      case GATE_SMTP_AUTH_XOAUTH2:
        return "XOAUTH2";
      case GATE_SMTP_AUTH_NONE:
      default:
        return NULL;
    }
}

GateSmtpAuthMechanism
gate_smtp_auth_mechanism_from_string (const char *name)
{
  if (name == NULL)
    return GATE_SMTP_AUTH_NONE;
  if (g_ascii_strcasecmp (name, "PLAIN") == 0)
    return GATE_SMTP_AUTH_PLAIN;
  if (g_ascii_strcasecmp (name, "LOGIN") == 0)
    return GATE_SMTP_AUTH_LOGIN;
  if (g_ascii_strcasecmp (name, "CRAM-MD5") == 0)
    return GATE_SMTP_AUTH_CRAM_MD5;
  if (g_ascii_strcasecmp (name, "XOAUTH2") == 0)
    return GATE_SMTP_AUTH_XOAUTH2;
  if (g_ascii_strcasecmp (name, "auto") == 0 || g_ascii_strcasecmp (name, "automatic") == 0)
    return GATE_SMTP_AUTH_AUTOMATIC;
  return GATE_SMTP_AUTH_NONE;
}

GateSmtpAuthMechanism
gate_smtp_auth_choose (const GateSmtpCapabilities *caps, GateSmtpAuthMechanism allowed, gboolean have_token)
{
  /* Strongest first.  CRAM-MD5 keeps the password off the wire; PLAIN beats
   * LOGIN only by needing fewer round trips. */
  static const GateSmtpAuthMechanism order[] = {
    GATE_SMTP_AUTH_XOAUTH2,
    GATE_SMTP_AUTH_CRAM_MD5,
    GATE_SMTP_AUTH_PLAIN,
    GATE_SMTP_AUTH_LOGIN,
  };

  g_return_val_if_fail (caps != NULL, GATE_SMTP_AUTH_NONE);

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      GateSmtpAuthMechanism m = order[i];

      if ((allowed & m) == 0)
        continue;
      if (m == GATE_SMTP_AUTH_XOAUTH2 && !have_token)
        continue;
      if (gate_smtp_capabilities_has_auth_mechanism (caps, gate_smtp_auth_mechanism_to_string (m)))
        return m;
    }
  return GATE_SMTP_AUTH_NONE;
}

/* Base64 of @len bytes of @data. */
static char *
encode (const guchar *data, gsize len)
{
  return g_base64_encode (data, len);
}

char *
gate_smtp_auth_plain_response (const char *authzid, const char *username, const char *password)
{
  gsize authzid_len, user_len, pass_len, len;
  guchar *buf;
  char *result;

  g_return_val_if_fail (username != NULL, NULL);
  g_return_val_if_fail (password != NULL, NULL);

  authzid_len = authzid ? strlen (authzid) : 0;
  user_len = strlen (username);
  pass_len = strlen (password);
  len = authzid_len + 1 + user_len + 1 + pass_len;

  buf = g_malloc (len);
  memcpy (buf, authzid ? authzid : "", authzid_len);
  buf[authzid_len] = '\0';
  memcpy (buf + authzid_len + 1, username, user_len);
  buf[authzid_len + 1 + user_len] = '\0';
  memcpy (buf + authzid_len + 1 + user_len + 1, password, pass_len);

  result = encode (buf, len);
  wipe (buf, len);
  g_free (buf);
  return result;
}

char *
gate_smtp_auth_login_response (const char *text)
{
  g_return_val_if_fail (text != NULL, NULL);
  return encode ((const guchar *)text, strlen (text));
}

/* g_base64_decode() accepts anything; a challenge from the peer must be
 * checked first. */
static gboolean
is_base64 (const char *text)
{
  gsize len = strlen (text);
  gsize padding = 0;

  if (len % 4 != 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];

      if (c == '=')
        {
          if (i + 2 < len)
            return FALSE; /* '=' only in the last two places */
          padding++;
        }
      else if (padding > 0)
        return FALSE;
      else if (!g_ascii_isalnum (c) && c != '+' && c != '/')
        return FALSE;
    }
  return TRUE;
}

/* Decodes @challenge_base64 into bytes; NULL when it is not base64. */
static guchar *
decode_challenge (const char *challenge_base64, gsize *len)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (challenge_base64));

  if (!is_base64 (trimmed))
    return NULL;
  if (trimmed[0] == '\0')
    {
      *len = 0;
      return (guchar *)g_strdup ("");
    }
  return g_base64_decode (trimmed, len);
}

char *
gate_smtp_auth_decode_challenge (const char *challenge_base64)
{
  guchar *data;
  gsize len = 0;
  char *text;

  g_return_val_if_fail (challenge_base64 != NULL, NULL);

  data = decode_challenge (challenge_base64, &len);
  if (data == NULL)
    return NULL;
  if (memchr (data, '\0', len) != NULL || !g_utf8_validate ((const char *)data, len, NULL))
    {
      g_free (data);
      return NULL;
    }
  text = g_strndup ((const char *)data, len);
  g_free (data);
  return text;
}

char *
gate_smtp_auth_cram_md5_response (const char *username, const char *password, const char *challenge_base64,
                                  GError **error)
{
  g_autoptr (GHmac) hmac = NULL;
  g_autofree guchar *challenge = NULL;
  gsize challenge_len = 0;
  char *answer;
  char *result;

  g_return_val_if_fail (username != NULL, NULL);
  g_return_val_if_fail (password != NULL, NULL);
  g_return_val_if_fail (challenge_base64 != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  challenge = decode_challenge (challenge_base64, &challenge_len);
  if (challenge == NULL || challenge_len == 0)
    {
      GateSmtpErrorContext ctx
          = { .stage = GATE_SMTP_STAGE_AUTH, .detail = "CRAM-MD5 challenge is not base64" };

      g_propagate_error (error, gate_smtp_error_new (GATE_SMTP_ERROR_PROTOCOL, &ctx));
      return NULL;
    }

  hmac = g_hmac_new (G_CHECKSUM_MD5, (const guchar *)password, strlen (password));
  g_hmac_update (hmac, challenge, challenge_len);

  answer = g_strdup_printf ("%s %s", username, g_hmac_get_string (hmac));
  result = encode ((const guchar *)answer, strlen (answer));
  free_secret (answer);
  return result;
}

char *
gate_smtp_auth_xoauth2_response (const char *username, const char *token)
{
  char *raw;
  char *result;

  g_return_val_if_fail (username != NULL, NULL);
  g_return_val_if_fail (token != NULL, NULL);

  raw = g_strdup_printf ("user=%s\001auth=Bearer %s\001\001", username, token);
  result = encode ((const guchar *)raw, strlen (raw));
  free_secret (raw);
  return result;
}
