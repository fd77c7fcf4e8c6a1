'use strict'
/**
 * Certificates for throwaway clusters with TLS on, made at run time with node:crypto alone (no
 * openssl binary needed, nothing secret checked in): a self-signed server certificate, and a
 * private CA that issues server certificates (for the tests of whom a client trusts).
 *
 * It has the shape of the "snakeoil" certificate Linux distributions give PostgreSQL, which is
 * what the TLS tests are written against: subject = issuer = CN=localhost, subjectAltName
 * DNS:localhost only (so verifying it as 127.0.0.1 fails, as it must), basicConstraints
 * CA:FALSE (rustls refuses a CA certificate as a server's own), RSA 2048 signed with SHA-256,
 * valid from a day ago for a year.
 */

const crypto = require('node:crypto')

// ---------------------------------------------------------------------------
// DER, just enough for one certificate

function derLength(n) {
  if (n < 0x80) return Buffer.from([n])
  const bytes = []
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

function tlv(tag, content) {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content])
}

const seq = (...parts) => tlv(0x30, Buffer.concat(parts))
const set = (...parts) => tlv(0x31, Buffer.concat(parts))
const explicit = (n, inner) => tlv(0xa0 + n, inner)
const octets = (buf) => tlv(0x04, buf)
const bitString = (buf) => tlv(0x03, Buffer.concat([Buffer.from([0]), buf]))
const utf8 = (s) => tlv(0x0c, Buffer.from(s, 'utf8'))
const NULL = Buffer.from([0x05, 0x00])
const TRUE = Buffer.from([0x01, 0x01, 0xff])

function integer(buf) {
  let b = buf
  while (b.length > 1 && b[0] === 0 && b[1] < 0x80) b = b.subarray(1)
  if (b[0] >= 0x80) b = Buffer.concat([Buffer.from([0]), b]) // keep it positive
  return tlv(0x02, b)
}

function oid(dotted) {
  const [a, b, ...rest] = dotted.split('.').map(Number)
  const out = [40 * a + b]
  for (const n of rest) {
    const chunk = [n & 0x7f]
    for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift(0x80 | (v & 0x7f))
    out.push(...chunk)
  }
  return tlv(0x06, Buffer.from(out))
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(date) {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z' // YYYYMMDDHHMMSSZ
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso))
}

const SHA256_WITH_RSA = seq(oid('1.2.840.113549.1.1.11'), NULL)

function name(commonName) {
  return seq(set(seq(oid('2.5.4.3'), utf8(commonName))))
}

function extension(id, critical, value) {
  return seq(oid(id), ...(critical ? [TRUE] : []), octets(value))
}

// ---------------------------------------------------------------------------

function pem(der) {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')
  return `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`
}

/**
 * A certificate for `subject` holding `publicKey`, signed by `signer` ({ name, key }; itself
 * when absent). A CA certificate (`isCA`) has basicConstraints CA:TRUE; a server one CA:FALSE
 * and subjectAltName DNS:`subject`.
 */
function certificate({ subject, publicKey, signer, isCA }) {
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  const now = Date.now()
  const basicConstraints = isCA ? seq(TRUE) : seq() // CA:FALSE is the default, so empty
  const extensions = [
    extension('2.5.29.19', true, basicConstraints),
    ...(isCA ? [] : [extension('2.5.29.17', false, seq(tlv(0x82, Buffer.from(subject))))]), // subjectAltName: dNSName
    extension('2.5.29.14', false, octets(crypto.createHash('sha1').update(spki).digest())), // subjectKeyIdentifier
  ]
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(crypto.randomBytes(16)),
    SHA256_WITH_RSA,
    signer.name,
    seq(time(new Date(now - 86400e3)), time(new Date(now + 365 * 86400e3))),
    name(subject),
    spki,
    explicit(3, seq(...extensions))
  )
  const signature = crypto.sign('sha256', tbs, signer.key)
  return pem(seq(tbs, SHA256_WITH_RSA, bitString(signature)))
}

function keyPair() {
  return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
}

/**
 * A new key pair and a self-signed certificate for `host` (a DNS name).
 * Returns `{ certPem, keyPem }`.
 */
function selfSignedCertificate(host = 'localhost') {
  const { publicKey, privateKey } = keyPair()
  const certPem = certificate({ subject: host, publicKey, signer: { name: name(host), key: privateKey } })
  return { certPem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) }
}

/**
 * A private certificate authority named `commonName`: `{ certPem, issue(host) }`, where
 * `issue` makes a server certificate for `host` signed by this CA (`{ certPem, keyPem }`).
 * Its key stays in memory.
 */
function certificateAuthority(commonName) {
  const { publicKey, privateKey } = keyPair()
  const signer = { name: name(commonName), key: privateKey }
  return {
    certPem: certificate({ subject: commonName, publicKey, signer, isCA: true }),
    issue(host = 'localhost') {
      const server = keyPair()
      return {
        certPem: certificate({ subject: host, publicKey: server.publicKey, signer }),
        keyPem: server.privateKey.export({ type: 'pkcs8', format: 'pem' }),
      }
    },
  }
}

module.exports = { selfSignedCertificate, certificateAuthority }
