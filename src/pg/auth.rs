//! Authentication during startup: which of the server's requests the client answers, in
//! which order, and which it refuses.
//!
//! The exchange is a small state machine ([`Phase`]). Its rule is that the client decides when
//! the server has authenticated: `AuthenticationOk` is accepted only when nothing was asked
//! (`trust`), after a password was sent, or after SCRAM's `SASLFinal` carried a server
//! signature that verified — a server that skips `SASLContinue` or `SASLFinal` never proved it
//! knows the password, and a man in the middle could be that server. Any authentication message
//! out of that order, and any other message before `AuthenticationOk`, is a protocol error that
//! fails the connection attempt.
//!
//! What the server may ask for is the [`AuthPolicy`]'s (libpq's `require_auth` and
//! `channel_binding`); by default everything pg answers is answered. Over TLS, when the server
//! offers SCRAM-SHA-256-PLUS and binding is not disabled, SCRAM is bound to the channel with
//! `tls-server-end-point` (`end_point.rs`): a server that does not hold the certificate the
//! client saw cannot complete it.

use std::future::Future;

use bytes::BytesMut;
use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::frontend;

use super::end_point;
use super::frames;
use crate::config::{AuthKind, AuthPolicy, ChannelBinding, ConnectConfig};
use crate::error::{Error, Result};

/// How the server authenticated a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// The server asked for nothing (`trust`, `peer`).
    Trust,
    /// A cleartext password.
    Password,
    /// An MD5-hashed password.
    Md5,
    /// SCRAM-SHA-256 without channel binding.
    ScramSha256,
    /// SCRAM-SHA-256-PLUS: SCRAM bound to the TLS channel (`tls-server-end-point`).
    ScramSha256Plus,
}

impl AuthMethod {
    /// The method's name: `trust`, `password`, `md5`, `SCRAM-SHA-256`, `SCRAM-SHA-256-PLUS`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Trust => "trust",
            AuthMethod::Password => "password",
            AuthMethod::Md5 => "md5",
            AuthMethod::ScramSha256 => sasl::SCRAM_SHA_256,
            AuthMethod::ScramSha256Plus => sasl::SCRAM_SHA_256_PLUS,
        }
    }
}

/// The password of one connection attempt, asked for only when the server requests one, and
/// at most once (pg calls a password function only then).
///
/// Invariant: `source` is `Some` until the first request, `value` is `Some` after it.
pub(super) struct LazyPassword<F> {
    source: Option<F>,
    value: Option<Option<String>>,
}

impl<F, Fut> LazyPassword<F>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Option<String>>>,
{
    pub(super) fn new(source: F) -> Self {
        LazyPassword {
            source: Some(source),
            value: None,
        }
    }

    async fn get(&mut self) -> Result<&str> {
        if let Some(source) = self.source.take() {
            self.value = Some(source().await?);
        }
        self.value
            .as_ref()
            .and_then(|v| v.as_deref())
            .ok_or_else(|| {
                Error::Auth(
                    "the server requested password authentication, but no password was provided"
                        .into(),
                )
            })
    }
}

/// pg's `scramMaxIterations` check on a SCRAM server-first-message (`r=…,s=…,i=…`): the
/// iteration count must not exceed `max` unless `max` is 0. A message without a readable
/// count is left to the SCRAM implementation, which rejects it.
fn check_iterations(server_first: &[u8], max: f64) -> Result<()> {
    if max == 0.0 {
        return Ok(());
    }
    let text = String::from_utf8_lossy(server_first);
    let count = text
        .split(',')
        .find_map(|attr| attr.strip_prefix("i="))
        .and_then(|i| i.parse::<u64>().ok());
    match count {
        Some(i) if i as f64 > max => Err(Error::Auth(format!(
            "SASL: SCRAM-SERVER-FIRST-MESSAGE: iteration count {} exceeds scramMaxIterations of {}",
            i, max
        ))),
        _ => Ok(()),
    }
}

