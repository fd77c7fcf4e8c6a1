'use strict'
// Result parsing reads pg's one registry, pg-types, for every column. For the two hottest of
// pg-types' own default parsers this module supplies an equivalent that gives exactly the
// same values faster (a 10k-row result with a timestamptz and an int8 column parses ~20 %
// faster): int8 (the text itself) and date/timestamp/timestamptz (lib/fast-dates.js).
//
// Invariant: a substitute is used only for a function that *is* pg-types' default (looked up
// by identity), so a parser anyone set — `pg.types.setTypeParser`, `pg.defaults.parseInt8`,
// `require('pg-types').setTypeParser`, a pool's or a query's `types`, `client.setTypeParser` —
// is always called as given.

const pgTypes = require('pg-types')
const { parseDate } = require('./fast-dates')

/** pg-types' int8 text parser returns the text it is given. */
function int8(text) {
  return text
}

const FAST = new Map([
  [pgTypes.getTypeParser(20, 'text'), int8],
  [pgTypes.getTypeParser(1082, 'text'), parseDate],
  [pgTypes.getTypeParser(1114, 'text'), parseDate],
  [pgTypes.getTypeParser(1184, 'text'), parseDate],
])

// Columns whose parser is pg-types' default for int2/int4/oid (parseInt of the text) or for
// bool are read by the compiled row reader straight from the row's bytes, without a string
// (lib/row-reader.js): 'i' and 'b'. PostgreSQL prints these types as an optional '-' and
// digits, and as 't' or 'f'; any other text goes to the parser itself.
const INLINE = new Map([
  [pgTypes.getTypeParser(23, 'text'), 'i'],
  [pgTypes.getTypeParser(21, 'text'), 'i'],
  [pgTypes.getTypeParser(16, 'text'), 'b'],
])

/** How the row reader may read a column whose parser is `fn`: 'i', 'b', or '-' (call it). */
function inlineKind(fn) {
  return INLINE.get(fn) || '-'
}

/**
 * The function to call for a column in `format` whose parser is `fn`: `fn`, or the faster
 * equivalent of a text default (binary columns always get `fn`: the stand-ins take text).
 */
function fastest(fn, format) {
  return format === 'text' ? FAST.get(fn) || fn : fn
}

module.exports = { fastest, inlineKind }
