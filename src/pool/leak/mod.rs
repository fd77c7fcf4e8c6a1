//! Leak detection, part of the pool: the checker task (`checker`), its decisions as pure
//! functions (`policy`), and the facts read from the checkout registry (`registry`). The
//! registry itself is the pool's `State::checkouts`; nothing here holds state of its own.

pub(super) mod checker;
pub(super) mod policy;
pub(super) mod registry;
