//! Idle poll.
