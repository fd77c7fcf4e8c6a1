//! Leak detection: the threshold checker and views of the checkout registry.

pub mod checker;
pub mod registry;
