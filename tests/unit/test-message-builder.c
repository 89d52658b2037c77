/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#ifdef G_OS_UNIX
#include <gio/gfiledescriptorbased.h>
#include <unistd.h>
#endif

#include "gate-message-builder.h"
#include "gate-smtp-error.h"

/* Set from the command line: the Python interpreter and check-message.py. */
static const char *python;
static const char *checker;
static char *workdir;

typedef struct
{
  const char *filename;
  const char *content_type;
  char *path;
} ExpectedAttachment;

typedef struct
{
  const char *from_name;
  const char *from_addr;
  const char *to[8][2];
  const char *subject; /* as given, without the token */
  const char *text;
  const char *html;
  ExpectedAttachment attachments[4];
} Spec;

static char *
write_temp_file (const char *name, const void *data, gsize len)
{
  char *path = g_build_filename (workdir, name, NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
  return path;
}

static GateMessageBuilder *
builder_from_spec (const Spec *spec)
{
  GateMessageBuilder *builder = gate_message_builder_new ();

  gate_message_builder_set_from (builder, spec->from_name, spec->from_addr);
  for (guint i = 0; i < G_N_ELEMENTS (spec->to) && spec->to[i][1] != NULL; i++)
    gate_message_builder_add_to (builder, spec->to[i][0], spec->to[i][1]);
  gate_message_builder_set_subject (builder, spec->subject);
  if (spec->text != NULL)
    gate_message_builder_set_text_body (builder, spec->text);
  if (spec->html != NULL)
    gate_message_builder_set_html_body (builder, spec->html);
  for (guint i = 0; i < G_N_ELEMENTS (spec->attachments) && spec->attachments[i].path != NULL; i++)
    {
      g_autoptr (GFile) file = g_file_new_for_path (spec->attachments[i].path);

      gate_message_builder_add_attachment (builder, file, spec->attachments[i].content_type);
    }
  return builder;
}

static void
add_string_or_null (JsonBuilder *json, const char *value)
{
  if (value != NULL)
    json_builder_add_string_value (json, value);
  else
    json_builder_add_null_value (json);
}

/* Writes what check-message.py must find. */
static char *
write_expectations (const Spec *spec, GateMessageBuilder *builder, const char *name, gint64 date)
{
  g_autoptr (JsonBuilder) json = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *data = NULL;
  g_autofree char *file_name = g_strconcat (name, ".json", NULL);

  if (spec->subject != NULL && spec->subject[0] != '\0')
    subject = g_strdup_printf ("%s [%s]", spec->subject, gate_message_builder_get_token (builder));
  else
    subject = g_strdup_printf ("[%s]", gate_message_builder_get_token (builder));

  json_builder_begin_object (json);
  json_builder_set_member_name (json, "from_name");
  add_string_or_null (json, spec->from_name);
  json_builder_set_member_name (json, "from_addr");
  json_builder_add_string_value (json, spec->from_addr);
  json_builder_set_member_name (json, "to");
  json_builder_begin_array (json);
  for (guint i = 0; i < G_N_ELEMENTS (spec->to) && spec->to[i][1] != NULL; i++)
    {
      json_builder_begin_array (json);
      add_string_or_null (json, spec->to[i][0]);
      json_builder_add_string_value (json, spec->to[i][1]);
      json_builder_end_array (json);
    }
  json_builder_end_array (json);
  json_builder_set_member_name (json, "subject");
  json_builder_add_string_value (json, subject);
  json_builder_set_member_name (json, "message_id");
  json_builder_add_string_value (json, gate_message_builder_get_message_id (builder));
  json_builder_set_member_name (json, "date");
  if (date >= 0)
    json_builder_add_int_value (json, date);
  else
    json_builder_add_null_value (json);
  json_builder_set_member_name (json, "text");
  /* No text and no HTML gives an empty text part. */
  add_string_or_null (json, spec->text != NULL || spec->html != NULL ? spec->text : "");
  json_builder_set_member_name (json, "html");
  add_string_or_null (json, spec->html);
  json_builder_set_member_name (json, "attachments");
  json_builder_begin_array (json);
  for (guint i = 0; i < G_N_ELEMENTS (spec->attachments) && spec->attachments[i].path != NULL; i++)
    {
      json_builder_begin_object (json);
      json_builder_set_member_name (json, "filename");
      json_builder_add_string_value (json, spec->attachments[i].filename);
      json_builder_set_member_name (json, "content_type");
      json_builder_add_string_value (json, spec->attachments[i].content_type);
      json_builder_set_member_name (json, "path");
      json_builder_add_string_value (json, spec->attachments[i].path);
      json_builder_end_object (json);
    }
  json_builder_end_array (json);
  json_builder_end_object (json);

  root = json_builder_get_root (json);
  json_generator_set_root (generator, root);
  data = json_generator_to_data (generator, NULL);
  return write_temp_file (file_name, data, strlen (data));
}

static void
run_checker (const char *message_path, const char *expectations_path)
{
  const char *argv[] = { python, checker, message_path, expectations_path, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_test_message ("check-message.py said: %s%s", out, err);
      g_test_fail ();
    }
}

/* Builds @spec in memory, writes it to a file and has Python check it. */
static GBytes *
build_and_check (const Spec *spec, const char *name, GDateTime *date)
{
  g_autoptr (GateMessageBuilder) builder = builder_from_spec (spec);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *message_path = NULL;
  g_autofree char *expectations_path = NULL;
  g_autofree char *file_name = g_strconcat (name, ".eml", NULL);

  if (date != NULL)
    gate_message_builder_set_date (builder, date);
  bytes = gate_message_builder_build_bytes (builder, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bytes);

  message_path = write_temp_file (file_name, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  expectations_path = write_expectations (spec, builder, name, date ? g_date_time_to_unix (date) : -1);
  run_checker (message_path, expectations_path);
  return g_steal_pointer (&bytes);
}

static void
test_ascii (void)
{
  Spec spec = {
    .from_name = "Postgate Test",
    .from_addr = "sender@example.com",
    .to = { { NULL, "rcpt@example.net" } },
    .subject = "Hello from the test",
    .text = "Hello,\n\nthis is a plain test.\n",
  };
  g_autoptr (GDateTime) date = g_date_time_new_utc (2026, 11, 24, 0, 16, 17);
  g_autoptr (GBytes) bytes = build_and_check (&spec, "ascii", date);
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));

  g_assert_true (g_str_has_prefix (text, "Date: Tue, 24 Nov 2026 00:16:17 +0000\r\n"));
  g_assert_nonnull (strstr (text, "\r\nMIME-Version: 1.0\r\n"));
  g_assert_nonnull (strstr (text, "\r\nFrom: Postgate Test <sender@example.com>\r\n"));
}

