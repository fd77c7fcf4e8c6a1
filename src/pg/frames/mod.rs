//! Backend message framing and the reply buffer handed to callers.
//!
//! A backend message is `type: u8, len: i32 BE (includes itself), body`. Replies to a request
//! are the raw frames of the messages that carry results (`T`, `D`, `C`, `I`, `E`, `Z`) copied
//! back to back, so that the JS layer parses them once, exactly as node-postgres's parser would;
//! client-side failures are added as a synthetic `!` frame (`code\0message\0`).

use crate::error::{DbError, Error};

/// Length of a frame header (type byte + length).
pub const HEADER: usize = 5;

/// What the start of a buffer of backend bytes holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// A complete frame of this total length (header included).
    Complete(usize),
    /// Not all of the first frame has arrived yet.
    Incomplete,
    /// The first frame's length field is below 4 (it counts itself): nothing after it can be
    /// framed, and waiting for more bytes would wait forever.
    Malformed(i32),
    /// The first frame declares more bytes than its type may have (see [`MessageLimits`]):
    /// buffering them would let the server take as much memory as it likes.
    TooLarge { len: usize, limit: usize },
}

/// The most bytes (length field, which counts itself) a backend message may declare, as libpq
/// bounds them: the types that carry data of any size — `RowDescription`, `DataRow`,
/// `CopyData`, `FunctionCallResponse`, `ErrorResponse`, `NoticeResponse`,
/// `NotificationResponse`, and `ParameterDescription` (4 bytes per parameter, up to 65,535) —
/// up to `long`; every other type up to `short`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimits {
    pub long: usize,
    pub short: usize,
}

impl MessageLimits {
    /// libpq's bound on the messages that carry no data of their own.
    pub const SHORT: usize = 30_000;
    /// The default `maxMessageSize`: 1 GiB, the most a PostgreSQL field can hold.
    pub const DEFAULT_MAX: usize = 1 << 30;
    /// During startup and authentication nothing needs more than libpq's short bound.
    pub const STARTUP: MessageLimits = MessageLimits {
        long: Self::SHORT,
        short: Self::SHORT,
    };
    /// No bound (for replies we built ourselves).
    pub const NONE: MessageLimits = MessageLimits {
        long: usize::MAX,
        short: usize::MAX,
    };

    /// An open connection's limits, with `maxMessageSize` for the data-carrying types.
    pub fn connected(max_message_size: usize) -> MessageLimits {
        MessageLimits {
            long: max_message_size,
            short: Self::SHORT,
        }
    }

    /// The bound for messages of type `ty`.
    pub fn of(&self, ty: u8) -> usize {
        match ty {
            b'T' | b'D' | b'd' | b'V' | b'E' | b'N' | b'A' | b't' => self.long,
            _ => self.short,
        }
    }

    /// The protocol error for a message of type `ty` declaring `len` bytes over `limit`.
    pub fn error(&self, ty: u8, len: usize, limit: usize) -> Error {
        let which = if limit == self.long && self.long != self.short {
            " (maxMessageSize)"
        } else {
            ""
        };
        Error::Protocol(format!(
            "Received {} message from backend of {len} bytes, over the limit of {limit}{which}.",
            message_name(ty)
        ))
    }
}

/// How the first frame in `buf` stands (see [`Framing`]), with no bound on its size (for
/// replies we built ourselves: use [`framing_within`] on bytes from the server).
pub fn framing(buf: &[u8]) -> Framing {
    framing_within(buf, &MessageLimits::NONE)
}

/// How the first frame in `buf` stands, refusing one that declares more than `limits` allow
/// as soon as its header has arrived.
pub fn framing_within(buf: &[u8], limits: &MessageLimits) -> Framing {
    if buf.len() < HEADER {
        return Framing::Incomplete;
    }
    let len = i32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
    if len < 4 {
        return Framing::Malformed(len);
    }
    let limit = limits.of(buf[0]);
    if len as usize > limit {
        return Framing::TooLarge {
            len: len as usize,
            limit,
        };
    }
    let total = len as usize + 1;
    if buf.len() >= total {
        Framing::Complete(total)
    } else {
        Framing::Incomplete
    }
}

