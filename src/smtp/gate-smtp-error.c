/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gate-smtp"

#include "config.h"

#include "gate-smtp-error.h"

#include <glib/gi18n-lib.h>
#include <string.h>

/* The extended data every GATE_SMTP_ERROR carries.  Errors made with plain
 * g_set_error() get the defaults, so every accessor copes with empty fields. */
typedef struct
{
  GateSmtpStage stage;
  GateSmtpReply *reply;
  char *next_step;
  GateCertificateProblem certificate_problem;
  char *certificate_fingerprint;
  guint16 suggested_port;
  char *detail;
  gboolean temporary;
} GateSmtpErrorPrivate;

static void
gate_smtp_error_private_init (GateSmtpErrorPrivate *priv)
{
  /* GLib's generated accessor may return NULL; the compiler sees that path. */
  if (priv == NULL)
    return;
  priv->stage = GATE_SMTP_STAGE_NONE;
  priv->reply = NULL;
  priv->next_step = NULL;
  priv->certificate_problem = GATE_CERTIFICATE_PROBLEM_NONE;
  priv->certificate_fingerprint = NULL;
  priv->suggested_port = 0;
  priv->detail = NULL;
  priv->temporary = FALSE;
}

static void
gate_smtp_error_private_copy (const GateSmtpErrorPrivate *src, GateSmtpErrorPrivate *dest)
{
  if (src == NULL || dest == NULL)
    return;
  dest->stage = src->stage;
  dest->reply = src->reply ? gate_smtp_reply_ref (src->reply) : NULL;
  dest->next_step = g_strdup (src->next_step);
  dest->certificate_problem = src->certificate_problem;
  dest->certificate_fingerprint = g_strdup (src->certificate_fingerprint);
  dest->suggested_port = src->suggested_port;
  dest->detail = g_strdup (src->detail);
  dest->temporary = src->temporary;
}

static void
gate_smtp_error_private_clear (GateSmtpErrorPrivate *priv)
{
  if (priv == NULL)
    return;
  g_clear_pointer (&priv->reply, gate_smtp_reply_unref);
  g_clear_pointer (&priv->next_step, g_free);
  g_clear_pointer (&priv->certificate_fingerprint, g_free);
  g_clear_pointer (&priv->detail, g_free);
}

G_DEFINE_EXTENDED_ERROR (GateSmtpError, gate_smtp_error)

static GateSmtpErrorPrivate *
get_private (const GError *error)
{
  if (error == NULL || error->domain != GATE_SMTP_ERROR)
    return NULL;
  return gate_smtp_error_get_private (error);
}

/* Case-insensitive search in the server's reply text. */
static gboolean
reply_mentions (const GateSmtpReply *reply, const char *needle)
{
  g_autofree char *haystack = NULL;
  g_autofree char *lower_needle = NULL;

  if (reply == NULL)
    return FALSE;
  haystack = g_ascii_strdown (gate_smtp_reply_get_text (reply), -1);
  lower_needle = g_ascii_strdown (needle, -1);
  return strstr (haystack, lower_needle) != NULL;
}

static gboolean
host_mentions (const char *host, const char *needle)
{
  g_autofree char *lower = NULL;

  if (host == NULL)
    return FALSE;
  lower = g_ascii_strdown (host, -1);
  return strstr (lower, needle) != NULL;
}

/* SMTP2GO's own words are only used when the server is SMTP2GO's. */
static gboolean
is_smtp2go (const GateSmtpErrorContext *ctx)
{
  return host_mentions (ctx->host, "smtp2go") || reply_mentions (ctx->reply, "smtp2go");
}

