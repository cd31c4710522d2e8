//! exsync-aws against the local AWS endpoint (moto server), through the real SDK.
//!
//! Run through `scripts/with-moto.sh` (`make test` does): every test fails with a clear
//! message when `AWS_ENDPOINT_URL` is unset, so these tests can neither pass silently nor
//! reach a real account. Tests share one server and isolate themselves with their own
//! table, queues and key (a unique stack name each).

mod common;

mod access;
mod alerts_and_jobs;
mod config;
mod emails;
mod init;
mod mailboxes;
mod profiles;
mod queues;
mod records_and_act;
mod scheduling;
mod secrets;
