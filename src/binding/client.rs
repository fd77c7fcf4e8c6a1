//! `NativeClient`: one checkout, as seen from JS. Its finalizer is the garbage-collection
//! leak detector: a handle collected while still checked out is reclaimed and reported.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::convert::{statement, JsErrorInfo, JsParam};
use super::completions::Completions;
use crate::pool::Checkout;

/// See the module docs. Invariant: `checkout` is shared only with in-flight queries.
#[napi]
pub struct NativeClient {
    checkout: Arc<Checkout>,
    completions: Arc<Completions>,
    runtime: tokio::runtime::Handle,
}

impl NativeClient {
    pub fn new(checkout: Checkout, completions: Arc<Completions>, runtime: tokio::runtime::Handle) -> Self {
        NativeClient { checkout: Arc::new(checkout), completions, runtime }
    }
}

#[napi]
impl NativeClient {
    #[napi(getter)]
    pub fn conn_id(&self) -> f64 {
        self.checkout.conn_id() as f64
    }

    #[napi(getter)]
    pub fn checkout_id(&self) -> f64 {
        self.checkout.id() as f64
    }

    #[napi(getter)]
    pub fn process_id(&self) -> i32 {
        self.checkout.pid()
    }

    #[napi(getter)]
    pub fn is_new(&self) -> bool {
        self.checkout.is_new()
    }


    /// Runs a statement; the reply arrives through the pool's completions buffer under `id`.
    #[napi]
    pub fn submit(&self, id: u32, sql: String, params: Option<Vec<JsParam>>, name: Option<String>, extended: bool) {
        let stmt = statement(sql, params, name, extended);
        match self.checkout.submit(stmt) {
            Ok(rx) => {
                let completions = self.completions.clone();
                self.runtime.spawn(async move {
                    let reply = rx.await.unwrap_or_else(|_| {
                        crate::pg::frames::client_error("LDP_CONNECTION_TERMINATED", "Connection terminated unexpectedly")
                    });
                    completions.complete(id, &reply);
                });
            }
            Err(e) => self.completions.complete(id, &crate::pg::frames::client_error(e.code(), &e.to_string())),
        }
    }

    /// Releases the checkout: `true` if released now, `false` if the pool had already
    /// reclaimed it; a second release returns the error as data.
    #[napi]
    pub fn release(&self, destroy: bool) -> Either<bool, JsErrorInfo> {
        match self.checkout.release(destroy) {
            Ok(b) => Either::A(b),
            Err(e) => Either::B(JsErrorInfo::from(e)),
        }
    }

    /// Why this checkout can no longer be used, if it cannot.
    #[napi]
    pub fn unusable(&self) -> Option<JsErrorInfo> {
        self.checkout.unusable().map(JsErrorInfo::from)
    }

    /// Asks the server to cancel the running statement.
    #[napi]
    pub fn cancel<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let c = self.checkout.clone();
        env.spawn_future(async move {
            let _ = c.cancel().await;
            Ok(())
        })
    }
}
