//! `NativeClient`: one checkout, as seen from JS. Its finalizer is the garbage-collection
//! leak detector: a handle collected while still checked out is reclaimed and reported.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::completions::Completions;
use super::convert::{statement, JsErrorInfo, JsParam};
use crate::pg::conn::ReplyTo;
use crate::pool::Checkout;

/// See the module docs. Invariant: `checkout` is shared only with in-flight queries.
#[napi]
pub struct NativeClient {
    checkout: Arc<Checkout>,
    completions: Arc<Completions>,
}

impl NativeClient {
    pub fn new(checkout: Checkout, completions: Arc<Completions>) -> Self {
        NativeClient {
            checkout: Arc::new(checkout),
            completions,
        }
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
    pub fn submit(
        &self,
        id: u32,
        sql: String,
        params: Option<Vec<JsParam>>,
        name: Option<String>,
        extended: bool,
    ) {
        let completions = self.completions.clone();
        let reply = ReplyTo::Callback(Box::new(move |reply| completions.complete(id, &reply)));
        self.checkout
            .submit_to(statement(sql, params, name, extended), reply);
    }

    /// Releases the checkout: bit 0 set if released now (clear if the pool had already
    /// reclaimed it), bit 1 set if the release served queued callers whose completions the
    /// caller must drain at once (no wake-up was sent for them); a second release returns
    /// the error as data.
    #[napi]
    pub fn release(&self, destroy: bool) -> Either<u32, JsErrorInfo> {
        let (r, drain) = self.completions.hold(|| self.checkout.release(destroy));
        match r {
            Ok(b) => Either::A(u32::from(b) | (u32::from(drain) << 1)),
            Err(e) => {
                if drain {
                    // An error is not a drain request: hand the completions to the wake-up.
                    self.completions.wake();
                }
                Either::B(JsErrorInfo::from(e))
            }
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
