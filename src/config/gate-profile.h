/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gate-smtp-auth.h"
#include "gate-smtp-client.h"

G_BEGIN_DECLS

#define GATE_TYPE_PROFILE (gate_profile_get_type ())
G_DECLARE_FINAL_TYPE (GateProfile, gate_profile, GATE, PROFILE, GObject)

/* What a user sets up once: a server, how to reach it, who signs in and who
 * sends.  Secrets are never held here: the password and API key live in the
 * system keyring (see gate-secret-store.h), keyed by the profile's id; the
 * profile only records whether they were saved.
 *
 * Properties (read-write, notify on change, so a GUI can bind to them):
 *   id                  string, stable, generated once (construct-only)
 *   name                string, unique in a store
 *   preset-id           string, a GateProviderPreset id ("smtp2go", "other")
 *   region              string, a region id of the preset ("" when none)
 *   host                string
 *   port                guint, 1–65535 (default 587)
 *   security            guint, a GateSmtpSecurity (default STARTTLS)
 *   auth-mechanism      guint, GateSmtpAuthMechanism flags (default AUTOMATIC)
 *   username            string
 *   allow-plain-auth    gboolean, send credentials without TLS (default FALSE)
 *   sender-name         string
 *   sender-address      string
 *   pinned-fingerprint  string, SHA-256 of a trusted server certificate, hex
 *   ca-file             string, an extra trusted CA file (path)
 *   rewrite-sender      gboolean, the relay rewrites a device's sender to
 *                       sender-address (default from the preset)
 *   relay-listen        GStrv, where the relay takes mail ("ADDR:PORT"; empty:
 *                       its default, 127.0.0.1:2525)
 *   relay-listen-tls    GStrv, where the relay takes mail secured from the
 *                       first byte (implicit TLS, as on port 465), with the
 *                       relay's certificate ("ADDR:PORT"; empty: nowhere)
 *   relay-allow         GStrv, the address ranges of devices the relay lets
 *                       in besides this computer ("192.168.1.0/24"; empty: none)
 *   relay-starttls      gboolean, devices may secure their connection with
 *                       the certificate Postgate makes (default FALSE)
 *   relay-device-user   string, the user name devices sign in with ("": no
 *                       sign-in); their password is in the keyring
 *   relay-tls-cert      string, the certificate (PEM file) the relay offers
 *                       devices instead of the one Postgate makes ("": none)
 *   relay-tls-key       string, its private key when not in the same file
 *   relay-require-sign-in      gboolean, mail only from devices signed in
 *   relay-allow-plain-sign-in  gboolean, devices may sign in on a connection
 *                       not secured (old devices on a trusted network)
 *   relay-connections   guint, connections to the outgoing server at most
 *                       (1–40; 0: the relay's default)
 *   relay-rate          gint, messages an hour at most (0: no limit; -1: the
 *                       relay's default)
 *   has-relay-password  gboolean, the devices' password is in the keyring
 *   has-password        gboolean, a password is saved in the keyring
 *   has-api-key         gboolean, an API key is saved in the keyring
 *   created             GDateTime (construct; default now)
 *   last-success        GDateTime, nullable: when a test last succeeded
 * Strings are never NULL when read through the getters ("" when unset). */

GateProfile *gate_profile_new (const char *name);
/* A new profile with a new id and the same settings, named @name. */
GateProfile *gate_profile_duplicate (GateProfile *self, const char *name);
/* Copies every setting except id and created from @source, notifying only
 * what changed. */
void gate_profile_copy_settings (GateProfile *self, GateProfile *source);

/* Fills preset-id, region, host, port, security and rewrite-sender from a
 * preset (the default region and port when @region_id is NULL). */
void gate_profile_apply_preset (GateProfile *self, const char *preset_id, const char *region_id);

const char *gate_profile_get_id (GateProfile *self);
const char *gate_profile_get_name (GateProfile *self);
void gate_profile_set_name (GateProfile *self, const char *name);
const char *gate_profile_get_preset_id (GateProfile *self);
void gate_profile_set_preset_id (GateProfile *self, const char *preset_id);
const char *gate_profile_get_region (GateProfile *self);
void gate_profile_set_region (GateProfile *self, const char *region);
const char *gate_profile_get_host (GateProfile *self);
void gate_profile_set_host (GateProfile *self, const char *host);
guint16 gate_profile_get_port (GateProfile *self);
void gate_profile_set_port (GateProfile *self, guint16 port);
GateSmtpSecurity gate_profile_get_security (GateProfile *self);
void gate_profile_set_security (GateProfile *self, GateSmtpSecurity security);
GateSmtpAuthMechanism gate_profile_get_auth_mechanism (GateProfile *self);
void gate_profile_set_auth_mechanism (GateProfile *self, GateSmtpAuthMechanism mechanism);
const char *gate_profile_get_username (GateProfile *self);
void gate_profile_set_username (GateProfile *self, const char *username);
gboolean gate_profile_get_allow_plain_auth (GateProfile *self);
void gate_profile_set_allow_plain_auth (GateProfile *self, gboolean allow);
const char *gate_profile_get_sender_name (GateProfile *self);
void gate_profile_set_sender_name (GateProfile *self, const char *sender_name);
const char *gate_profile_get_sender_address (GateProfile *self);
void gate_profile_set_sender_address (GateProfile *self, const char *sender_address);
const char *gate_profile_get_pinned_fingerprint (GateProfile *self);
void gate_profile_set_pinned_fingerprint (GateProfile *self, const char *sha256_hex);
const char *gate_profile_get_ca_file (GateProfile *self);
void gate_profile_set_ca_file (GateProfile *self, const char *ca_file);
gboolean gate_profile_get_rewrite_sender (GateProfile *self);
void gate_profile_set_rewrite_sender (GateProfile *self, gboolean rewrite);
/* Never NULL; the setters take NULL for an empty list.  Checked where they
 * are given (gate-relay-address.h), not here. */
