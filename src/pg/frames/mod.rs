//! Backend message framing and the reply buffer handed to callers.
//!
//! A backend message is `type: u8, len: i32 BE (includes itself), body`. Replies to a request
//! are the raw frames of the messages that carry results (`T`, `D`, `C`, `I`, `E`, `Z`) copied
//! back to back, so that the JS layer parses them once, exactly as node-postgres's parser would;
//! client-side failures are added as a synthetic `!` frame (`code\0message\0`).
//!
//! Here: framing a message and checking its shape; `read.rs` reads what a reply's frames say,
//! `write.rs` writes client-side errors into one, `ascii.rs` marks the all-ASCII rows.

mod ascii;
mod read;
#[cfg(test)]
mod tests;
mod write;

pub use ascii::{mark_ascii_rows, ASCII_ROW};
pub use read::{cstr, db_error, fields, first_error_code, is_fatal};
pub use write::{client_error, error_reply, push_client_error, push_error};

use crate::error::Error;

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
