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

/**
 * The function to call for a column in `format` whose parser is `fn`: `fn`, or the faster
 * equivalent of a text default (binary columns always get `fn`: the stand-ins take text).
 */
function fastest(fn, format) {
  return format === 'text' ? FAST.get(fn) || fn : fn
}

module.exports = { fastest }
