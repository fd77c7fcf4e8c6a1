'use strict'
// `require('leak-detecting-pool/otel')`: the pool's metrics as OpenTelemetry instruments
// (lib/otel.js). Needs `@opentelemetry/api` only in the application that passes its Meter.

module.exports = require('./lib/otel')
