/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "gate-smtp-capabilities.h"

G_BEGIN_DECLS

/* SASL mechanisms the client speaks.  Flags, so a caller can allow several. */
typedef enum /*< flags >*/ {
  GATE_SMTP_AUTH_NONE = 0,
  GATE_SMTP_AUTH_PLAIN = 1 << 0,
  GATE_SMTP_AUTH_LOGIN = 1 << 1,
  GATE_SMTP_AUTH_CRAM_MD5 = 1 << 2,
  GATE_SMTP_AUTH_XOAUTH2 = 1 << 3,
  /* Any of the password mechanisms. */
  GATE_SMTP_AUTH_AUTOMATIC = GATE_SMTP_AUTH_PLAIN | GATE_SMTP_AUTH_LOGIN | GATE_SMTP_AUTH_CRAM_MD5,
} GateSmtpAuthMechanism;

/* "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"; NULL for NONE or a combination. */
const char *gate_smtp_auth_mechanism_to_string (GateSmtpAuthMechanism mechanism);
/* Case-insensitive; "auto"/"automatic" gives GATE_SMTP_AUTH_AUTOMATIC, an
 * unknown name GATE_SMTP_AUTH_NONE. */
GateSmtpAuthMechanism gate_smtp_auth_mechanism_from_string (const char *name);

/* The strongest mechanism that the server offers and @allowed permits:
 * XOAUTH2 (only when @have_token), then CRAM-MD5, PLAIN, LOGIN.
 * GATE_SMTP_AUTH_NONE when there is none. */
GateSmtpAuthMechanism gate_smtp_auth_choose (const GateSmtpCapabilities *caps,
                                             GateSmtpAuthMechanism allowed,
                                             gboolean have_token);

/* base64 ("" NUL user NUL password), RFC 4616.  @authzid may be NULL. */
char *gate_smtp_auth_plain_response (const char *authzid, const char *username, const char *password);
/* base64 of @text, for the LOGIN mechanism's two answers. */
char *gate_smtp_auth_login_response (const char *text);
/* Decodes a 334 challenge of LOGIN ("VXNlcm5hbWU6" -> "Username:"); NULL if it
 * is not valid base64 text. */
char *gate_smtp_auth_decode_challenge (const char *challenge_base64);
/* base64 (user SP hex(HMAC-MD5(password, challenge))), RFC 2195.  Fails with
 * GATE_SMTP_ERROR_PROTOCOL when the challenge is not valid base64. */
char *gate_smtp_auth_cram_md5_response (const char *username,
                                        const char *password,
                                        const char *challenge_base64,
                                        GError **error);
/* base64 ("user=" user ^A "auth=Bearer " token ^A ^A). */
char *gate_smtp_auth_xoauth2_response (const char *username, const char *token);

G_END_DECLS
