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
 * Calls a user's callback as pg does: an exception it throws surfaces as an uncaught exception
 * (pg runs callbacks from its socket's events), never as the rejection of a promise nobody
 * holds. Rethrown in its own turn, so that whatever called it is not cut short.
 */
function callBack(cb, ...args) {
  try {
    cb(...args)
  } catch (err) {
    process.nextTick(() => {
      throw err
    })
  }
}

/** Hands a promise's outcome to a node-style callback (`ok` is the error argument on success). */
function settleTo(promise, cb, ok) {
  promise.then(
    (r) => callBack(cb, ok, r),
    (e) => callBack(cb, e)
  )
}

module.exports = { safeEmit, callBack, settleTo }