/// Returns the total length (header included) of the first complete frame in `buf`, if any
/// (`None` for a malformed one too: use [`framing`] on bytes from the server).
pub fn complete_frame_len(buf: &[u8]) -> Option<usize> {
    match framing(buf) {
        Framing::Complete(len) => Some(len),
        _ => None,
    }
}

/// pg's name for a backend message type, as its errors say it ("Received unexpected
/// dataRow message from backend.").
pub fn message_name(ty: u8) -> &'static str {
    match ty {
        b'T' => "rowDescription",
        b'D' => "dataRow",
        b's' => "portalSuspended",
        b'I' => "emptyQuery",
        b'C' => "commandComplete",
        b'1' => "parseComplete",
        b'2' => "bindComplete",
        b'3' => "closeComplete",
        b'n' => "noData",
        b't' => "parameterDescription",
        b'G' => "copyInResponse",
        b'H' => "copyOutResponse",
        b'W' => "copyBothResponse",
        b'd' => "copyData",
        b'c' => "copyDone",
        b'Z' => "readyForQuery",
        b'E' => "errorMessage",
        b'N' => "notice",
        b'A' => "notification",
        b'S' => "parameterStatus",
        b'K' => "backendKeyData",
        b'R' => "authentication",
        b'v' => "negotiateProtocolVersion",
        _ => "unknown",
    }
}

/// Checks that a backend frame's body has the shape its type requires, so that nothing
/// downstream (the reader, the JS parser) reads past it. `Err` says what is wrong, in a
/// message fit for the caller's error.
pub fn check_frame(frame: &[u8]) -> std::result::Result<(), String> {
    let ty = frame[0];
    let body = &frame[HEADER..];
    let ok = match ty {
        b'D' => data_row_ok(body),
        b'T' => row_description_ok(body),
        b'C' | b'S' => {
            body.last() == Some(&0) && (ty != b'S' || body.iter().filter(|b| **b == 0).count() >= 2)
        }
        b'Z' => body.len() == 1 && matches!(body[0], b'I' | b'T' | b'E'),
        b'E' | b'N' => body.last() == Some(&0),
        b'A' => body.len() >= 6 && body[4..].iter().filter(|b| **b == 0).count() >= 2,
        b'K' => body.len() >= 8,
        b'R' => body.len() >= 4,
        b't' => body.len() >= 2,
        b'1' | b'2' | b'3' | b'n' | b'I' | b's' | b'c' => true,
        b'G' | b'H' | b'W' => body.len() >= 3,
        b'd' | b'v' => true,
        other => return Err(format!("received invalid response: {:x}", other)),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "Received malformed {} message from backend ({} bytes).",
            message_name(ty),
            body.len()
        ))
    }
}

/// A `DataRow` body: a column count, then each value's length (-1: NULL) and bytes, exactly.
fn data_row_ok(body: &[u8]) -> bool {
    counted_items_fill(body, |pos| {
        let l = body.get(pos..pos + 4)?;
        let len = i32::from_be_bytes([l[0], l[1], l[2], l[3]]);
        (len >= -1).then(|| pos + 4 + len.max(0) as usize)
    })
}

/// A `RowDescription` body: a field count, then per field a name and 18 bytes, exactly.
fn row_description_ok(body: &[u8]) -> bool {
    counted_items_fill(body, |pos| {
        let end = body.get(pos..)?.iter().position(|b| *b == 0)?;
        Some(pos + end + 1 + 18)
    })
}

