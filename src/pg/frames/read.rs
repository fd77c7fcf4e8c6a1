//! Reading what a reply's frames say: an error's fields, whether it ends the session, the
//! first error code of a reply.

use super::{complete_frame_len, HEADER};
use crate::error::DbError;

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
