//! FindItem, and the paged views FindItem and FindFolder share.
//!
//! <https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/finditem-operation>

use super::{Ctx, Out, folder_refs, resolve_folder};
use crate::ews::codes::{EwsError, ResponseCode};
use crate::ews::fields::{ItemShape, PropertyPath, ShapeUse, parse_path};
use crate::ews::render::{ItemView, write_item};
use crate::ews::restriction::{self, Subject, Value};
use crate::ews::xml::{NS_M, NS_T, child, children, elements, parse_datetime, text};
use crate::store::{Item, ItemId, Store};
use roxmltree::Node;
use std::cmp::Ordering;
use time::OffsetDateTime;

/// A paging view (`IndexedPage*View`, `FractionalPage*View`, `CalendarView`), or none.
#[derive(Debug, Clone)]
pub(crate) enum View {
    All {
        max: Option<usize>,
    },
    Indexed {
        max: Option<usize>,
        offset: usize,
        from_end: bool,
    },
    Fractional {
        max: Option<usize>,
        numerator: usize,
        denominator: usize,
    },
    Calendar {
        max: Option<usize>,
        start: OffsetDateTime,
        end: OffsetDateTime,
    },
}

fn paging_error(text: &str) -> EwsError {
    EwsError::new(ResponseCode::ErrorInvalidIndexedPagingParameters, text)
}

fn max_entries(n: Node<'_, '_>) -> Result<Option<usize>, EwsError> {
    match n.attribute("MaxEntriesReturned") {
        None => Ok(None),
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(0) | Err(_) => Err(paging_error(
                "MaxEntriesReturned must be a positive number.",
            )),
            Ok(v) => Ok(Some(v)),
        },
    }
}

fn non_negative(n: Node<'_, '_>, attr: &str) -> Result<usize, EwsError> {
    n.attribute(attr)
        .unwrap_or("0")
        .trim()
        .parse::<usize>()
        .map_err(|_| paging_error("The paging offset is not valid."))
}

impl View {
    /// Reads whichever view element the request carries.
    pub(crate) fn parse(
        req: Node<'_, '_>,
        indexed: &str,
        fractional: &str,
    ) -> Result<View, EwsError> {
        if let Some(n) = child(req, NS_M, indexed) {
            return Ok(View::Indexed {
                max: max_entries(n)?,
                offset: non_negative(n, "Offset")?,
                from_end: n.attribute("BasePoint") == Some("End"),
            });
        }
        if let Some(n) = child(req, NS_M, fractional) {
            let denominator = non_negative(n, "Denominator")?;
            if denominator == 0 {
                return Err(paging_error("Denominator must be positive."));
            }
            return Ok(View::Fractional {
                max: max_entries(n)?,
                numerator: non_negative(n, "Numerator")?,
                denominator,
            });
        }
        if let Some(n) = child(req, NS_M, "CalendarView") {
            let start = n.attribute("StartDate").and_then(parse_datetime);
            let end = n.attribute("EndDate").and_then(parse_datetime);
            return match (start, end) {
                (Some(start), Some(end)) if start <= end => Ok(View::Calendar {
                    max: max_entries(n)?,
                    start,
                    end,
                }),
                _ => Err(EwsError::new(
                    ResponseCode::ErrorInvalidRequest,
                    "CalendarView needs a StartDate before its EndDate.",
                )),
            };
        }
        if let Some(n) = child(req, NS_M, "ContactsView") {
            return Ok(View::All {
                max: max_entries(n)?,
            });
        }
        Ok(View::All { max: None })
    }
}

/// One page of a result list and what the RootFolder element says about it.
#[derive(Debug)]
pub(crate) struct Paged<T> {
    pub items: Vec<T>,
    total: usize,
    indexed_offset: Option<usize>,
    numerator: Option<usize>,
    includes_last: bool,
}

impl<T> Paged<T> {
    /// The `FindResponsePagingAttributes` of the RootFolder element.
    pub(crate) fn attributes(&self) -> Vec<(&'static str, String)> {
        let mut a = Vec::new();
        if let Some(o) = self.indexed_offset {
            a.push(("IndexedPagingOffset", o.to_string()));
        }
        if let Some(n) = self.numerator {
            a.push(("NumeratorOffset", n.to_string()));
            a.push(("AbsoluteDenominator", self.total.to_string()));
        }
        a.push(("TotalItemsInView", self.total.to_string()));
        a.push(("IncludesLastItemInRange", self.includes_last.to_string()));
        a
    }
}

