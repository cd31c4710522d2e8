//! Throttling like Exchange's EWSMaxConcurrency, and the load record tests read.
//!
//! Exchange counts the EWS requests an account has open at once and refuses the ones above
//! its throttling policy's budget with `ErrorExceededConnectionCount`
//! ([EWS throttling in Exchange](https://learn.microsoft.com/en-us/exchange/client-developer/exchange-web-services/ews-throttling-in-exchange)).
//! The simulator does the same per authenticated account, and also records the peak number
//! of concurrent requests and of concurrent connections per account, so a test can prove a
//! client-side cap was never exceeded even when the server budget was not hit.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub use crate::config::ThrottleAnswer;

/// Load figures for one account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLoad {
    /// EWS requests in flight now.
    pub in_flight: usize,
    /// The most EWS requests in flight at once since the last reset (refused ones included:
    /// they were sent concurrently all the same).
    pub peak_in_flight: usize,
    /// Connections open now that carried a request authenticated as this account.
    pub connections: usize,
    /// The most such connections open at once since the last reset.
    pub peak_connections: usize,
}

#[derive(Debug)]
struct State {
    max_concurrency: Option<usize>,
    answer: ThrottleAnswer,
    accounts: HashMap<String, AccountLoad>,
}

/// The throttle shared by every connection.
#[derive(Debug)]
pub struct Throttle {
    state: Mutex<State>,
}

/// What the throttle decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Within budget: serve it.
    Admitted,
    /// Over budget: answer with this instead.
    Refused {
        /// How Exchange refuses it.
        answer: ThrottleAnswer,
        /// The budget that was exceeded.
        limit: usize,
    },
}

/// One request counted in flight; dropping it ends the request.
#[derive(Debug)]
pub struct RequestPermit<'a> {
    throttle: &'a Throttle,
    account: String,
    /// The throttle's decision for this request.
    pub admission: Admission,
}

impl Drop for RequestPermit<'_> {
    fn drop(&mut self) {
        let mut state = self.throttle.lock();
        if let Some(load) = state.accounts.get_mut(&self.account) {
            load.in_flight = load.in_flight.saturating_sub(1);
        }
    }
}

impl Throttle {
    /// A throttle with a per-account budget (`None`: unlimited) and a way of refusing.
    pub fn new(max_concurrency: Option<usize>, answer: ThrottleAnswer) -> Self {
        Self {
            state: Mutex::new(State {
                max_concurrency,
                answer,
                accounts: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves only counters behind; keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the budget and the way of refusing; requests in flight keep their permits.
    pub fn configure(&self, max_concurrency: Option<usize>, answer: ThrottleAnswer) {
        let mut state = self.lock();
        state.max_concurrency = max_concurrency;
        state.answer = answer;
    }

    /// The current budget and way of refusing.
    pub fn settings(&self) -> (Option<usize>, ThrottleAnswer) {
        let state = self.lock();
        (state.max_concurrency, state.answer)
    }

    /// Counts a request of `account` in flight and decides whether it is within budget.
    pub fn enter(&self, account: &str) -> RequestPermit<'_> {
        let mut state = self.lock();
        let max = state.max_concurrency;
        let answer = state.answer;
        let load = state.accounts.entry(account.to_owned()).or_default();
        load.in_flight += 1;
        load.peak_in_flight = load.peak_in_flight.max(load.in_flight);
        let admission = match max {
            Some(limit) if load.in_flight > limit => Admission::Refused { answer, limit },
            _ => Admission::Admitted,
        };
        RequestPermit {
            throttle: self,
            account: account.to_owned(),
            admission,
        }
    }

    /// A connection carried its first request authenticated as `account`.
    pub fn connection_opened(&self, account: &str) {
        let mut state = self.lock();
        let load = state.accounts.entry(account.to_owned()).or_default();
        load.connections += 1;
        load.peak_connections = load.peak_connections.max(load.connections);
    }

    /// A connection that carried requests of `account` closed.
    pub fn connection_closed(&self, account: &str) {
        let mut state = self.lock();
        if let Some(load) = state.accounts.get_mut(account) {
            load.connections = load.connections.saturating_sub(1);
        }
    }

    /// The load record of `account` (zeroes for an account never seen).
    pub fn load(&self, account: &str) -> AccountLoad {
        self.lock()
            .accounts
            .get(account)
            .copied()
            .unwrap_or_default()
    }

    /// Every account's load record.
    pub fn loads(&self) -> HashMap<String, AccountLoad> {
        self.lock().accounts.clone()
    }

    /// Restarts the peaks from the current figures.
    pub fn reset_peaks(&self) {
        for load in self.lock().accounts.values_mut() {
            load.peak_in_flight = load.in_flight;
            load.peak_connections = load.connections;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_above_the_budget_is_refused_with_the_configured_answer() {
        let throttle = Throttle::new(Some(2), ThrottleAnswer::ExceededConnectionCount);
        let a = throttle.enter("svc");
        let b = throttle.enter("svc");
        let c = throttle.enter("svc");
        assert_eq!(a.admission, Admission::Admitted);
        assert_eq!(b.admission, Admission::Admitted);
        assert_eq!(
            c.admission,
            Admission::Refused {
                answer: ThrottleAnswer::ExceededConnectionCount,
                limit: 2
            }
        );
    }

    #[test]
    fn budget_is_per_account() {
        let throttle = Throttle::new(Some(1), ThrottleAnswer::ExceededConnectionCount);
        let _a = throttle.enter("svc");
        assert_eq!(throttle.enter("other").admission, Admission::Admitted);
    }

    #[test]
    fn finished_requests_free_the_budget_but_the_peak_stays() {
        let throttle = Throttle::new(Some(1), ThrottleAnswer::ExceededConnectionCount);
        {
            let _a = throttle.enter("svc");
            let _b = throttle.enter("svc");
        }
        assert_eq!(throttle.enter("svc").admission, Admission::Admitted);
        let load = throttle.load("svc");
        assert_eq!(load.in_flight, 0);
        assert_eq!(load.peak_in_flight, 2);
    }

    #[test]
    fn reset_peaks_restarts_from_the_current_load() {
        let throttle = Throttle::new(None, ThrottleAnswer::ExceededConnectionCount);
        let a = throttle.enter("svc");
        drop(throttle.enter("svc"));
        throttle.reset_peaks();
        assert_eq!(throttle.load("svc").peak_in_flight, 1);
        drop(a);
    }

    #[test]
    fn connection_peaks_are_recorded_per_account() {
        let throttle = Throttle::new(None, ThrottleAnswer::ExceededConnectionCount);
        throttle.connection_opened("svc");
        throttle.connection_opened("svc");
        throttle.connection_closed("svc");
        throttle.connection_opened("svc");
        let load = throttle.load("svc");
        assert_eq!(load.connections, 2);
        assert_eq!(load.peak_connections, 2);
    }

    #[test]
    fn unlimited_budget_admits_everything() {
        let throttle = Throttle::new(None, ThrottleAnswer::ExceededConnectionCount);
        let permits: Vec<_> = (0..50).map(|_| throttle.enter("svc")).collect();
        assert!(permits.iter().all(|p| p.admission == Admission::Admitted));
    }
}
