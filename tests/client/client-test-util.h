/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-smtp-client.h"

G_BEGIN_DECLS

/* The fixed credentials of tests/servers/smtp-test-server.py. */
#define TEST_USER "user"
#define TEST_PASSWORD "s3cret-Pa55"
#define TEST_TOKEN "ya29.test-token"

/* Short, so a stuck test fails fast; no test asserts on timing. */
#define TEST_CONNECT_TIMEOUT 10
#define TEST_COMMAND_TIMEOUT 10
#define TEST_DATA_TIMEOUT 30

/* A server script from tests/servers running for one test. */
typedef struct
{
  GSubprocess *process;
  guint16 port;
  char *dir;     /* a temporary folder for its log and maildir */
  char *log;     /* dir/server.log */
  char *maildir; /* dir/mail */
} TestServer;

/* Starts tests/servers/@script with @args (NULL-terminated) plus "--log" and
 * "--maildir" (for smtp-test-server.py) and waits for its port. */
TestServer *test_server_start (const char *script, const char *const *args);
void test_server_stop (TestServer *server);
/* The server's log of what it received. */
char *test_server_read_log (TestServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestServer, test_server_stop)

/* A folder with the certificates of tests/servers/make-certs.sh, made once
 * per test program; "name" gives dir/name.pem. */
const char *test_certs_dir (void);
char *test_cert_path (const char *name_with_extension);

/* A client that records its transcript (see test_transcript_*). */
GateSmtpClient *test_client_new (const char *host, guint16 port, GateSmtpSecurity security);
/* Every event's formatted text, one per line. */
const char *test_transcript_text (GateSmtpClient *client);
/* Fails the test if a secret or an encoding of it shows in the transcript. */
void test_assert_no_secrets (GateSmtpClient *client);

/* Run the async calls on the thread-default main loop until they finish. */
gboolean test_run_connect (GateSmtpClient *client, GCancellable *cancellable, GError **error);
GateSmtpSendResult *test_run_send (GateSmtpClient *client, GateSmtpEnvelope *envelope, GInputStream *message,
                                   GCancellable *cancellable, GError **error);
gboolean test_run_quit (GateSmtpClient *client, GError **error);

/* A small message as a stream. */
GInputStream *test_message_stream (const char *text);
/* A simple envelope from @sender to the NULL-terminated recipients. */
GateSmtpEnvelope *test_envelope_new (const char *sender, ...) G_GNUC_NULL_TERMINATED;

/* Reads stored message number @n (1-based) from the server's maildir. */
GBytes *test_server_read_message (TestServer *server, guint n);

G_END_DECLS
