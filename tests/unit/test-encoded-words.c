/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Header values as a person reads them: RFC 2047 encoded words decoded. */
#include "config.h"

#include <glib.h>

#include "gate-encoded-words.h"

static void
assert_decodes (const char *value, const char *expected)
{
  g_autofree char *decoded = gate_encoded_words_decode (value);

  g_assert_cmpstr (decoded, ==, expected);
  g_assert_true (g_utf8_validate (decoded, -1, NULL));
}

static void
test_plain (void)
{
  assert_decodes ("Scan from the office printer", "Scan from the office printer");
  assert_decodes ("  padded  ", "padded");
  assert_decodes ("", "");
  /* Folded: the line break goes, the white space after it stays. */
  assert_decodes ("a long\r\n subject", "a long subject");
  assert_decodes ("tab\there", "tab here");
  /* Looks like a word but is not one: left as it is. */
  assert_decodes ("=?", "=?");
  assert_decodes ("=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=");
  assert_decodes ("=?UTF-8?B?not base64!?=", "=?UTF-8?B?not base64!?=");
  assert_decodes ("=?no-such-charset?Q?abc?=", "=?no-such-charset?Q?abc?=");
}

static void
test_words (void)
{
  /* RFC 2047 section 8. */
  assert_decodes ("=?ISO-8859-1?Q?a?=", "a");
  assert_decodes ("=?ISO-8859-1?Q?a?= b", "a b");
  assert_decodes ("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab");
  assert_decodes ("=?ISO-8859-1?Q?a?=  \r\n   =?ISO-8859-1?Q?b?=", "ab");
  assert_decodes ("=?ISO-8859-1?Q?a_b?=", "a b");
  assert_decodes ("=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a b");
  assert_decodes ("=?UTF-8?B?R3LDvMOfZSBhdXMgQmVybGlu?=", "Grüße aus Berlin");
  assert_decodes ("=?utf-8?q?Scan_=C3=A0_Paris?=", "Scan à Paris");
  assert_decodes ("=?ISO-8859-1?Q?Caf=E9?= ouvert", "Café ouvert");
  assert_decodes ("=?UTF-8*fr?Q?=C3=A9t=C3=A9?=", "été");
  assert_decodes ("Re: =?UTF-8?B?8J+TiA==?= report", "Re: 📈 report");
}

static void
test_hostile (void)
{
  /* Line breaks hidden in a word become spaces; bytes that are not UTF-8
   * are replaced. */
  assert_decodes ("=?UTF-8?B?YQ0KYg==?=", "a  b");
  assert_decodes ("raw \xff\xfe bytes", "raw \xef\xbf\xbd\xef\xbf\xbd bytes");
  assert_decodes ("=?UTF-8?Q?bad=ZZhex?=", "bad=ZZhex");
  assert_decodes ("=?UTF-8?B?/w==?=", "\xef\xbf\xbd");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/encoded-words/plain", test_plain);
  g_test_add_func ("/encoded-words/words", test_words);
  g_test_add_func ("/encoded-words/hostile", test_hostile);
  return g_test_run ();
}
