//! Backend message framing and the reply buffer handed to callers.
//!
//! A backend message is `type: u8, len: i32 BE (includes itself), body`. Replies to a request
//! are the raw frames of the messages that carry results (`T`, `D`, `C`, `I`, `E`, `Z`) copied
//! back to back, so that the JS layer parses them once, exactly as node-postgres's parser would;
//! client-side failures are added as a synthetic `!` frame (`code\0message\0`).

/// Length of a frame header (type byte + length).
pub const HEADER: usize = 5;

/// Returns the total length (header included) of the first complete frame in `buf`, if any.
pub fn complete_frame_len(buf: &[u8]) -> Option<usize> {
    if buf.len() < HEADER {
        return None;
    }
    let len = i32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize + 1;
    if buf.len() >= len {
        Some(len)
    } else {
        None
    }
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
    let len = 4 + code.len() + 1 + message.len() + 1;
    out.push(b'!');
    out.extend_from_slice(&(len as i32).to_be_bytes());
    out.extend_from_slice(code.as_bytes());
    out.push(0);
    out.extend_from_slice(message.as_bytes());
    out.push(0);
}

/// Builds a reply that holds only a client-side error.
pub fn client_error(code: &str, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + code.len() + message.len());
    push_client_error(&mut out, code, message);
    out
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
}
