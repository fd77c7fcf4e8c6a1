//! The startup handshake: `StartupMessage`, authentication (`auth.rs`: trust, cleartext, MD5,
//! SCRAM-SHA-256 with or without channel binding), then `BackendKeyData`/`ParameterStatus`
//! until the first `ReadyForQuery`.

use std::collections::HashMap;
use std::future::Future;

use bytes::BytesMut;
use postgres_protocol::message::frontend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::auth::{AuthMethod, Authenticator, LazyPassword};
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
    /// How the server authenticated the client.
    pub auth: AuthMethod,
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
    let mut auth = Authenticator::new(cfg, stream.server_certificate());
    let mut startup = Startup {
        pid: 0,
        secret: 0,
        params: HashMap::new(),
        leftover: BytesMut::new(),
        auth: AuthMethod::Trust,
    };
    loop {
        let frame = read_frame(stream, &mut buf).await?;
        let body = &frame[HEADER..];
        if !matches!(frame[0], b'R' | b'E') {
            auth.check_message(frame[0])?;
        }
        match frame[0] {
            b'R' => {
                auth.on_request(body, &mut password, &mut out).await?;
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
                // `check_message` let `Z` through only once authentication completed.
                startup.auth = auth.done().ok_or_else(|| {
                    Error::Protocol(
                        "Received readyForQuery before authentication completed.".into(),
                    )
                })?;
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
