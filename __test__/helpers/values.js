'use strict'
// The value parity harness and its case catalogs (values/): see values/harness.js.
module.exports = require('./values/harness')
