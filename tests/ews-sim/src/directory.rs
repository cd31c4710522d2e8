//! The directory: who can log on, which mailboxes exist, who may impersonate whom.
//!
//! Shared by the HTTP layer (authentication) and the EWS layer (impersonation, mailbox
//! lookup). Tests change it at run time (revoke a grant, change a password) through the
//! simulator handle.

use crate::config::{GrantScope, SimConfig};
use std::collections::HashMap;

/// An account that can authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Logon name without domain, as configured (`svc-exsync`).
    pub user: String,
    /// Password.
    pub password: String,
    /// Primary SMTP address of the account's own mailbox, if any.
    pub smtp: Option<String>,
}

/// A mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxEntry {
    /// Primary SMTP address (lower-cased key, original spelling kept here).
    pub smtp: String,
    /// Display name.
    pub display_name: String,
}

/// Accounts, mailboxes and impersonation grants.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// NetBIOS domain (`CONTOSO`).
    pub netbios_domain: String,
    /// Mail domains.
    pub domains: Vec<String>,
    accounts: HashMap<String, Account>,
    mailboxes: HashMap<String, MailboxEntry>,
    grants: HashMap<String, GrantScope>,
}

impl Directory {
    /// Builds the directory from the configuration.
    pub fn from_config(cfg: &SimConfig) -> Self {
        let mut d = Directory {
            netbios_domain: cfg.netbios_domain.clone(),
            domains: cfg.domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
            ..Default::default()
        };
        for a in &cfg.accounts {
            d.accounts.insert(
                a.user.to_ascii_lowercase(),
                Account {
                    user: a.user.clone(),
                    password: a.password.clone(),
                    smtp: a.smtp.clone(),
                },
            );
        }
        for m in &cfg.mailboxes {
            d.add_mailbox(&m.smtp, &m.display_name);
        }
        for g in &cfg.impersonation {
            d.grants
                .insert(g.account.to_ascii_lowercase(), g.scope.clone());
        }
        d
    }

    /// Finds an account by any logon form: `user`, `DOMAIN\user` or `user@domain` (the
    /// domain part must be ours).
    pub fn account(&self, logon: &str) -> Option<&Account> {
        let logon = logon.trim();
        let user = if let Some((domain, user)) = logon.split_once('\\') {
            if !domain.eq_ignore_ascii_case(&self.netbios_domain) {
                return None;
            }
            user
        } else if let Some((user, domain)) = logon.split_once('@') {
            let domain = domain.to_ascii_lowercase();
            if !self.domains.contains(&domain) {
                return None;
            }
            user
        } else {
            logon
        };
        self.accounts.get(&user.to_ascii_lowercase())
    }

    /// Finds a mailbox by SMTP address (case-insensitive).
    pub fn mailbox(&self, smtp: &str) -> Option<&MailboxEntry> {
        self.mailboxes.get(&smtp.trim().to_ascii_lowercase())
    }

    /// Every mailbox.
    pub fn mailboxes(&self) -> impl Iterator<Item = &MailboxEntry> {
        self.mailboxes.values()
    }

    /// Adds (or renames) a mailbox.
    pub fn add_mailbox(&mut self, smtp: &str, display_name: &str) {
        self.mailboxes.insert(
            smtp.to_ascii_lowercase(),
            MailboxEntry {
                smtp: smtp.to_owned(),
                display_name: display_name.to_owned(),
            },
        );
    }

    /// Removes a mailbox from the directory (its contents stay in the store, unreachable).
    pub fn remove_mailbox(&mut self, smtp: &str) {
        self.mailboxes.remove(&smtp.to_ascii_lowercase());
    }

    /// True when `account` holds ApplicationImpersonation over `smtp`.
    pub fn can_impersonate(&self, account: &str, smtp: &str) -> bool {
        match self.grants.get(&account.to_ascii_lowercase()) {
            Some(GrantScope::All) => true,
            Some(GrantScope::Mailboxes(list)) => list.iter().any(|m| m.eq_ignore_ascii_case(smtp)),
            None => false,
        }
    }

    /// Grants (or replaces) ApplicationImpersonation for `account`.
    pub fn grant(&mut self, account: &str, scope: GrantScope) {
        self.grants.insert(account.to_ascii_lowercase(), scope);
    }

    /// Revokes `account`'s ApplicationImpersonation entirely.
    pub fn revoke(&mut self, account: &str) {
        self.grants.remove(&account.to_ascii_lowercase());
    }

    /// Removes one mailbox from `account`'s grant (an `All` grant becomes every other mailbox).
    pub fn revoke_mailbox(&mut self, account: &str, smtp: &str) {
        let key = account.to_ascii_lowercase();
        let remaining: Vec<String> = match self.grants.get(&key) {
            None => return,
            Some(GrantScope::All) => self
                .mailboxes
                .values()
                .map(|m| m.smtp.clone())
                .filter(|m| !m.eq_ignore_ascii_case(smtp))
                .collect(),
            Some(GrantScope::Mailboxes(list)) => list
                .iter()
                .filter(|m| !m.eq_ignore_ascii_case(smtp))
                .cloned()
                .collect(),
        };
        self.grants.insert(key, GrantScope::Mailboxes(remaining));
    }

    /// Changes an account's password.
    pub fn set_password(&mut self, account: &str, password: &str) {
        if let Some(a) = self.accounts.get_mut(&account.to_ascii_lowercase()) {
            a.password = password.to_owned();
        }
    }
}
