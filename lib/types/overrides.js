'use strict'

// Per-client / per-query type parser overrides, like pg's TypeOverrides:
// parsers set here win, anything else falls back to the given `types`
// object (default: this package's global parsers, see ./parsers).

const defaultTypes = require('./parsers')

class TypeOverrides {
  constructor (userTypes) {
    this._types = userTypes || defaultTypes
    this.text = {}
    this.binary = {}
  }

  getOverrides (format) {
    switch (format) {
      case 'text':
        return this.text
      case 'binary':
        return this.binary
      default:
        return {}
    }
  }

  setTypeParser (oid, format, parseFn) {
    if (typeof format === 'function') {
      parseFn = format
      format = 'text'
    }
    this.getOverrides(format)[oid] = parseFn
  }

  getTypeParser (oid, format) {
    format = format || 'text'
    return this.getOverrides(format)[oid] || this._types.getTypeParser(oid, format)
  }
}

module.exports = TypeOverrides
module.exports.TypeOverrides = TypeOverrides
