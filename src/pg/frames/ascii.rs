//! Marking the `DataRow`s whose values are all ASCII, for the JS layer's fast decoding.

use super::{complete_frame_len, HEADER};

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