/// Cuts one page out of `list` (already filtered and sorted).
pub(crate) fn page<T>(list: Vec<T>, view: &View) -> Paged<T> {
    let total = list.len();
    let take = |max: Option<usize>, avail: usize| max.map_or(avail, |m| m.min(avail));
    match *view {
        View::All { max } => {
            let n = take(max, total);
            Paged {
                items: list.into_iter().take(n).collect(),
                total,
                indexed_offset: Some(n),
                numerator: None,
                includes_last: n == total,
            }
        }
        View::Calendar { max, .. } => {
            let n = take(max, total);
            Paged {
                items: list.into_iter().take(n).collect(),
                total,
                indexed_offset: None,
                numerator: None,
                includes_last: n == total,
            }
        }
        View::Indexed {
            max,
            offset,
            from_end,
        } => {
            let (start, end) = if from_end {
                let end = total.saturating_sub(offset);
                (end.saturating_sub(take(max, end)), end)
            } else {
                let start = offset.min(total);
                (start, start + take(max, total - start))
            };
            Paged {
                items: list.into_iter().skip(start).take(end - start).collect(),
                total,
                indexed_offset: Some(if from_end { total - start } else { end }),
                numerator: None,
                includes_last: if from_end { start == 0 } else { end == total },
            }
        }
        View::Fractional {
            max,
            numerator,
            denominator,
        } => {
            let start = (total.saturating_mul(numerator) / denominator).min(total);
            let end = start + take(max, total - start);
            Paged {
                items: list.into_iter().skip(start).take(end - start).collect(),
                total,
                indexed_offset: None,
                numerator: Some(end),
                includes_last: end == total,
            }
        }
    }
}

