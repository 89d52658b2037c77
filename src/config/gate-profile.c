/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postgate-config"

#include "config.h"

#include "gate-profile.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "gate-provider-preset.h"
#include "gate-secret-store.h"
#include "gate-smtp-envelope.h"

struct _GateProfile
{
  GObject parent_instance;

  char *id;
  char *name;
  char *preset_id;
  char *region;
  char *host;
  guint16 port;
  GateSmtpSecurity security;
  GateSmtpAuthMechanism auth_mechanism;
  char *username;
  gboolean allow_plain_auth;
  char *sender_name;
  char *sender_address;
  char *pinned_fingerprint;
  char *ca_file;
  gboolean rewrite_sender;
  GStrv relay_listen; /* never NULL */
  GStrv relay_listen_tls; /* never NULL */
  GStrv relay_allow;  /* never NULL */
  gboolean relay_starttls;
  char *relay_device_user;
  char *relay_tls_cert;
  char *relay_tls_key;
  gboolean relay_require_sign_in;
  gboolean relay_allow_plain_sign_in;
  guint relay_connections; /* 0: the relay's default */
  gint relay_rate;         /* messages an hour; 0: no limit; -1: the relay's default */
  gboolean has_password;
  gboolean has_relay_password;
  gboolean has_api_key;
  GDateTime *created;
  GDateTime *last_success;
};

