/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-smtp-client.h"

G_BEGIN_DECLS

/* Which options a command takes. */
typedef enum {
  GATE_CLI_CONNECTION_SERVER = 1 << 0,      /* --server --port --security */
  GATE_CLI_CONNECTION_CREDENTIALS = 1 << 1, /* --user --password-file --password-stdin --auth
                                               --oauth-token-file --allow-plain-auth */
  GATE_CLI_CONNECTION_SENDER = 1 << 2,      /* --from */
  GATE_CLI_CONNECTION_TRUST = 1 << 3,       /* --ca-file --pin-sha256 */
  GATE_CLI_CONNECTION_ALL = 0xf,
} GateCliConnectionOptionFlags;

/* The connection options shared by `send`, `probe` and `profile add/edit`.
 * GOption fills the first block; gate_cli_connection_options_validate() the
 * second.  A value left unset on the command line is NULL / 0 / FALSE, so a
 * profile loader can fill it without overriding what the user typed. */
typedef struct {
  /* As given on the command line. */
  char *profile_name; /* --profile NAME: filled by the profile loader, see
                       * gate_cli_connection_options_set_profile_loader();
                       * the option exists only when a loader is set. */
  char *server;
  int port;
  char *security;
  char *user;
  char *password_file;
  gboolean password_stdin;
  char *from;
  char *ca_file;
  char *pin_sha256;
  gboolean allow_plain_auth;
  char *auth;
  char *oauth_token_file;

  /* Resolved by validate (or set by the profile loader). */
  GateSmtpSecurity security_value;
  GateSmtpAuthMechanism auth_value;
  char *password;       /* secret: wiped when freed */
  gboolean password_from_keyring; /* the profile loader found it there */
  char *oauth_token;    /* secret: wiped when freed */
  char *pin_canonical;  /* "AB:CD:…" */
  GateCliConnectionOptionFlags flags;
} GateCliConnectionOptions;

GateCliConnectionOptions *gate_cli_connection_options_new (GateCliConnectionOptionFlags flags);
/* Wipes the secrets before freeing them. */
void gate_cli_connection_options_free (GateCliConnectionOptions *options);

/* Adds the options chosen by @flags (and --profile when a loader is set) to
 * the main options of @context, so --help lists them with the command's own.
 * The entries point into @options, which must outlive the parsing. */
void gate_cli_connection_options_add_to_context (GateCliConnectionOptions *options, GOptionContext *context);

/* The profile hook.  When set, `--profile NAME` is offered; validate() calls
 * @loader first when it was given, and @loader fills the fields still unset
 * (server, port, security, user, from, ca_file, pin_sha256, auth, password
 * from the keyring, …).  What the user typed wins over the profile. */
typedef gboolean (*GateCliProfileLoader) (GateCliConnectionOptions *options, GError **error);
void gate_cli_connection_options_set_profile_loader (GateCliProfileLoader loader);

/* Checks the values, resolves security, port (by security when unset: 587
 * for STARTTLS and none, 465 for TLS), AUTH mechanism and pin, and reads the
 * password (file, stdin or a prompt without echo on a terminal) or OAuth
 * token.  Fails with G_OPTION_ERROR and a sentence for a user. */
gboolean gate_cli_connection_options_validate (GateCliConnectionOptions *options, GError **error);

/* Applies credentials, AUTH mechanisms, plain-auth permission, CA file and
 * pin to @client. */
void gate_cli_connection_options_apply (GateCliConnectionOptions *options, GateSmtpClient *client);

/* A client for the validated server, port and security, options applied. */
GateSmtpClient *gate_cli_connection_options_create_client (GateCliConnectionOptions *options);

/* Reads a secret from a file: refuses a file that others on this machine can
 * read, strips one trailing newline, wipes its buffers.  @what names the
 * secret for the error ("password", "access token"). */
char *gate_cli_read_secret_file (const char *path, const char *what, GError **error);

/* Overwrites and frees a secret string. */
void gate_cli_secret_free (char *secret);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GateCliConnectionOptions, gate_cli_connection_options_free)

G_END_DECLS