/* The server would not relay for an anonymous client: signing in fixes it. */
static gboolean
reply_says_sign_in (const GateSmtpReply *reply)
{
  if (reply == NULL)
    return FALSE;
  if (gate_smtp_reply_get_code (reply) == 530)
    return TRUE;
  return reply_mentions (reply, "relay access denied") || reply_mentions (reply, "relaying denied")
         || reply_mentions (reply, "relay not permitted") || reply_mentions (reply, "not permitted to relay")
         || reply_mentions (reply, "unable to relay") || reply_mentions (reply, "relay denied")
         || reply_mentions (reply, "authentication required") || reply_mentions (reply, "must authenticate");
}

static gboolean
reply_says_unverified_sender (const GateSmtpReply *reply)
{
  return reply_mentions (reply, "not verified") || reply_mentions (reply, "unverified")
         || reply_mentions (reply, "verify your") || reply_mentions (reply, "not been verified");
}

static gboolean
reply_says_too_large (const GateSmtpReply *reply)
{
  if (reply == NULL)
    return FALSE;
  if (g_strcmp0 (gate_smtp_reply_get_enhanced_code (reply), "5.3.4") == 0)
    return TRUE;
  return gate_smtp_reply_get_code (reply) == 552
         && (reply_mentions (reply, "too large") || reply_mentions (reply, "too big")
             || reply_mentions (reply, "size"));
}

static const char *
host_or_null (const GateSmtpErrorContext *ctx)
{
  return (ctx->host != NULL && ctx->host[0] != '\0') ? ctx->host : NULL;
}

/* Each sentence comes whole in two forms, with the server's name and
 * without, so translators never assemble fragments. */
#define SUMMARY(with_host, without_host) (host ? g_strdup_printf (with_host, host) : g_strdup (without_host))

typedef struct
{
  char *summary;
  char *next_step;
  guint16 suggested_port;
  gboolean temporary;
} Explanation;

static void
explain_certificate (const GateSmtpErrorContext *ctx, Explanation *out)
{
  const char *host = host_or_null (ctx);
  const char *fingerprint = ctx->certificate_fingerprint;

  switch (ctx->certificate_problem)
    {
      case GATE_CERTIFICATE_PROBLEM_EXPIRED:
        out->summary = SUMMARY (_ ("The security certificate of %s has expired."),
                                _ ("The security certificate of the outgoing server has expired."));
        out->next_step
            = g_strdup (_ ("The server’s owner must renew it. Check also that the date and time of this "
                           "computer are right."));
        break;
      case GATE_CERTIFICATE_PROBLEM_NOT_YET_VALID:
        out->summary = SUMMARY (_ ("The security certificate of %s is not valid yet."),
                                _ ("The security certificate of the outgoing server is not valid yet."));
        out->next_step = g_strdup (_ ("Check that the date and time of this computer are right."));
        break;
      case GATE_CERTIFICATE_PROBLEM_UNKNOWN_ISSUER:
        out->summary
            = SUMMARY (_ ("The security certificate of %s was issued by an authority this computer does "
                          "not know."),
                       _ ("The security certificate of the outgoing server was issued by an authority "
                          "this computer does not know."));
        out->next_step
            = g_strdup (_ ("If your organisation uses its own certificate authority, add its certificate "
                           "as a trusted authority. Otherwise check the server name."));
        break;
      case GATE_CERTIFICATE_PROBLEM_WRONG_HOST:
        out->summary = SUMMARY (_ ("The security certificate of the server is not for the name “%s”."),
                                _ ("The security certificate of the outgoing server is not for its name."));
        out->next_step
            = g_strdup (_ ("Check the server name: use exactly the name your mail provider gives."));
        break;
      case GATE_CERTIFICATE_PROBLEM_SELF_SIGNED:
        out->summary = SUMMARY (_ ("The server %s uses a self-signed security certificate."),
                                _ ("The outgoing server uses a self-signed security certificate."));
        if (fingerprint != NULL)
          out->next_step
              = g_strdup_printf (_ ("Trust it only if you run this server yourself: check that its "
                                    "fingerprint is %s, then choose to trust this certificate."),
                                 fingerprint);
        else
          out->next_step
              = g_strdup (_ ("Trust it only if you run this server yourself: check its fingerprint, "
                             "then choose to trust this certificate."));
        break;
      case GATE_CERTIFICATE_PROBLEM_REVOKED:
        out->summary = SUMMARY (_ ("The security certificate of %s has been revoked."),
                                _ ("The security certificate of the outgoing server has been revoked."));
        out->next_step = g_strdup (_ ("Do not use this server until its owner replaces the certificate."));
        break;
      case GATE_CERTIFICATE_PROBLEM_INSECURE:
        out->summary = SUMMARY (_ ("The security certificate of %s uses weak encryption."),
                                _ ("The security certificate of the outgoing server uses weak encryption."));
        out->next_step = g_strdup (_ ("Ask the server’s owner to replace the certificate."));
        break;
      case GATE_CERTIFICATE_PROBLEM_PIN_MISMATCH:
        out->summary = SUMMARY (
            _ ("The security certificate of %s is not the one you chose to trust."),
            _ ("The security certificate of the outgoing server is not the one you chose to trust."));
        if (fingerprint != NULL)
          out->next_step
              = g_strdup_printf (_ ("If the server’s owner did not change it, someone may be intercepting "
                                    "the connection. Check the new fingerprint %s with the owner before "
                                    "trusting it."),
                                 fingerprint);
        else
          out->next_step
              = g_strdup (_ ("If the server’s owner did not change it, someone may be intercepting the "
                             "connection. Check the new fingerprint with the owner before trusting it."));
        break;
      case GATE_CERTIFICATE_PROBLEM_NONE:
      case GATE_CERTIFICATE_PROBLEM_OTHER:
      default:
        out->summary = SUMMARY (_ ("The security certificate of %s is not trusted."),
                                _ ("The security certificate of the outgoing server is not trusted."));
        out->next_step
            = g_strdup (_ ("Check the server name and that the date and time of this computer are right."));
        break;
    }
}