G_DEFINE_FINAL_TYPE (GateProfile, gate_profile, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_PRESET_ID,
  PROP_REGION,
  PROP_HOST,
  PROP_PORT,
  PROP_SECURITY,
  PROP_AUTH_MECHANISM,
  PROP_USERNAME,
  PROP_ALLOW_PLAIN_AUTH,
  PROP_SENDER_NAME,
  PROP_SENDER_ADDRESS,
  PROP_PINNED_FINGERPRINT,
  PROP_CA_FILE,
  PROP_REWRITE_SENDER,
  PROP_RELAY_LISTEN,
  PROP_RELAY_LISTEN_TLS,
  PROP_RELAY_ALLOW,
  PROP_RELAY_STARTTLS,
  PROP_RELAY_DEVICE_USER,
  PROP_RELAY_TLS_CERT,
  PROP_RELAY_TLS_KEY,
  PROP_RELAY_REQUIRE_SIGN_IN,
  PROP_RELAY_ALLOW_PLAIN_SIGN_IN,
  PROP_RELAY_CONNECTIONS,
  PROP_RELAY_RATE,
  PROP_HAS_PASSWORD,
  PROP_HAS_RELAY_PASSWORD,
  PROP_HAS_API_KEY,
  PROP_CREATED,
  PROP_LAST_SUCCESS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define DEFAULT_PORT 587

static void
gate_profile_finalize (GObject *object)
{
  GateProfile *self = GATE_PROFILE (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->preset_id);
  g_free (self->region);
  g_free (self->host);
  g_free (self->username);
  g_free (self->sender_name);
  g_free (self->sender_address);
  g_free (self->pinned_fingerprint);
  g_free (self->ca_file);
  g_strfreev (self->relay_listen);
  g_strfreev (self->relay_listen_tls);
  g_strfreev (self->relay_allow);
  g_free (self->relay_device_user);
  g_free (self->relay_tls_cert);
  g_free (self->relay_tls_key);
  g_clear_pointer (&self->created, g_date_time_unref);
  g_clear_pointer (&self->last_success, g_date_time_unref);

  G_OBJECT_CLASS (gate_profile_parent_class)->finalize (object);
}

static void
gate_profile_constructed (GObject *object)
{
  GateProfile *self = GATE_PROFILE (object);

  G_OBJECT_CLASS (gate_profile_parent_class)->constructed (object);

  if (self->id == NULL || *self->id == '\0')
    {
      g_free (self->id);
      self->id = g_uuid_string_random ();
    }
  if (self->created == NULL)
    self->created = g_date_time_new_now_utc ();
}

static void
gate_profile_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GateProfile *self = GATE_PROFILE (object);

  switch (prop_id)
    {
      case PROP_ID:
        g_value_set_string (value, gate_profile_get_id (self));
        break;
      case PROP_NAME:
        g_value_set_string (value, gate_profile_get_name (self));
        break;
      case PROP_PRESET_ID:
        g_value_set_string (value, gate_profile_get_preset_id (self));
        break;
      case PROP_REGION:
        g_value_set_string (value, gate_profile_get_region (self));
        break;
      case PROP_HOST:
        g_value_set_string (value, gate_profile_get_host (self));
        break;
      case PROP_PORT:
        g_value_set_uint (value, self->port);
        break;
      case PROP_SECURITY:
        g_value_set_uint (value, self->security);
        break;
      case PROP_AUTH_MECHANISM:
        g_value_set_uint (value, self->auth_mechanism);
        break;
      case PROP_USERNAME:
        g_value_set_string (value, gate_profile_get_username (self));
        break;
      case PROP_ALLOW_PLAIN_AUTH:
        g_value_set_boolean (value, self->allow_plain_auth);
        break;
      case PROP_SENDER_NAME:
        g_value_set_string (value, gate_profile_get_sender_name (self));
        break;
      case PROP_SENDER_ADDRESS:
        g_value_set_string (value, gate_profile_get_sender_address (self));
        break;
      case PROP_PINNED_FINGERPRINT:
        g_value_set_string (value, gate_profile_get_pinned_fingerprint (self));
        break;
      case PROP_CA_FILE:
        g_value_set_string (value, gate_profile_get_ca_file (self));
        break;
      case PROP_REWRITE_SENDER:
        g_value_set_boolean (value, self->rewrite_sender);
        break;
      case PROP_RELAY_LISTEN:
        g_value_set_boxed (value, self->relay_listen);
        break;
      case PROP_RELAY_LISTEN_TLS:
        g_value_set_boxed (value, self->relay_listen_tls);
        break;
      case PROP_RELAY_ALLOW:
        g_value_set_boxed (value, self->relay_allow);
        break;
      case PROP_RELAY_STARTTLS:
        g_value_set_boolean (value, self->relay_starttls);
        break;
      case PROP_RELAY_DEVICE_USER:
        g_value_set_string (value, gate_profile_get_relay_device_user (self));
        break;
      case PROP_RELAY_TLS_CERT:
        g_value_set_string (value, gate_profile_get_relay_tls_cert (self));
        break;
      case PROP_RELAY_TLS_KEY:
        g_value_set_string (value, gate_profile_get_relay_tls_key (self));
        break;
      case PROP_RELAY_REQUIRE_SIGN_IN:
        g_value_set_boolean (value, self->relay_require_sign_in);
        break;
      case PROP_RELAY_ALLOW_PLAIN_SIGN_IN:
        g_value_set_boolean (value, self->relay_allow_plain_sign_in);
        break;
      case PROP_RELAY_CONNECTIONS:
        g_value_set_uint (value, self->relay_connections);
        break;
      case PROP_RELAY_RATE:
        g_value_set_int (value, self->relay_rate);
        break;
      case PROP_HAS_RELAY_PASSWORD:
        g_value_set_boolean (value, self->has_relay_password);
        break;
      case PROP_HAS_PASSWORD:
        g_value_set_boolean (value, self->has_password);
        break;
      case PROP_HAS_API_KEY:
        g_value_set_boolean (value, self->has_api_key);
        break;
      case PROP_CREATED:
        g_value_set_boxed (value, self->created);
        break;
      case PROP_LAST_SUCCESS:
        g_value_set_boxed (value, self->last_success);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_profile_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GateProfile *self = GATE_PROFILE (object);

  switch (prop_id)
    {
      case PROP_ID:
        self->id = g_value_dup_string (value);
        break;
      case PROP_NAME:
        gate_profile_set_name (self, g_value_get_string (value));
        break;
      case PROP_PRESET_ID:
        gate_profile_set_preset_id (self, g_value_get_string (value));
        break;
      case PROP_REGION:
        gate_profile_set_region (self, g_value_get_string (value));
        break;
      case PROP_HOST:
        gate_profile_set_host (self, g_value_get_string (value));
        break;
      case PROP_PORT:
        gate_profile_set_port (self, (guint16)g_value_get_uint (value));
        break;
      case PROP_SECURITY:
        gate_profile_set_security (self, (GateSmtpSecurity)g_value_get_uint (value));
        break;
      case PROP_AUTH_MECHANISM:
        gate_profile_set_auth_mechanism (self, (GateSmtpAuthMechanism)g_value_get_uint (value));
        break;
      case PROP_USERNAME:
        gate_profile_set_username (self, g_value_get_string (value));
        break;
      case PROP_ALLOW_PLAIN_AUTH:
        gate_profile_set_allow_plain_auth (self, g_value_get_boolean (value));
        break;
      case PROP_SENDER_NAME:
        gate_profile_set_sender_name (self, g_value_get_string (value));
        break;
      case PROP_SENDER_ADDRESS:
        gate_profile_set_sender_address (self, g_value_get_string (value));
        break;
      case PROP_PINNED_FINGERPRINT:
        gate_profile_set_pinned_fingerprint (self, g_value_get_string (value));
        break;
      case PROP_CA_FILE:
        gate_profile_set_ca_file (self, g_value_get_string (value));
        break;
      case PROP_REWRITE_SENDER:
        gate_profile_set_rewrite_sender (self, g_value_get_boolean (value));
        break;
      case PROP_RELAY_LISTEN:
        gate_profile_set_relay_listen (self, g_value_get_boxed (value));
        break;
      case PROP_RELAY_LISTEN_TLS:
        gate_profile_set_relay_listen_tls (self, g_value_get_boxed (value));
        break;
      case PROP_RELAY_ALLOW:
        gate_profile_set_relay_allow (self, g_value_get_boxed (value));
        break;
      case PROP_RELAY_STARTTLS:
        gate_profile_set_relay_starttls (self, g_value_get_boolean (value));
        break;
      case PROP_RELAY_DEVICE_USER:
        gate_profile_set_relay_device_user (self, g_value_get_string (value));
        break;
      case PROP_RELAY_TLS_CERT:
        gate_profile_set_relay_tls_cert (self, g_value_get_string (value));
        break;
      case PROP_RELAY_TLS_KEY:
        gate_profile_set_relay_tls_key (self, g_value_get_string (value));
        break;
      case PROP_RELAY_REQUIRE_SIGN_IN:
        gate_profile_set_relay_require_sign_in (self, g_value_get_boolean (value));
        break;
      case PROP_RELAY_ALLOW_PLAIN_SIGN_IN:
        gate_profile_set_relay_allow_plain_sign_in (self, g_value_get_boolean (value));
        break;
      case PROP_RELAY_CONNECTIONS:
        gate_profile_set_relay_connections (self, g_value_get_uint (value));
        break;
      case PROP_RELAY_RATE:
        gate_profile_set_relay_rate (self, g_value_get_int (value));
        break;
      case PROP_HAS_RELAY_PASSWORD:
        gate_profile_set_has_relay_password (self, g_value_get_boolean (value));
        break;
      case PROP_HAS_PASSWORD:
        gate_profile_set_has_password (self, g_value_get_boolean (value));
        break;
      case PROP_HAS_API_KEY:
        gate_profile_set_has_api_key (self, g_value_get_boolean (value));
        break;
      case PROP_CREATED:
        g_clear_pointer (&self->created, g_date_time_unref);
        self->created = g_value_dup_boxed (value);
        break;
      case PROP_LAST_SUCCESS:
        gate_profile_set_last_success (self, g_value_get_boxed (value));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gate_profile_class_init (GateProfileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = gate_profile_finalize;
  object_class->constructed = gate_profile_constructed;
  object_class->get_property = gate_profile_get_property;
  object_class->set_property = gate_profile_set_property;

  properties[PROP_ID] = g_param_spec_string (
      "id", NULL, NULL, NULL, G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, "", flags);
  properties[PROP_PRESET_ID] = g_param_spec_string ("preset-id", NULL, NULL, GATE_PRESET_OTHER, flags);
  properties[PROP_REGION] = g_param_spec_string ("region", NULL, NULL, "", flags);
  properties[PROP_HOST] = g_param_spec_string ("host", NULL, NULL, "", flags);
  properties[PROP_PORT] = g_param_spec_uint ("port", NULL, NULL, 1, G_MAXUINT16, DEFAULT_PORT, flags);
  properties[PROP_SECURITY] = g_param_spec_uint ("security", NULL, NULL, GATE_SMTP_SECURITY_NONE,
                                                 GATE_SMTP_SECURITY_TLS, GATE_SMTP_SECURITY_STARTTLS, flags);
  properties[PROP_AUTH_MECHANISM]
      = g_param_spec_uint ("auth-mechanism", NULL, NULL, 0, G_MAXUINT, GATE_SMTP_AUTH_AUTOMATIC, flags);
  properties[PROP_USERNAME] = g_param_spec_string ("username", NULL, NULL, "", flags);
  properties[PROP_ALLOW_PLAIN_AUTH] = g_param_spec_boolean ("allow-plain-auth", NULL, NULL, FALSE, flags);
  properties[PROP_SENDER_NAME] = g_param_spec_string ("sender-name", NULL, NULL, "", flags);
  properties[PROP_SENDER_ADDRESS] = g_param_spec_string ("sender-address", NULL, NULL, "", flags);
  properties[PROP_PINNED_FINGERPRINT] = g_param_spec_string ("pinned-fingerprint", NULL, NULL, "", flags);
  properties[PROP_CA_FILE] = g_param_spec_string ("ca-file", NULL, NULL, "", flags);
  properties[PROP_REWRITE_SENDER] = g_param_spec_boolean ("rewrite-sender", NULL, NULL, FALSE, flags);
  properties[PROP_RELAY_LISTEN] = g_param_spec_boxed ("relay-listen", NULL, NULL, G_TYPE_STRV, flags);
  properties[PROP_RELAY_LISTEN_TLS]
      = g_param_spec_boxed ("relay-listen-tls", NULL, NULL, G_TYPE_STRV, flags);
  properties[PROP_RELAY_ALLOW] = g_param_spec_boxed ("relay-allow", NULL, NULL, G_TYPE_STRV, flags);
  properties[PROP_RELAY_STARTTLS] = g_param_spec_boolean ("relay-starttls", NULL, NULL, FALSE, flags);
  properties[PROP_RELAY_DEVICE_USER] = g_param_spec_string ("relay-device-user", NULL, NULL, "", flags);
  properties[PROP_RELAY_TLS_CERT] = g_param_spec_string ("relay-tls-cert", NULL, NULL, "", flags);
  properties[PROP_RELAY_TLS_KEY] = g_param_spec_string ("relay-tls-key", NULL, NULL, "", flags);
  properties[PROP_RELAY_REQUIRE_SIGN_IN]
      = g_param_spec_boolean ("relay-require-sign-in", NULL, NULL, FALSE, flags);
  properties[PROP_RELAY_ALLOW_PLAIN_SIGN_IN]
      = g_param_spec_boolean ("relay-allow-plain-sign-in", NULL, NULL, FALSE, flags);
  properties[PROP_RELAY_CONNECTIONS]
      = g_param_spec_uint ("relay-connections", NULL, NULL, 0, GATE_PROFILE_RELAY_MAX_CONNECTIONS, 0, flags);
  properties[PROP_RELAY_RATE] = g_param_spec_int ("relay-rate", NULL, NULL, -1, G_MAXINT, -1, flags);
  properties[PROP_HAS_RELAY_PASSWORD] = g_param_spec_boolean ("has-relay-password", NULL, NULL, FALSE, flags);
  properties[PROP_HAS_PASSWORD] = g_param_spec_boolean ("has-password", NULL, NULL, FALSE, flags);
  properties[PROP_HAS_API_KEY] = g_param_spec_boolean ("has-api-key", NULL, NULL, FALSE, flags);
  properties[PROP_CREATED]
      = g_param_spec_boxed ("created", NULL, NULL, G_TYPE_DATE_TIME,
                            G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LAST_SUCCESS] = g_param_spec_boxed ("last-success", NULL, NULL, G_TYPE_DATE_TIME, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
gate_profile_init (GateProfile *self)
{
  self->preset_id = g_strdup (GATE_PRESET_OTHER);
  self->port = DEFAULT_PORT;
  self->security = GATE_SMTP_SECURITY_STARTTLS;
  self->auth_mechanism = GATE_SMTP_AUTH_AUTOMATIC;
  self->relay_listen = g_new0 (char *, 1);
  self->relay_listen_tls = g_new0 (char *, 1);
  self->relay_allow = g_new0 (char *, 1);
  self->relay_rate = -1;
}

GateProfile *
gate_profile_new (const char *name)
{
  return g_object_new (GATE_TYPE_PROFILE, "name", name, NULL);
}

/* Sets a string field; NULL is stored as "" would be (unset). */
static void
set_string (GateProfile *self, char **field, const char *value, guint prop)
{
  if (value != NULL && *value == '\0')
    value = NULL;
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_boolean (GateProfile *self, gboolean *field, gboolean value, guint prop)
{
  value = !!value;
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

/* Sets a list field; NULL is stored as an empty list. */
static void
set_strv (GateProfile *self, GStrv *field, const char *const *value, guint prop)
{
  static const char *const empty[] = { NULL };

  if (value == NULL)
    value = empty;
  if (g_strv_equal ((const char *const *)*field, value))
    return;
  g_strfreev (*field);
  *field = g_strdupv ((char **)value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static gboolean
date_time_equal0 (GDateTime *a, GDateTime *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_date_time_equal (a, b);
}

void
gate_profile_copy_settings (GateProfile *self, GateProfile *source)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  g_return_if_fail (GATE_IS_PROFILE (source));

  g_object_freeze_notify (G_OBJECT (self));
  gate_profile_set_name (self, source->name);
  gate_profile_set_preset_id (self, source->preset_id);
  gate_profile_set_region (self, source->region);
  gate_profile_set_host (self, source->host);
  gate_profile_set_port (self, source->port);
  gate_profile_set_security (self, source->security);
  gate_profile_set_auth_mechanism (self, source->auth_mechanism);
  gate_profile_set_username (self, source->username);
  gate_profile_set_allow_plain_auth (self, source->allow_plain_auth);
  gate_profile_set_sender_name (self, source->sender_name);
  gate_profile_set_sender_address (self, source->sender_address);
  gate_profile_set_pinned_fingerprint (self, source->pinned_fingerprint);
  gate_profile_set_ca_file (self, source->ca_file);
  gate_profile_set_rewrite_sender (self, source->rewrite_sender);
  gate_profile_set_relay_listen (self, (const char *const *)source->relay_listen);
  gate_profile_set_relay_listen_tls (self, (const char *const *)source->relay_listen_tls);
  gate_profile_set_relay_allow (self, (const char *const *)source->relay_allow);
  gate_profile_set_relay_starttls (self, source->relay_starttls);
  gate_profile_set_relay_device_user (self, source->relay_device_user);
  gate_profile_set_relay_tls_cert (self, source->relay_tls_cert);
  gate_profile_set_relay_tls_key (self, source->relay_tls_key);
  gate_profile_set_relay_require_sign_in (self, source->relay_require_sign_in);
  gate_profile_set_relay_allow_plain_sign_in (self, source->relay_allow_plain_sign_in);
  gate_profile_set_relay_connections (self, source->relay_connections);
  gate_profile_set_relay_rate (self, source->relay_rate);
  gate_profile_set_has_password (self, source->has_password);
  gate_profile_set_has_relay_password (self, source->has_relay_password);
  gate_profile_set_has_api_key (self, source->has_api_key);
  gate_profile_set_last_success (self, source->last_success);
  g_object_thaw_notify (G_OBJECT (self));
}

GateProfile *
gate_profile_duplicate (GateProfile *self, const char *name)
{
  GateProfile *copy;

  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);

  copy = gate_profile_new (name);
  gate_profile_copy_settings (copy, self);
  gate_profile_set_name (copy, name);
  /* The copy has its own keyring entries, empty until saved. */
  gate_profile_set_secret_kinds (copy, 0);
  gate_profile_set_last_success (copy, NULL);
  return copy;
}

void
gate_profile_apply_preset (GateProfile *self, const char *preset_id, const char *region_id)
{
  GateProviderPreset *preset;
  const char *host;
  guint16 port;

  g_return_if_fail (GATE_IS_PROFILE (self));

  preset = gate_provider_preset_lookup (preset_id);
  if (preset == NULL)
    {
      gate_profile_set_preset_id (self, preset_id);
      return;
    }

  g_object_freeze_notify (G_OBJECT (self));
  gate_profile_set_preset_id (self, preset_id);
  if (gate_provider_preset_get_has_fixed_host (preset))
    {
      GateProviderRegion *region = gate_provider_preset_get_region (preset, region_id);

      if (region == NULL)
        region = gate_provider_preset_get_region (preset, NULL);
      gate_profile_set_region (self, region ? gate_provider_region_get_id (region) : NULL);
      host = region ? gate_provider_region_get_host (region) : NULL;
      if (host != NULL)
        gate_profile_set_host (self, host);
    }
  else
    {
      gate_profile_set_region (self, NULL);
    }
  port = gate_provider_preset_get_default_port (preset);
  gate_profile_set_port (self, port);
  gate_profile_set_security (self, gate_provider_preset_get_port_security (preset, port));
  gate_profile_set_rewrite_sender (self, gate_provider_preset_get_rewrite_sender (preset));
  g_object_thaw_notify (G_OBJECT (self));
}

const char *
gate_profile_get_id (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return self->id;
}

const char *
gate_profile_get_name (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return self->name ? self->name : "";
}

void
gate_profile_set_name (GateProfile *self, const char *name)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_string (self, &self->name, name, PROP_NAME);
}

const char *
gate_profile_get_preset_id (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return self->preset_id ? self->preset_id : GATE_PRESET_OTHER;
}

void
gate_profile_set_preset_id (GateProfile *self, const char *preset_id)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_string (self, &self->preset_id, preset_id, PROP_PRESET_ID);
}

const char *
gate_profile_get_region (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return self->region ? self->region : "";
}

void
gate_profile_set_region (GateProfile *self, const char *region)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_string (self, &self->region, region, PROP_REGION);
}

const char *
gate_profile_get_host (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return self->host ? self->host : "";
}

void
gate_profile_set_host (GateProfile *self, const char *host)
{
  g_autofree char *stripped = NULL;

  g_return_if_fail (GATE_IS_PROFILE (self));

  /* Pasted names often carry spaces around them. */
  if (host != NULL)
    stripped = g_strstrip (g_strdup (host));
  set_string (self, &self->host, stripped, PROP_HOST);
}

guint16
gate_profile_get_port (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), 0);
  return self->port;
}

void
gate_profile_set_port (GateProfile *self, guint16 port)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  g_return_if_fail (port > 0);

  if (self->port == port)
    return;
  self->port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
}

GateSmtpSecurity
gate_profile_get_security (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), GATE_SMTP_SECURITY_STARTTLS);
  return self->security;
}