/// A body that is a non-negative 16-bit count, then that many items, and nothing after them:
/// `item(pos)` gives where the item starting at `pos` ends, or `None` when it is malformed.
fn counted_items_fill(body: &[u8], item: impl Fn(usize) -> Option<usize>) -> bool {
    let Some(n) = body.get(..2) else { return false };
    let n = i16::from_be_bytes([n[0], n[1]]);
    if n < 0 {
        return false;
    }
    let mut pos = 2usize;
    for _ in 0..n {
        match item(pos) {
            Some(next) => pos = next,
            None => return false,
        }
    }
    pos == body.len()
}

/// Iterates over the `(field type, value)` pairs of an `ErrorResponse`/`NoticeResponse` frame.
pub fn fields(frame: &[u8]) -> impl Iterator<Item = (u8, &str)> {
    let body = frame.get(HEADER..).unwrap_or(&[]);
    let mut pos = 0;
    std::iter::from_fn(move || {
        let field = *body.get(pos)?;
        if field == 0 {
            return None;
        }
        let start = pos + 1;
        let end = start + body.get(start..)?.iter().position(|b| *b == 0)?;
        pos = end + 1;
        Some((field, std::str::from_utf8(&body[start..end]).unwrap_or("")))
    })
}

/// Appends a synthetic `!` frame carrying a client-side error code and message.
pub fn push_client_error(out: &mut Vec<u8>, code: &str, message: &str) {
    push_client_frame(out, code, message, None);
}

/// A `!` frame: `code\0message\0`, then, when the error has more members (a socket error's
/// `errno`, `syscall` …), those as a JSON object and `\0`.
fn push_client_frame(out: &mut Vec<u8>, code: &str, message: &str, extra: Option<&str>) {
    let extra_len = extra.map_or(0, |x| x.len() + 1);
    let len = 4 + code.len() + 1 + message.len() + 1 + extra_len;
    out.push(b'!');
    out.extend_from_slice(&(len as i32).to_be_bytes());
    out.extend_from_slice(code.as_bytes());
    out.push(0);
    out.extend_from_slice(message.as_bytes());
    out.push(0);
    if let Some(x) = extra {
        out.extend_from_slice(x.as_bytes());
        out.push(0);
    }
}

/// Builds a reply that holds only a client-side error.
pub fn client_error(code: &str, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + code.len() + message.len());
    push_client_error(&mut out, code, message);
    out
}

/// Appends `e` to a reply: a server error as its own `ErrorResponse` frame (every field
/// kept), any other as a `!` frame with its code and message.
pub fn push_error(out: &mut Vec<u8>, e: &Error) {
    match e {
        Error::Db(db) => out.extend_from_slice(&db.frame),
        e => push_client_frame(out, e.code(), &e.to_string(), e.facts_json().as_deref()),
    }
}

/// Builds a reply that holds only `e` (see [`push_error`]).
pub fn error_reply(e: &Error) -> Vec<u8> {
    let mut out = Vec::new();
    push_error(&mut out, e);
    out
}

/// Whether ErrorResponse `frame` ends the session (severity FATAL or PANIC; the
/// non-localized `V` field, else `S`).
pub fn is_fatal(frame: &[u8]) -> bool {
    let mut severity = None;
    for (f, v) in fields(frame) {
        match f {
            b'V' => return v == "FATAL" || v == "PANIC",
            b'S' => severity = Some(v == "FATAL" || v == "PANIC"),
            _ => {}
        }
    }
    severity.unwrap_or(false)
}

/// The server error an `ErrorResponse` frame (type byte and length included) carries.
pub fn db_error(frame: &[u8]) -> DbError {
    let mut code = String::new();
    let mut message = String::new();
    for (field, value) in fields(frame) {
        match field {
            b'C' => code = value.to_string(),
            b'M' => message = value.to_string(),
            _ => {}
        }
    }
    DbError {
        frame: frame.to_vec(),
        code,
        message,
    }
}

/// Reads a NUL-terminated string at the start of `buf`; returns it and the rest.
pub fn cstr(buf: &[u8]) -> Option<(&str, &[u8])> {
    let end = buf.iter().position(|b| *b == 0)?;
    Some((std::str::from_utf8(&buf[..end]).ok()?, &buf[end + 1..]))
}

