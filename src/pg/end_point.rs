//! `tls-server-end-point` channel binding data (RFC 5929 §4.1): the hash of the server's
//! certificate, with the hash function of the certificate's signature algorithm — SHA-256
//! when that is MD5 or SHA-1 — as PostgreSQL computes it for SCRAM-SHA-256-PLUS.
//!
//! Only the certificate's outer `signatureAlgorithm` is read (a few DER headers, no full
//! X.509 parse): `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm
//! AlgorithmIdentifier, signatureValue }`. RSASSA-PSS names its hash in its parameters;
//! Ed25519 uses SHA-512, as PostgreSQL and pg do.

use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// The hash functions a certificate's signature algorithm can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// Signature algorithm OIDs (DER content bytes) and the hash the binding uses for each.
const SIGNATURES: &[(&[u8], Hash)] = &[
    // RSA PKCS#1 v1.5: md5, sha1, sha256, sha384, sha512, sha224 (1.2.840.113549.1.1.x)
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04],
        Hash::Sha256,
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05],
        Hash::Sha256,
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b],
        Hash::Sha256,
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c],
        Hash::Sha384,
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d],
        Hash::Sha512,
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0e],
        Hash::Sha224,
    ),
    // ECDSA: sha1 (1.2.840.10045.4.1), sha224/256/384/512 (1.2.840.10045.4.3.x)
    (&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01], Hash::Sha256),
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x01],
        Hash::Sha224,
    ),
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
        Hash::Sha256,
    ),
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03],
        Hash::Sha384,
    ),
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04],
        Hash::Sha512,
    ),
    // Ed25519 (1.3.101.112)
    (&[0x2b, 0x65, 0x70], Hash::Sha512),
];

/// RSASSA-PSS (1.2.840.113549.1.1.10): the hash is in the parameters.
const RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];

/// Hash algorithm OIDs PSS parameters name: md5, sha1, sha256, sha384, sha512, sha224.
const HASHES: &[(&[u8], Hash)] = &[
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05],
        Hash::Sha256,
    ),
    (&[0x2b, 0x0e, 0x03, 0x02, 0x1a], Hash::Sha256),
    (
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
        Hash::Sha256,
    ),
    (
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02],
        Hash::Sha384,
    ),
    (
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03],
        Hash::Sha512,
    ),
    (
        &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04],
        Hash::Sha224,
    ),
];

/// One DER element: its tag, its content, and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;

/// The hash the binding uses for a certificate, or why there is none.
fn hash_of(cert: &[u8]) -> Result<Hash, String> {
    let malformed = || "the server's certificate could not be read".to_string();
    let (tag, cert_body, _) = element(cert).ok_or_else(malformed)?;
    if tag != SEQUENCE {
        return Err(malformed());
    }
    let (_, _tbs, rest) = element(cert_body).ok_or_else(malformed)?;
    let (tag, alg, _) = element(rest).ok_or_else(malformed)?;
    if tag != SEQUENCE {
        return Err(malformed());
    }
    let (tag, oid, params) = element(alg).ok_or_else(malformed)?;
    if tag != OID {
        return Err(malformed());
    }
    if let Some((_, h)) = SIGNATURES.iter().find(|(o, _)| *o == oid) {
        return Ok(*h);
    }
    if oid != RSASSA_PSS {
        return Err(
            "the server's certificate is signed with an algorithm channel binding does not support"
                .into(),
        );
    }
    // RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] EXPLICIT AlgorithmIdentifier DEFAULT sha1, … }
    let (tag, pss, _) = element(params).ok_or_else(malformed)?;
    if tag != SEQUENCE {
        return Err(malformed());
    }
    match element(pss) {
        Some((0xa0, explicit, _)) => {
            let (_, hash_alg, _) = element(explicit).ok_or_else(malformed)?;
            let (tag, hash_oid, _) = element(hash_alg).ok_or_else(malformed)?;
            if tag != OID {
                return Err(malformed());
            }
            HASHES
                .iter()
                .find(|(o, _)| *o == hash_oid)
                .map(|(_, h)| *h)
                .ok_or_else(|| "the server's RSASSA-PSS certificate names an unknown hash".into())
        }
        // The default, SHA-1, which the binding replaces with SHA-256.
        _ => Ok(Hash::Sha256),
    }
}

/// The `tls-server-end-point` binding data for the server's certificate (DER), or why it
/// cannot be computed.
pub(crate) fn server_end_point(cert: &[u8]) -> Result<Vec<u8>, String> {
    Ok(match hash_of(cert)? {
        Hash::Sha224 => Sha224::digest(cert).to_vec(),
        Hash::Sha256 => Sha256::digest(cert).to_vec(),
        Hash::Sha384 => Sha384::digest(cert).to_vec(),
        Hash::Sha512 => Sha512::digest(cert).to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        if content.len() < 0x80 {
            v.push(content.len() as u8);
        } else {
            v.extend_from_slice(&[0x82, (content.len() >> 8) as u8, content.len() as u8]);
        }
        v.extend_from_slice(content);
        v
    }

    /// A certificate-shaped DER value: a 200-byte tbsCertificate (long-form length), the
    /// algorithm, a signature.
    fn cert(alg: &[u8]) -> Vec<u8> {
        let mut body = tlv(SEQUENCE, &[7; 200]);
        body.extend(tlv(SEQUENCE, alg));
        body.extend(tlv(0x03, &[0, 1, 2]));
        tlv(SEQUENCE, &body)
    }

    fn alg(oid: &[u8], params: &[u8]) -> Vec<u8> {
        let mut v = tlv(OID, oid);
        v.extend_from_slice(params);
        v
    }

    #[test]
    fn the_signature_hash_is_used_and_md5_or_sha1_become_sha256() {
        let null = [0x05, 0x00];
        for (oid, hash) in SIGNATURES {
            assert_eq!(hash_of(&cert(&alg(oid, &null))), Ok(*hash));
        }
        let sha1_rsa = cert(&alg(SIGNATURES[1].0, &null));
        assert_eq!(hash_of(&sha1_rsa), Ok(Hash::Sha256));
        let sha384_ecdsa = cert(&alg(SIGNATURES[9].0, &[]));
        let data = server_end_point(&sha384_ecdsa).unwrap();
        assert_eq!(data, Sha384::digest(&sha384_ecdsa).to_vec());
    }

    #[test]
    fn rsassa_pss_names_its_hash_in_the_parameters() {
        let sha384 = HASHES[3].0;
        let hash_alg = tlv(SEQUENCE, &tlv(OID, sha384));
        let params = tlv(SEQUENCE, &tlv(0xa0, &hash_alg));
        assert_eq!(hash_of(&cert(&alg(RSASSA_PSS, &params))), Ok(Hash::Sha384));
        // Without a hash: the default, SHA-1, so SHA-256.
        let params = tlv(SEQUENCE, &[]);
        assert_eq!(hash_of(&cert(&alg(RSASSA_PSS, &params))), Ok(Hash::Sha256));
    }

    #[test]
    fn unknown_algorithms_and_garbage_are_errors_not_panics() {
        let ed448 = cert(&alg(&[0x2b, 0x65, 0x71], &[]));
        assert!(hash_of(&ed448).unwrap_err().contains("does not support"));
        for junk in [
            &b""[..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x05, 0x30, 0x10],
        ] {
            assert!(server_end_point(junk).is_err(), "{junk:?}");
        }
        let mut truncated = cert(&alg(SIGNATURES[2].0, &[]));
        truncated.truncate(100);
        assert!(server_end_point(&truncated).is_err());
    }
}
