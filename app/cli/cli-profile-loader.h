/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cli-connection-options.h"
#include "gate-profile-store.h"

G_BEGIN_DECLS

/* `--profile NAME` for send and probe: fills what the command line left
 * unset from the stored profile (server, port, security, user, sender, CA
 * file, pinned certificate, sign-in method), and the password from, in this
 * order: --password-file or --password-stdin (left to the option parser),
 * the environment variable POSTGATE_PASSWORD (said on stderr: it is less
 * safe), the system keyring.  A keyring that cannot be reached is an error
 * that says what to do; nothing falls back silently. */
gboolean gate_cli_profile_loader (GateCliConnectionOptions *options, GError **error);

/* The profile store at the default place, loaded; a problem reading it is
 * printed to stderr. */
GateProfileStore *gate_cli_open_profile_store (GError **error);

/* The profile named @name in @store (not a new reference), or NULL with an
 * error that says how to list the profiles. */
GateProfile *gate_cli_find_profile (GateProfileStore *store, const char *name, GError **error);

/* The name of the environment variable for headless use. */
#define GATE_CLI_PASSWORD_ENV "POSTGATE_PASSWORD"

G_END_DECLS
