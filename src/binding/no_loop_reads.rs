//! Where sockets are not file descriptors a libuv poll handle can watch from here (Windows),
//! plain connections are read by reader tasks, as TLS connections are everywhere.
//!
//! Invariant: [`LoopReads`] has no values, so a pool never has one: `new` is always `None`,
//! and the core's connections never meet a [`ReadScheduler`].

use std::sync::Arc;

use napi::Env;
use tokio::runtime::Handle;

use super::completions::Completions;
use crate::pg::{ExternalReader, ReadScheduler};

/// The JS-thread reader of `loop_reads.rs`, which cannot exist on this platform.
pub enum LoopReads {}

impl LoopReads {
    /// Always `None`: reader tasks read every connection.
    pub fn new(_completions: Arc<Completions>, _runtime: Handle) -> Option<Arc<Self>> {
        None
    }

    pub fn start_waiting(&self, _env: &Env) {
        match *self {}
    }
}

impl ReadScheduler for LoopReads {
    fn adopt(&self, _reader: ExternalReader) {
        match *self {}
    }
}
