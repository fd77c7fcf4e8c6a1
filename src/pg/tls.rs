//! rustls client configuration from pg's `ssl` options, with Node's trust semantics.
//!
//! * `rejectUnauthorized` (default true) verifies the chain and the host name (or
//!   `servername`); `rejectUnauthorized: false` accepts any certificate, as Node's TLS does
//!   for pg (the handshake's signatures are still checked).
//! * The trust anchors are `ca` when it is given — **only** those, as Node's `ca` replaces its
//!   default roots — else the pool's [`DefaultRoots`]: what Node's own TLS would trust (its
//!   bundled roots plus `NODE_EXTRA_CA_CERTS`), handed over by the JS layer. There is no
//!   separate copy of a root store in the core.
//! * The connection string's libpq `verify-ca` modes verify the chain without the host name.
//! * `minVersion`/`maxVersion` bound the protocol versions (TLS 1.2 and 1.3).
//!
//! The configuration is built once per pool ([`TlsSetup::new`]); every connection shares it.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::config::{ca_trust_store, SslNegotiation, TlsOptions, TlsVersion};
use crate::error::{Error, Result};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The ALPN protocol a direct TLS connection announces: PostgreSQL 17+ refuses a direct
/// handshake without it (so that a TLS connection meant for another service cannot be
/// mistaken for a PostgreSQL one).
pub const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// The certificates a pool trusts when `ssl.ca` is not given, as PEM text.
///
/// From JS: Node's default CA certificates (`tls.rootCertificates`, plus the file
/// `NODE_EXTRA_CA_CERTS` names). From Rust: whatever the caller passes to
/// `PoolBuilder::default_roots`; none by default, so that a verified connection without
/// `ca` fails with a clear error instead of trusting a copy nobody chose.
#[derive(Clone, Default)]
pub struct DefaultRoots(Option<Arc<str>>);

impl DefaultRoots {
    /// Roots from PEM text (any number of certificates; malformed ones are skipped, as Node
    /// skips what it cannot read in `NODE_EXTRA_CA_CERTS`).
    pub fn from_pem(pem: impl Into<Arc<str>>) -> DefaultRoots {
        DefaultRoots(Some(pem.into()))
    }
}

impl std::fmt::Debug for DefaultRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self
            .0
            .as_ref()
            .map_or(0, |p| p.matches("-----BEGIN CERTIFICATE-----").count());
        write!(f, "DefaultRoots({n} certificates)")
    }
}

/// A pool's TLS client configuration, built once; a failure to build it (an unreadable
/// `cert` or `key`, or a bad `ca` in options built by hand rather than validated by
/// `PoolConfig`) is kept and reported by every connection attempt.
#[derive(Clone)]
pub struct TlsSetup(std::result::Result<Arc<ClientConfig>, Error>);

impl TlsSetup {
    /// Builds the configuration for `opts` with `roots` as the default trust anchors.
    pub fn new(opts: &TlsOptions, roots: &DefaultRoots) -> TlsSetup {
        TlsSetup(client_config(opts, roots).map(Arc::new))
    }

    pub(super) fn config(&self) -> Result<Arc<ClientConfig>> {
        self.0.clone()
    }
}

/// Builds the rustls configuration for `opts` (with ALPN `postgresql` for direct negotiation).
fn client_config(opts: &TlsOptions, roots: &DefaultRoots) -> Result<ClientConfig> {
    let versions: &[&'static rustls::SupportedProtocolVersion] =
        match (opts.min_version, opts.max_version) {
            (TlsVersion::Tls12, TlsVersion::Tls12) => &[&rustls::version::TLS12],
            (TlsVersion::Tls13, _) => &[&rustls::version::TLS13],
            (TlsVersion::Tls12, TlsVersion::Tls13) => {
                &[&rustls::version::TLS13, &rustls::version::TLS12]
            }
        };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = if opts.reject_unauthorized {
        let anchors = Arc::new(trust_anchors(opts, roots)?);
        let webpki = WebPkiServerVerifier::builder_with_provider(anchors, provider())
            .build()
            .map_err(|e| Error::Tls(e.to_string()))?;
        if opts.verify_host {
            builder.with_webpki_verifier(webpki)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
        }
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider())))
    };
    let mut config = match (&opts.cert, &opts.key) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| Error::Tls(format!("invalid ssl.cert: {}", e)))?;
            let key = PrivateKeyDer::from_pem_slice(key.expose().as_bytes()).map_err(|_| {
                Error::Tls("invalid ssl.key: expected an unencrypted PEM private key".into())
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::Tls(e.to_string()))?
        }
        (None, None) => builder.with_no_client_auth(),
        (Some(_), None) => return Err(Error::Tls("ssl.cert was given without ssl.key".into())),
        (None, Some(_)) => return Err(Error::Tls("ssl.key was given without ssl.cert".into())),
    };
    if opts.negotiation == SslNegotiation::Direct {
        config.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
    }
    Ok(config)
}

/// `ca` alone when given (every certificate in it must be usable), else the default roots.
fn trust_anchors(opts: &TlsOptions, roots: &DefaultRoots) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match (&opts.ca, &roots.0) {
        // Validated with the options already; a `TlsOptions` built by hand is checked here.
        (Some(ca), _) => {
            store =
                ca_trust_store(ca).map_err(|why| Error::Tls(format!("invalid ssl.ca: {why}")))?
        }
        (None, Some(pem)) => {
            let certs = CertificateDer::pem_slice_iter(pem.as_bytes()).filter_map(|c| c.ok());
            store.add_parsable_certificates(certs);
        }
        (None, None) => {}
    }
    if store.is_empty() {
        return Err(Error::Tls(
            "no trusted root certificates to verify the server with: give ssl.ca (or, from Rust, PoolBuilder::default_roots), or turn verification off with ssl.rejectUnauthorized = false".into(),
        ));
    }
    Ok(store)
}

/// The name the certificate must match.
pub fn server_name(host: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(host.to_string())
        .map_err(|e| Error::Tls(format!("invalid server name {:?}: {}", host, e)))
}

/// Verifies the chain against the trust anchors but not the host name (libpq's
/// `verify-ca`). webpki checks the name only after the chain verified, so a name mismatch is
/// the one error set aside.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Accepts every server certificate (pg's `rejectUnauthorized: false`); signatures are still
/// checked so that the handshake itself is sound.
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
