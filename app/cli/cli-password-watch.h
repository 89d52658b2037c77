/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cli-connection-options.h"
#include "gate-relay.h"

G_BEGIN_DECLS

/* A relay runs for days as a service; when the user changes the password of
 * the outgoing server (the provider asked for a new one), the relay must not
 * need a restart to take it.  While the outgoing server refuses the relay's
 * sign-in, the watch reads the password again every few seconds from where
 * it came from, the profile's keyring entry or --password-file, and when it
 * has changed puts it into @options (the relay's client factory reads it
 * there) and has the relay try again at once.  With the profile's keyring
 * entry, the profile's user name is read again too (a new SMTP user at the
 * provider).  A password typed or piped in cannot change and is not
 * watched. */
typedef struct _GateCliPasswordWatch GateCliPasswordWatch;

typedef void (*GateCliPasswordWatchAnnounce) (const char *line);

/* @keyring_profile_id: the profile whose keyring entry holds the password
 * (and whose user name is the relay's), when it came from there, else NULL.  @options and @relay must outlive
 * the watch. */
GateCliPasswordWatch *gate_cli_password_watch_new (GateRelay *relay, GateCliConnectionOptions *options,
                                                   const char *keyring_profile_id,
                                                   GateCliPasswordWatchAnnounce announce);
void gate_cli_password_watch_free (GateCliPasswordWatch *watch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GateCliPasswordWatch, gate_cli_password_watch_free)

G_END_DECLS
