//! What a caller asks of a connection, and how it is encoded on the wire.
//!
//! Protocol choice follows node-postgres: text without parameters goes through the simple
//! protocol; with parameters or a name, the extended protocol in one round trip
//! (`Parse`/`Bind`/`Describe`/`Execute`/`Sync`). Parameters are sent in text format with
//! unspecified types (the server infers them, as for pg); `Buffer`s in binary format.
//! Results are requested in text format, unless the statement asks for binary results (pg's
//! `binary` mode): then one result format code, binary, covers every column, as pg sends it.
//! The simple protocol has no format codes: its results are always text.

use bytes::BytesMut;
use postgres_protocol::message::frontend;
use postgres_protocol::IsNull;

use crate::error::Error;

/// One query parameter, already prepared the way pg's `prepareValue` does.
#[derive(Debug, Clone)]
pub enum Param {
    /// SQL NULL.
    Null,
    /// Sent in text format, its type inferred by the server.
    Text(String),
    /// Sent in binary format (a `Buffer`, for `bytea`).
    Binary(Vec<u8>),
}

/// The statement to run.
#[derive(Debug, Clone)]
pub enum Statement {
    /// Simple protocol: may contain several statements; no parameters.
    Simple(String),
    /// Extended protocol. `name` is the caller's prepared-statement name (pg's `name`
    /// option); `None` lets the connection's statement cache decide. `binary` asks for every
    /// result column in binary format (its RowDescription then says so, column by column).
    Extended {
        sql: String,
        params: Vec<Param>,
        name: Option<String>,
        binary: bool,
    },
}

/// How the extended-protocol statement is executed on this connection.
pub enum Plan<'a> {
    /// `Parse("")` each time (statement cache disabled, or busy).
    Unnamed,
    /// First use of a cache entry or of a caller-named statement: `Parse(name)` then execute.
    ParseNamed(&'a str),
    /// Already parsed under this name on this connection: `Bind` + `Execute` only.
    Reuse(&'a str),
}

/// Encodes an extended-protocol execution into `buf`. `describe` asks for a RowDescription
/// (needed unless the caller already has it cached); `binary` asks for binary results (one
/// result format code, 1, for all columns; none — all text — otherwise).
pub fn encode_extended(
    buf: &mut BytesMut,
    sql: &str,
    params: &[Param],
    plan: Plan<'_>,
    describe: bool,
    binary: bool,
) -> Result<(), Error> {
    let name = match plan {
        Plan::Unnamed => "",
        Plan::ParseNamed(n) | Plan::Reuse(n) => n,
    };
    if !matches!(plan, Plan::Reuse(_)) {
        frontend::parse(name, sql, std::iter::empty(), buf)
            .map_err(|e| encode_error(e, &[name, sql]))?;
    }
    let formats = params.iter().map(|p| matches!(p, Param::Binary(_)) as i16);
    let r = frontend::bind(
        "",
        name,
        formats,
        params.iter(),
        |p, out| match p {
            Param::Null => Ok(IsNull::Yes),
            Param::Text(s) => {
                out.extend_from_slice(s.as_bytes());
                Ok(IsNull::No)
            }
            Param::Binary(b) => {
                out.extend_from_slice(b);
                Ok(IsNull::No)
            }
        },
        binary.then_some(1),
        buf,
    );
    if r.is_err() {
        return Err(Error::QueryEncoding("could not encode parameters".into()));
    }
    if describe {
        frontend::describe(b'P', "", buf).map_err(|e| encode_error(e, &[]))?;
    }
    frontend::execute("", 0, buf).map_err(|e| encode_error(e, &[]))?;
    frontend::sync(buf);
    Ok(())
}

/// Encodes a simple-protocol query.
pub fn encode_simple(buf: &mut BytesMut, sql: &str) -> Result<(), Error> {
    frontend::query(sql, buf).map_err(|e| encode_error(e, &[sql]))
}

/// Classifies a failure of the codec by what it was given: the protocol's C strings (`cstrs`)
/// cannot carry a NUL byte; anything else is a value the protocol cannot frame (too long).
fn encode_error(e: std::io::Error, cstrs: &[&str]) -> Error {
    if cstrs.iter().any(|s| s.contains('\0')) {
        Error::QueryHasNul
    } else {
        Error::QueryEncoding(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The result format codes of the (one) Bind message in `buf`.
    fn bind_result_formats(buf: &[u8]) -> Vec<i16> {
        let mut pos = 0;
        while buf[pos] != b'B' {
            pos += 1 + i32::from_be_bytes(buf[pos + 1..pos + 5].try_into().unwrap()) as usize;
        }
        let len = i32::from_be_bytes(buf[pos + 1..pos + 5].try_into().unwrap()) as usize;
        let body = &buf[pos + 5..pos + 1 + len];
        let i16_at = |at: usize| i16::from_be_bytes([body[at], body[at + 1]]);
        let mut at = 0;
        for _ in 0..2 {
            // portal, then statement name
            at += body[at..].iter().position(|&b| b == 0).unwrap() + 1;
        }
        let param_formats = i16_at(at) as usize;
        at += 2 + 2 * param_formats;
        let params = i16_at(at);
        at += 2;
        for _ in 0..params {
            let len = i32::from_be_bytes(body[at..at + 4].try_into().unwrap());
            at += 4 + len.max(0) as usize;
        }
        let n = i16_at(at) as usize;
        let formats = (0..n).map(|i| i16_at(at + 2 + 2 * i)).collect();
        assert_eq!(
            at + 2 + 2 * n,
            body.len(),
            "the Bind ends after its result formats"
        );
        formats
    }

    fn encoded(plan: Plan<'_>, binary: bool) -> BytesMut {
        let params = [
            Param::Text("1".into()),
            Param::Null,
            Param::Binary(vec![0xff, 0]),
        ];
        let mut buf = BytesMut::new();
        encode_extended(&mut buf, "SELECT $1, $2, $3", &params, plan, true, binary).unwrap();
        buf
    }

    #[test]
    fn binary_results_are_asked_for_with_one_format_code_for_all_columns() {
        for plan in [Plan::Unnamed, Plan::ParseNamed("s"), Plan::Reuse("s")] {
            assert_eq!(bind_result_formats(&encoded(plan, true)), [1]);
        }
    }

    #[test]
    fn text_results_send_no_format_code() {
        for plan in [Plan::Unnamed, Plan::ParseNamed("s"), Plan::Reuse("s")] {
            assert_eq!(bind_result_formats(&encoded(plan, false)), [0i16; 0]);
        }
    }
}
