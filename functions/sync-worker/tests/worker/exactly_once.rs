//! Exactly once.
