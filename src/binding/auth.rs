//! What a pool asks of JS to authenticate and to trust a server: the user's password function
//! (called only when a server asks a new connection for a password) and Node's default CA
//! certificates (asked once per process, by the first pool that uses TLS).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;

use crate::config::PasswordSpec;
use crate::error::Error as CoreError;
use crate::pg::DefaultRoots;
use crate::pool::{PasswordSource, StaticPassword};

/// `() => Promise<string | null>`: the JS side wraps pg's password function.
pub(super) type PasswordFn =
    ThreadsafeFunction<(), Promise<Option<String>>, (), Status, false, true>;

pub(super) struct JsPassword(pub(super) Arc<PasswordFn>);

impl PasswordSource for JsPassword {
    fn password(&self) -> Pin<Box<dyn Future<Output = crate::Result<Option<String>>> + Send>> {
        let f = self.0.clone();
        Box::pin(async move {
            let p = f
                .call_async(())
                .await
                .map_err(|e| CoreError::Auth(format!("password function failed: {}", e.reason)))?;
            p.await.map_err(|e| {
                // napi-rs words a promise that was garbage-collected before it settled (its
                // sender dropped) with the channel's own message.
                if e.reason == "oneshot canceled" {
                    CoreError::Auth(
                        "the password function's promise was garbage-collected without ever settling"
                            .into(),
                    )
                } else {
                    CoreError::Auth(format!("password function failed: {}", e.reason))
                }
            })
        })
    }
}

/// Node's default CA certificates, asked of JS once per process and only by a pool that uses
/// TLS: a process without TLS never copies them, and every TLS pool shares one copy.
static DEFAULT_ROOTS: std::sync::OnceLock<DefaultRoots> = std::sync::OnceLock::new();

pub(super) fn process_roots(ask: &Function<(), String>) -> Result<DefaultRoots> {
    if let Some(r) = DEFAULT_ROOTS.get() {
        return Ok(r.clone());
    }
    let pem = ask.call(())?;
    Ok(DEFAULT_ROOTS
        .get_or_init(|| DefaultRoots::from_pem(pem))
        .clone())
}

/// What supplies a new connection's password: the option's or connection string's own
/// (`Static`), else the user's function, or, when nothing gave a password, JS's password-file
/// lookup (pg reads `~/.pgpass` / `PGPASSFILE` then, with the `pgpass` package), passed as
/// `f`; with neither, none.
pub(super) fn password_source(
    spec: &PasswordSpec,
    f: Option<Function<(), Promise<Option<String>>>>,
) -> Result<Arc<dyn PasswordSource>> {
    Ok(match (spec, f) {
        (PasswordSpec::Dynamic | PasswordSpec::None, Some(f)) => Arc::new(JsPassword(Arc::new(
            f.build_threadsafe_function::<()>()
                .weak::<true>()
                .callee_handled::<false>()
                .build()?,
        ))),
        (PasswordSpec::Static(s), _) => Arc::new(StaticPassword(Some(s.expose().to_string()))),
        _ => Arc::new(StaticPassword(None)),
    })
}