static void
explain (GateSmtpError code, const GateSmtpErrorContext *ctx, Explanation *out)
{
  const char *host = host_or_null (ctx);
  GateSmtpReply *reply = ctx->reply;
  guint reply_code = reply ? gate_smtp_reply_get_code (reply) : 0;

  switch (code)
    {
      case GATE_SMTP_ERROR_NAME_NOT_FOUND:
        out->summary = SUMMARY (_ ("The outgoing server “%s” could not be found."),
                                _ ("The outgoing server could not be found."));
        out->next_step = g_strdup (_ ("Check the spelling of the server name and your internet connection."));
        break;

      case GATE_SMTP_ERROR_CONNECTION_REFUSED:
        if (ctx->port != 0)
          out->summary = host ? g_strdup_printf (_ ("The server %s refused the connection on port %u."), host,
                                                 ctx->port)
                              : g_strdup_printf (_ ("The outgoing server refused the connection on port %u."),
                                                 ctx->port);
        else
          out->summary = SUMMARY (_ ("The server %s refused the connection."),
                                  _ ("The outgoing server refused the connection."));
        out->next_step
            = g_strdup (_ ("The port may be wrong or the server may be down. Check the port your mail "
                           "provider gives, or try again later."));
        out->temporary = TRUE;
        break;

      case GATE_SMTP_ERROR_NETWORK:
        out->summary = SUMMARY (_ ("The connection to %s was interrupted."),
                                _ ("The connection to the outgoing server was interrupted."));
        out->next_step = g_strdup (_ ("Check your internet connection and try again."));
        out->temporary = TRUE;
        break;

      case GATE_SMTP_ERROR_TIMED_OUT:
        out->temporary = TRUE;
        if (ctx->stage <= GATE_SMTP_STAGE_GREETING && ctx->port == 25)
          {
            out->summary = SUMMARY (_ ("The server %s did not answer on port 25."),
                                    _ ("The outgoing server did not answer on port 25."));
            out->next_step = g_strdup (_ ("Your network may block port 25. Try port 2525, 8025 or 587."));
            out->suggested_port = 2525;
          }
        else if (ctx->stage <= GATE_SMTP_STAGE_GREETING && ctx->port != 0)
          {
            guint16 other = ctx->port == 2525 ? 587 : 2525;

            out->summary
                = host ? g_strdup_printf (_ ("The server %s did not answer on port %u."), host, ctx->port)
                       : g_strdup_printf (_ ("The outgoing server did not answer on port %u."), ctx->port);
            out->next_step = g_strdup_printf (_ ("Your network may block this port. Try port %u."), other);
            out->suggested_port = other;
          }
        else
          {
            out->summary = SUMMARY (_ ("The server %s stopped answering."),
                                    _ ("The outgoing server stopped answering."));
            out->next_step = g_strdup (_ ("Check your internet connection and try again later."));
          }
        break;

      case GATE_SMTP_ERROR_TLS_FAILED:
        out->summary = SUMMARY (_ ("A secure connection to %s could not be set up."),
                                _ ("A secure connection to the outgoing server could not be set up."));
        out->next_step
            = g_strdup (_ ("Check that the security setting matches the port: STARTTLS for ports 587, "
                           "2525 and 25, TLS for ports 465 and 8465."));
        break;

      case GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED:
        explain_certificate (ctx, out);
        break;

      case GATE_SMTP_ERROR_STARTTLS_NOT_OFFERED:
        out->summary = SUMMARY (_ ("The server %s does not offer a secure connection on this port."),
                                _ ("The outgoing server does not offer a secure connection on this port."));
        out->next_step
            = g_strdup (_ ("Nothing was sent. Try another port, such as 587 or 2525, or TLS security on "
                           "port 465."));
        break;

      case GATE_SMTP_ERROR_PLAIN_AUTH_REFUSED:
        out->summary
            = g_strdup (_ ("Your password would have been sent without encryption, so it was not sent."));
        out->next_step = g_strdup (_ ("Choose STARTTLS or TLS security for this server."));
        break;

      case GATE_SMTP_ERROR_NO_AUTH_MECHANISM:
        out->summary = SUMMARY (_ ("The server %s offers no sign-in method that Postgate can use."),
                                _ ("The outgoing server offers no sign-in method that Postgate can use."));
        out->next_step
            = g_strdup (_ ("Check the port and security setting: many servers only offer sign-in over a "
                           "secure connection."));
        break;

      case GATE_SMTP_ERROR_AUTH_FAILED:
        if (reply != NULL && gate_smtp_reply_is_temporary (reply))
          {
            out->summary
                = SUMMARY (_ ("The server %s could not check your username and password just now."),
                           _ ("The outgoing server could not check your username and password just now."));
            out->next_step = g_strdup (_ ("Try again in a few minutes."));
            out->temporary = TRUE;
          }
        else
          {
            out->summary = g_strdup (_ ("The username or password is wrong."));
            if (is_smtp2go (ctx))
              out->next_step = g_strdup (_ ("Check SMTP Users in your SMTP2GO dashboard."));
            else
              out->next_step
                  = g_strdup (_ ("Check the username and password your mail provider gives for sending "
                                 "mail (SMTP)."));
          }
        break;

      case GATE_SMTP_ERROR_SERVICE_UNAVAILABLE:
        out->summary = SUMMARY (_ ("The server %s is not available right now."),
                                _ ("The outgoing server is not available right now."));
        out->next_step = g_strdup (_ ("Try again in a few minutes."));
        out->temporary = TRUE;
        break;

      case GATE_SMTP_ERROR_SENDER_REFUSED:
      case GATE_SMTP_ERROR_RECIPIENT_REFUSED:
        {
          gboolean sender = code == GATE_SMTP_ERROR_SENDER_REFUSED;

          if (ctx->address != NULL)
            out->summary = g_strdup_printf (sender ? _ ("The server refused the sender address %s.")
                                                   : _ ("The server refused the recipient %s."),
                                            ctx->address);
          else
            out->summary = g_strdup (sender ? _ ("The server refused the sender address.")
                                            : _ ("The server refused the recipients."));

          if (reply_says_sign_in (reply))
            out->next_step
                = g_strdup (_ ("The server only sends mail for users who sign in. Enter your username "
                               "and password."));
          else if (sender && reply_says_unverified_sender (reply) && is_smtp2go (ctx))
            out->next_step
                = g_strdup (_ ("Verify your sender address or domain first (Sending › Verified Senders in "
                               "your SMTP2GO dashboard)."));
          else if (sender && reply_says_unverified_sender (reply))
            out->next_step
                = g_strdup (_ ("Verify your sender address or domain with your mail provider first."));
          else if (reply != NULL && gate_smtp_reply_is_temporary (reply))
            out->next_step = g_strdup (_ ("The server asks to try again later."));
          else if (sender)
            out->next_step
                = g_strdup (_ ("Check the sender address: it must be one your mail provider lets you "
                               "send from."));
          else
            out->next_step = g_strdup (_ ("Check the spelling of the recipient address."));
          break;
        }

      case GATE_SMTP_ERROR_MESSAGE_REFUSED:
        out->summary = g_strdup (_ ("The server refused the message."));
        if (reply != NULL && gate_smtp_reply_is_temporary (reply))
          out->next_step = g_strdup (_ ("The server asks to try again later."));
        else if (reply_says_sign_in (reply))
          out->next_step
              = g_strdup (_ ("The server only sends mail for users who sign in. Enter your username "
                             "and password."));
        else
          out->next_step
              = g_strdup (_ ("Read the server’s answer: it may consider the message spam or be over a "
                             "sending limit."));
        break;

      case GATE_SMTP_ERROR_MESSAGE_TOO_LARGE:
        if (ctx->size_limit > 0)
          {
            g_autofree char *limit = g_format_size (ctx->size_limit);

            out->summary = g_strdup_printf (
                _ ("The message is too large for this server, which accepts up to %s."), limit);
          }
        else
          out->summary = g_strdup (_ ("The message is too large for this server."));
        out->next_step
            = g_strdup (_ ("Make the message smaller, for example by leaving out large attachments."));
        break;

      case GATE_SMTP_ERROR_PROTOCOL:
        out->summary = SUMMARY (_ ("The server %s answered in a way Postgate does not understand."),
                                _ ("The outgoing server answered in a way Postgate does not understand."));
        out->next_step
            = g_strdup (_ ("Check that the server name and port are those of an outgoing mail server."));
        break;

      case GATE_SMTP_ERROR_CANCELLED:
        out->summary = g_strdup (_ ("Sending was cancelled."));
        out->next_step = g_strdup (_ ("Nothing more was sent. Try again when you are ready."));
        break;

      case GATE_SMTP_ERROR_INVALID_INPUT:
      default:
        out->summary = ctx->detail != NULL ? g_strdup (ctx->detail)
                                           : g_strdup (_ ("The message could not be prepared."));
        out->next_step = g_strdup (_ ("Check the addresses and the attached files."));
        break;
    }

  /* The server's own verdict wins over the class's default. */
  if (reply_code >= 400 && reply_code < 500)
    out->temporary = TRUE;
  else if (reply_code >= 500)
    out->temporary = FALSE;
}