/// Where the exchange is. Transitions: `Start` → `PasswordSent` → `Done`; `Start` →
/// `ScramFirst` → `ScramFinal` → `Verified` → `Done`; `Start` → `Done` (nothing asked).
enum Phase {
    /// No authentication request received yet.
    Start,
    /// A cleartext or MD5 password was sent; `AuthenticationOk` may follow.
    PasswordSent(AuthMethod),
    /// `SASLInitialResponse` sent; `SASLContinue` must follow.
    ScramFirst(Box<sasl::ScramSha256>, AuthMethod),
    /// `SASLResponse` sent; `SASLFinal` must follow.
    ScramFinal(Box<sasl::ScramSha256>, AuthMethod),
    /// The server's SCRAM signature verified; `AuthenticationOk` may follow.
    Verified(AuthMethod),
    /// `AuthenticationOk` received.
    Done(AuthMethod),
}

/// The client side of one connection attempt's authentication (see the module docs).
pub(super) struct Authenticator<'a> {
    cfg: &'a ConnectConfig,
    /// The server's certificate (DER) when the connection uses TLS.
    server_cert: Option<Vec<u8>>,
    phase: Phase,
}

/// pg's name of an authentication request, for messages.
fn request_name(kind: i32) -> &'static str {
    match kind {
        0 => "authenticationOk",
        3 => "authenticationCleartextPassword",
        5 => "authenticationMD5Password",
        10 => "authenticationSASL",
        11 => "authenticationSASLContinue",
        12 => "authenticationSASLFinal",
        _ => "authentication",
    }
}

fn unexpected(kind: i32, why: &str) -> Error {
    Error::Protocol(format!(
        "Received unexpected {} message from backend: {why}.",
        request_name(kind)
    ))
}

impl<'a> Authenticator<'a> {
    pub(super) fn new(cfg: &'a ConnectConfig, server_cert: Option<Vec<u8>>) -> Self {
        Authenticator {
            cfg,
            server_cert,
            phase: Phase::Start,
        }
    }

    fn policy(&self) -> &AuthPolicy {
        &self.cfg.auth
    }

    /// How the server authenticated, once `AuthenticationOk` was accepted.
    pub(super) fn done(&self) -> Option<AuthMethod> {
        match self.phase {
            Phase::Done(m) => Some(m),
            _ => None,
        }
    }

    /// Refuses a server that wants `kind` (described by `what`, e.g. "requested a cleartext
    /// password") when `requireAuth` or `channelBinding` forbids it.
    fn check_allowed(&self, kind: AuthKind, what: &str) -> Result<()> {
        let policy = self.policy();
        if !policy.require.allows(kind) {
            return Err(Error::AuthRefused(format!(
                "authentication method requirement \"{}\" failed: server {what}",
                policy.require.text().unwrap_or_default()
            )));
        }
        if policy.channel_binding == ChannelBinding::Require && kind != AuthKind::Scram {
            return Err(Error::AuthRefused(format!(
                "channel binding required, but server {what}, which does not bind the channel"
            )));
        }
        Ok(())
    }

    /// Checks that a message other than an authentication request or an error may come now:
    /// before `AuthenticationOk`, only notices may.
    pub(super) fn check_message(&self, ty: u8) -> Result<()> {
        if self.done().is_some() || ty == b'N' {
            return Ok(());
        }
        Err(Error::Protocol(format!(
            "Received unexpected {} message from backend before authentication completed.",
            frames::message_name(ty)
        )))
    }

