//! The startup handshake: `StartupMessage`, authentication (trust, cleartext, MD5,
//! SCRAM-SHA-256), then `BackendKeyData`/`ParameterStatus` until the first `ReadyForQuery`.

use std::collections::HashMap;

use bytes::BytesMut;
use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::frontend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::frames::{self, Framing, HEADER};
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
/// code) fails the connection attempt instead of panicking or waiting forever.
async fn read_frame(stream: &mut PgStream, buf: &mut BytesMut) -> Result<BytesMut> {
    loop {
        match frames::framing(buf) {
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

fn need_password(password: Option<&str>) -> Result<&str> {
    password.ok_or_else(|| {
        Error::Auth(
            "the server requested password authentication, but no password was provided".into(),
        )
    })
}

/// Runs the handshake on a freshly opened stream.
pub async fn handshake(
    stream: &mut PgStream,
    cfg: &ConnectConfig,
    password: Option<&str>,
) -> Result<Startup> {
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
                        let pw = need_password(password)?;
                        frontend::password_message(pw.as_bytes(), &mut out)?;
                    }
                    5 => {
                        let pw = need_password(password)?;
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
                        let pw = need_password(password)?;
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