GError *
gate_smtp_error_new (GateSmtpError code, const GateSmtpErrorContext *context)
{
  static const GateSmtpErrorContext empty = { 0 };
  const GateSmtpErrorContext *ctx = context ? context : &empty;
  Explanation expl = { 0 };
  GateSmtpErrorPrivate *priv;
  GError *error;

  /* A server that says the message is too large (5.3.4, or 552 about its
   * size) refused it for its size, whichever command it answered. */
  if ((code == GATE_SMTP_ERROR_MESSAGE_REFUSED || code == GATE_SMTP_ERROR_SENDER_REFUSED)
      && reply_says_too_large (ctx->reply))
    code = GATE_SMTP_ERROR_MESSAGE_TOO_LARGE;

  explain (code, ctx, &expl);

  error = g_error_new_literal (GATE_SMTP_ERROR, code, expl.summary);
  priv = get_private (error);
  g_assert (priv != NULL);
  priv->stage = ctx->stage;
  priv->reply = ctx->reply ? gate_smtp_reply_ref (ctx->reply) : NULL;
  priv->next_step = g_steal_pointer (&expl.next_step);
  priv->certificate_problem = ctx->certificate_problem;
  priv->certificate_fingerprint = g_strdup (ctx->certificate_fingerprint);
  priv->suggested_port = expl.suggested_port;
  priv->detail = g_strdup (ctx->detail);
  priv->temporary = expl.temporary;

  g_free (expl.summary);
  return error;
}