    /// Handles one `Authentication*` message (`body`: after the header); what to send back is
    /// appended to `out`.
    pub(super) async fn on_request<F, Fut>(
        &mut self,
        body: &[u8],
        password: &mut LazyPassword<F>,
        out: &mut BytesMut,
    ) -> Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<String>>>,
    {
        let Some((kind, rest)) = body.split_first_chunk::<4>() else {
            return Err(Error::Protocol(
                "Received malformed authentication message from backend.".into(),
            ));
        };
        let kind = i32::from_be_bytes(*kind);
        let phase = std::mem::replace(&mut self.phase, Phase::Start);
        self.phase = match (kind, phase) {
            (0, phase) => Phase::Done(self.on_ok(phase)?),
            (_, Phase::Done(_)) => {
                return Err(unexpected(kind, "authentication already completed"))
            }
            (3, Phase::Start) => {
                self.check_allowed(AuthKind::Password, "requested a cleartext password")?;
                let pw = password.get().await?;
                frontend::password_message(pw.as_bytes(), out)?;
                Phase::PasswordSent(AuthMethod::Password)
            }
            (5, Phase::Start) => {
                self.check_allowed(AuthKind::Md5, "requested a hashed password")?;
                let Some(&[a, b, c, d]) = rest.get(..4) else {
                    return Err(Error::Protocol(
                        "Received malformed authenticationMD5Password message from backend.".into(),
                    ));
                };
                let pw = password.get().await?;
                let hashed = md5_hash(self.cfg.user.as_bytes(), pw.as_bytes(), [a, b, c, d]);
                frontend::password_message(hashed.as_bytes(), out)?;
                Phase::PasswordSent(AuthMethod::Md5)
            }
            (10, Phase::Start) => {
                self.check_allowed(AuthKind::Scram, "requested SASL authentication")?;
                let (mechanism, binding, method) = self.choose_mechanism(rest)?;
                let pw = password.get().await?;
                let scram = sasl::ScramSha256::new(pw.as_bytes(), binding);
                frontend::sasl_initial_response(mechanism, scram.message(), out)?;
                Phase::ScramFirst(Box::new(scram), method)
            }
            (11, Phase::ScramFirst(mut scram, method)) => {
                // Checked before hashing: a hostile server could otherwise make the client
                // burn CPU on PBKDF2 with an enormous iteration count.
                check_iterations(rest, self.cfg.scram_max_iterations)?;
                scram
                    .update(rest)
                    .map_err(|e| Error::Auth(format!("SASL: {}", e)))?;
                frontend::sasl_response(scram.message(), out)?;
                Phase::ScramFinal(scram, method)
            }
            (12, Phase::ScramFinal(mut scram, method)) => {
                scram.finish(rest).map_err(|e| {
                    // postgres-protocol's words for a signature that does not verify.
                    let detail = e.to_string();
                    Error::Auth(if detail == "SCRAM verification error" {
                        "SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature does not match".into()
                    } else {
                        format!("SASL: SCRAM-SERVER-FINAL-MESSAGE: {detail}")
                    })
                })?;
                Phase::Verified(method)
            }
            (3 | 5 | 10 | 11 | 12, _) => {
                return Err(unexpected(
                    kind,
                    "out of order in the authentication exchange",
                ))
            }
            (other, Phase::Start) => {
                let (kind, what) = match other {
                    7 | 8 => (AuthKind::Gss, "requested GSSAPI authentication"),
                    9 => (AuthKind::Sspi, "requested SSPI authentication"),
                    _ => (AuthKind::None, ""),
                };
                if !what.is_empty() {
                    self.check_allowed(kind, what)?;
                }
                return Err(Error::Auth(format!(
                    "unsupported authentication method {}",
                    other
                )));
            }
            (_, _) => {
                return Err(unexpected(
                    kind,
                    "out of order in the authentication exchange",
                ))
            }
        };
        Ok(())
    }

    /// `AuthenticationOk` in `phase`: the method the server authenticated with, or why the
    /// client does not accept it.
    fn on_ok(&self, phase: Phase) -> Result<AuthMethod> {
        match phase {
            Phase::Start => {
                self.check_allowed(AuthKind::None, "did not complete authentication")?;
                Ok(AuthMethod::Trust)
            }
            Phase::PasswordSent(m) | Phase::Verified(m) => Ok(m),
            Phase::ScramFirst(..) | Phase::ScramFinal(..) => Err(unexpected(
                0,
                "the SCRAM exchange was not completed, so the server never proved it knows the password",
            )),
            Phase::Done(_) => Err(unexpected(0, "authentication already completed")),
        }
    }