void
gate_profile_set_security (GateProfile *self, GateSmtpSecurity security)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  g_return_if_fail (security <= GATE_SMTP_SECURITY_TLS);

  if (self->security == security)
    return;
  self->security = security;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SECURITY]);
}

GateSmtpAuthMechanism
gate_profile_get_auth_mechanism (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), GATE_SMTP_AUTH_AUTOMATIC);
  return self->auth_mechanism;
}

void
gate_profile_set_auth_mechanism (GateProfile *self, GateSmtpAuthMechanism mechanism)
{
  g_return_if_fail (GATE_IS_PROFILE (self));

  /* NONE would mean "never sign in", which is what an empty user name says. */
  if (mechanism == GATE_SMTP_AUTH_NONE)
    mechanism = GATE_SMTP_AUTH_AUTOMATIC;
  if (self->auth_mechanism == mechanism)
    return;
  self->auth_mechanism = mechanism;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AUTH_MECHANISM]);
}

const char *
gate_profile_get_username (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return self->username ? self->username : "";
}

void
gate_profile_set_username (GateProfile *self, const char *username)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_string (self, &self->username, username, PROP_USERNAME);
}

gboolean
gate_profile_get_allow_plain_auth (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), FALSE);
  return self->allow_plain_auth;
}

void
gate_profile_set_allow_plain_auth (GateProfile *self, gboolean allow)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_boolean (self, &self->allow_plain_auth, allow, PROP_ALLOW_PLAIN_AUTH);
}

