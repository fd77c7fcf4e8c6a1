//! What a caller asks of a connection, and how it is encoded on the wire.
//!
//! Protocol choice follows node-postgres: text without parameters goes through the simple
//! protocol; with parameters or a name, the extended protocol in one round trip
//! (`Parse`/`Bind`/`Describe`/`Execute`/`Sync`). Parameters are sent in text format with
//! unspecified types (the server infers them, as for pg); `Buffer`s in binary format.
//! Results are always requested in text format, the bytes pg's type parsers expect.

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
    /// option); `None` lets the connection's statement cache decide.
    Extended {
        sql: String,
        params: Vec<Param>,
        name: Option<String>,
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
/// (needed unless the caller already has it cached).
pub fn encode_extended(
    buf: &mut BytesMut,
    sql: &str,
    params: &[Param],
    plan: Plan<'_>,
    describe: bool,
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
        std::iter::empty(),
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
