'use strict'

// interval text parser with postgres-interval@1 semantics (what pg-types
// returns for oid 1186): an object whose own enumerable properties are the
// non-zero parts among years, months, days, hours, minutes, seconds,
// milliseconds (in that order), with toPostgres() and toISO()/toISOString().
//
// Input is IntervalStyle 'postgres' output, e.g.
//   '1 year 2 mons 3 days 04:05:06.789', '-1 years -2 mons +3 days -04:05:06',
//   '00:00:00', '1 day', '-00:00:00.5', '100:00:00'
// Parsing is sequential and lenient exactly like postgres-interval's regex:
// '[+-]N years?', '[+-]N mons?', '[+-]N days?', '[+-]H:MM:SS[.ffffff]', each
// optional, separated by optional whitespace, matched from the start;
// anything that does not fit ends the parse.

function PostgresInterval (raw) {
  if (!(this instanceof PostgresInterval)) return new PostgresInterval(raw)
  if (raw) parseInto(this, typeof raw === 'string' ? raw : String(raw))
}

// JavaScript's \s
function isSpace (c) {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
}

function isDigit (c) {
  return c >= 48 && c <= 57
}

function skipSpaces (s, i) {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++
  return i
}

// Matches /[+-]?\d+\s+<unit>s?/ at i. Returns the end index or -1; the
// number goes to scratch.value.
const scratch = { value: 0 }
function numberWithUnit (s, i, unit) {
  const start = i
  let c = s.charCodeAt(i)
  if (c === 43 || c === 45) c = s.charCodeAt(++i)
  const digits = i
  while (isDigit(c)) c = s.charCodeAt(++i)
  if (i === digits) return -1
  const numEnd = i
  if (!isSpace(c)) return -1
  i = skipSpaces(s, i)
  if (!s.startsWith(unit, i)) return -1
  i += unit.length
  if (s.charCodeAt(i) === 115 /* s */) i++
  scratch.value = parseInt(s.slice(start, numEnd), 10)
  return i
}

function parseInto (target, s) {
  let i = 0
  let end

  end = numberWithUnit(s, i, 'year')
  if (end !== -1) {
    if (scratch.value) target.years = scratch.value
    i = end
  }
  i = skipSpaces(s, i)
  end = numberWithUnit(s, i, 'mon')
  if (end !== -1) {
    if (scratch.value) target.months = scratch.value
    i = end
  }
  i = skipSpaces(s, i)
  end = numberWithUnit(s, i, 'day')
  if (end !== -1) {
    if (scratch.value) target.days = scratch.value
    i = end
  }
  i = skipSpaces(s, i)
  parseTime(target, s, i)
}

// /([+-])?(\d*):(\d\d):(\d\d)\.?(\d{1,6})?/ at i
function parseTime (target, s, i) {
  let c = s.charCodeAt(i)
  let negative = false
  if (c === 43 || c === 45) {
    negative = c === 45
    c = s.charCodeAt(++i)
  }
  const hStart = i
  while (isDigit(c)) c = s.charCodeAt(++i)
  const hEnd = i
  if (c !== 58 /* : */ ||
      !isDigit(s.charCodeAt(i + 1)) || !isDigit(s.charCodeAt(i + 2)) ||
      s.charCodeAt(i + 3) !== 58 ||
      !isDigit(s.charCodeAt(i + 4)) || !isDigit(s.charCodeAt(i + 5))) {
    return
  }
  const sign = negative ? -1 : 1
  const hours = hEnd > hStart ? parseInt(s.slice(hStart, hEnd), 10) : 0
  const minutes = (s.charCodeAt(i + 1) - 48) * 10 + (s.charCodeAt(i + 2) - 48)
  const seconds = (s.charCodeAt(i + 4) - 48) * 10 + (s.charCodeAt(i + 5) - 48)
  i += 6
  if (s.charCodeAt(i) === 46 /* . */) i++
  let micro = 0
  let n = 0
  while (n < 6 && isDigit(s.charCodeAt(i + n))) {
    micro = micro * 10 + (s.charCodeAt(i + n) - 48)
    n++
  }
  for (let k = n; k < 6; k++) micro *= 10

  if (hours) target.hours = hours * sign
  if (minutes) target.minutes = minutes * sign
  if (seconds) target.seconds = seconds * sign
  if (micro) target.milliseconds = (micro / 1000) * sign
}

function hasOwn (obj, key) {
  return Object.prototype.hasOwnProperty.call(obj, key)
}

// Seconds plus the fractional milliseconds, as postgres-interval prints them.
function secondsText (value, milliseconds, trimDot) {
  const text = (value + milliseconds / 1000).toFixed(6)
  return trimDot ? text.replace(/\.?0+$/, '') : text.replace(/0+$/, '')
}

const POSTGRES_ORDER = ['seconds', 'minutes', 'hours', 'days', 'months', 'years']

PostgresInterval.prototype.toPostgres = function toPostgres () {
  const parts = []
  let sawSeconds = false
  for (let k = 0; k < POSTGRES_ORDER.length; k++) {
    const key = POSTGRES_ORDER[k]
    if (!hasOwn(this, key)) continue
    if (key === 'seconds') sawSeconds = true
    parts.push(key)
  }
  if (this.milliseconds && !sawSeconds) parts.push('seconds')
  if (parts.length === 0) return '0'
  let out = ''
  for (let k = 0; k < parts.length; k++) {
    const key = parts[k]
    let value = this[key] || 0
    if (key === 'seconds' && this.milliseconds) {
      value = secondsText(value, this.milliseconds, true)
    }
    out += (k === 0 ? '' : ' ') + value + ' ' + key
  }
  return out
}

// ISO 8601 duration, e.g. 'P1Y2M3DT4H5M6.789S'
function toISOString () {
  let seconds = this.seconds || 0
  if (this.milliseconds) seconds = secondsText(seconds, this.milliseconds, false)
  return 'P' + (this.years || 0) + 'Y' + (this.months || 0) + 'M' + (this.days || 0) + 'D' +
    'T' + (this.hours || 0) + 'H' + (this.minutes || 0) + 'M' + seconds + 'S'
}
PostgresInterval.prototype.toISOString = toISOString
PostgresInterval.prototype.toISO = toISOString

function parseInterval (value) {
  return new PostgresInterval(value)
}

module.exports = { PostgresInterval, parseInterval }