const char *
gate_profile_get_sender_name (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return self->sender_name ? self->sender_name : "";
}

void
gate_profile_set_sender_name (GateProfile *self, const char *sender_name)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_string (self, &self->sender_name, sender_name, PROP_SENDER_NAME);
}

const char *
gate_profile_get_sender_address (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return self->sender_address ? self->sender_address : "";
}

void
gate_profile_set_sender_address (GateProfile *self, const char *sender_address)
{
  g_autofree char *stripped = NULL;

  g_return_if_fail (GATE_IS_PROFILE (self));

  if (sender_address != NULL)
    stripped = g_strstrip (g_strdup (sender_address));
  set_string (self, &self->sender_address, stripped, PROP_SENDER_ADDRESS);
}

const char *
gate_profile_get_pinned_fingerprint (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return self->pinned_fingerprint ? self->pinned_fingerprint : "";
}

void
gate_profile_set_pinned_fingerprint (GateProfile *self, const char *sha256_hex)
{
  g_autofree char *stripped = NULL;

  g_return_if_fail (GATE_IS_PROFILE (self));

  if (sha256_hex != NULL)
    stripped = g_strstrip (g_strdup (sha256_hex));
  set_string (self, &self->pinned_fingerprint, stripped, PROP_PINNED_FINGERPRINT);
}

