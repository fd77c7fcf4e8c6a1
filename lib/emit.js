'use strict'
// Emitting on behalf of the user. A listener that throws behaves as with any EventEmitter —
// the exception surfaces as an uncaught exception — but in its own turn, so that nothing in
// the pool (a dispatch in progress, a release, the checker's next event) is cut short.

function safeEmit(target, name, ...args) {
  try {
    target.emit(name, ...args)
  } catch (err) {
    process.nextTick(() => {
      throw err
    })
  }
}

module.exports = { safeEmit }
