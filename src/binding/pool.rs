//! `NativePool`: the JS-facing handle of a core [`Pool`].

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::auth::{password_source, process_roots};
use super::checkouts::{check_info, Checkouts};
use super::completions::Completions;
use super::convert::{acquire_error_frames, statement, JsCheckoutMeta, JsErrorInfo, JsParam};
use super::events::{JsEvents, QueuedEvent};
use super::loop_reads::LoopReads;
use crate::config::{PoolConfig, SslConfig};
use crate::error::Error as CoreError;
use crate::pg::{PartialSink, ReadScheduler, ReplyFn, ReplyTo};
use crate::pool::{Pool, Retired};
use std::sync::atomic::{AtomicBool, Ordering};

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// See the module docs.
#[napi]
pub struct NativePool {
    pool: Pool,
    completions: Arc<Completions>,
    /// Checkouts JS holds (see [`Checkouts`]).
    held: Checkouts,
    /// Who reads the pool's plain sockets on the JS thread (`None`: reader tasks do).
    reads: Option<Arc<LoopReads>>,
    /// Set once JS listens for `connect`/`acquire`/`release`: each `pool.query` reply is then
    /// preceded by a record of the connection it ran on (see [`NativePool::submit`]).
    watch: Arc<AtomicBool>,
}

#[napi]
impl NativePool {
    /// Builds a pool from the user's options; they are parsed and validated here, once.
    /// `optionsJson`: the options the core reads (see `lib/options.js`); `onEvent(json)`: the
    /// event sink; `onComplete()`: the completions wake-up; `password`: the user's password
    /// function when the password is one, else used only when the options, the connection
    /// string and `PGPASSWORD` give no password (the password file); either is called only when
    /// a server asks a new connection for a password; `defaultRoots()`: returns the PEM
    /// certificates trusted when `ssl.ca` is not given (what Node's TLS trusts), called at most
    /// once per process, by the first pool that uses TLS; `pgDefaultsJson`: the keys of pg's
    /// global defaults (`pg.defaults`) whose value differs from pg's stock one, beneath the
    /// options and the environment (see `lib/pg-defaults.js`); a function among them (a
    /// password) is the `password` function. Returns the pool, or the invalid option as data
    /// (`LDP_INVALID_OPTION`, `extra`: `{ kind, option }`).
    #[napi(ts_return_type = "NativePool | JsErrorInfo", catch_unwind)]
    pub fn open(
        options_json: String,
        on_event: Function<String, ()>,
        on_complete: Function<(), ()>,
        password: Option<Function<(), Promise<Option<String>>>>,
        default_roots: Option<Function<(), String>>,
        pg_defaults_json: Option<String>,
    ) -> Result<Either<NativePool, JsErrorInfo>> {
        let json = |s: &str| -> Result<serde_json::Value> {
            serde_json::from_str(s).map_err(|e| Error::from_reason(e.to_string()))
        };
        let v = json(&options_json)?;
        let pg_defaults = match &pg_defaults_json {
            Some(s) => json(s)?,
            None => serde_json::Value::Null,
        };
        let config = match PoolConfig::from_options_and_defaults(&v, &pg_defaults, &env_var) {
            Ok(c) => c,
            Err(e) => return Ok(Either::B(JsErrorInfo::from(CoreError::Config(e)))),
        };
        let events = on_event
            .build_threadsafe_function::<QueuedEvent>()
            .weak::<true>()
            .callee_handled::<false>()
            // On the JS thread: the ticket is given back as the event is handed to JS.
            .build_callback(|ctx| Ok(ctx.value.0))?;
        let password = password_source(&config.connect.password, password)?;
        let runtime = napi::bindgen_prelude::block_on(async { tokio::runtime::Handle::current() });
        let wake = on_complete
            .build_threadsafe_function::<()>()
            .weak::<true>()
            .callee_handled::<false>()
            .build()?;
        let completions = Completions::new(wake);
        // Sockets are read on the JS thread unless LDP_LOOP_READS=0 (then by reader tasks).
        let reads = (std::env::var("LDP_LOOP_READS").as_deref() != Ok("0"))
            .then(|| LoopReads::new(completions.clone(), runtime.clone()))
            .flatten();
        let uses_tls = matches!(config.connect.ssl, SslConfig::Enabled(_));
        let mut builder = Pool::builder(config)
            .events(Arc::new(JsEvents(events)))
            .password(password);
        if let (true, Some(f)) = (uses_tls, &default_roots) {
            builder = builder.default_roots(process_roots(f)?);
        }
        if let Some(r) = &reads {
            builder = builder.read_scheduler(r.clone() as Arc<dyn ReadScheduler>);
        }
        let pool = builder.build(runtime);
        Ok(Either::A(NativePool {
            pool,
            completions,
            reads,
            held: Checkouts::default(),
            watch: Arc::default(),
        }))
    }