const char *
gate_profile_get_ca_file (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return self->ca_file ? self->ca_file : "";
}

void
gate_profile_set_ca_file (GateProfile *self, const char *ca_file)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_string (self, &self->ca_file, ca_file, PROP_CA_FILE);
}

gboolean
gate_profile_get_rewrite_sender (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), FALSE);
  return self->rewrite_sender;
}

void
gate_profile_set_rewrite_sender (GateProfile *self, gboolean rewrite)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_boolean (self, &self->rewrite_sender, rewrite, PROP_REWRITE_SENDER);
}

const char *const *
gate_profile_get_relay_listen (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return (const char *const *)self->relay_listen;
}

void
gate_profile_set_relay_listen (GateProfile *self, const char *const *listen)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_strv (self, &self->relay_listen, listen, PROP_RELAY_LISTEN);
}

const char *const *
gate_profile_get_relay_listen_tls (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return (const char *const *)self->relay_listen_tls;
}

void
gate_profile_set_relay_listen_tls (GateProfile *self, const char *const *listen)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_strv (self, &self->relay_listen_tls, listen, PROP_RELAY_LISTEN_TLS);
}

const char *const *
gate_profile_get_relay_allow (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return (const char *const *)self->relay_allow;
}

void
gate_profile_set_relay_allow (GateProfile *self, const char *const *ranges)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_strv (self, &self->relay_allow, ranges, PROP_RELAY_ALLOW);
}

gboolean
gate_profile_get_relay_starttls (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), FALSE);
  return self->relay_starttls;
}

void
gate_profile_set_relay_starttls (GateProfile *self, gboolean starttls)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_boolean (self, &self->relay_starttls, starttls, PROP_RELAY_STARTTLS);
}

const char *
gate_profile_get_relay_device_user (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return self->relay_device_user ? self->relay_device_user : "";
}

void
gate_profile_set_relay_device_user (GateProfile *self, const char *username)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_string (self, &self->relay_device_user, username, PROP_RELAY_DEVICE_USER);
}

const char *
gate_profile_get_relay_tls_cert (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), "");
  return self->relay_tls_cert ? self->relay_tls_cert : "";
}

void
gate_profile_set_relay_tls_cert (GateProfile *self, const char *path)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_string (self, &self->relay_tls_cert, path, PROP_RELAY_TLS_CERT);
}

const char *
gate_profile_get_relay_tls_key (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), "");
  return self->relay_tls_key ? self->relay_tls_key : "";
}

void
gate_profile_set_relay_tls_key (GateProfile *self, const char *path)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_string (self, &self->relay_tls_key, path, PROP_RELAY_TLS_KEY);
}

gboolean
gate_profile_get_relay_require_sign_in (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), FALSE);
  return self->relay_require_sign_in;
}

void
gate_profile_set_relay_require_sign_in (GateProfile *self, gboolean required)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_boolean (self, &self->relay_require_sign_in, required, PROP_RELAY_REQUIRE_SIGN_IN);
}

gboolean
gate_profile_get_relay_allow_plain_sign_in (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), FALSE);
  return self->relay_allow_plain_sign_in;
}

void
gate_profile_set_relay_allow_plain_sign_in (GateProfile *self, gboolean allow)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_boolean (self, &self->relay_allow_plain_sign_in, allow, PROP_RELAY_ALLOW_PLAIN_SIGN_IN);
}

guint
gate_profile_get_relay_connections (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), 0);
  return self->relay_connections;
}

void
gate_profile_set_relay_connections (GateProfile *self, guint connections)
{
  g_return_if_fail (GATE_IS_PROFILE (self));

  connections = MIN (connections, GATE_PROFILE_RELAY_MAX_CONNECTIONS);
  if (self->relay_connections == connections)
    return;
  self->relay_connections = connections;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RELAY_CONNECTIONS]);
}

gint
gate_profile_get_relay_rate (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), -1);
  return self->relay_rate;
}

void
gate_profile_set_relay_rate (GateProfile *self, gint rate)
{
  g_return_if_fail (GATE_IS_PROFILE (self));

  rate = MAX (rate, -1);
  if (self->relay_rate == rate)
    return;
  self->relay_rate = rate;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RELAY_RATE]);
}

gboolean
gate_profile_get_has_relay_password (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), FALSE);
  return self->has_relay_password;
}

void
gate_profile_set_has_relay_password (GateProfile *self, gboolean has_password)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_boolean (self, &self->has_relay_password, has_password, PROP_HAS_RELAY_PASSWORD);
}

gboolean
gate_profile_get_has_password (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), FALSE);
  return self->has_password;
}

void
gate_profile_set_has_password (GateProfile *self, gboolean has_password)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_boolean (self, &self->has_password, has_password, PROP_HAS_PASSWORD);
}

gboolean
gate_profile_get_has_api_key (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), FALSE);
  return self->has_api_key;
}

void
gate_profile_set_has_api_key (GateProfile *self, gboolean has_api_key)
{
  g_return_if_fail (GATE_IS_PROFILE (self));
  set_boolean (self, &self->has_api_key, has_api_key, PROP_HAS_API_KEY);
}

guint
gate_profile_get_secret_kinds (GateProfile *self)
{
  guint kinds = 0;

  g_return_val_if_fail (GATE_IS_PROFILE (self), 0);

  if (self->has_password)
    kinds |= GATE_SECRET_KIND_FLAG (GATE_SECRET_PASSWORD);
  if (self->has_api_key)
    kinds |= GATE_SECRET_KIND_FLAG (GATE_SECRET_API_KEY);
  if (self->has_relay_password)
    kinds |= GATE_SECRET_KIND_FLAG (GATE_SECRET_RELAY_PASSWORD);
  return kinds;
}

void
gate_profile_set_secret_kinds (GateProfile *self, guint kinds)
{
  g_return_if_fail (GATE_IS_PROFILE (self));

  g_object_freeze_notify (G_OBJECT (self));
  gate_profile_set_has_password (self, (kinds & GATE_SECRET_KIND_FLAG (GATE_SECRET_PASSWORD)) != 0);
  gate_profile_set_has_api_key (self, (kinds & GATE_SECRET_KIND_FLAG (GATE_SECRET_API_KEY)) != 0);
  gate_profile_set_has_relay_password (self, (kinds & GATE_SECRET_KIND_FLAG (GATE_SECRET_RELAY_PASSWORD)) != 0);
  g_object_thaw_notify (G_OBJECT (self));
}

