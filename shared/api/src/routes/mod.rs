//! The routes. Each is registered through [`Routes::add`], which records its method and
//! path as it hands it to axum, so [`route_table`] is exactly what the router serves and the
//! OpenAPI test compares the document with the real thing.

mod access;
mod activities;
mod mailboxes;
mod ops;
mod profiles;
mod settings;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, on};
use serde::Serialize;

use crate::error::ApiError;
use crate::{AppState, RouteSpec};

/// The router under construction and the table of what it serves.
pub(crate) struct Routes {
    router: Router<AppState>,
    table: Vec<RouteSpec>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    /// Serves `handler` for `method` on `path` (axum merges methods of one path).
    pub(crate) fn add<H, T>(mut self, method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter =
            MethodFilter::try_from(method.clone()).unwrap_or_else(|_| unreachable_method(&method));
        self.router = self.router.route(path, on(filter, handler));
        self.table.push(RouteSpec { method, path });
        self
    }
}

/// Only the standard methods are registered, and each has a filter; a route table entry
/// with another would be a programming error caught by every test that builds the router.
#[allow(clippy::panic)]
fn unreachable_method(method: &Method) -> MethodFilter {
    panic!("no method filter for {method}")
}

/// Every route, then the answers for unknown paths (404) and methods (405) in the API's
/// JSON error shape.
pub(crate) fn build() -> (Router<AppState>, Vec<RouteSpec>) {
    let routes = Routes::new().add(Method::GET, "/openapi.json", crate::openapi::document);
    let routes = profiles::routes(routes);
    let routes = settings::routes(routes);
    let routes = mailboxes::routes(routes);
    let routes = ops::routes(routes);
    let routes = activities::routes(routes);
    let routes = access::routes(routes);
    let Routes { router, table } = routes;
    let router = router
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    (router, table)
}

/// Every route the router serves: method and path template.
pub fn route_table() -> Vec<RouteSpec> {
    build().1
}

/// One page of a list.
#[derive(Debug, Serialize)]
pub(crate) struct PageBody<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `next` for the following page; absent at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl<T> From<exsync_domain::ports::Page<T>> for PageBody<T> {
    fn from(p: exsync_domain::ports::Page<T>) -> Self {
        PageBody {
            items: p.items,
            next: p.next,
        }
    }
}

/// Parses a path id into its newtype; a malformed one is a 400 naming the parameter.
pub(crate) fn path_id<T>(
    raw: &str,
    parse: impl FnOnce(&str) -> Option<T>,
    name: &str,
) -> Result<T, ApiError> {
    parse(raw).ok_or_else(|| ApiError::field(name, "is not a valid id"))
}

/// Mailbox ids of a bulk request (`{"mailbox_ids": [...]}`): the domain checks them.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MailboxIds {
    /// The mailboxes.
    #[serde(default)]
    pub mailbox_ids: Vec<String>,
}
