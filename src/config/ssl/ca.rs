//! `ssl.ca`: the PEM certificates it holds, each usable as a trust anchor.
//!
//! Read when the options are validated, so that a `ca` that cannot be used is refused at
//! construction (`ssl.ca`, a `RangeError`) instead of failing every connection attempt, and
//! again where the pool's TLS configuration is built (`pg::tls`), from the same function.

use rustls::pki_types::{pem::PemObject, CertificateDer};
use rustls::RootCertStore;

/// The trust anchors in `pem`: every certificate section must parse and be usable as an
/// anchor, and there must be at least one. `Err` says what is wrong without quoting the text.
pub(crate) fn trust_store(pem: &str) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("a PEM section cannot be read ({e})"))?;
        store
            .add(cert)
            .map_err(|e| format!("a certificate cannot be used as a trust anchor ({e})"))?;
    }
    if store.is_empty() {
        return Err("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(store)
}