GDateTime *
gate_profile_get_created (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return self->created;
}

GDateTime *
gate_profile_get_last_success (GateProfile *self)
{
  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);
  return self->last_success;
}

void
gate_profile_set_last_success (GateProfile *self, GDateTime *when)
{
  g_return_if_fail (GATE_IS_PROFILE (self));

  if (date_time_equal0 (self->last_success, when))
    return;
  g_clear_pointer (&self->last_success, g_date_time_unref);
  self->last_success = when ? g_date_time_ref (when) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_SUCCESS]);
}

const char *
gate_profile_get_api_base_url (GateProfile *self)
{
  GateProviderPreset *preset;

  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);

  preset = gate_provider_preset_lookup (gate_profile_get_preset_id (self));
  if (preset == NULL)
    return NULL;
  return gate_provider_preset_get_api_base_url (preset, self->region);
}

/* Validation */

static gboolean
ascii_host_is_valid (const char *host)
{
  g_auto (GStrv) labels = NULL;
  gsize length = strlen (host);

  if (length == 0 || length > 253)
    return FALSE;

  labels = g_strsplit (host, ".", -1);
  for (guint i = 0; labels[i] != NULL; i++)
    {
      const char *label = labels[i];
      gsize n = strlen (label);

      /* A single trailing dot (a fully qualified name) leaves one empty label. */
      if (n == 0)
        {
          if (labels[i + 1] == NULL && i > 0)
            continue;
          return FALSE;
        }
      if (n > 63 || label[0] == '-' || label[n - 1] == '-')
        return FALSE;
      for (gsize j = 0; j < n; j++)
        if (!g_ascii_isalnum (label[j]) && label[j] != '-' && label[j] != '_')
          return FALSE;
    }

  return TRUE;
}

gboolean
gate_profile_host_is_valid (const char *host)
{
  g_autofree char *ascii = NULL;
  g_autofree char *bare = NULL;

  if (host == NULL || *host == '\0')
    return FALSE;

  /* [::1] as people write it in URLs. */
  if (host[0] == '[' && host[strlen (host) - 1] == ']')
    {
      bare = g_strndup (host + 1, strlen (host) - 2);
      return g_hostname_is_ip_address (bare);
    }

  if (g_hostname_is_ip_address (host))
    return TRUE;

  if (!g_utf8_validate (host, -1, NULL))
    return FALSE;
  /* International names are checked in their ASCII form. */
  ascii = g_hostname_to_ascii (host);
  if (ascii == NULL)
    return FALSE;

  /* Something like 1.2.3 is a mistyped address, not a name. */
  {
    gboolean all_digits = TRUE;

    for (const char *p = ascii; *p != '\0'; p++)
      if (!g_ascii_isdigit (*p) && *p != '.')
        all_digits = FALSE;
    if (all_digits)
      return FALSE;
  }

  return ascii_host_is_valid (ascii);
}

const char *
gate_profile_check_name (const char *name)
{
  g_autofree char *stripped = NULL;

  if (name == NULL)
    return _("Enter a name for this profile");
  stripped = g_strstrip (g_strdup (name));
  if (*stripped == '\0')
    return _("Enter a name for this profile");
  if (!g_utf8_validate (name, -1, NULL) || strpbrk (name, "\r\n\t") != NULL)
    return _("A profile name cannot contain line breaks or tabs");
  if (g_utf8_strlen (name, -1) > 100)
    return _("Use a shorter name (at most 100 characters)");
  return NULL;
}

const char *
gate_profile_check_host (const char *host)
{
  if (host == NULL || *host == '\0')
    return _("Enter a server name like mail.example.com");
  if (strstr (host, "://") != NULL)
    return _("Enter only the server name, like mail.example.com, without “smtp://”");
  if (strchr (host, ' ') != NULL)
    return _("A server name cannot contain spaces");
  if (strchr (host, '@') != NULL)
    return _("This looks like an email address; enter the server name, like mail.example.com");
  if (!gate_profile_host_is_valid (host))
    return _("Enter a server name like mail.example.com");
  return NULL;
}

const char *
gate_profile_check_port (guint port)
{
  if (port < 1 || port > 65535)
    return _("Enter a port number between 1 and 65535, such as 587");
  return NULL;
}

const char *
gate_profile_check_port_text (const char *text)
{
  guint64 value = 0;

  if (text == NULL || *text == '\0')
    return _("Enter a port number between 1 and 65535, such as 587");
  if (!g_ascii_string_to_unsigned (text, 10, 1, 65535, &value, NULL))
    return _("Enter a port number between 1 and 65535, such as 587");
  return NULL;
}

const char *
gate_profile_check_address (const char *address, gboolean required)
{
  if (address == NULL || *address == '\0')
    return required ? _("Enter an email address like name@example.com") : NULL;
  if (strchr (address, '@') == NULL)
    return _("An email address needs an “@”, like name@example.com");
  if (!gate_smtp_address_is_valid (address))
    return _("Enter an email address like name@example.com");
  return NULL;
}

const char *
gate_profile_check_fingerprint (const char *sha256_hex)
{
  guint digits = 0;

  if (sha256_hex == NULL || *sha256_hex == '\0')
    return NULL;

  for (const char *p = sha256_hex; *p != '\0'; p++)
    {
      if (g_ascii_isxdigit (*p))
        digits++;
      else if (*p != ':' && *p != ' ')
        return _("A certificate fingerprint has only the digits 0–9 and letters A–F");
    }
  if (digits != 64)
    return _("A SHA-256 certificate fingerprint has 64 digits and letters (32 pairs)");
  return NULL;
}

const char *
gate_profile_check_ca_file (const char *path)
{
  if (path == NULL || *path == '\0')
    return NULL;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return _("The certificate authority file does not exist or is not a file");
  return NULL;
}

gboolean
gate_profile_validate (GateProfile *self, GError **error)
{
  const char *problem;

  g_return_val_if_fail (GATE_IS_PROFILE (self), FALSE);

  if ((problem = gate_profile_check_name (self->name)) != NULL
      || (problem = gate_profile_check_host (self->host)) != NULL
      || (problem = gate_profile_check_port (self->port)) != NULL
      || (problem = gate_profile_check_address (self->sender_address, FALSE)) != NULL
      || (problem = gate_profile_check_fingerprint (self->pinned_fingerprint)) != NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, problem);
      return FALSE;
    }

  return TRUE;
}

