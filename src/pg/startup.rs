//! The startup handshake: `StartupMessage`, authentication (trust, cleartext, MD5,
//! SCRAM-SHA-256), then `BackendKeyData`/`ParameterStatus` until the first `ReadyForQuery`.

use std::collections::HashMap;
use std::future::Future;

use bytes::BytesMut;
use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::frontend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::frames::{self, Framing, MessageLimits, HEADER};
use super::stream::PgStream;
use crate::config::ConnectConfig;
use crate::error::{Error, Result, SocketError};

/// What the server told us during startup. Invariant: `leftover` holds bytes read past the
/// first `ReadyForQuery` (normally none).
pub struct Startup {
    pub pid: i32,
    pub secret: i32,
    pub params: HashMap<String, String>,
    pub leftover: BytesMut,
}

/// The next frame, checked: a malformed one (a length below 4, an `R` too short for its
/// code) or one over libpq's bound for startup messages fails the connection attempt instead
/// of panicking, waiting forever or buffering without limit.
async fn read_frame(stream: &mut PgStream, buf: &mut BytesMut) -> Result<BytesMut> {
    loop {
        match frames::framing_within(buf, &MessageLimits::STARTUP) {
            Framing::Complete(len) => {
                let frame = buf.split_to(len);
                frames::check_frame(&frame).map_err(Error::Protocol)?;
                return Ok(frame);
            }
            Framing::Malformed(len) => {
                return Err(Error::Protocol(format!(
                    "Received malformed {} message from backend (length {len}).",
                    frames::message_name(buf[0])
                )))
            }
            Framing::TooLarge { len, limit } => {
                return Err(MessageLimits::STARTUP.error(buf[0], len, limit))
            }
            Framing::Incomplete => {}
        }
        let n = stream
            .read_buf(buf)
            .await
            .map_err(|e| match SocketError::from_io("read", &e) {
                Some(s) => Error::Socket(s),
                None => Error::from(e),
            })?;
        if n == 0 {
            return Err(Error::ConnectionTerminated);
        }
    }
}

/// The password of one connection attempt, asked for only when the server requests one, and
/// at most once (pg calls a password function only then).
///
/// Invariant: `source` is `Some` until the first request, `value` is `Some` after it.
struct LazyPassword<F> {
    source: Option<F>,
    value: Option<Option<String>>,
}

impl<F, Fut> LazyPassword<F>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Option<String>>>,
{
    fn new(source: F) -> Self {
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

/// Runs the handshake on a freshly opened stream. `password` is called only if the server asks
/// for a password, and then once.
pub async fn handshake<F, Fut>(
    stream: &mut PgStream,
    cfg: &ConnectConfig,
    password: F,
) -> Result<Startup>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Option<String>>>,
{
    let mut password = LazyPassword::new(password);
    let mut out = BytesMut::new();
    let params = cfg
        .startup_params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()));
    frontend::startup_message(params, &mut out)?;
    stream.write_all(&out).await?;
    out.clear();

    let mut buf = BytesMut::with_capacity(8192);
    let mut scram: Option<sasl::ScramSha256> = None;
    let mut startup = Startup {
        pid: 0,
        secret: 0,
        params: HashMap::new(),
        leftover: BytesMut::new(),
    };
    loop {
        let frame = read_frame(stream, &mut buf).await?;
        let body = &frame[HEADER..];
        match frame[0] {
            b'R' => {
                let kind = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                let rest = &body[4..];
                match kind {
                    0 => {}
                    3 => {
                        let pw = password.get().await?;
                        frontend::password_message(pw.as_bytes(), &mut out)?;
                    }
                    5 => {
                        let pw = password.get().await?;
                        let Some(&[a, b, c, d]) = rest.get(..4) else {
                            return Err(Error::Protocol(
                                "Received malformed authenticationMD5Password message from backend.".into(),
                            ));
                        };
                        let salt = [a, b, c, d];
                        let hashed = md5_hash(cfg.user.as_bytes(), pw.as_bytes(), salt);
                        frontend::password_message(hashed.as_bytes(), &mut out)?;
                    }
                    10 => {
                        let mut mechanisms = Vec::new();
                        let mut r = rest;
                        while let Some((m, tail)) = frames::cstr(r) {
                            if m.is_empty() {
                                break;
                            }
                            mechanisms.push(m.to_string());
                            r = tail;
                        }
                        if !mechanisms.iter().any(|m| m == sasl::SCRAM_SHA_256) {
                            return Err(Error::Auth(format!(
                                "SASL: the server offered only unsupported mechanisms: {}",
                                mechanisms.join(", ")
                            )));
                        }
                        let pw = password.get().await?;
                        let s = sasl::ScramSha256::new(
                            pw.as_bytes(),
                            sasl::ChannelBinding::unsupported(),
                        );
                        frontend::sasl_initial_response(
                            sasl::SCRAM_SHA_256,
                            s.message(),
                            &mut out,
                        )?;
                        scram = Some(s);
                    }
                    11 => {
                        let s = scram
                            .as_mut()
                            .ok_or_else(|| Error::Protocol("Received unexpected authenticationSASLContinue message from backend.".into()))?;
                        // Checked before hashing: a hostile server could otherwise make the
                        // client burn CPU on PBKDF2 with an enormous iteration count.
                        check_iterations(rest, cfg.scram_max_iterations)?;
                        s.update(rest)
                            .map_err(|e| Error::Auth(format!("SASL: {}", e)))?;
                        frontend::sasl_response(s.message(), &mut out)?;
                    }
                    12 => {
                        let mut s = scram.take().ok_or_else(|| {
                            Error::Protocol(
                                "Received unexpected authenticationSASLFinal message from backend."
                                    .into(),
                            )
                        })?;
                        s.finish(rest)
                            .map_err(|e| Error::Auth(format!("SASL: {}", e)))?;
                    }
                    other => {
                        return Err(Error::Auth(format!(
                            "unsupported authentication method {}",
                            other
                        )));
                    }
                }
                if !out.is_empty() {
                    stream.write_all(&out).await?;
                    out.clear();
                }
            }
            b'K' => {
                startup.pid = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                startup.secret = i32::from_be_bytes([body[4], body[5], body[6], body[7]]);
            }
            b'S' => {
                if let Some((k, rest)) = frames::cstr(body) {
                    if let Some((v, _)) = frames::cstr(rest) {
                        startup.params.insert(k.to_string(), v.to_string());
                    }
                }
            }
            b'E' => return Err(Error::Db(frames::db_error(&frame))),
            b'N' => {}
            b'Z' => {
                startup.leftover = buf;
                return Ok(startup);
            }
            other => {
                return Err(Error::Protocol(format!(
                    "Received unexpected {} message from backend during startup.",
                    frames::message_name(other)
                )));
            }
        }
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