GError *
gate_smtp_error_new_from_gio (const GError *gio_error, const GateSmtpErrorContext *context)
{
  static const GateSmtpErrorContext empty = { 0 };
  GateSmtpErrorContext ctx = context ? *context : empty;
  GateSmtpError code = GATE_SMTP_ERROR_NETWORK;
  gboolean force_temporary = FALSE;
  GError *error;

  g_return_val_if_fail (gio_error != NULL, NULL);

  if (gio_error->domain == GATE_SMTP_ERROR)
    return g_error_copy (gio_error);

  if (ctx.detail == NULL)
    ctx.detail = gio_error->message;

  if (gio_error->domain == G_IO_ERROR)
    {
      switch (gio_error->code)
        {
          case G_IO_ERROR_CANCELLED:
            code = GATE_SMTP_ERROR_CANCELLED;
            break;
          case G_IO_ERROR_TIMED_OUT:
            code = GATE_SMTP_ERROR_TIMED_OUT;
            break;
          case G_IO_ERROR_CONNECTION_REFUSED:
            code = GATE_SMTP_ERROR_CONNECTION_REFUSED;
            break;
          case G_IO_ERROR_HOST_NOT_FOUND:
            code = GATE_SMTP_ERROR_NAME_NOT_FOUND;
            break;
          case G_IO_ERROR_INVALID_DATA:
          case G_IO_ERROR_MESSAGE_TOO_LARGE:
            code = GATE_SMTP_ERROR_PROTOCOL;
            break;
          default:
            code = GATE_SMTP_ERROR_NETWORK;
            break;
        }
    }
  else if (gio_error->domain == G_RESOLVER_ERROR)
    {
      code = GATE_SMTP_ERROR_NAME_NOT_FOUND;
      /* No answer at all (offline, DNS down) is worth trying again; "no such
       * name" is not. */
      force_temporary = gio_error->code == G_RESOLVER_ERROR_TEMPORARY_FAILURE;
    }
  else if (gio_error->domain == G_TLS_ERROR)
    {
      switch (gio_error->code)
        {
          case G_TLS_ERROR_BAD_CERTIFICATE:
            code = GATE_SMTP_ERROR_CERTIFICATE_NOT_TRUSTED;
            if (ctx.certificate_problem == GATE_CERTIFICATE_PROBLEM_NONE)
              ctx.certificate_problem = GATE_CERTIFICATE_PROBLEM_OTHER;
            break;
          case G_TLS_ERROR_EOF:
            code = GATE_SMTP_ERROR_NETWORK;
            break;
          default:
            code = GATE_SMTP_ERROR_TLS_FAILED;
            break;
        }
      if (ctx.stage == GATE_SMTP_STAGE_NONE)
        ctx.stage = GATE_SMTP_STAGE_TLS;
    }

  error = gate_smtp_error_new (code, &ctx);
  if (force_temporary)
    {
      GateSmtpErrorPrivate *priv = get_private (error);

      g_assert (priv != NULL);
      priv->temporary = TRUE;
    }
  return error;
}

