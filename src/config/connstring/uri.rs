//! JavaScript's URI encoding and decoding functions, as pg-connection-string uses them.

/// pg's test `/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i`: a space or a broken escape.
pub(super) fn needs_encoding(s: &str) -> bool {
    let c: Vec<char> = s.chars().collect();
    c.iter().enumerate().any(|(i, &ch)| {
        ch == ' '
            || (ch == '%'
                && match (c.get(i + 1), c.get(i + 2)) {
                    (Some(a), _) if !a.is_ascii_hexdigit() => true,
                    (Some(_), Some(b)) => !b.is_ascii_hexdigit(),
                    _ => false,
                })
    })
}

/// JavaScript's `encodeURI`.
pub(super) fn encode_uri(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() || "-_.!~*'();/?:@&=+$,#".contains(ch) {
            out.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// `.replace(/%25(\d\d)/g, '%$1')`: undoes the double encoding of `%` + two digits.
pub(super) fn restore_digit_escapes(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"%25")
            && b.get(i + 3).is_some_and(u8::is_ascii_digit)
            && b.get(i + 4).is_some_and(u8::is_ascii_digit)
        {
            out.extend_from_slice(&[b'%', b[i + 3], b[i + 4]]);
            i += 5;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("only ASCII bytes were rewritten")
}

/// JavaScript's `decodeURIComponent`; `None` where it would throw `URIError`.
pub(crate) fn decode_uri_component(s: &str) -> Option<String> {
    percent_decode(s, "")
}

/// JavaScript's `decodeURI` (escapes of `;/?:@&=+$,#` stay as they are).
pub(crate) fn decode_uri(s: &str) -> Option<String> {
    percent_decode(s, ";/?:@&=+$,#")
}

fn percent_decode(s: &str, keep: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let hex = s.get(i + 1..i + 3)?;
        let byte = u8::from_str_radix(hex, 16).ok()?;
        if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
            return None;
        }
        if byte.is_ascii() && keep.contains(byte as char) {
            out.extend_from_slice(&b[i..i + 3]);
        } else {
            out.push(byte);
        }
        i += 3;
    }
    String::from_utf8(out).ok()
}