const char *const *gate_profile_get_relay_listen (GateProfile *self);
void gate_profile_set_relay_listen (GateProfile *self, const char *const *listen);
const char *const *gate_profile_get_relay_listen_tls (GateProfile *self);
void gate_profile_set_relay_listen_tls (GateProfile *self, const char *const *listen);
const char *const *gate_profile_get_relay_allow (GateProfile *self);
void gate_profile_set_relay_allow (GateProfile *self, const char *const *ranges);
gboolean gate_profile_get_relay_starttls (GateProfile *self);
void gate_profile_set_relay_starttls (GateProfile *self, gboolean starttls);
const char *gate_profile_get_relay_device_user (GateProfile *self);
void gate_profile_set_relay_device_user (GateProfile *self, const char *username);
const char *gate_profile_get_relay_tls_cert (GateProfile *self);
void gate_profile_set_relay_tls_cert (GateProfile *self, const char *path);
const char *gate_profile_get_relay_tls_key (GateProfile *self);
void gate_profile_set_relay_tls_key (GateProfile *self, const char *path);
gboolean gate_profile_get_relay_require_sign_in (GateProfile *self);
void gate_profile_set_relay_require_sign_in (GateProfile *self, gboolean required);
gboolean gate_profile_get_relay_allow_plain_sign_in (GateProfile *self);
void gate_profile_set_relay_allow_plain_sign_in (GateProfile *self, gboolean allow);
#define GATE_PROFILE_RELAY_MAX_CONNECTIONS 40
guint gate_profile_get_relay_connections (GateProfile *self);
void gate_profile_set_relay_connections (GateProfile *self, guint connections);
gint gate_profile_get_relay_rate (GateProfile *self);
void gate_profile_set_relay_rate (GateProfile *self, gint rate);
gboolean gate_profile_get_has_relay_password (GateProfile *self);
void gate_profile_set_has_relay_password (GateProfile *self, gboolean has_password);
gboolean gate_profile_get_has_password (GateProfile *self);
void gate_profile_set_has_password (GateProfile *self, gboolean has_password);
gboolean gate_profile_get_has_api_key (GateProfile *self);
void gate_profile_set_has_api_key (GateProfile *self, gboolean has_api_key);
/* has-password, has-api-key and has-relay-password together, as
 * GATE_SECRET_KIND_FLAG bits (gate-secret-store.h): what a copy of the
 * profile has to copy. */
guint gate_profile_get_secret_kinds (GateProfile *self);
void gate_profile_set_secret_kinds (GateProfile *self, guint kinds);
GDateTime *gate_profile_get_created (GateProfile *self);
GDateTime *gate_profile_get_last_success (GateProfile *self);
void gate_profile_set_last_success (GateProfile *self, GDateTime *when);

/* The API base URL from the preset and region, NULL when there is none. */
const char *gate_profile_get_api_base_url (GateProfile *self);

/* Validation for the GUI and the CLI: NULL when the value is fine, else a
 * translated sentence for a non-technical reader ("Enter a server name like
 * mail.example.com"). */
const char *gate_profile_check_name (const char *name);
const char *gate_profile_check_host (const char *host);
/* @text as typed into a field. */
const char *gate_profile_check_port_text (const char *text);
const char *gate_profile_check_port (guint port);
/* @required: whether an empty address is a problem. */
const char *gate_profile_check_address (const char *address, gboolean required);
/* Empty is fine (no pin). */
const char *gate_profile_check_fingerprint (const char *sha256_hex);
/* Empty is fine (no extra CA); else the file must exist. */
const char *gate_profile_check_ca_file (const char *path);
/* TRUE for a syntactically valid host name or IP address literal. */
gboolean gate_profile_host_is_valid (const char *host);

/* Checks every field; the first problem as a G_IO_ERROR_INVALID_ARGUMENT. */
gboolean gate_profile_validate (GateProfile *self, GError **error);

/* A client set up from the profile: host, port, security, AUTH mechanisms,
 * allow-plain-auth, CA file and pinned certificate, and the credentials
 * when the profile has a user name and @password is not NULL. */
GateSmtpClient *gate_profile_create_client (GateProfile *self, const char *password);

/* Serialisation to a group of a GKeyFile (used by the store and by export).
 * Keys this version does not know are left alone on save, so a newer minor
 * version's additions survive.  @with_secret_flags: write has-password and
 * has-api-key (not in exports, which never carry secrets). */
void gate_profile_save_to_key_file (GateProfile *self, GKeyFile *key_file, const char *group,
                                    gboolean with_secret_flags);
/* NULL with @error when the group is not a usable profile.  @id_override
 * (nullable) replaces the id in the file (import makes new ids). */
GateProfile *gate_profile_new_from_key_file (GKeyFile *key_file, const char *group, const char *id_override,
                                             GError **error);

G_END_DECLS