GateSmtpStage
gate_smtp_error_get_stage (const GError *error)
{
  GateSmtpErrorPrivate *priv = get_private (error);

  return priv ? priv->stage : GATE_SMTP_STAGE_NONE;
}

GateSmtpReply *
gate_smtp_error_get_reply (const GError *error)
{
  GateSmtpErrorPrivate *priv = get_private (error);

  return priv ? priv->reply : NULL;
}

const char *
gate_smtp_error_get_next_step (const GError *error)
{
  GateSmtpErrorPrivate *priv = get_private (error);

  if (priv == NULL)
    return NULL;

  /* An error made with plain g_set_error() has no next step yet: give it the
   * class's default, made once and kept with the error. */
  if (priv->next_step == NULL)
    {
      GateSmtpErrorContext ctx = { .stage = priv->stage,
                                   .reply = priv->reply,
                                   .certificate_problem = priv->certificate_problem,
                                   .certificate_fingerprint = priv->certificate_fingerprint,
                                   .detail = priv->detail };
      Explanation expl = { 0 };

      explain (error->code, &ctx, &expl);
      priv->next_step = g_steal_pointer (&expl.next_step);
      g_free (expl.summary);
    }
  return priv->next_step;
}

gboolean
gate_smtp_error_is_temporary (const GError *error)
{
  GateSmtpErrorPrivate *priv = get_private (error);

  if (priv == NULL)
    return FALSE;
  if (priv->temporary)
    return TRUE;

  /* Also right for errors made with plain g_set_error(). */
  if (priv->reply != NULL)
    return gate_smtp_reply_is_temporary (priv->reply);
  switch (error->code)
    {
      case GATE_SMTP_ERROR_CONNECTION_REFUSED:
      case GATE_SMTP_ERROR_NETWORK:
      case GATE_SMTP_ERROR_TIMED_OUT:
      case GATE_SMTP_ERROR_SERVICE_UNAVAILABLE:
        return TRUE;
      default:
        return FALSE;
    }
}