    /// The resolved options as JSON (`ResolvedOptions`: defaults applied, connection string
    /// and environment merged, no password): what the JS layer reads instead of re-deriving.
    #[napi(catch_unwind)]
    pub fn resolved_options(&self) -> String {
        serde_json::to_string(&self.pool.config().resolved()).unwrap_or_default()
    }

    #[napi(getter, catch_unwind)]
    pub fn total_count(&self) -> u32 {
        self.pool.counts().total as u32
    }

    #[napi(getter, catch_unwind)]
    pub fn idle_count(&self) -> u32 {
        self.pool.counts().idle as u32
    }

    #[napi(getter, catch_unwind)]
    pub fn waiting_count(&self) -> u32 {
        self.pool.counts().waiting as u32
    }

    #[napi(getter, catch_unwind)]
    pub fn expired_count(&self) -> u32 {
        self.pool.counts().expired as u32
    }

    /// Removes the idle connections past their idle timeout or lifetime now (see
    /// `Pool::reap_due`).
    #[napi(catch_unwind)]
    pub fn reap_due(&self) {
        self.pool.reap_due();
    }

    /// All counts as JSON (`total, idle, waiting, active, expired, ending, ended`).
    #[napi(catch_unwind)]
    pub fn counts(&self) -> String {
        serde_json::to_string(&self.pool.counts()).unwrap_or_default()
    }

    /// Checks out a connection; counters change before this returns. Returns `true` when an
    /// idle connection was free: the checkout is held and its facts are in `out`
    /// (`[checkoutId, connId, processId, isNew]`). Otherwise `false`, and the outcome arrives
    /// through the completions buffer under `id`: a `CHECKOUT` record with the checkout's facts
    /// (JS holds it from the drain that takes the record on), or an error's frames.
    #[napi(catch_unwind)]
    pub fn connect(
        &self,
        id: u32,
        meta: Option<JsCheckoutMeta>,
        mut out: Float64ArraySlice<'_>,
    ) -> Result<bool> {
        // SAFETY: JS is blocked in this call and the array is not shared with other threads.
        let out = unsafe { out.as_mut() };
        check_info(out)?;
        let completions = self.completions.clone();
        let c = self.pool.try_connect_with(meta.into(), move |r| match r {
            Ok(c) => completions.checkout(id, c),
            Err(e) => completions.complete(id, acquire_error_frames(&e)),
        });
        Ok(match c {
            Some(c) => {
                self.held.insert(c, out);
                true
            }
            None => false,
        })
    }

    /// Runs a statement on held checkout `checkoutId`; the reply arrives through the
    /// completions buffer under `id` (an error reply if the checkout is no longer held or
    /// usable).
    // One argument per part of the statement: no object to build per query on the JS side.
    #[allow(clippy::too_many_arguments)]
    #[napi(catch_unwind)]
    pub fn client_submit(
        &self,
        checkout_id: f64,
        id: u32,
        sql: String,
        params: Option<Vec<JsParam>>,
        name: Option<String>,
        extended: bool,
        binary: bool,
    ) {
        self.pool.panic_hooks().check("clientSubmit");
        let (partial, done) = self.reply_sinks(id);
        let reply = ReplyTo::Streaming(partial, done);
        match self.held.get(checkout_id as u64) {
            Some(c) => c.submit_to(statement(sql, params, name, extended, binary), reply),
            None => reply.fail(&CoreError::QueryAfterRelease),
        }
    }