static void
test_non_ascii (void)
{
  Spec spec = {
    .from_name = "Jürgen Müller-Lüdenscheidt",
    .from_addr = "jm@example.de",
    .to = { { "Zoë Ångström", "zoe@example.se" },
            { "李小龙", "li@example.cn" },
            { "Doe, John \"JD\" \\ Jr.", "john@example.com" },
            { "Plain Name", "plain@example.com" } },
    .subject = "Grüße aus Köln – 東京からのテスト ✓ and a long tail of ASCII words to need more than one "
               "encoded-word in this header",
    .text = "Grüße!\r\nSchöne Zeilen mit Umlauten: äöüß ÄÖÜ\r\n日本語のテキスト\r\n",
    .html = "<p>Grüße! <b>日本語</b> &amp; émojis ✓</p>\n",
  };
  g_autoptr (GBytes) bytes = build_and_check (&spec, "non-ascii", NULL);
}

static void
test_attachments (void)
{
  g_autofree guint8 *binary = NULL;
  g_autofree char *text_path = NULL;
  g_autofree char *binary_path = NULL;
  const char *notes = "Notes — première ligne\r\nsecond line\n.\nlast";
  gsize binary_len = 100 * 1024 + 13; /* not a multiple of 57 nor of 3 */
  guint32 x = 12345;

  binary = g_malloc (binary_len);
  for (gsize i = 0; i < binary_len; i++)
    {
      /* Every byte value, CR, LF and NUL included, in no simple order. */
      x = x * 1103515245u + 12345u;
      binary[i] = i < 256 ? (guint8)i : (guint8)(x >> 16);
    }
  binary_path = write_temp_file ("data.bin", binary, binary_len);
  text_path = write_temp_file ("Résumé – notes with a rather long file name to need continuations.txt", notes,
                               strlen (notes));

  {
    Spec spec = {
      .from_name = "Sender",
      .from_addr = "sender@example.com",
      .to = { { "Recipient", "rcpt@example.net" } },
      .subject = "Two attachments",
      .text = "See the attached files.\n",
      .html = "<p>See the attached files.</p>",
      .attachments = { { "data.bin", "application/octet-stream", binary_path },
                       { "Résumé – notes with a rather long file name to need continuations.txt",
                         "text/plain", text_path } },
    };
    g_autoptr (GBytes) bytes = build_and_check (&spec, "attachments", NULL);
  }
  {
    /* Text alone with an attachment: multipart/mixed holding text/plain. */
    Spec spec = {
      .from_addr = "sender@example.com",
      .to = { { NULL, "rcpt@example.net" } },
      .subject = "One attachment",
      .text = "Only text.",
      .attachments = { { "data.bin", "application/octet-stream", binary_path } },
    };
    g_autoptr (GBytes) bytes = build_and_check (&spec, "one-attachment", NULL);
  }
}

