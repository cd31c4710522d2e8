//! Configuration, read once at cold start: the SDK's own settings (region, credentials,
//! and the standard `AWS_ENDPOINT_URL` that points every client at a local endpoint) and
//! exsync's resource names, which `template.yaml` hands each function as environment
//! variables. A missing variable fails start-up with a message naming it.

use crate::dynamo::DynamoStore;
use crate::kms::KmsSealer;
use crate::poll_queue::SqsPollQueue;
use crate::sqs::SqsJobQueue;
use aws_config::{BehaviorVersion, SdkConfig};

/// The table name variable.
pub const ENV_TABLE: &str = "EXSYNC_TABLE";
/// The admin-jobs queue URL variable.
pub const ENV_JOBS_QUEUE_URL: &str = "EXSYNC_JOBS_QUEUE_URL";
/// The poll-jobs queue URL variable.
pub const ENV_POLL_QUEUE_URL: &str = "EXSYNC_POLL_QUEUE_URL";
/// The credentials key variable (id, ARN or alias).
pub const ENV_KMS_KEY_ID: &str = "EXSYNC_KMS_KEY_ID";

/// Why configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is unset or empty.
    #[error(
        "environment variable {0} is not set (template.yaml sets it in Lambda; locally `exsync serve --init` does)"
    )]
    Missing(&'static str),
    /// The SDK found no region.
    #[error("no AWS region: set AWS_REGION")]
    NoRegion,
}

/// exsync's resources in one account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceNames {
    /// The DynamoDB table.
    pub table: String,
    /// The admin-jobs queue URL.
    pub jobs_queue_url: String,
    /// The poll-jobs queue URL.
    pub poll_queue_url: String,
    /// The credentials key (id, ARN or alias).
    pub kms_key_id: String,
}

impl ResourceNames {
    /// Reads the names from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the names through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        Ok(Self {
            table: get(ENV_TABLE)?,
            jobs_queue_url: get(ENV_JOBS_QUEUE_URL)?,
            poll_queue_url: get(ENV_POLL_QUEUE_URL)?,
            kms_key_id: get(ENV_KMS_KEY_ID)?,
        })
    }

    /// The variables that carry these names, for a child process or a local server.
    pub fn to_env(&self) -> [(&'static str, String); 4] {
        [
            (ENV_TABLE, self.table.clone()),
            (ENV_JOBS_QUEUE_URL, self.jobs_queue_url.clone()),
            (ENV_POLL_QUEUE_URL, self.poll_queue_url.clone()),
            (ENV_KMS_KEY_ID, self.kms_key_id.clone()),
        ]
    }
}

/// Loads the SDK configuration the standard way (environment, then profile files, then
/// the container/instance role). aws-config reads `AWS_ENDPOINT_URL` itself, so a local
/// endpoint needs no code here; a missing region is an error now rather than on the first
/// request.
pub async fn load_sdk_config() -> Result<SdkConfig, ConfigError> {
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    if sdk.region().is_none() {
        return Err(ConfigError::NoRegion);
    }
    Ok(sdk)
}

/// Everything a function needs to reach AWS.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// The SDK configuration.
    pub sdk: SdkConfig,
    /// exsync's resources.
    pub names: ResourceNames,
}

impl AwsConfig {
    /// Reads exsync's names first (so a missing one fails before any network access),
    /// then the SDK configuration.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let names = ResourceNames::from_env()?;
        let sdk = load_sdk_config().await?;
        Ok(Self { sdk, names })
    }

    /// The adapters, sharing this configuration.
    pub fn adapters(&self) -> Adapters {
        Adapters {
            store: DynamoStore::from_sdk_config(&self.sdk, &self.names.table),
            sealer: KmsSealer::from_sdk_config(&self.sdk, &self.names.kms_key_id),
            jobs: SqsJobQueue::from_sdk_config(&self.sdk, &self.names.jobs_queue_url),
            polls: SqsPollQueue::from_sdk_config(&self.sdk, &self.names.poll_queue_url),
        }
    }
}

/// The port implementations, built once per cold start.
#[derive(Debug, Clone)]
pub struct Adapters {
    /// Every store port.
    pub store: DynamoStore,
    /// The secret sealer.
    pub sealer: KmsSealer,
    /// The admin-jobs queue.
    pub jobs: SqsJobQueue,
    /// The poll-jobs queue.
    pub polls: SqsPollQueue,
}

impl Adapters {
    /// The domain's ports over these adapters: the one store serves every store port, and
    /// the time is `clock`'s. What every function (and `exsync serve`) hands the domain's
    /// services.
    pub fn ports(
        self,
        clock: std::sync::Arc<dyn exsync_domain::ports::Clock>,
    ) -> exsync_domain::service::Ports {
        let store = std::sync::Arc::new(self.store);
        exsync_domain::service::Ports {
            config: store.clone(),
            activities: store.clone(),
            ops: store.clone(),
            access: store,
            sealer: std::sync::Arc::new(self.sealer),
            jobs: std::sync::Arc::new(self.jobs),
            polls: std::sync::Arc::new(self.polls),
            clock,
        }
    }

    /// The scheduler over these adapters: the store as due index and profile reader, the
    /// poll queue for the jobs.
    pub fn scheduler(
        self,
        options: exsync_domain::sync::scheduler::SchedulerOptions,
    ) -> exsync_domain::sync::scheduler::Scheduler {
        let store = std::sync::Arc::new(self.store);
        exsync_domain::sync::scheduler::Scheduler::new(
            exsync_domain::sync::scheduler::SchedulerPorts {
                due: store.clone(),
                config: store,
                polls: std::sync::Arc::new(self.polls),
            },
            options,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn all() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            (ENV_TABLE, "exsync"),
            (ENV_JOBS_QUEUE_URL, "http://q/jobs"),
            (ENV_POLL_QUEUE_URL, "http://q/poll.fifo"),
            (ENV_KMS_KEY_ID, "alias/exsync-credentials"),
        ])
    }

    #[test]
    fn every_name_is_read() {
        let env = all();
        let n = ResourceNames::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(n.table, "exsync");
        assert_eq!(n.kms_key_id, "alias/exsync-credentials");
        let back: HashMap<_, _> = n.to_env().into_iter().collect();
        assert_eq!(back.get(ENV_POLL_QUEUE_URL).unwrap(), "http://q/poll.fifo");
    }

    #[test]
    fn a_missing_variable_is_named() {
        for missing in [
            ENV_TABLE,
            ENV_JOBS_QUEUE_URL,
            ENV_POLL_QUEUE_URL,
            ENV_KMS_KEY_ID,
        ] {
            let mut env = all();
            env.remove(missing);
            let e = ResourceNames::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap_err();
            assert!(e.to_string().contains(missing), "{e}");
        }
    }

    #[test]
    fn an_empty_variable_counts_as_missing() {
        let mut env = all();
        env.insert(ENV_TABLE, "  ");
        let e = ResourceNames::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap_err();
        assert!(matches!(e, ConfigError::Missing(ENV_TABLE)));
    }
}