    /// Opens a raw session (pg's Submittable contract: the caller speaks the protocol) on held
    /// checkout `checkoutId` and writes `first`, its first frontend messages. Every backend
    /// message up to its `ReadyForQuery` arrives, unchanged, through the completions buffer
    /// under `id`: leading parts as they are read, the last part ending the session (an error
    /// reply if the checkout is no longer usable).
    #[napi(catch_unwind)]
    pub fn session_open(&self, checkout_id: f64, id: u32, first: BufferSlice<'_>) {
        let parts = self.completions.clone();
        let last = self.completions.clone();
        let reply = ReplyTo::Session(
            Arc::new(move |part| parts.session(id, part, false)),
            Box::new(move |part| last.session(id, part, true)),
        );
        match self.held.get(checkout_id as u64) {
            Some(c) => c.open_session(&first, reply),
            None => reply.fail(&CoreError::QueryAfterRelease),
        }
    }

    /// Writes frontend messages of the session open on held checkout `checkoutId`. `true`
    /// when the socket took everything queued at once; otherwise an empty completion under
    /// `id` says when it has (the writer's back-pressure).
    #[napi(catch_unwind)]
    pub fn session_write(&self, checkout_id: f64, bytes: BufferSlice<'_>, id: u32) -> bool {
        let Some(c) = self.held.get(checkout_id as u64) else {
            return true;
        };
        let completions = self.completions.clone();
        c.session_write(
            &bytes,
            Box::new(move || completions.complete(id, Vec::new())),
        )
    }

    /// The consumer of the session open on held checkout `checkoutId` consumed `n` more bytes
    /// of its reply; a socket paused for it is read again at once when that was enough.
    #[napi(catch_unwind)]
    pub fn session_ack(&self, env: Env, checkout_id: f64, n: f64) {
        if let Some(c) = self.held.get(checkout_id as u64) {
            c.session_ack(n as usize);
        }
        if let Some(reads) = &self.reads {
            reads.start_waiting(&env);
        }
    }

    /// The SQL text of statement `name` prepared on held checkout `checkoutId`'s connection
    /// (by a query or a Submittable), if any.
    #[napi(catch_unwind)]
    pub fn statement_text(&self, checkout_id: f64, name: String) -> Option<String> {
        self.held
            .get(checkout_id as u64)
            .and_then(|c| c.named_statement(&name))
    }

    /// Records statement `name` as prepared with `text` by a Submittable on held checkout
    /// `checkoutId`'s connection.
    #[napi(catch_unwind)]
    pub fn note_statement(&self, checkout_id: f64, name: String, text: String) {
        if let Some(c) = self.held.get(checkout_id as u64) {
            c.note_named_statement(&name, &text);
        }
    }