static void
test_long_lines_and_traps (void)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autofree char *long_subject = NULL;
  g_autoptr (GString) words = g_string_new ("Subject");

  /* A 5000-character line, trailing white space, a lone dot, text that looks
   * like a boundary or an encoded-word, and '=' signs. */
  for (guint i = 0; i < 5000; i++)
    g_string_append_c (text, (char)('a' + i % 26));
  g_string_append (text, "\nline with trailing spaces   \n"
                         "tab at the end\t\n"
                         ".\n"
                         "..two dots\n"
                         "--=_PG_mix_AAAAAAAAAAAAAAAAAAAAAAAA\n"
                         "--=_PG_alt_AAAAAAAAAAAAAAAAAAAAAAAA--\n"
                         "=?UTF-8?B?aGk=?= a=b 100%\n"
                         "From the start\n"
                         "bare\rCR and\r\nCRLF\n");
  for (guint i = 0; i < 30; i++)
    g_string_append_printf (words, " word%u", i);
  long_subject = g_strdup (words->str);

  {
    Spec spec = {
      .from_addr = "sender@example.com",
      .to = { { NULL, "rcpt@example.net" } },
      .subject = long_subject,
      .text = text->str,
      .html
      = "<html><body><p>"
        "A paragraph that is rather long and goes on and on so that the quoted-printable "
        "encoder has to break it with soft line breaks more than once, = signs included.</p></body></html>",
    };
    g_autoptr (GBytes) bytes = build_and_check (&spec, "long-lines", NULL);
  }
  {
    /* An ASCII subject that looks like an encoded-word must come back as
     * written, and HTML alone is a single text/html part. */
    Spec spec = {
      .from_addr = "sender@example.com",
      .to = { { NULL, "rcpt@example.net" } },
      .subject = "=?UTF-8?B?aGk=?= is not an encoded word here",
      .html = "<p>HTML only</p>",
    };
    g_autoptr (GBytes) bytes = build_and_check (&spec, "html-only", NULL);
  }
}

static void
test_many_recipients (void)
{
  Spec spec = {
    .from_name = "A rather long sender name that takes up most of the line",
    .from_addr = "a.very.long.sender.address@subdomain.example.com",
    .to = { { "First Recipient", "first@example.net" },
            { "Second Recipient", "second@example.net" },
            { NULL, "third@example.net" },
            { "Ünïcödé Recipient With A Long Name That Needs Folding", "fourth@example.net" },
            { "Fifth", "fifth@example.net" },
            { "Sixth", "sixth@example.net" },
            { "Seventh", "seventh@example.net" },
            { "Eighth", "eighth@example.net" } },
    .subject = "",
  };
  g_autoptr (GBytes) bytes = build_and_check (&spec, "many-recipients", NULL);
}

static void
test_long_names (void)
{
  Spec spec = {
    .from_name = "An Uncommonly Long Display Name, With Commas And \"Quotes\", That Goes On Beyond Eighty "
                 "Characters",
    .from_addr = "sender@example.com",
    .to = { { "Éloïse Ünïcödé-Namé and more words to fold over the line Ñandú Ærøskøbing Straße", "e@example.org" } },
    .subject = "Long names",
    .text = "Text.",
  };
  g_autoptr (GBytes) bytes = build_and_check (&spec, "long-names", NULL);
}

