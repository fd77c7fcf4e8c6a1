'use strict'
// Reads node-postgres's test files from a copy of its repository: a checkout (a work tree) or a
// bare git directory. Nothing from that copy is ever written into this repository; the files
// are extracted into a temporary tree for one run.

const fs = require('fs')
const path = require('path')
const { execFileSync } = require('child_process')

/** The paths of node-postgres a run needs: the tests with their fixtures, and the package entry points
 * their `require`s resolve through (pg-pool's index.js is then redirected, never loaded). */
const WANTED = [
  'packages/pg-pool/test',
  'packages/pg-pool/index.js',
  'packages/pg-pool/package.json',
  'packages/pg/test',
  'packages/pg/package.json',
]

/**
 * A copy of node-postgres. Invariant: `list()` and `read()` see one version of the repository
 * (a bare git directory is read at `rev`, a checkout as it is on disk).
 */
class Source {
  constructor(location, rev) {
    const abs = path.resolve(location)
    if (!fs.existsSync(abs)) throw new Error(`pg-suite: ${abs} does not exist`)
    if (fs.existsSync(path.join(abs, 'packages', 'pg-pool'))) {
      this.kind = 'checkout'
      this.root = abs
    } else if (isGitDir(abs)) {
      this.kind = 'git'
      this.root = abs
      this.rev = rev || 'HEAD'
    } else {
      throw new Error(`pg-suite: ${abs} is neither a node-postgres checkout (no packages/pg-pool) nor a git directory`)
    }
  }

  /** A short description: where the files come from, and at which commit when known. */
  describe() {
    const commit = this.commit()
    return `${this.root}${this.kind === 'git' ? ` @ ${this.rev}` : ''}${commit ? ` (commit ${commit.slice(0, 12)})` : ''}`
  }

  commit() {
    try {
      const args = this.kind === 'git' ? ['--git-dir', this.root, 'rev-parse', this.rev] : ['-C', this.root, 'rev-parse', 'HEAD']
      return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    } catch {
      return null
    }
  }

  read(rel) {
    if (this.kind === 'checkout') return fs.readFileSync(path.join(this.root, rel), 'utf8')
    return execFileSync('git', ['--git-dir', this.root, 'show', `${this.rev}:${rel}`], { encoding: 'utf8', maxBuffer: 64 << 20 })
  }

  /** Copies the wanted paths into `dest`, keeping their relative paths. */
  extract(dest) {
    fs.mkdirSync(dest, { recursive: true })
    if (this.kind === 'git') {
      const tar = execFileSync('git', ['--git-dir', this.root, 'archive', '--format=tar', this.rev, '--', ...WANTED], {
        maxBuffer: 256 << 20,
      })
      execFileSync('tar', ['-x', '-C', dest], { input: tar })
      return
    }
    for (const rel of WANTED) {
      fs.cpSync(path.join(this.root, rel), path.join(dest, rel), { recursive: true })
    }
  }
}

function isGitDir(dir) {
  try {
    return execFileSync('git', ['--git-dir', dir, 'rev-parse', '--is-bare-repository'], { stdio: ['ignore', 'pipe', 'ignore'] }).length > 0
  } catch {
    return false
  }
}

module.exports = { Source }
