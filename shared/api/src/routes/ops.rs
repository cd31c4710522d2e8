//! Alerts (list by mailbox, profile or owner; dismiss) and jobs (progress).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use exsync_domain::alert::Alert;
use exsync_domain::ids::{AlertId, JobId, MailboxId, Principal, ProfileId};
use exsync_domain::job::Job;
use exsync_domain::service::AlertQuery;
use serde::Deserialize;

use super::{PageBody, Routes, path_id};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::{AppState, Caller};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add(Method::GET, "/alerts", list_alerts)
        .add(Method::POST, "/alerts/{id}/dismiss", dismiss_alert)
        .add(Method::GET, "/jobs/{id}", get_job)
}

/// Whose alerts: exactly one of `mailbox`, `profile`, `owner`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsQuery {
    mailbox: Option<String>,
    profile: Option<String>,
    owner: Option<String>,
    limit: Option<i64>,
}

impl AlertsQuery {
    fn query(&self) -> Result<AlertQuery, ApiError> {
        match (&self.mailbox, &self.profile, &self.owner) {
            (Some(m), None, None) => Ok(AlertQuery::Mailbox(path_id(
                m,
                MailboxId::parse,
                "mailbox",
            )?)),
            (None, Some(p), None) => Ok(AlertQuery::Profile(path_id(
                p,
                ProfileId::parse,
                "profile",
            )?)),
            (None, None, Some(o)) => {
                Ok(AlertQuery::Owner(Principal::parse(o).ok_or_else(|| {
                    ApiError::field("owner", "is not a principal name")
                })?))
            }
            _ => Err(ApiError::field(
                "mailbox",
                "name exactly one of mailbox, profile or owner",
            )),
        }
    }
}

/// Newest first; the expired ones are left out.
async fn list_alerts(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AlertsQuery>,
) -> Result<Json<PageBody<Alert>>, ApiError> {
    let alerts = s
        .admin()
        .list_alerts(&caller.grants, &q.query()?, q.limit)
        .await?;
    Ok(Json(PageBody {
        items: alerts,
        next: None,
    }))
}

async fn dismiss_alert(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(&raw, AlertId::parse, "id")?;
    s.admin().dismiss_alert(&caller.grants, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_job(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Job>, ApiError> {
    let id = path_id(&raw, JobId::parse, "id")?;
    Ok(Json(s.admin().get_job(&caller.grants, &id).await?))
}
