'use strict'

// bytea text parser with postgres-bytea@1 semantics:
//   hex format    '\x0102ff'  -> Buffer.from('0102ff', 'hex')
//   escape format 'ab\\c\001' -> backslash-doubled backslashes and \ooo
//                               octal escapes, other characters as latin1
//                               bytes (PostgreSQL escapes every byte >= 0x7f).

function parseBytea (input) {
  if (typeof input !== 'string') input = String(input)
  if (input.charCodeAt(0) === 92 && input.charCodeAt(1) === 120) { // '\x'
    return Buffer.from(input.slice(2), 'hex')
  }
  const len = input.length
  if (input.indexOf('\\') === -1) return Buffer.from(input, 'latin1')

  const out = Buffer.allocUnsafe(len) // the output is never longer than the input
  let n = 0
  let i = 0
  while (i < len) {
    const c = input.charCodeAt(i)
    if (c !== 92) {
      out[n++] = c & 0xff
      i++
      continue
    }
    if (isOctal(input.charCodeAt(i + 1)) &&
        isOctal(input.charCodeAt(i + 2)) && isOctal(input.charCodeAt(i + 3))) {
      out[n++] = ((input.charCodeAt(i + 1) - 48) * 64 +
        (input.charCodeAt(i + 2) - 48) * 8 + (input.charCodeAt(i + 3) - 48)) & 0xff
      i += 4
      continue
    }
    // A run of backslashes: each pair is one backslash.
    let run = 1
    while (i + run < len && input.charCodeAt(i + run) === 92) run++
    const pairs = run >> 1
    for (let k = 0; k < pairs; k++) out[n++] = 92
    i += pairs * 2
    if (pairs === 0) {
      // A lone backslash before something that is not an octal escape never
      // comes from PostgreSQL (postgres-bytea loops forever on it): keep it.
      out[n++] = 92
      i++
    }
  }
  return out.subarray(0, n)
}

function isOctal (c) {
  return c >= 48 && c <= 55
}

module.exports = { parseBytea }