    /// Releases held checkout `checkoutId`. Returns bits: bit 0 set if released now (clear if
    /// the pool had already reclaimed it), bit 2 set if an event about this checkout may still
    /// follow (`leakResolved`, `releasedInTransaction`), bit 3 set if the connection was
    /// retired as spent (`maxUses`), bit 4 as expired (`maxLifetimeSeconds`). When the
    /// release served queued callers (no wake-up was sent for them), it returns instead what
    /// `takeCompletions()` would, with the bits (and bit 1) as its last 4 bytes: JS drains it
    /// at once. A release of a checkout no longer held returns the error as data.
    #[napi(ts_return_type = "number | JsErrorInfo | Buffer", catch_unwind)]
    pub fn release<'env>(
        &self,
        env: &'env Env,
        checkout_id: f64,
        destroy: bool,
    ) -> Result<Either3<u32, JsErrorInfo, Either<BufferSlice<'env>, Buffer>>> {
        let Some(c) = self.held.remove(checkout_id as u64) else {
            return Ok(Either3::B(JsErrorInfo::from(CoreError::ReleasedTwice)));
        };
        let (r, drain) = self.completions.hold(|| c.release_noting(destroy));
        match r {
            Ok(r) => {
                let bits = u32::from(r.released)
                    | (u32::from(drain) << 1)
                    | (u32::from(r.event_may_follow) << 2)
                    | (u32::from(r.retired == Some(Retired::Spent)) << 3)
                    | (u32::from(r.retired == Some(Retired::Expired)) << 4);
                if drain {
                    self.take_for_js(env, Some(bits)).map(Either3::C)
                } else {
                    Ok(Either3::A(bits))
                }
            }
            Err(e) => {
                if drain {
                    // An error is not a drain request: hand the completions to the wake-up.
                    self.completions.wake();
                }
                Ok(Either3::B(JsErrorInfo::from(e)))
            }
        }
    }

    /// Removes idle connection `connId` now (its client emitted `error` while idle); false if
    /// the pool holds no such idle connection.
    #[napi(catch_unwind)]
    pub fn evict(&self, conn_id: f64) -> bool {
        self.pool.evict(conn_id as u64)
    }

    /// JS no longer refers to checkout `checkoutId`: the pool reclaimed it (a no-op drop), or
    /// the client holding it was garbage-collected (the drop reclaims it as a certain leak).
    #[napi(catch_unwind)]
    pub fn discard(&self, checkout_id: f64) {
        drop(self.held.remove(checkout_id as u64));
    }

    /// Asks the server to cancel the statement running on held checkout `checkoutId`.
    #[napi(catch_unwind)]
    pub fn cancel<'env>(&self, env: &'env Env, checkout_id: f64) -> Result<PromiseRaw<'env, ()>> {
        let c = self.held.get(checkout_id as u64);
        env.spawn_future(async move {
            if let Some(c) = c {
                let _ = c.cancel().await;
            }
            Ok(())
        })
    }

    /// `pool.query` with an implicit checkout; the reply arrives through the completions
    /// buffer under `id`. Counters change before this returns. Once `watchImplicit()` was
    /// called, the reply is preceded by a record under id 0 naming the connection it ran on
    /// (`[id u32][connId u32][processId i32][isNew u8]`).
    #[napi(catch_unwind)]
    pub fn submit(
        &self,
        id: u32,
        sql: String,
        params: Option<Vec<JsParam>>,
        name: Option<String>,
        extended: bool,
        binary: bool,
    ) {
        let (partial, done) = self.reply_sinks(id);
        let watch = self.watch.clone();
        let completions = self.completions.clone();
        self.pool.query_streaming(
            statement(sql, params, name, extended, binary),
            Some(partial),
            move |r, served| {
                if let Some(s) = served.filter(|_| watch.load(Ordering::Relaxed)) {
                    completions.served(id, &s);
                }
                done(r.unwrap_or_else(|e| acquire_error_frames(&e)))
            },
        );
    }

    /// From now on, say which connection served each `pool.query` (JS listens for pg's
    /// `connect`/`acquire`/`release`, which pg emits for those too). Replies still on their
    /// way are covered: the flag is read when each reply is handed on.
    #[napi(catch_unwind)]
    pub fn watch_implicit(&self) {
        self.watch.store(true, Ordering::Relaxed);
    }

    /// Where the reply of query `id` goes: the completions buffer, the leading parts of a long
    /// result as they arrive (first) and the rest when it ends (second).
    fn reply_sinks(&self, id: u32) -> (PartialSink, ReplyFn) {
        let completions = self.completions.clone();
        let sink = self.completions.clone();
        (
            Arc::new(move |part| sink.partial(id, part)),
            Box::new(move |reply| completions.complete(id, reply)),
        )
    }

    /// Drains the completions buffer: `[id u32 LE][len u32 LE][frames]...`.
    /// A small batch is copied into a buffer the engine owns, a large one handed over in
    /// place (see [`Completions::take_with`]).
    #[napi(catch_unwind, ts_return_type = "Buffer")]
    pub fn take_completions<'env>(
        &self,
        env: &'env Env,
    ) -> Result<Either<BufferSlice<'env>, Buffer>> {
        self.take_for_js(env, None)
    }

    /// Arms a panic at `site` (`clientSubmit`: this binding's method; `clean`: the task that
    /// cleans a connection released in a transaction; `writer`: a connection's writer task at
    /// its next wake-up; `healthCheck`: the next health check; `acquireTimeout`: the timer of
    /// a queued `connect()`), for the tests that prove a panic becomes an error and never
    /// loses a slot. Not part of the API: nothing in `lib/` calls it.
    #[napi(catch_unwind, js_name = "__injectPanicForTests")]
    pub fn inject_panic_for_tests(&self, site: String) {
        self.pool.panic_hooks().arm(&site);
    }

    /// Ends the pool; `null` on success, or the error (e.g. called twice) as data.
    #[napi(ts_return_type = "Promise<JsErrorInfo | null>", catch_unwind)]
    pub fn end<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Option<JsErrorInfo>>> {
        match self.pool.end() {
            // A panic while ending is an error for end()'s caller, never a promise that
            // does not settle.
            Ok(fut) => env.spawn_future(async move {
                match crate::unwind::catch(fut).await {
                    Ok(()) => Ok(None),
                    Err(p) => Err(napi::Error::from_reason(format!("end() failed: {}", p.0))),
                }
            }),
            Err(e) => {
                let info = JsErrorInfo::from(e);
                env.spawn_future(async move { Ok(Some(info)) })
            }
        }
    }

    /// Active checkouts as JSON (for `getPoolStatus()`).
    #[napi(catch_unwind)]
    pub fn active_checkouts(&self) -> String {
        serde_json::to_string(&self.pool.active_checkouts()).unwrap_or_default()
    }

    /// Per tag as JSON (`TagCount`: tag, held, waiting, limit, timeouts), sorted by tag.
    #[napi(catch_unwind)]
    pub fn tag_counts(&self) -> String {
        serde_json::to_string(&self.pool.tag_counts()).unwrap_or_default()
    }

    /// Sets `tag`'s limit (a positive integer, validated by JS), or removes it (`null`).
    #[napi(catch_unwind)]
    pub fn set_tag_limit(&self, tag: String, limit: Option<u32>) {
        self.pool.set_tag_limit(&tag, limit.map(|n| n as usize));
    }

    /// Counters, distributions, history and memory usage, as JSON.
    #[napi(catch_unwind)]
    pub fn metrics(&self) -> String {
        serde_json::to_string(&self.pool.metrics_report()).unwrap_or_default()
    }

    /// Changes a checkout's tag / leak threshold after the fact.
    #[napi(catch_unwind)]
    pub fn update_checkout(&self, checkout_id: f64, meta: JsCheckoutMeta) -> bool {
        let m: crate::pool::CheckoutMeta = Some(meta).into();
        self.pool.update_checkout(checkout_id as u64, |r| {
            if m.tag.is_some() {
                r.tag = m.tag;
            }
            if m.leak_threshold_ms.is_some() {
                r.leak_threshold_ms = m.leak_threshold_ms;
            }
            if m.force_release_after_ms.is_some() {
                r.force_release_after_ms = m.force_release_after_ms;
            }
        })
    }
}

impl NativePool {
    /// What `takeCompletions()` returns, `trailer` appended (see [`Completions::take_with`]);
    /// the checkouts the taken records announce are held from now on.
    fn take_for_js<'env>(
        &self,
        env: &'env Env,
        trailer: Option<u32>,
    ) -> Result<Either<BufferSlice<'env>, Buffer>> {
        if let Some(reads) = &self.reads {
            reads.start_waiting(env);
        }
        let (out, checkouts) = self.completions.take_with(
            trailer,
            |bytes| BufferSlice::copy_from(env, bytes).map(Either::A),
            |all| Ok(Either::B(Buffer::from(all))),
        );
        // JS holds these from now on: their records are in what it takes.
        for c in checkouts {
            self.held.hold(c);
        }
        out
    }
}
