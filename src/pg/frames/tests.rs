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