/* A name with one word too long to fold still gives short lines. */
static void
test_unbreakable_name (void)
{
  g_autoptr (GateMessageBuilder) builder = gate_message_builder_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *word = g_strnfill (1200, 'x');
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  gate_message_builder_set_from (builder, word, "x@example.com");
  gate_message_builder_add_to (builder, NULL, "y@example.com");
  gate_message_builder_set_subject (builder, word);
  bytes = gate_message_builder_build_bytes (builder, &error);
  g_assert_no_error (error);
  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  lines = g_strsplit (text, "\r\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    g_assert_cmpuint (strlen (lines[i]), <=, 78);
}

static void
test_token_and_message_id (void)
{
  g_autoptr (GateMessageBuilder) a = gate_message_builder_new ();
  g_autoptr (GateMessageBuilder) b = gate_message_builder_new ();
  g_autofree char *pattern = NULL;

  g_assert_true (g_regex_match_simple ("^PG-[2-9A-HJ-NP-Z]{6}$", gate_message_builder_get_token (a), 0, 0));
  g_assert_true (g_regex_match_simple ("^PG-[2-9A-HJ-NP-Z]{6}$", gate_message_builder_get_token (b), 0, 0));
  /* Two builders get different IDs (the random part, if not the token). */
  gate_message_builder_set_from (a, NULL, "x@example.com");
  gate_message_builder_set_from (b, NULL, "x@example.com");
  g_assert_cmpstr (gate_message_builder_get_message_id (a), !=, gate_message_builder_get_message_id (b));

  pattern = g_strdup_printf ("^<%s\\.[a-z0-9]{16}@example\\.com>$", gate_message_builder_get_token (a));
  g_assert_true (g_regex_match_simple (pattern, gate_message_builder_get_message_id (a), 0, 0));

  /* The domain follows the sender, in ASCII. */
  gate_message_builder_set_from (a, NULL, "x@bücher.example");
  g_assert_true (g_str_has_suffix (gate_message_builder_get_message_id (a), "@xn--bcher-kva.example>"));
}

static void
test_token_not_in_subject (void)
{
  g_autoptr (GateMessageBuilder) builder = gate_message_builder_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *text = NULL;

  gate_message_builder_set_from (builder, NULL, "x@example.com");
  gate_message_builder_add_to (builder, NULL, "y@example.com");
  gate_message_builder_set_subject (builder, "Plain subject");
  gate_message_builder_set_token_in_subject (builder, FALSE);
  bytes = gate_message_builder_build_bytes (builder, &error);
  g_assert_no_error (error);
  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_assert_nonnull (strstr (text, "\r\nSubject: Plain subject\r\n"));
  g_assert_nonnull (strstr (text, gate_message_builder_get_token (builder))); /* still in the Message-ID */
}

static void
test_date_format (void)
{
  g_autoptr (GTimeZone) zone = g_time_zone_new_identifier ("-03:30");
  g_autoptr (GDateTime) date = NULL;
  g_autoptr (GateMessageBuilder) builder = gate_message_builder_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *text = NULL;

  g_assert_nonnull (zone);
  date = g_date_time_new (zone, 2027, 2, 7, 9, 5, 3);
  gate_message_builder_set_from (builder, NULL, "x@example.com");
  gate_message_builder_add_to (builder, NULL, "y@example.com");
  gate_message_builder_set_date (builder, date);
  bytes = gate_message_builder_build_bytes (builder, &error);
  g_assert_no_error (error);
  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_assert_true (g_str_has_prefix (text, "Date: Sun, 7 Feb 2027 09:05:03 -0330\r\n"));
}

static void
test_header_injection (void)
{
  g_autoptr (GateMessageBuilder) builder = gate_message_builder_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *text = NULL;

  gate_message_builder_set_from (builder, "Evil\r\nBcc: victim@example.org", "x@example.com");
  gate_message_builder_add_to (builder, NULL, "y@example.com");
  gate_message_builder_set_subject (builder, "Hi\r\nBcc: victim@example.org");
  bytes = gate_message_builder_build_bytes (builder, &error);
  g_assert_no_error (error);
  text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_assert_null (strstr (text, "\r\nBcc:"));
}

static void
test_invalid_input (void)
{
  g_autoptr (GFile) missing = g_file_new_build_filename (workdir, "does-not-exist.bin", NULL);
  struct
  {
    const char *from;
    const char *to;
    GFile *attachment;
  } cases[] = {
    { NULL, "y@example.com", NULL },
    { "not an address", "y@example.com", NULL },
    { "x@example.com", NULL, NULL },
    { "x@example.com", "bad<address>@example.com", NULL },
    { "x@example.com", "y@example.com", missing },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GateMessageBuilder) builder = gate_message_builder_new ();
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) bytes = NULL;

      if (cases[i].from != NULL)
        gate_message_builder_set_from (builder, NULL, cases[i].from);
      if (cases[i].to != NULL)
        gate_message_builder_add_to (builder, NULL, cases[i].to);
      if (cases[i].attachment != NULL)
        gate_message_builder_add_attachment (builder, cases[i].attachment, "application/octet-stream");
      bytes = gate_message_builder_build_bytes (builder, &error);
      g_assert_null (bytes);
      g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_INVALID_INPUT);
      g_assert_nonnull (gate_smtp_error_get_next_step (error));
    }
}

