'use strict'
// Loaded into every Node process of a run (NODE_OPTIONS=--require, so processes the tests fork
// get it too). It substitutes the Pool class the tests use without touching their files:
//   - pg's integration tests build `new helper.pg.Pool(...)`, where `helper.pg` is the installed
//     pg (their `lib` directory links to it): its `Pool` property becomes the pool under test;
//   - pg-pool's tests `require('../')`, the pg-pool package directory: that module resolves to
//     `pool.js` here, which exports the pool under test;
//   - pg's `test/suite.js` runner resolves to `suite.js` here, which records every test's
//     outcome instead of exiting at the first failure.
// Environment (set by scripts/pg-suite.js):
//   LDP_PG_SUITE_POOL   'pg' (pg.Pool of the installed pg) or 'ours' (LeakDetectingPool)
//   LDP_PG_SUITE_TREE   the temporary tree holding node-postgres's test files
//   LDP_PG_SUITE_PG     the installed pg's package directory
//   LDP_PG_SUITE_OURS   this repository's root

const Module = require('module')
const path = require('path')

const tree = process.env.LDP_PG_SUITE_TREE
const pgDir = process.env.LDP_PG_SUITE_PG
const which = process.env.LDP_PG_SUITE_POOL

if (tree && pgDir && (which === 'pg' || which === 'ours')) {
  const pg = require(pgDir)
  if (which === 'ours') pg.Pool = require(process.env.LDP_PG_SUITE_OURS).LeakDetectingPool

  const redirects = new Map([
    [path.join(tree, 'packages', 'pg-pool', 'index.js'), path.join(__dirname, 'pool.js')],
    [path.join(tree, 'packages', 'pg', 'test', 'suite.js'), path.join(__dirname, 'suite.js')],
  ])
  const resolve = Module._resolveFilename
  Module._resolveFilename = function (request, parent, ...rest) {
    const found = resolve.call(this, request, parent, ...rest)
    return redirects.get(found) || found
  }
}