/// Scans a reply for its outcome: `Some(code)` of the first `E` or `!` frame, if any.
pub fn first_error_code(reply: &[u8]) -> Option<String> {
    let mut pos = 0;
    while let Some(len) = complete_frame_len(&reply[pos..]) {
        let frame = &reply[pos..pos + len];
        match frame[0] {
            b'E' => {
                return Some(
                    fields(frame)
                        .find(|(f, _)| *f == b'C')
                        .map(|(_, v)| v.to_string())
                        .unwrap_or_default(),
                )
            }
            b'!' => {
                return Some(
                    cstr(&frame[HEADER..])
                        .map(|(c, _)| c.to_string())
                        .unwrap_or_default(),
                )
            }
            _ => {}
        }
        pos += len;
    }
    None
}

/// The type byte given to a `DataRow` whose every value is ASCII (see [`mark_ascii_rows`]).
pub const ASCII_ROW: u8 = b'd';

/// Rewrites the type byte of each `DataRow` (`D`) in `reply` whose values are all ASCII to
/// [`ASCII_ROW`], so that the JS layer can decode the row's bytes as one Latin-1 string and
/// cut the values out of it (the same characters UTF-8 decoding gives, for ASCII) instead of
/// decoding each value separately. Other frames, and rows with any byte ≥ 0x80 in a value,
/// are left as they are; a truncated frame ends the scan.
pub fn mark_ascii_rows(reply: &mut [u8]) {
    let mut pos = 0;
    while let Some(len) = complete_frame_len(&reply[pos..]) {
        let frame = &mut reply[pos..pos + len];
        if frame[0] == b'D' && row_values_ascii(&frame[HEADER..]) {
            frame[0] = ASCII_ROW;
        }
        pos += len;
    }
}

