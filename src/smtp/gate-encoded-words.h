/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A header field's value as a person reads it (RFC 2047): encoded words
 * ("=?UTF-8?B?…?=", "=?ISO-8859-1?Q?…?=") decoded to UTF-8, the white space
 * between two of them dropped, folded lines joined and control characters
 * made spaces.  A word that cannot be decoded (an unknown character set,
 * bad base64) is left as it is; bytes that are not UTF-8 are replaced.  For
 * showing a subject, never for sending it on. */
char *gate_encoded_words_decode (const char *value);

G_END_DECLS
