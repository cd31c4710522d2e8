//! The scheduler's handler: one EventBridge Scheduler tick in, one run of the domain's
//! [`Scheduler::run_tick`] for the tick's minute, its counts out.
//!
//! The template's schedule passes its own scheduled time (`{"scheduled_time":
//! "<aws.scheduler.scheduled-time>"}`), so a late or retried invocation still ticks the
//! minute it was meant for; a classic EventBridge rule event's `time` works too, and an
//! event without either ticks the current minute. A tick that was incomplete (a slot or
//! profile unreadable, a job not enqueued) is reported as an error so EventBridge
//! Scheduler retries it; that is safe, because the poll queue drops a deduplication id
//! (`<mailbox>:<minute>`) it has already seen.
//!
//! The Lambda calls [`handle_tick`] for each event and prints [`metrics_line`] (CloudWatch
//! embedded metric format: due, enqueued, failed, probes, skipped by reason and the read
//! and enqueue times become metrics without an API call); `exsync serve` runs [`run_every`].

#![warn(missing_docs)]

use exsync_domain::DomainError;
use exsync_domain::sync::scheduler::{Scheduler, SkipReason, TickReport};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The event field the template's schedule fills with its scheduled time.
pub const SCHEDULED_TIME_FIELD: &str = "scheduled_time";

/// The CloudWatch namespace of the tick's metrics.
pub const METRICS_NAMESPACE: &str = "exsync/scheduler";

/// Why a tick failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TickError {
    /// Nothing could be enqueued (the queue was unreachable).
    #[error("the tick could not enqueue its poll jobs")]
    Enqueue(#[source] DomainError),
    /// Part of the tick failed; what did succeed is in the report.
    #[error(
        "the tick was incomplete: {} slot reads failed, {} jobs not enqueued, {} mailboxes of unreadable profiles",
        report.query_failures,
        report.failed,
        report.skipped(SkipReason::ProfileUnreadable)
    )]
    Incomplete {
        /// What the tick did.
        report: Box<TickReport>,
    },
}

impl TickError {
    /// The tick's report, when it got as far as one.
    pub fn report(&self) -> Option<&TickReport> {
        match self {
            TickError::Enqueue(_) => None,
            TickError::Incomplete { report } => Some(report),
        }
    }
}

/// The time a tick is for: the event's `scheduled_time` (EventBridge Scheduler, as the
/// template configures it) or `time` (an EventBridge rule's event), else `now`.
pub fn tick_time(event: &Value, now: OffsetDateTime) -> OffsetDateTime {
    [SCHEDULED_TIME_FIELD, "time"]
        .iter()
        .filter_map(|field| event.get(field).and_then(Value::as_str))
        .find_map(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .unwrap_or(now)
}

/// Runs the tick `event` asks for (`now` when it names no time).
pub async fn handle_tick(
    scheduler: &Scheduler,
    event: &Value,
    now: OffsetDateTime,
) -> Result<TickReport, TickError> {
    let at = tick_time(event, now);
    let report = scheduler.run_tick(at).await.map_err(TickError::Enqueue)?;
    if report.complete() {
        Ok(report)
    } else {
        Err(TickError::Incomplete {
            report: Box::new(report),
        })
    }
}

/// The tick's counts as one CloudWatch embedded-metric-format log line.
pub fn metrics_line(report: &TickReport, at: OffsetDateTime) -> String {
    let mut metrics: Vec<(String, &str)> = ["Due", "Enqueued", "Failed", "Probes", "QueryFailures"]
        .iter()
        .map(|n| ((*n).to_owned(), "Count"))
        .collect();
    metrics.push(("ReadTime".to_owned(), "Milliseconds"));
    metrics.push(("EnqueueTime".to_owned(), "Milliseconds"));
    let mut body = json!({
        "Due": report.due,
        "Enqueued": report.enqueued,
        "Failed": report.failed,
        "Probes": report.probes,
        "QueryFailures": report.query_failures,
        "ReadTime": report.read_ms,
        "EnqueueTime": report.enqueue_ms,
        "slot": report.slot,
    });
    for r in SkipReason::ALL {
        let name = format!("Skipped_{}", r.as_str());
        body[name.as_str()] = json!(report.skipped(r));
        metrics.push((name, "Count"));
    }
    let millis = at.unix_timestamp_nanos() / 1_000_000;
    body["_aws"] = json!({
        "Timestamp": i64::try_from(millis).unwrap_or(0),
        "CloudWatchMetrics": [{
            "Namespace": METRICS_NAMESPACE,
            "Dimensions": [[]],
            "Metrics": metrics
                .iter()
                .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
                .collect::<Vec<_>>(),
        }],
    });
    body.to_string()
}

/// Ticks every `period` until the task is dropped (`exsync serve --scheduler-every`). A
/// failed tick is logged and the next one runs on time.
pub async fn run_every(scheduler: Scheduler, period: std::time::Duration) {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let now = OffsetDateTime::now_utc();
        if let Err(e) = handle_tick(&scheduler, &Value::Null, now).await {
            tracing::warn!(error = %e, "local scheduler tick failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-02 09:17:42 UTC);

    #[test]
    fn a_scheduler_event_ticks_its_scheduled_time() {
        let event = json!({"scheduled_time": "2026-03-02T09:15:00Z"});
        assert_eq!(tick_time(&event, NOW), datetime!(2026-03-02 09:15 UTC));
    }

    #[test]
    fn a_rule_event_ticks_its_time() {
        let event = json!({"detail-type": "Scheduled Event", "time": "2026-03-02T09:16:00Z"});
        assert_eq!(tick_time(&event, NOW), datetime!(2026-03-02 09:16 UTC));
    }

    #[test]
    fn an_event_without_a_time_ticks_now() {
        assert_eq!(tick_time(&json!({}), NOW), NOW);
        assert_eq!(tick_time(&json!({"scheduled_time": "soon"}), NOW), NOW);
    }

    #[test]
    fn the_metrics_line_declares_every_count_it_carries() {
        let mut report = TickReport {
            slot: 7,
            due: 10,
            enqueued: 6,
            probes: 1,
            ..TickReport::default()
        };
        report.skipped.insert(SkipReason::Postponed, 3);
        report.skipped.insert(SkipReason::CircuitOpen, 1);
        let line: Value = serde_json::from_str(&metrics_line(&report, NOW)).unwrap();
        assert_eq!(line["Due"], 10);
        assert_eq!(line["Enqueued"], 6);
        assert_eq!(line["Skipped_postponed"], 3);
        assert_eq!(line["Skipped_circuit_open"], 1);
        assert_eq!(line["Skipped_profile_missing"], 0);
        let declared = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        for m in declared {
            let name = m["Name"].as_str().unwrap();
            assert!(line.get(name).is_some(), "{name} is declared but absent");
        }
        assert_eq!(declared.len(), 7 + SkipReason::ALL.len());
    }
}
