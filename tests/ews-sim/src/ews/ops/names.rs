//! ResolveNames against the directory's mailboxes. exchangelib sends it to probe the server
//! version when none is configured, so it must at least answer in shape.
//!
//! <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/resolvenames-operation>

use super::{Ctx, Out};
use crate::ews::codes::{EwsError, ResponseCode};
use crate::ews::xml::{NS_M, child_text};
use roxmltree::Node;

/// Most resolutions Exchange returns (`ArrayOfResolutionType` allows 100).
const MAX_RESOLUTIONS: usize = 100;

/// ResolveNames: mailboxes whose address starts with, or whose display name contains, the
/// unresolved entry (an `SMTP:` prefix is ignored).
pub(crate) fn resolve_names(ctx: &Ctx<'_>, req: Node<'_, '_>, out: &mut Out) {
    let raw = child_text(req, NS_M, "UnresolvedEntry").unwrap_or_default();
    let trimmed = raw.trim();
    let entry = trimmed
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("smtp:"))
        .and_then(|_| trimmed.get(5..))
        .unwrap_or(trimmed)
        .to_lowercase();
    let mut found: Vec<_> = ctx
        .directory
        .mailboxes()
        .filter(|m| {
            !entry.is_empty()
                && (m.smtp.to_lowercase().starts_with(&entry)
                    || m.display_name.to_lowercase().contains(&entry))
        })
        .collect();
    found.sort_by(|a, b| a.smtp.cmp(&b.smtp));
    found.truncate(MAX_RESOLUTIONS);
    out.begin("ResolveNames");
    if found.is_empty() {
        out.msg_error(
            "ResolveNamesResponseMessage",
            &EwsError::new(
                ResponseCode::ErrorNameResolutionNoResults,
                "No results were found.",
            ),
            &[],
        );
    } else {
        out.msg_start("ResolveNamesResponseMessage", None);
        let total = found.len().to_string();
        out.w.start(
            "m:ResolutionSet",
            &[
                ("TotalItemsInView", &total),
                ("IncludesLastItemInRange", "true"),
            ],
        );
        for m in found {
            out.w.start("t:Resolution", &[]);
            out.w.start("t:Mailbox", &[]);
            out.w.leaf("t:Name", &m.display_name);
            out.w.leaf("t:EmailAddress", &m.smtp);
            out.w.leaf("t:RoutingType", "SMTP");
            out.w.leaf("t:MailboxType", "Mailbox");
            out.w.end("t:Mailbox");
            out.w.end("t:Resolution");
        }
        out.w.end("m:ResolutionSet");
        out.msg_end("ResolveNamesResponseMessage");
    }
    out.end("ResolveNames");
}