/// Whether every value in a `DataRow` body is ASCII (NULLs count as ASCII); `false` if the
/// body is malformed.
fn row_values_ascii(body: &[u8]) -> bool {
    let Some(n) = body.get(..2) else { return false };
    let n = i16::from_be_bytes([n[0], n[1]]);
    let mut pos = 2;
    for _ in 0..n {
        let Some(l) = body.get(pos..pos + 4) else {
            return false;
        };
        let len = i32::from_be_bytes([l[0], l[1], l[2], l[3]]);
        pos += 4;
        if len < 0 {
            continue;
        }
        let Some(v) = body.get(pos..pos + len as usize) else {
            return false;
        };
        if !v.is_ascii() {
            return false;
        }
        pos += len as usize;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![ty];
        v.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn frame_lengths() {
        let f = frame(b'C', b"SELECT 1\0");
        assert_eq!(complete_frame_len(&f), Some(f.len()));
        assert_eq!(complete_frame_len(&f[..f.len() - 1]), None);
        assert_eq!(complete_frame_len(&f[..3]), None);
    }

    #[test]
    fn a_frame_over_its_types_limit_is_refused_at_its_header() {
        let limits = MessageLimits::connected(1 << 20);
        let huge = [b'D', 0x7f, 0xff, 0xff, 0xff];
        assert_eq!(
            framing_within(&huge, &limits),
            Framing::TooLarge {
                len: 0x7fff_ffff,
                limit: 1 << 20
            }
        );
        // A short type is bounded by libpq's 30,000 bytes whatever maxMessageSize says.
        let c = [b'C', 0, 0, 0x75, 0x31];
        assert_eq!(
            framing_within(&c, &limits),
            Framing::TooLarge {
                len: 30_001,
                limit: 30_000
            }
        );
        assert_eq!(
            framing_within(&[b'C', 0, 0, 0x75, 0x30], &limits),
            Framing::Incomplete
        );
        let ok = frame(b'D', &[0; 100]);
        assert_eq!(framing_within(&ok, &limits), Framing::Complete(ok.len()));
        assert_eq!(framing(&huge), Framing::Incomplete);
        let e = limits.error(b'D', 0x7fff_ffff, 1 << 20);
        assert_eq!(e.code(), "LDP_PROTOCOL");
        assert!(e.to_string().contains("(maxMessageSize)"), "{e}");
    }

    #[test]
    fn error_fields_and_codes() {
        let f = frame(b'E', b"SERROR\0C22012\0Mdivision by zero\0\0");
        let got: Vec<_> = fields(&f).collect();
        assert_eq!(
            got,
            vec![(b'S', "ERROR"), (b'C', "22012"), (b'M', "division by zero")]
        );
        let mut reply = frame(b'C', b"SELECT 1\0");
        reply.extend_from_slice(&f);
        assert_eq!(first_error_code(&reply).as_deref(), Some("22012"));
        let c = client_error("LDP_X", "boom");
        assert_eq!(first_error_code(&c).as_deref(), Some("LDP_X"));
        assert_eq!(first_error_code(&frame(b'Z', b"I")), None);
    }

    #[test]
    fn fatal_and_panic_end_the_session() {
        let fatal = frame(b'E', b"SFATAL\0VFATAL\0C57P01\0Mterminating\0\0");
        assert!(is_fatal(&fatal));
        // A localized severity does not hide the non-localized one.
        assert!(is_fatal(&frame(b'E', b"SPANIK\0VPANIC\0CXX000\0Mx\0\0")));
        assert!(!is_fatal(&frame(b'E', b"SFATALE\0VERROR\0C22012\0Mx\0\0")));
        // Servers before 9.6 send only `S`.
        assert!(is_fatal(&frame(b'E', b"SFATAL\0C57P01\0Mx\0\0")));
        assert!(!is_fatal(&frame(b'E', b"SERROR\0C22012\0Mx\0\0")));
    }

    fn data_row(values: &[Option<&[u8]>]) -> Vec<u8> {
        let mut body = (values.len() as i16).to_be_bytes().to_vec();
        for v in values {
            match v {
                None => body.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(v) => {
                    body.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    body.extend_from_slice(v);
                }
            }
        }
        frame(b'D', &body)
    }

    #[test]
    fn ascii_rows_are_marked_and_others_left_alone() {
        // 200 bytes: the length field holds 0xC8, which must not count as a value byte.
        let long = [b'x'; 200];
        let ascii = data_row(&[Some(b"42"), None, Some(&long)]);
        let utf8 = data_row(&[Some(b"ok"), Some("h\u{e9}".as_bytes())]);
        let mut reply = frame(b'T', b"\0\0");
        let t_len = reply.len();
        reply.extend_from_slice(&ascii);
        reply.extend_from_slice(&utf8);
        reply.extend_from_slice(&frame(b'C', b"SELECT 2\0"));
        let before = reply.clone();
        mark_ascii_rows(&mut reply);
        assert_eq!(reply[0], b'T');
        assert_eq!(reply[t_len], ASCII_ROW);
        assert_eq!(reply[t_len + ascii.len()], b'D');
        // Only that one byte changed.
        let changed: Vec<_> = (0..reply.len())
            .filter(|&i| reply[i] != before[i])
            .collect();
        assert_eq!(changed, vec![t_len]);
    }

    #[test]
    fn malformed_rows_are_not_marked() {
        // Claims two values, holds one.
        let mut bad = frame(b'D', &[0, 2, 0, 0, 0, 1, b'a']);
        mark_ascii_rows(&mut bad);
        assert_eq!(bad[0], b'D');
        // A truncated trailing frame ends the scan without panicking.
        let mut reply = data_row(&[Some(b"1")]);
        reply.extend_from_slice(&[b'D', 0, 0, 0, 9, 0]);
        mark_ascii_rows(&mut reply);
        assert_eq!(reply[0], ASCII_ROW);
    }
}
