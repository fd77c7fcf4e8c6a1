'use strict'
// `new pg.Query(...)` objects and any object with pg's Submittable contract run on our clients
// and through pool.query as on pg's: results, 'row' events, pg's portal paging (`rows`),
// named statements prepared once per connection, errors, the pool's release on the query's
// callback, and query_timeout.

const test = require('node:test')
const assert = require('node:assert/strict')
const pg = require('pg')
const { assertParity } = require('./helpers/parity')

/** A pg.Query settled through its events (no callback): { result, rows seen } or the error. */
function events(query) {
  return new Promise((resolve) => {
    const seen = []
    query.on('row', (row) => seen.push(row))
    query.on('end', (result) => resolve({ result, seen }))
    query.on('error', (error) => resolve({ error, seen }))
  })
}

test('pool.query(new pg.Query(...)) resolves with its result and releases the client', async () => {
  await assertParity({ max: 1 }, async (pool) => {
    const a = await pool.query(new pg.Query('SELECT $1::int AS n, $2::text AS t', [5, 'five']))
    const b = await pool.query(new pg.Query({ text: 'SELECT g FROM generate_series(1, 3) g', rowMode: 'array' }))
    const err = await pool.query(new pg.Query('SELECT 1 / 0')).catch((e) => e)
    const cb = await new Promise((resolve) => pool.query(new pg.Query('SELECT 2 AS two'), (e, r) => resolve({ e, r })))
    return { a, b, err, cb, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
  })
})

test('client.query(new pg.Query(...)): returned, events, callback, multi-statement', async () => {
  await assertParity({ max: 1 }, async (pool) => {
    const client = await pool.connect()
    try {
      const q = new pg.Query('SELECT g AS n FROM generate_series(1, 4) g')
      const returned = client.query(q) === q
      const ev = await events(q)
      const multi = await new Promise((resolve) => client.query(new pg.Query('SELECT 1 AS a; SELECT 2 AS b', (e, r) => resolve(e || r))))
      const err = await events(client.query(new pg.Query('SELECT nope')))
      return { returned, ev, multi, err, after: await client.query('SELECT 1 AS one') }
    } finally {
      client.release()
    }
  })
})

test('pg.Query with `rows` pages through a portal; an error in mid-portal reaches it', async () => {
  await assertParity({ max: 1 }, async (pool) => {
    const client = await pool.connect()
    let destroy = false
    try {
      const q = new pg.Query({ text: 'SELECT g FROM generate_series(1, 10) g', rows: 3 })
      const ev = await events(client.query(q))
      const after = await client.query('SELECT 1 AS one')
      // pg sends no Sync after an error in a paged portal: the connection waits for one, so
      // the client is given back with the error (destroyed), in both pools.
      destroy = true
      const err = await events(client.query(new pg.Query({ text: 'SELECT 10 / (4 - g) AS x FROM generate_series(1, 9) g', rows: 2 })))
      return { ev, after, err }
    } finally {
      client.release(destroy)
    }
  })
})

test('named pg.Query objects are prepared once per connection', async () => {
  await assertParity({ max: 1 }, async (pool) => {
    const client = await pool.connect()
    try {
      const run = (v) =>
        new Promise((resolve) =>
          client.query(new pg.Query({ name: 'ldp_sub_named', text: 'SELECT $1::int * 3 AS n', values: [v] }, (e, r) => resolve(e || r)))
        )
      const a = await run(1)
      const b = await run(2)
      const clash = await new Promise((resolve) =>
        client.query(new pg.Query({ name: 'ldp_sub_named', text: 'SELECT 1' }, (e, r) => resolve(e || r)))
      )
      const prepared = await client.query("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'ldp_sub_named'")
      return { a, b, clash, prepared }
    } finally {
      client.release()
    }
  })
})

test('a statement name is prepared once per connection, by a pg.Query or a plain query', async () => {
  await assertParity({ max: 1 }, async (pool) => {
    const client = await pool.connect()
    try {
      const viaQuery = (name, v) =>
        new Promise((resolve) =>
          client.query(new pg.Query({ name, text: 'SELECT $1::int + 100 AS n', values: [v] }, (e, r) => resolve(e || r)))
        )
      const plain = (name, v) => client.query({ name, text: 'SELECT $1::int + 100 AS n', values: [v] }).catch((e) => e)
      const a = [await plain('ldp_mix_a', 1), await viaQuery('ldp_mix_a', 2)]
      const b = [await viaQuery('ldp_mix_b', 3), await plain('ldp_mix_b', 4)]
      const prepared = await client.query("SELECT name FROM pg_prepared_statements WHERE name LIKE 'ldp_mix_%' ORDER BY name")
      return { a, b, prepared }
    } finally {
      client.release()
    }
  })
})

test('a Submittable that fails before writing anything is answered and the client goes on', async () => {
  await assertParity({ max: 1 }, async (pool) => {
    const client = await pool.connect()
    try {
      const err = await events(client.query(new pg.Query({ values: [1] })))
      const bad = await new Promise((resolve) => client.query(new pg.Query('SELECT $1', 'not-an-array', (e, r) => resolve(e || r))))
      return { err, bad, after: await client.query('SELECT 3 AS three') }
    } finally {
      client.release()
    }
  })
})

test('query_timeout applies to a Submittable as in pg', async () => {
  await assertParity({ max: 1, query_timeout: 150 }, async (pool) => {
    const client = await pool.connect()
    try {
      const err = await new Promise((resolve) => client.query(new pg.Query('SELECT pg_sleep(0.6)'), (e, r) => resolve(e || r)))
      return { message: err.message }
    } finally {
      client.release(true)
    }
  })
})

test('a hand-written Submittable gets pg handle* calls in pg order', async () => {
  class Recorder {
    constructor(text) {
      this.text = text
      this.calls = []
      this.done = new Promise((resolve) => (this._resolve = resolve))
    }
    submit(connection) {
      connection.query(this.text)
    }
    handleRowDescription(msg) {
      this.calls.push(['rowDescription', msg.fields.map((f) => f.name)])
    }
    handleDataRow(msg) {
      this.calls.push(['dataRow', msg.fields])
    }
    handleCommandComplete(msg) {
      this.calls.push(['commandComplete', msg.text])
    }
    handleEmptyQuery() {
      this.calls.push(['emptyQuery'])
    }
    handleError(err) {
      this.calls.push(['error', err.message])
    }
    handleReadyForQuery() {
      this.calls.push(['readyForQuery'])
      this._resolve()
    }
  }
  await assertParity({ max: 1 }, async (pool) => {
    const client = await pool.connect()
    try {
      const r = new Recorder("SELECT 1 AS a, 'x' AS b; SELECT; ; SELECT 1/0")
      client.query(r)
      // After an error pg sends no readyForQuery to the Submittable: wait for the next query.
      await client.query('SELECT 1')
      const ok = new Recorder('SELECT 2 AS c')
      client.query(ok)
      await ok.done
      return { calls: r.calls, ok: ok.calls }
    } finally {
      client.release()
    }
  })
})

test("a query issued from a Submittable's callback queues behind the waiting ones, as in pg", async () => {
  await assertParity({ max: 1 }, async (pool) => {
    const client = await pool.connect()
    try {
      const order = []
      let c
      const a = new Promise((resolve) =>
        client.query(
          new pg.Query('SELECT 1 AS a', (e, r) => {
            order.push('a')
            c = client.query('SELECT 3 AS c').then((res) => order.push('c') && res)
            resolve(e || r)
          })
        )
      )
      const b = client.query('SELECT 2 AS b').then((res) => order.push('b') && res)
      const results = [await a, await b]
      results.push(await c)
      return { order, results }
    } finally {
      client.release()
    }
  })
})
