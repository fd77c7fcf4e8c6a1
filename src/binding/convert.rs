//! Conversions between JS values and core types.

use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;

use crate::config::ConfigErrorKind;
use crate::error::Error;
use crate::pg::{frames, Param, Statement};
use crate::pool::CheckoutMeta;

/// A JS parameter after pg's `prepareValue`: text, bytes or null.
pub type JsParam = Option<Either<String, Buffer>>;

/// Builds the statement a JS query asks for. `extended` follows pg's rule (values present,
/// or a name), decided in JS; `binary` (pg's binary mode) asks an extended statement for
/// binary results, and means nothing for a simple one (its results are always text).
pub fn statement(
    sql: String,
    params: Option<Vec<JsParam>>,
    name: Option<String>,
    extended: bool,
    binary: bool,
) -> Statement {
    if !extended {
        return Statement::Simple(sql);
    }
    let params = params
        .unwrap_or_default()
        .into_iter()
        .map(|p| match p {
            None => Param::Null,
            Some(Either::A(s)) => Param::Text(s),
            Some(Either::B(b)) => Param::Binary(b.to_vec()),
        })
        .collect();
    Statement::Extended {
        sql,
        params,
        name,
        binary,
    }
}

/// Per-checkout options from `pool.connect({ tag, leakThresholdMs, forceReleaseAfterMs })`.
#[napi(object)]
pub struct JsCheckoutMeta {
    pub tag: Option<String>,
    /// -1: pool default; 0: exempt; > 0: threshold in ms.
    pub leak_threshold_ms: Option<f64>,
    pub force_release_after_ms: Option<f64>,
    /// The implicit checkout of `pool.query` (never reported as a leak).
    pub implicit: Option<bool>,
}

fn override_ms(v: Option<f64>) -> Option<Option<u64>> {
    match v {
        None => None,
        Some(x) if x < 0.0 => None,
        Some(0.0) => Some(None),
        Some(x) => Some(Some(x as u64)),
    }
}

impl From<Option<JsCheckoutMeta>> for CheckoutMeta {
    fn from(m: Option<JsCheckoutMeta>) -> Self {
        match m {
            None => CheckoutMeta::default(),
            // The acquisition site is JS's to present (it holds the stacks): none crosses.
            Some(m) => CheckoutMeta {
                tag: m.tag,
                leak_threshold_ms: override_ms(m.leak_threshold_ms),
                force_release_after_ms: override_ms(m.force_release_after_ms),
                implicit: m.implicit.unwrap_or(false),
                ..CheckoutMeta::default()
            },
        }
    }
}

/// An error as data; `fromInfo` in `lib/errors.js` turns it into an `Error` with `code` (one
/// conversion point).
#[napi(object)]
pub struct JsErrorInfo {
    pub code: String,
    pub message: String,
    /// JSON: extra fields (e.g. `holders` of an exhaustion error, or a server error's fields).
    pub extra: Option<String>,
}

/// The message JS gets for `e`: an acquire timeout (for the pool or for a tag) carries pg's
/// message alone, because JS appends the holders itself (it knows their stacks); any other error its own message.
fn js_message(e: &Error) -> String {
    match e {
        Error::AcquireTimeout(_) | Error::TagLimitTimeout(_) => Error::ACQUIRE_TIMEOUT.to_string(),
        e => e.to_string(),
    }
}

/// The reply frames of a failed acquire: a server error (e.g. 28P01 while connecting) keeps
/// its frame, so JS builds pg's DatabaseError with every field; any other is a `!` frame.
pub fn acquire_error_frames(e: &Error) -> Vec<u8> {
    match e {
        Error::Db(db) => db.frame.clone(),
        Error::Socket(_) => frames::error_reply(e),
        e => frames::client_error(e.code(), &js_message(e)),
    }
}

impl From<Error> for JsErrorInfo {
    fn from(e: Error) -> Self {
        let extra = match &e {
            Error::Db(db) => Some(
                serde_json::to_string(&super::events::frame_fields(&db.frame)).unwrap_or_default(),
            ),
            // Which of pg's error classes applies, and the option at fault.
            Error::Config(c) => Some(
                serde_json::json!({
                    "kind": match c.kind {
                        ConfigErrorKind::Type => "TypeError",
                        ConfigErrorKind::Range => "RangeError",
                    },
                    "option": c.option,
                })
                .to_string(),
            ),
            other => other.facts_json(),
        };
        JsErrorInfo {
            code: e.code().to_string(),
            message: js_message(&e),
            extra,
        }
    }
}
