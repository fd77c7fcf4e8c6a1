//! Conversions between JS values and core types.

use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;

use crate::config::ConfigErrorKind;
use crate::error::Error;
use crate::pg::{Param, Statement};
use crate::pool::CheckoutMeta;

/// A JS parameter after pg's `prepareValue`: text, bytes or null.
pub type JsParam = Option<Either<String, Buffer>>;

/// Builds the statement a JS query asks for. `extended` follows pg's rule (values present,
/// or a name), decided in JS.
pub fn statement(
    sql: String,
    params: Option<Vec<JsParam>>,
    name: Option<String>,
    extended: bool,
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
    Statement::Extended { sql, params, name }
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

impl From<Error> for JsErrorInfo {
    fn from(e: Error) -> Self {
        let extra = match &e {
            Error::Db(db) => Some(
                serde_json::to_string(&super::events::frame_fields(&db.frame)).unwrap_or_default(),
            ),
            Error::AcquireTimeout(_, holders) => Some(holders.clone()),
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
            _ => None,
        };
        JsErrorInfo {
            code: e.code().to_string(),
            message: e.to_string(),
            extra,
        }
    }
}
