//! Errors by class.