GateSmtpClient *
gate_profile_create_client (GateProfile *self, const char *password)
{
  GateSmtpClient *client;

  g_return_val_if_fail (GATE_IS_PROFILE (self), NULL);

  client = gate_smtp_client_new (gate_profile_get_host (self), self->port, self->security);
  gate_smtp_client_set_auth_mechanisms (client, self->auth_mechanism);
  gate_smtp_client_set_allow_plain_auth (client, self->allow_plain_auth);
  if (self->ca_file != NULL)
    gate_smtp_client_set_ca_file (client, self->ca_file);
  if (self->pinned_fingerprint != NULL)
    gate_smtp_client_set_pinned_fingerprint (client, self->pinned_fingerprint);
  if (self->username != NULL && password != NULL)
    gate_smtp_client_set_credentials (client, self->username, password);

  return client;
}

/* Key file */

static void
set_or_remove (GKeyFile *key_file, const char *group, const char *key, const char *value)
{
  if (value != NULL && *value != '\0')
    g_key_file_set_string (key_file, group, key, value);
  else
    g_key_file_remove_key (key_file, group, key, NULL);
}

static void
set_list_or_remove (GKeyFile *key_file, const char *group, const char *key, GStrv value)
{
  if (value != NULL && value[0] != NULL)
    g_key_file_set_string_list (key_file, group, key, (const char *const *)value, g_strv_length (value));
  else
    g_key_file_remove_key (key_file, group, key, NULL);
}

static char *
auth_to_string (GateSmtpAuthMechanism mechanism)
{
  static const GateSmtpAuthMechanism singles[] = {
    GATE_SMTP_AUTH_PLAIN,
    GATE_SMTP_AUTH_LOGIN,
    GATE_SMTP_AUTH_CRAM_MD5,
    GATE_SMTP_AUTH_XOAUTH2,
  };
  g_autoptr (GPtrArray) names = g_ptr_array_new ();

  if (mechanism == GATE_SMTP_AUTH_AUTOMATIC || mechanism == GATE_SMTP_AUTH_NONE)
    return g_strdup ("automatic");

  for (guint i = 0; i < G_N_ELEMENTS (singles); i++)
    if (mechanism & singles[i])
      g_ptr_array_add (names, (gpointer)gate_smtp_auth_mechanism_to_string (singles[i]));
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (char **)names->pdata);
}

static GateSmtpAuthMechanism
auth_from_string (const char *text)
{
  g_auto (GStrv) names = NULL;
  GateSmtpAuthMechanism mechanism = GATE_SMTP_AUTH_NONE;

  if (text == NULL)
    return GATE_SMTP_AUTH_AUTOMATIC;
  names = g_strsplit (text, ",", -1);
  for (guint i = 0; names[i] != NULL; i++)
    mechanism |= gate_smtp_auth_mechanism_from_string (g_strstrip (names[i]));
  return mechanism != GATE_SMTP_AUTH_NONE ? mechanism : GATE_SMTP_AUTH_AUTOMATIC;
}

void
gate_profile_save_to_key_file (GateProfile *self, GKeyFile *key_file, const char *group,
                               gboolean with_secret_flags)
{
  g_autofree char *auth = NULL;
  g_autofree char *created = NULL;
  g_autofree char *last_success = NULL;

  g_return_if_fail (GATE_IS_PROFILE (self));
  g_return_if_fail (key_file != NULL);
  g_return_if_fail (group != NULL);

  auth = auth_to_string (self->auth_mechanism);
  created = self->created ? g_date_time_format_iso8601 (self->created) : NULL;
  last_success = self->last_success ? g_date_time_format_iso8601 (self->last_success) : NULL;

  g_key_file_set_string (key_file, group, "id", self->id);
  g_key_file_set_string (key_file, group, "name", gate_profile_get_name (self));
  g_key_file_set_string (key_file, group, "preset", gate_profile_get_preset_id (self));
  set_or_remove (key_file, group, "region", self->region);
  set_or_remove (key_file, group, "host", self->host);
  g_key_file_set_integer (key_file, group, "port", self->port);
  g_key_file_set_string (key_file, group, "security", gate_smtp_security_to_string (self->security));
  g_key_file_set_string (key_file, group, "auth", auth);
  set_or_remove (key_file, group, "username", self->username);
  g_key_file_set_boolean (key_file, group, "allow-plain-auth", self->allow_plain_auth);
  set_or_remove (key_file, group, "sender-name", self->sender_name);
  set_or_remove (key_file, group, "sender-address", self->sender_address);
  set_or_remove (key_file, group, "pinned-sha256", self->pinned_fingerprint);
  set_or_remove (key_file, group, "ca-file", self->ca_file);
  g_key_file_set_boolean (key_file, group, "rewrite-sender", self->rewrite_sender);
  set_list_or_remove (key_file, group, "relay-listen", self->relay_listen);
  set_list_or_remove (key_file, group, "relay-listen-tls", self->relay_listen_tls);
  set_list_or_remove (key_file, group, "relay-allow", self->relay_allow);
  g_key_file_set_boolean (key_file, group, "relay-starttls", self->relay_starttls);
  set_or_remove (key_file, group, "relay-device-user", self->relay_device_user);
  set_or_remove (key_file, group, "relay-tls-cert", self->relay_tls_cert);
  set_or_remove (key_file, group, "relay-tls-key", self->relay_tls_key);
  g_key_file_set_boolean (key_file, group, "relay-require-sign-in", self->relay_require_sign_in);
  g_key_file_set_boolean (key_file, group, "relay-allow-plain-sign-in", self->relay_allow_plain_sign_in);
  if (self->relay_connections > 0)
    g_key_file_set_integer (key_file, group, "relay-connections", (gint)self->relay_connections);
  else
    g_key_file_remove_key (key_file, group, "relay-connections", NULL);
  if (self->relay_rate >= 0)
    g_key_file_set_integer (key_file, group, "relay-rate", self->relay_rate);
  else
    g_key_file_remove_key (key_file, group, "relay-rate", NULL);
  if (with_secret_flags)
    {
      g_key_file_set_boolean (key_file, group, "has-password", self->has_password);
      g_key_file_set_boolean (key_file, group, "has-api-key", self->has_api_key);
      g_key_file_set_boolean (key_file, group, "has-relay-password", self->has_relay_password);
    }
  else
    {
      g_key_file_remove_key (key_file, group, "has-password", NULL);
      g_key_file_remove_key (key_file, group, "has-api-key", NULL);
      g_key_file_remove_key (key_file, group, "has-relay-password", NULL);
    }
  set_or_remove (key_file, group, "created", created);
  set_or_remove (key_file, group, "last-success", last_success);
}