    /// The SASL mechanism to use among those offered (`list`: NUL-terminated names, then an
    /// empty one), with its channel binding.
    fn choose_mechanism(
        &self,
        list: &[u8],
    ) -> Result<(&'static str, sasl::ChannelBinding, AuthMethod)> {
        let mut mechanisms = Vec::new();
        let mut r = list;
        while let Some((m, tail)) = frames::cstr(r) {
            if m.is_empty() {
                break;
            }
            mechanisms.push(m.to_string());
            r = tail;
        }
        let offers = |name: &str| mechanisms.iter().any(|m| m == name);
        let plain = (
            sasl::SCRAM_SHA_256,
            sasl::ChannelBinding::unsupported(),
            AuthMethod::ScramSha256,
        );
        let mode = self.policy().channel_binding;
        let chosen = match (&self.server_cert, mode) {
            (_, ChannelBinding::Disable) => plain,
            (Some(cert), _) if offers(sasl::SCRAM_SHA_256_PLUS) => {
                match end_point::server_end_point(cert) {
                    Ok(hash) => (
                        sasl::SCRAM_SHA_256_PLUS,
                        sasl::ChannelBinding::tls_server_end_point(hash),
                        AuthMethod::ScramSha256Plus,
                    ),
                    Err(why) if mode == ChannelBinding::Require => {
                        return Err(Error::AuthRefused(format!(
                            "channel binding required, but {why}"
                        )))
                    }
                    // The server can bind, the client cannot: say so ("n"); "y" would read
                    // as a downgrade attack to the server.
                    Err(_) => plain,
                }
            }
            (None, ChannelBinding::Require) => {
                return Err(Error::AuthRefused(
                    "channel binding required, but SSL not in use".into(),
                ))
            }
            (Some(_), ChannelBinding::Require) => {
                return Err(Error::AuthRefused(
                    "channel binding required, but server did not offer an authentication method that supports channel binding".into(),
                ))
            }
            // Over TLS the client could bind but the server did not offer it ("y": a server
            // that can bind sees a downgrade); over plain TCP it cannot ("n").
            (Some(_), ChannelBinding::Prefer) => (
                sasl::SCRAM_SHA_256,
                sasl::ChannelBinding::unrequested(),
                AuthMethod::ScramSha256,
            ),
            (None, ChannelBinding::Prefer) => plain,
        };
        if chosen.0 == sasl::SCRAM_SHA_256 && !offers(sasl::SCRAM_SHA_256) {
            return Err(Error::Auth(format!(
                "SASL: the server offered only unsupported mechanisms: {}",
                mechanisms.join(", ")
            )));
        }
        Ok(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::check_iterations;

    const FIRST: &[u8] = b"r=abcdefNONCE,s=c2FsdA==,i=4096";

    #[test]
    fn iteration_counts_above_the_limit_are_refused_with_pgs_message() {
        let e = check_iterations(FIRST, 4095.0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "SASL: SCRAM-SERVER-FIRST-MESSAGE: iteration count 4096 exceeds scramMaxIterations of 4095"
        );
        assert!(check_iterations(FIRST, 4096.0).is_ok());
        assert!(check_iterations(FIRST, 100_000.0).is_ok());
        // 0 turns the check off; a negative limit refuses every count, as in pg.
        assert!(check_iterations(FIRST, 0.0).is_ok());
        assert!(check_iterations(FIRST, -1.0).is_err());
        assert!(check_iterations(b"r=x,s=y,i=999999999", 0.0).is_ok());
        // No count to read: left to the SCRAM implementation.
        assert!(check_iterations(b"r=x,s=y", 10.0).is_ok());
    }
}
