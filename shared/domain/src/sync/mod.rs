//! The sync engine's domain side: what a poll job is ([`job`]), and the scheduler's tick
//! ([`scheduler`]) that turns the due index into poll jobs.

pub mod job;
pub mod scheduler;

// The sync worker (incoming tracking, errors and circuit breaking, the decision log).
pub mod act;
pub mod act_fields;
pub mod correlation;
pub mod decisions;
pub mod engine;
pub mod errors;
pub mod incoming;
pub mod majority;
pub mod outgoing;
pub mod properties;