static char *
get_string (GKeyFile *key_file, const char *group, const char *key)
{
  return g_key_file_get_string (key_file, group, key, NULL);
}

static gboolean
get_boolean (GKeyFile *key_file, const char *group, const char *key, gboolean fallback)
{
  g_autoptr (GError) error = NULL;
  gboolean value = g_key_file_get_boolean (key_file, group, key, &error);

  return error ? fallback : value;
}

static gint
get_integer (GKeyFile *key_file, const char *group, const char *key, gint fallback)
{
  g_autoptr (GError) error = NULL;
  gint value = g_key_file_get_integer (key_file, group, key, &error);

  return error ? fallback : value;
}

static GDateTime *
get_date_time (GKeyFile *key_file, const char *group, const char *key)
{
  g_autofree char *text = get_string (key_file, group, key);

  return text ? g_date_time_new_from_iso8601 (text, NULL) : NULL;
}

GateProfile *
gate_profile_new_from_key_file (GKeyFile *key_file, const char *group, const char *id_override,
                                GError **error)
{
  g_autofree char *id = NULL;
  g_autofree char *name = NULL;
  g_autofree char *security_text = NULL;
  g_autofree char *auth_text = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GDateTime) created = NULL;
  g_autoptr (GDateTime) last_success = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GateProfile) self = NULL;
  g_auto (GStrv) relay_listen = NULL;
  g_auto (GStrv) relay_listen_tls = NULL;
  g_auto (GStrv) relay_allow = NULL;
  GateSmtpSecurity security = GATE_SMTP_SECURITY_STARTTLS;
  gint port;

  g_return_val_if_fail (key_file != NULL, NULL);
  g_return_val_if_fail (group != NULL, NULL);

  if (!g_key_file_has_group (key_file, group))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                   _("The profile “%s” is missing"), group);
      return NULL;
    }

  name = get_string (key_file, group, "name");
  if (name == NULL || gate_profile_check_name (name) != NULL)
    {
      g_set_error_literal (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                           _("A profile in the file has no usable name"));
      return NULL;
    }

  id = id_override ? g_strdup (id_override) : get_string (key_file, group, "id");
  created = get_date_time (key_file, group, "created");
  self = g_object_new (GATE_TYPE_PROFILE, "id", id, "created", created, "name", name, NULL);

  text = get_string (key_file, group, "preset");
  gate_profile_set_preset_id (self, text);
  g_clear_pointer (&text, g_free);
  text = get_string (key_file, group, "region");
  gate_profile_set_region (self, text);
  g_clear_pointer (&text, g_free);
  text = get_string (key_file, group, "host");
  gate_profile_set_host (self, text);
  g_clear_pointer (&text, g_free);

  port = g_key_file_get_integer (key_file, group, "port", &local_error);
  if (local_error == NULL && port >= 1 && port <= G_MAXUINT16)
    gate_profile_set_port (self, (guint16)port);
  g_clear_error (&local_error);

  security_text = get_string (key_file, group, "security");
  if (security_text != NULL && gate_smtp_security_from_string (security_text, &security))
    gate_profile_set_security (self, security);

  auth_text = get_string (key_file, group, "auth");
  gate_profile_set_auth_mechanism (self, auth_from_string (auth_text));

  text = get_string (key_file, group, "username");
  gate_profile_set_username (self, text);
  g_clear_pointer (&text, g_free);
  gate_profile_set_allow_plain_auth (self, get_boolean (key_file, group, "allow-plain-auth", FALSE));
  text = get_string (key_file, group, "sender-name");
  gate_profile_set_sender_name (self, text);
  g_clear_pointer (&text, g_free);
  text = get_string (key_file, group, "sender-address");
  gate_profile_set_sender_address (self, text);
  g_clear_pointer (&text, g_free);
  text = get_string (key_file, group, "pinned-sha256");
  gate_profile_set_pinned_fingerprint (self, text);
  g_clear_pointer (&text, g_free);
  text = get_string (key_file, group, "ca-file");
  gate_profile_set_ca_file (self, text);
  g_clear_pointer (&text, g_free);
  gate_profile_set_rewrite_sender (self, get_boolean (key_file, group, "rewrite-sender", FALSE));
  relay_listen = g_key_file_get_string_list (key_file, group, "relay-listen", NULL, NULL);
  gate_profile_set_relay_listen (self, (const char *const *)relay_listen);
  relay_listen_tls = g_key_file_get_string_list (key_file, group, "relay-listen-tls", NULL, NULL);
  gate_profile_set_relay_listen_tls (self, (const char *const *)relay_listen_tls);
  relay_allow = g_key_file_get_string_list (key_file, group, "relay-allow", NULL, NULL);
  gate_profile_set_relay_allow (self, (const char *const *)relay_allow);
  gate_profile_set_relay_starttls (self, get_boolean (key_file, group, "relay-starttls", FALSE));
  text = get_string (key_file, group, "relay-device-user");
  gate_profile_set_relay_device_user (self, text);
  g_clear_pointer (&text, g_free);
  text = get_string (key_file, group, "relay-tls-cert");
  gate_profile_set_relay_tls_cert (self, text);
  g_clear_pointer (&text, g_free);
  text = get_string (key_file, group, "relay-tls-key");
  gate_profile_set_relay_tls_key (self, text);
  g_clear_pointer (&text, g_free);
  gate_profile_set_relay_require_sign_in (self, get_boolean (key_file, group, "relay-require-sign-in", FALSE));
  gate_profile_set_relay_allow_plain_sign_in (self,
                                              get_boolean (key_file, group, "relay-allow-plain-sign-in", FALSE));
  gate_profile_set_relay_connections (self, (guint)CLAMP (get_integer (key_file, group, "relay-connections", 0), 0,
                                                           GATE_PROFILE_RELAY_MAX_CONNECTIONS));
  gate_profile_set_relay_rate (self, get_integer (key_file, group, "relay-rate", -1));
  gate_profile_set_has_relay_password (self, get_boolean (key_file, group, "has-relay-password", FALSE));
  gate_profile_set_has_password (self, get_boolean (key_file, group, "has-password", FALSE));
  gate_profile_set_has_api_key (self, get_boolean (key_file, group, "has-api-key", FALSE));
  last_success = get_date_time (key_file, group, "last-success");
  gate_profile_set_last_success (self, last_success);

  return g_steal_pointer (&self);
}
