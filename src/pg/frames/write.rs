//! Writing client-side errors into a reply: the synthetic `!` frame.

use crate::error::Error;

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