fn value_cmp(a: &Option<Value>, b: &Option<Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => match (a, b) {
            (Value::Str(x), Value::Str(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
            (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
            (Value::Int(x), Value::Int(y)) => x.cmp(y),
            (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
            (Value::Date(x), Value::Date(y)) => x.cmp(y),
            (Value::List(x), Value::List(y)) => x.cmp(y),
            _ => Ordering::Equal,
        },
    }
}

/// Reads `m:SortOrder` into (path, descending) pairs.
fn sort_order(req: Node<'_, '_>) -> Vec<(PropertyPath, bool)> {
    child(req, NS_M, "SortOrder")
        .map(|s| {
            children(s, NS_T, "FieldOrder")
                .filter_map(|fo| {
                    let path = elements(fo).find_map(parse_path)?;
                    Some((path, fo.attribute("Order") != Some("Ascending")))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn sort_items(items: &mut [&Item], order: &[(PropertyPath, bool)]) -> Result<(), EwsError> {
    if order.is_empty() {
        return Ok(());
    }
    // Read every key once so an unsupported sort path is an error, not a panic in a
    // comparator.
    let mut keyed = Vec::with_capacity(items.len());
    for item in items.iter() {
        let keys = order
            .iter()
            .map(|(p, _)| ItemView(item).value(p))
            .collect::<Result<Vec<_>, _>>()?;
        keyed.push((keys, *item));
    }
    keyed.sort_by(|(ka, _), (kb, _)| {
        for ((a, b), (_, desc)) in ka.iter().zip(kb).zip(order) {
            let ord = value_cmp(a, b);
            let ord = if *desc { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
    for (slot, (_, item)) in items.iter_mut().zip(keyed) {
        *slot = item;
    }
    Ok(())
}

fn in_calendar_view(item: &Item, view: &View) -> bool {
    match view {
        View::Calendar { start, end, .. } => match (item.calendar.start, item.calendar.end) {
            (Some(s), Some(e)) => s < *end && e > *start,
            (Some(s), None) => s >= *start && s < *end,
            _ => false,
        },
        _ => true,
    }
}

fn matches_query(item: &Item, query: &str) -> bool {
    let q = query.to_lowercase();
    item.subject
        .as_deref()
        .is_some_and(|s| s.to_lowercase().contains(&q))
        || item
            .body
            .as_text()
            .is_some_and(|b| b.to_lowercase().contains(&q))
}

/// FindItem (Shallow; SoftDeleted and Associated traversals find nothing here).
pub(crate) fn find_item(store: &mut Store, ctx: &Ctx<'_>, req: Node<'_, '_>, out: &mut Out) {
    let shape = child(req, NS_M, "ItemShape")
        .map_or_else(ItemShape::id_only, |n| ItemShape::parse(n, ShapeUse::Find));
    let shallow = req.attribute("Traversal").unwrap_or("Shallow") == "Shallow";
    let view = View::parse(req, "IndexedPageItemView", "FractionalPageItemView");
    let restriction = child(req, NS_M, "Restriction").map(restriction::parse);
    let order = sort_order(req);
    let query = child(req, NS_M, "QueryString")
        .map(text)
        .filter(|q| !q.trim().is_empty());
    let refs = child(req, NS_M, "ParentFolderIds")
        .map(folder_refs)
        .unwrap_or_default();
    out.begin("FindItem");
    for r in &refs {
        let found = resolve_folder(store, ctx, r).and_then(|(smtp, folder)| {
            let view = view.clone()?;
            let mbx = store
                .mailbox(&smtp)
                .ok_or_else(EwsError::folder_not_found)?;
            let mut matching: Vec<&Item> = Vec::new();
            if shallow {
                for item in mbx.items_in(&folder) {
                    if !in_calendar_view(item, &view) {
                        continue;
                    }
                    if query.as_deref().is_some_and(|q| !matches_query(item, q)) {
                        continue;
                    }
                    let keep = match &restriction {
                        None => true,
                        Some(Ok(r)) => restriction::eval(r, &ItemView(item))?,
                        Some(Err(e)) => return Err(e.clone()),
                    };
                    if keep {
                        matching.push(item);
                    }
                }
            }
            if matches!(view, View::Calendar { .. }) && order.is_empty() {
                matching.sort_by_key(|i| i.calendar.start);
            }
            sort_items(&mut matching, &order)?;
            let ids: Vec<ItemId> = matching.iter().map(|i| i.id.clone()).collect();
            Ok((smtp, page(ids, &view)))
        });
        match found {
            Ok((smtp, paged)) => {
                out.msg_start("FindItemResponseMessage", None);
                let attrs = paged.attributes();
                let attrs: Vec<(&str, &str)> =
                    attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                out.w.start("m:RootFolder", &attrs);
                out.w.start("t:Items", &[]);
                if let Some(mbx) = store.mailbox(&smtp) {
                    for id in &paged.items {
                        if let Some(item) = mbx.items.get(id) {
                            write_item(&mut out.w, mbx, item, &shape);
                        }
                    }
                }
                out.w.end("t:Items");
                out.w.end("m:RootFolder");
                out.msg_end("FindItemResponseMessage");
            }
            Err(e) => out.msg_error("FindItemResponseMessage", &e, &[]),
        }
    }
    out.end("FindItem");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_paging_from_the_beginning_reports_the_next_offset() {
        let p = page(
            (0..10).collect(),
            &View::Indexed {
                max: Some(4),
                offset: 8,
                from_end: false,
            },
        );
        assert_eq!(p.items, vec![8, 9]);
        assert_eq!(p.indexed_offset, Some(10));
        assert!(p.includes_last);
    }

    #[test]
    fn indexed_paging_from_the_end_counts_backwards() {
        let p = page(
            (0..10).collect(),
            &View::Indexed {
                max: Some(3),
                offset: 0,
                from_end: true,
            },
        );
        assert_eq!(p.items, vec![7, 8, 9]);
        assert!(!p.includes_last);
    }

    #[test]
    fn an_offset_past_the_end_yields_an_empty_last_page() {
        let p = page(
            (0..3).collect::<Vec<i32>>(),
            &View::Indexed {
                max: Some(5),
                offset: 7,
                from_end: false,
            },
        );
        assert!(p.items.is_empty());
        assert!(p.includes_last);
    }
}
