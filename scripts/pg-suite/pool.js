'use strict'
// What pg-pool's tests get from `require('../')`: the Pool class under test (preload.js has
// already put it on the installed pg as `pg.Pool`).
module.exports = require(process.env.LDP_PG_SUITE_PG).Pool
