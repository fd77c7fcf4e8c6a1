'use strict'
// pg's TypeOverrides (a client's `setTypeParser`): parsers set here win; every other lookup
// falls through to the `types` it was made over — the pool's `types` option, or pg-types, the
// registry pg itself reads, so global `setTypeParser` calls stay visible through it.
//
// Invariant: `text` and `binary` hold only parsers set on this object; a lookup never caches
// what it found underneath, so later changes to the underlying registry are seen.

const pgTypes = require('pg-types')

class TypeOverrides {
  constructor(userTypes) {
    this._types = userTypes || pgTypes
    this.text = {}
    this.binary = {}
  }

  getOverrides(format) {
    if (format === 'text') return this.text
    if (format === 'binary') return this.binary
    return {}
  }

  setTypeParser(oid, format, parseFn) {
    if (typeof format === 'function') {
      parseFn = format
      format = 'text'
    }
    this.getOverrides(format)[oid] = parseFn
  }

  getTypeParser(oid, format) {
    format = format || 'text'
    return this.getOverrides(format)[oid] || this._types.getTypeParser(oid, format)
  }
}

module.exports = TypeOverrides
module.exports.TypeOverrides = TypeOverrides