static void
build_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
test_build_async (void)
{
  g_autoptr (GateMessageBuilder) builder = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GInputStream) stream = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GOutputStream) copy = NULL;
  g_autoptr (GFile) copy_file = NULL;
  g_autofree char *copy_path = NULL;
  g_autofree char *expectations_path = NULL;
  g_autofree guint8 *big = NULL;
  g_autofree char *big_path = NULL;
  gsize big_len = 3 * 1024 * 1024 + 1; /* several buffers' worth */
  gssize spliced;
  gint64 size = -1;
  Spec spec = {
    .from_name = "Async Sender",
    .from_addr = "async@example.com",
    .to = { { "Async Recipient", "r@example.org" } },
    .subject = "Built in a thread",
    .text = "Text.",
    .html = "<p>HTML.</p>",
  };

  big = g_malloc (big_len);
  for (gsize i = 0; i < big_len; i++)
    big[i] = (guint8)(i * 7 + i / 255);
  big_path = write_temp_file ("big.bin", big, big_len);
  spec.attachments[0] = (ExpectedAttachment){ "big.bin", "application/octet-stream", big_path };

  builder = builder_from_spec (&spec);
  gate_message_builder_build_async (builder, NULL, build_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  stream = gate_message_builder_build_finish (builder, result, &size, &error);
  g_assert_no_error (error);
  g_assert_nonnull (stream);
  g_assert_cmpint (size, >, (gint64)big_len);

  /* Seekable, at its start. */
  g_assert_true (G_IS_SEEKABLE (stream));
  g_assert_true (g_seekable_can_seek (G_SEEKABLE (stream)));
  g_assert_cmpint (g_seekable_tell (G_SEEKABLE (stream)), ==, 0);

#if defined(G_OS_UNIX) && defined(__linux__)
  /* Nothing is left with a name on disk. */
  if (G_IS_FILE_DESCRIPTOR_BASED (stream))
    {
      int fd = g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (stream));
      g_autofree char *link = g_strdup_printf ("/proc/self/fd/%d", fd);
      g_autofree char *target = g_file_read_link (link, NULL);

      g_assert_nonnull (target);
      g_assert_true (g_str_has_suffix (target, "(deleted)"));
    }
#endif

  copy_path = g_build_filename (workdir, "async.eml", NULL);
  copy_file = g_file_new_for_path (copy_path);
  copy = G_OUTPUT_STREAM (g_file_replace (copy_file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error));
  g_assert_no_error (error);
  spliced = g_output_stream_splice (copy, stream, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (spliced, ==, size);

  expectations_path = write_expectations (&spec, builder, "async", -1);
  run_checker (copy_path, expectations_path);
}

static void
test_build_async_error (void)
{
  g_autoptr (GateMessageBuilder) builder = gate_message_builder_new ();
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GInputStream) stream = NULL;
  g_autoptr (GError) error = NULL;
  gint64 size = -1;

  gate_message_builder_add_to (builder, NULL, "y@example.com");
  gate_message_builder_build_async (builder, NULL, build_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  stream = gate_message_builder_build_finish (builder, result, &size, &error);
  g_assert_null (stream);
  g_assert_error (error, GATE_SMTP_ERROR, GATE_SMTP_ERROR_INVALID_INPUT);
}

static void
remove_workdir (void)
{
  g_autoptr (GDir) dir = g_dir_open (workdir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (workdir, name, NULL);

      g_remove (path);
    }
  g_rmdir (workdir);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  if (argc != 3)
    {
      g_printerr ("usage: %s PYTHON CHECK-MESSAGE.PY\n", argv[0]);
      return 1;
    }
  python = argv[1];
  checker = argv[2];

  workdir = g_dir_make_tmp ("postgate-test-message-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/message-builder/ascii", test_ascii);
  g_test_add_func ("/message-builder/non-ascii", test_non_ascii);
  g_test_add_func ("/message-builder/attachments", test_attachments);
  g_test_add_func ("/message-builder/long-lines-and-traps", test_long_lines_and_traps);
  g_test_add_func ("/message-builder/many-recipients", test_many_recipients);
  g_test_add_func ("/message-builder/long-names", test_long_names);
  g_test_add_func ("/message-builder/unbreakable-name", test_unbreakable_name);
  g_test_add_func ("/message-builder/token-and-message-id", test_token_and_message_id);
  g_test_add_func ("/message-builder/token-not-in-subject", test_token_not_in_subject);
  g_test_add_func ("/message-builder/date-format", test_date_format);
  g_test_add_func ("/message-builder/header-injection", test_header_injection);
  g_test_add_func ("/message-builder/invalid-input", test_invalid_input);
  g_test_add_func ("/message-builder/build-async", test_build_async);
  g_test_add_func ("/message-builder/build-async-error", test_build_async_error);

  status = g_test_run ();
  remove_workdir ();
  g_free (workdir);
  return status;
}
