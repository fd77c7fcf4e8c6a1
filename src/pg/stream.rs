//! Opening the byte stream to the server: TCP (with keepalive) or a unix socket, upgraded to
//! TLS when the configuration asks for it: through PostgreSQL's `SSLRequest`, or at once with
//! `sslnegotiation=direct`.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

use super::tls::{self, TlsSetup};
use crate::config::{ConnectConfig, Host, SslConfig, SslNegotiation};
use crate::error::{Error, Result, SocketError};

/// A connected byte stream to the server. Invariant: the startup packet has not been sent yet
/// when it is returned by [`open`].
pub enum PgStream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl PgStream {
    /// The server's certificate (DER) on a TLS connection: what `tls-server-end-point`
    /// channel binding hashes.
    pub fn server_certificate(&self) -> Option<Vec<u8>> {
        match self {
            PgStream::Tls(s) => s
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|certs| certs.first())
                .map(|c| c.as_ref().to_vec()),
            _ => None,
        }
    }
}

/// Where the cancel request of a connection must go (a fresh socket, same host and port).
#[derive(Debug, Clone)]
pub enum CancelTarget {
    Tcp(String, u16),
    #[cfg(unix)]
    Unix(std::path::PathBuf),
}

fn socket_path(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    dir.join(format!(".s.PGSQL.{}", port))
}

/// A failed connect: Node's socket error when the OS named it (`connect ECONNREFUSED
/// 127.0.0.1:5432`), else the failure with the server it was for (a name lookup).
fn connect_error(e: &std::io::Error, address: &str, port: Option<u16>) -> Error {
    match SocketError::from_io("connect", e) {
        Some(s) => Error::Socket(s.at(address, port)),
        None => match port {
            Some(p) => Error::Io(format!("connect {address}:{p}: {e}")),
            None => Error::Io(format!("connect {address}: {e}")),
        },
    }
}

/// Opens a plain socket to the configured server.
pub async fn open_raw(cfg: &ConnectConfig) -> Result<(PgStream, CancelTarget)> {
    match &cfg.host {
        #[cfg(unix)]
        Host::Unix(dir) => {
            let path = socket_path(dir, cfg.port);
            let s = UnixStream::connect(&path)
                .await
                .map_err(|e| connect_error(&e, &path.display().to_string(), None))?;
            Ok((PgStream::Unix(s), CancelTarget::Unix(path)))
        }
        // tokio has no unix-domain sockets on Windows.
        #[cfg(not(unix))]
        Host::Unix(dir) => Err(Error::Io(format!(
            "connect {}: unix-domain sockets are not supported on this platform",
            socket_path(dir, cfg.port).display()
        ))),
        Host::Tcp(host) => {
            let s = TcpStream::connect((host.as_str(), cfg.port))
                .await
                .map_err(|e| connect_error(&e, host, Some(cfg.port)))?;
            let _ = s.set_nodelay(true);
            if cfg.keep_alive {
                let ka = socket2::TcpKeepalive::new();
                let ka = if cfg.keep_alive_initial_delay.is_zero() {
                    ka
                } else {
                    ka.with_time(cfg.keep_alive_initial_delay)
                };
                let _ = socket2::SockRef::from(&s).set_tcp_keepalive(&ka);
            }
            Ok((PgStream::Tcp(s), CancelTarget::Tcp(host.clone(), cfg.port)))
        }
    }
}

/// Opens the stream and negotiates TLS if configured, with `tls` (the pool's setup; without
/// one, a setup with no default roots is built for this connection).
pub async fn open(cfg: &ConnectConfig, tls: Option<&TlsSetup>) -> Result<(PgStream, CancelTarget)> {
    let (stream, target) = open_raw(cfg).await?;
    let opts = match &cfg.ssl {
        SslConfig::Disabled => return Ok((stream, target)),
        SslConfig::Enabled(opts) => opts,
    };
    let mut tcp = match stream {
        PgStream::Tcp(t) => t,
        // TLS over a unix socket makes no sense; pg connects plainly there too.
        other => return Ok((other, target)),
    };
    // Direct negotiation (PostgreSQL 17+) starts the handshake at once; a server that does not
    // speak it reads the ClientHello as a malformed startup packet and closes the connection,
    // which surfaces as a TLS error.
    if opts.negotiation == SslNegotiation::Postgres {
        let mut req = BytesMut::new();
        postgres_protocol::message::frontend::ssl_request(&mut req);
        tcp.write_all(&req).await?;
        let mut answer = [0u8; 1];
        tcp.read_exact(&mut answer).await?;
        if answer[0] != b'S' {
            return Err(Error::TlsUnsupported);
        }
    }
    let host = match &cfg.host {
        Host::Tcp(h) => h.clone(),
        Host::Unix(_) => String::from("localhost"),
    };
    let config = match tls {
        Some(setup) => setup.config()?,
        None => TlsSetup::new(opts, &Default::default()).config()?,
    };
    let name = tls::server_name(opts.servername.as_deref().unwrap_or(&host))?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| Error::Tls(e.to_string()))?;
    Ok((PgStream::Tls(Box::new(tls)), target))
}

impl AsyncRead for PgStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            PgStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            PgStream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            PgStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PgStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            PgStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            PgStream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            PgStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            PgStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            PgStream::Unix(s) => Pin::new(s).poll_flush(cx),
            PgStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            PgStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            PgStream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            PgStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Sends a `CancelRequest` for the backend `(pid, secret)` over a fresh plain socket.
pub async fn cancel(target: &CancelTarget, pid: i32, secret: i32) -> Result<()> {
    let mut buf = BytesMut::new();
    postgres_protocol::message::frontend::cancel_request(pid, secret, &mut buf);
    match target {
        CancelTarget::Tcp(h, p) => {
            let mut s = TcpStream::connect((h.as_str(), *p)).await?;
            s.write_all(&buf).await?;
            let mut sink = [0u8; 1];
            let _ = s.read(&mut sink).await;
        }
        #[cfg(unix)]
        CancelTarget::Unix(path) => {
            let mut s = UnixStream::connect(path).await?;
            s.write_all(&buf).await?;
        }
    }
    Ok(())
}
