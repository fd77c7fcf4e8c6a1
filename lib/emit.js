'use strict'
// Emitting and calling back on behalf of the user. A listener that throws behaves as with any EventEmitter —
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

/**
 * Calls a user's callback with `args`. What it throws surfaces as an uncaught exception on the
 * next tick, as with pg (whose callbacks run from socket events), never as the rejection of a
 * promise nobody holds (an unhandled rejection, which is a different process event).
 */
function callUser(cb, ...args) {
  try {
    cb(...args)
  } catch (err) {
    process.nextTick(() => {
      throw err
    })
  }
}

module.exports = { safeEmit, callUser }