GateCertificateProblem
gate_smtp_error_get_certificate_problem (const GError *error)
{
  GateSmtpErrorPrivate *priv = get_private (error);

  return priv ? priv->certificate_problem : GATE_CERTIFICATE_PROBLEM_NONE;
}

const char *
gate_smtp_error_get_certificate_fingerprint (const GError *error)
{
  GateSmtpErrorPrivate *priv = get_private (error);

  return priv ? priv->certificate_fingerprint : NULL;
}

guint16
gate_smtp_error_get_suggested_port (const GError *error)
{
  GateSmtpErrorPrivate *priv = get_private (error);

  return priv ? priv->suggested_port : 0;
}

const char *
gate_smtp_error_get_detail (const GError *error)
{
  GateSmtpErrorPrivate *priv = get_private (error);

  return priv ? priv->detail : NULL;
}

const char *
gate_smtp_stage_get_label (GateSmtpStage stage)
{
  switch (stage)
    {
      case GATE_SMTP_STAGE_NONE:
        return _ ("Not started");
      case GATE_SMTP_STAGE_CONNECT:
        return _ ("Connecting");
      case GATE_SMTP_STAGE_GREETING:
        return _ ("Waiting for the server");
      case GATE_SMTP_STAGE_HELLO:
        return _ ("Introducing");
      case GATE_SMTP_STAGE_TLS:
        return _ ("Securing");
      case GATE_SMTP_STAGE_AUTH:
        return _ ("Signing in");
      case GATE_SMTP_STAGE_MAIL:
        return _ ("Sending the sender address");
      case GATE_SMTP_STAGE_RCPT:
        return _ ("Sending the recipients");
      case GATE_SMTP_STAGE_DATA:
        return _ ("Sending the message");
      case GATE_SMTP_STAGE_QUIT:
        return _ ("Closing");
      case GATE_SMTP_STAGE_DONE:
        return _ ("Done");
      default:
        return _ ("Unknown");
    }
}
