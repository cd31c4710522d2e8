//! Who takes part in the walkthrough, read from the simulator's configuration (the one
//! file that seeds the simulated Exchange organisation), so the demo never names a mailbox
//! or a password the simulator does not have.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde_json::Value;

/// A mailbox of the organisation.
#[derive(Debug, Clone)]
pub struct Person {
    /// Primary SMTP address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// A shared (queue) mailbox rather than a user's.
    pub queue: bool,
}

/// The organisation the simulator serves.
#[derive(Debug, Clone)]
pub struct Cast {
    /// `DOMAIN\user` of the service account holding ApplicationImpersonation.
    pub service_user: String,
    /// The service account's sAMAccountName (what the simulator's grants name).
    pub service_account: String,
    /// Its password (a demo value from the configuration file).
    pub service_password: String,
    /// The user and queue mailboxes exsync synchronises (every mailbox but the service
    /// account's own).
    pub mailboxes: Vec<Person>,
}

impl Cast {
    /// Reads the simulator configuration at `path`; `queues` names the shared mailboxes.
    pub fn load(path: &Path, queues: &[String]) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let config: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        Self::from_config(&config, queues).with_context(|| format!("in {}", path.display()))
    }

    fn from_config(config: &Value, queues: &[String]) -> anyhow::Result<Self> {
        let netbios = config["netbios_domain"].as_str().unwrap_or("CONTOSO");
        let grant = config["impersonation"]
            .as_array()
            .and_then(|g| g.first())
            .context("no impersonation grant: the demo needs a service account holding ApplicationImpersonation")?;
        let service_account = grant["account"]
            .as_str()
            .context("impersonation[0].account")?
            .to_owned();
        let account = config["accounts"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["user"] == service_account.as_str()))
            .with_context(|| format!("no account {service_account}"))?;
        let service_password = account["password"]
            .as_str()
            .context("the service account has no password")?
            .to_owned();
        let service_smtp = account["smtp"].as_str().unwrap_or("").to_ascii_lowercase();
        let mut mailboxes = Vec::new();
        for m in config["mailboxes"].as_array().context("no mailboxes")? {
            let email = m["smtp"]
                .as_str()
                .context("a mailbox without smtp")?
                .to_ascii_lowercase();
            if email == service_smtp {
                continue;
            }
            let name = m["display_name"].as_str().unwrap_or(&email).to_owned();
            let queue = queues.iter().any(|q| q.eq_ignore_ascii_case(&email));
            mailboxes.push(Person { email, name, queue });
        }
        for q in queues {
            if !mailboxes.iter().any(|m| m.email.eq_ignore_ascii_case(q)) {
                bail!("the queue mailbox {q} is not in the configuration");
            }
        }
        if mailboxes.iter().filter(|m| !m.queue).count() < 3 {
            bail!("the walkthrough needs at least three user mailboxes");
        }
        Ok(Self {
            service_user: format!("{netbios}\\{service_account}"),
            service_account,
            service_password,
            mailboxes,
        })
    }

    /// The user mailboxes, in configuration order.
    pub fn users(&self) -> impl Iterator<Item = &Person> {
        self.mailboxes.iter().filter(|m| !m.queue)
    }

    /// The queue mailboxes.
    pub fn queues(&self) -> impl Iterator<Item = &Person> {
        self.mailboxes.iter().filter(|m| m.queue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> Value {
        json!({
            "domains": ["contoso.test"], "netbios_domain": "CONTOSO",
            "accounts": [{"user": "svc", "password": "pw", "smtp": "svc@contoso.test"}],
            "impersonation": [{"account": "svc", "scope": "all"}],
            "mailboxes": [
                {"smtp": "svc@contoso.test"},
                {"smtp": "Alice@contoso.test", "display_name": "Alice"},
                {"smtp": "bob@contoso.test"}, {"smtp": "carol@contoso.test"},
                {"smtp": "support@contoso.test", "display_name": "Support"}
            ]
        })
    }

    #[test]
    fn the_service_account_is_the_impersonation_grant_holder_and_not_a_synced_mailbox() {
        let cast = Cast::from_config(&config(), &["support@contoso.test".into()]).unwrap();
        assert_eq!(cast.service_user, "CONTOSO\\svc");
        assert_eq!(cast.service_password, "pw");
        let emails: Vec<_> = cast.mailboxes.iter().map(|m| m.email.as_str()).collect();
        assert_eq!(
            emails,
            [
                "alice@contoso.test",
                "bob@contoso.test",
                "carol@contoso.test",
                "support@contoso.test"
            ]
        );
        assert_eq!(cast.queues().count(), 1);
    }

    #[test]
    fn a_queue_missing_from_the_configuration_is_refused() {
        let err = Cast::from_config(&config(), &["sales@contoso.test".into()]).unwrap_err();
        assert!(err.to_string().contains("sales@contoso.test"), "{err}");
    }
}
