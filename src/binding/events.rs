//! Pool events to JS: serialized to JSON and queued on a weak, non-blocking thread-safe
//! function (it never keeps Node alive and never blocks the emitting thread).

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use serde_json::{json, Map, Value};

use crate::pg::frames;
use crate::pool::{LeakInfo, PoolEvent, PoolEvents, Ticket};

/// One queued event: its JSON, and for a notification or notice its place among the
/// `maxQueuedEvents` that may wait (given back on the JS thread, as the event is handed to JS).
pub type QueuedEvent = (String, Option<Ticket>);

/// The JS callback type: `(json: string) => void`, weak, errors not passed as first argument.
pub type EventFn = ThreadsafeFunction<QueuedEvent, (), String, Status, false, true>;

/// Sends every pool event to the JS callback.
pub struct JsEvents(pub EventFn);

/// The fields of an `ErrorResponse`/`NoticeResponse` frame, keyed by their one-letter codes.
pub fn frame_fields(frame: &[u8]) -> Map<String, Value> {
    frames::fields(frame)
        .map(|(k, v)| ((k as char).to_string(), Value::String(v.to_string())))
        .collect()
}

/// The facts of a leak report; where the checkout was taken is JS's to say (it holds the
/// stacks), so no site or stack crosses.
fn leak_json(l: &LeakInfo) -> Value {
    json!({
        "checkoutId": l.checkout_id,
        "connId": l.conn_id,
        "ageMs": l.age_ms,
        "idleMs": l.idle_ms,
        "queryCount": l.query_count,
        "inTransaction": l.in_transaction,
        "tag": l.tag,
    })
}

fn error_json(e: &crate::error::Error) -> Value {
    match e {
        // A server error (e.g. FATAL 57P01 when the backend is terminated): all its fields, so
        // that JS builds pg's DatabaseError.
        crate::error::Error::Db(db) => {
            json!({ "code": e.code(), "message": e.to_string(), "fields": frame_fields(&db.frame) })
        }
        // Node's socket error members (errno, syscall …), as pg passes Node's error on.
        crate::error::Error::Socket(s) => {
            json!({ "code": e.code(), "message": e.to_string(), "extra": s.node_fields() })
        }
        _ => json!({ "code": e.code(), "message": e.to_string() }),
    }
}

/// The JSON form of an event (`type` plus its payload).
pub fn to_json(ev: &PoolEvent) -> Value {
    match ev {
        PoolEvent::Removed { conn_id, pid } => {
            json!({ "type": "removed", "connId": conn_id, "processId": pid })
        }
        PoolEvent::IdleError {
            conn_id,
            pid,
            error,
        } => {
            json!({ "type": "idleError", "connId": conn_id, "processId": pid, "error": error_json(error) })
        }
        PoolEvent::ClientError { conn_id, error } => {
            json!({ "type": "clientError", "connId": conn_id, "error": error_json(error) })
        }
        PoolEvent::Notification {
            conn_id,
            pid,
            channel,
            payload,
            ..
        } => {
            json!({ "type": "notification", "connId": conn_id, "processId": pid, "channel": channel, "payload": payload })
        }
        PoolEvent::Notice { conn_id, frame, .. } => {
            json!({ "type": "notice", "connId": conn_id, "fields": frame_fields(frame) })
        }
        PoolEvent::EventsDropped { kind, limit } => {
            json!({ "type": "eventsDropped", "kind": kind, "limit": limit })
        }
        PoolEvent::LeaksDetected { leaks } => {
            json!({ "type": "leaksDetected", "leaks": leaks.iter().map(leak_json).collect::<Vec<_>>() })
        }
        PoolEvent::ForceRelease { leak, reason } => {
            json!({ "type": "forceRelease", "reason": reason.as_str(), "leak": leak_json(leak) })
        }
        PoolEvent::LeakResolved {
            checkout_id,
            held_ms,
            ..
        } => {
            json!({ "type": "leakResolved", "checkoutId": checkout_id, "heldMs": held_ms })
        }
        PoolEvent::ReleasedInTransaction {
            checkout_id,
            conn_id,
            status,
            implicit,
            held_ms,
            ..
        } => json!({
            "type": "releasedInTransaction", "checkoutId": checkout_id, "connId": conn_id,
            "status": (*status as char).to_string(), "implicit": implicit, "heldMs": held_ms
        }),
    }
}

impl PoolEvents for JsEvents {
    fn emit(&self, ev: PoolEvent) {
        let json = to_json(&ev).to_string();
        let ticket = match ev {
            PoolEvent::Notification { ticket, .. } | PoolEvent::Notice { ticket, .. } => {
                Some(ticket)
            }
            _ => None,
        };
        let _ = self
            .0
            .call((json, ticket), ThreadsafeFunctionCallMode::NonBlocking);
    }
}
