'use strict'
// The certificates Node's own TLS trusts by default, handed to the core by the first pool that
// uses TLS (once per process; a process without TLS never gathers them): a connection verified
// without `ssl.ca` trusts exactly these (with `ssl.ca`, only `ca`, as in Node). Node's bundled
// roots plus the file NODE_EXTRA_CA_CERTS names — read as Node reads it: a file that cannot be
// read adds nothing (Node warned about it at startup). Where Node can list its default store
// itself (`tls.getCACertificates`, Node 22.15+/23.5+), that list is used, so that
// `--use-system-ca` and the like apply too.

const fs = require('node:fs')
const tls = require('node:tls')

function extraCertificates() {
  const file = process.env.NODE_EXTRA_CA_CERTS
  if (!file) return []
  try {
    return [fs.readFileSync(file, 'utf8')]
  } catch {
    return []
  }
}

/** Node's default CA certificates as one PEM text. */
function defaultRoots() {
  const pems =
    typeof tls.getCACertificates === 'function' ? tls.getCACertificates('default') : [...tls.rootCertificates, ...extraCertificates()]
  return pems.join('\n')
}

module.exports = { defaultRoots }
