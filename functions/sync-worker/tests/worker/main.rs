//! The sync worker against real components: the Exchange simulator, and DynamoDB, SQS and
//! KMS on the local AWS endpoint (`scripts/with-moto.sh cargo test -p exsync-fn-sync-worker`).
//! Jobs go through the function's handler ([`exsync_fn_sync_worker::handle_batch`]) where
//! the issue asks for it, and through the engine's API where only the rule matters. One
//! behaviour per test.

mod support;

mod act;
mod autodiscover;
mod batch;
mod deadline;
mod decision_log;
mod errors;
mod exactly_once;
mod idle_poll;
mod incoming;
mod majority;
mod outgoing;
