'use strict'
/**
 * A throwaway npm registry on 127.0.0.1, in this process, for the install test: `npm publish`
 * and `npm install` talk to it over HTTP as they talk to registry.npmjs.org, and nothing
 * reaches the network. It holds only what it was given; any other package is a 404, which npm
 * treats as it treats an unpublished optional dependency (skipped).
 *
 * Serves the three requests npm makes: GET /<name> (the packument; scoped names arrive as
 * `@scope%2fname`), GET of a tarball URL it handed out, PUT /<name> (`npm publish`: the
 * manifest and the tarball as a base64 attachment). Authentication is not checked.
 *
 * Exports:
 *   startRegistry() -> Promise<{ url, add(manifest, tarball: Buffer), names(), close() }>
 *   packFolders(npm, folders, dest) -> Promise<[{ manifest, tarball }]>  (`npm pack` of installed packages)
 *   dependencyFolders(root, names)  -> folders of `names` and everything they depend on, resolved
 *                                      from `root` as Node would (nested node_modules first)
 */

const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')

function startRegistry() {
  const packages = new Map() // name -> { versions: {v: manifest}, tags: {tag: v} }
  const tarballs = new Map() // url path -> Buffer
  let base = null

  function add(manifest, tarball, tag = 'latest') {
    const { name, version } = manifest
    const file = `/-/tarballs/${encodeURIComponent(name)}/${version}.tgz`
    tarballs.set(file, tarball)
    const entry = packages.get(name) || { versions: {}, tags: {} }
    entry.versions[version] = {
      ...manifest,
      _id: `${name}@${version}`,
      dist: {
        tarball: base + file,
        integrity: `sha512-${crypto.createHash('sha512').update(tarball).digest('base64')}`,
        shasum: crypto.createHash('sha1').update(tarball).digest('hex'),
      },
    }
    entry.tags[tag] = version
    packages.set(name, entry)
  }

  function send(res, status, body) {
    const data = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body))
    res.writeHead(status, {
      'content-type': Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json',
      'content-length': data.length,
    })
    res.end(data)
  }

  function publish(name, body) {
    const doc = JSON.parse(body)
    for (const [version, manifest] of Object.entries(doc.versions || {})) {
      const attachment = Object.values(doc._attachments || {})[0]
      if (!attachment) throw new Error(`publish of ${name}@${version} carries no tarball`)
      const tags = Object.entries(doc['dist-tags'] || { latest: version }).filter(([, v]) => v === version)
      add(manifest, Buffer.from(attachment.data, 'base64'), tags.length ? tags[0][0] : 'latest')
    }
  }

  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      try {
        const pathname = new URL(req.url, 'http://x').pathname
        if (req.method === 'GET' && tarballs.has(pathname)) return send(res, 200, tarballs.get(pathname))
        const name = decodeURIComponent(pathname.slice(1))
        if (req.method === 'PUT') {
          publish(name, Buffer.concat(chunks).toString('utf8'))
          return send(res, 201, { ok: true })
        }
        const entry = req.method === 'GET' && packages.get(name)
        if (!entry) return send(res, 404, { error: 'Not found' })
        return send(res, 200, { _id: name, name, 'dist-tags': entry.tags, versions: entry.versions })
      } catch (err) {
        return send(res, 400, { error: err.message })
      }
    })
  })

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      base = `http://127.0.0.1:${server.address().port}`
      resolve({
        url: `${base}/`,
        add,
        names: () => [...packages.keys()],
        close: () =>
          new Promise((done) => {
            server.closeAllConnections()
            server.close(() => done())
          }),
      })
    })
  })
}

function readManifest(folder) {
  return JSON.parse(fs.readFileSync(path.join(folder, 'package.json'), 'utf8'))
}

/** Where `name` resolves from package folder `from`, as Node's resolution would find it. */
function resolveFolder(from, name) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name)
    if (fs.existsSync(path.join(candidate, 'package.json'))) return fs.realpathSync(candidate)
    if (path.dirname(dir) === dir) return null
  }
}

function dependencyFolders(root, names) {
  const seen = new Map() // folder -> true
  const queue = names.map((name) => [root, name, true])
  while (queue.length) {
    const [from, name, required] = queue.shift()
    const folder = resolveFolder(from, name)
    if (!folder) {
      if (required) throw new Error(`${name} (needed from ${from}) is not installed: run \`npm install\``)
      continue
    }
    if (seen.has(folder)) continue
    seen.set(folder, true)
    const m = readManifest(folder)
    const optionalPeers = m.peerDependenciesMeta || {}
    for (const dep of Object.keys(m.dependencies || {})) queue.push([folder, dep, true])
    for (const dep of Object.keys(m.optionalDependencies || {})) queue.push([folder, dep, false])
    for (const dep of Object.keys(m.peerDependencies || {})) queue.push([folder, dep, !(optionalPeers[dep] && optionalPeers[dep].optional)])
  }
  return [...seen.keys()]
}

/**
 * `npm pack` of package folders into `dest`, in one npm run; each tarball with its manifest.
 * `npm(args)` runs npm and resolves to its stdout.
 */
async function packFolders(npm, folders, dest) {
  if (!folders.length) return []
  const packed = JSON.parse(await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dest, ...folders]))
  const files = new Map(packed.map((p) => [`${p.name}@${p.version}`, p.filename]))
  return folders.map((folder) => {
    const manifest = readManifest(folder)
    const file = files.get(`${manifest.name}@${manifest.version}`)
    if (!file) throw new Error(`npm pack made no tarball for ${folder}`)
    return { manifest, tarball: fs.readFileSync(path.join(dest, file)) }
  })
}

module.exports = { startRegistry, dependencyFolders, packFolders }
