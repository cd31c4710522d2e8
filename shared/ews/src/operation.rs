//! The contract every EWS operation fulfils.

use crate::error::EwsError;
use crate::xml::{Element, XmlWriter};

/// An EWS operation: a typed request that writes its SOAP body element and knows how to
/// read the matching response body.
///
/// Deliberately not sealed: later crates may add operations of their own.
pub trait Operation {
    /// The operation's name as EWS spells it (`GetItem`), also the body element's local name.
    const NAME: &'static str;
    /// True when sending the request twice cannot change the mailbox (reads). Such a request
    /// may be replayed once by the transport when a pooled connection was closed under it;
    /// writes (CreateItem, UpdateItem…) never are.
    const READ_ONLY: bool = false;
    /// What a successful call returns. Batched operations return one result per request
    /// item, in request order, so that a per-item error never fails the batch.
    type Response;

    /// Writes the `m:<NAME>` body element (and its children) into `w`.
    fn write_body(&self, w: &mut XmlWriter);

    /// Reads the `m:<NAME>Response` element (the child of `soap:Body`).
    fn parse_response(body: &Element) -> Result<Self::Response, EwsError>;

    /// Checks a parsed response against this request.
    ///
    /// Batched operations pair the i-th response message with the i-th request item, which
    /// only works when the server answered every item: they return
    /// [`EwsError::MessageCount`] when the counts differ, failing the whole call rather than
    /// attributing results to the wrong items. [`crate::envelope::read_response_for`] calls
    /// this after parsing.
    fn check_response(&self, response: &Self::Response) -> Result<(), EwsError> {
        let _ = response;
        Ok(())
    }
}

/// The check batched operations share: one result per request item.
pub(crate) fn expect_count<T>(expected: usize, results: &[T]) -> Result<(), EwsError> {
    if results.len() == expected {
        Ok(())
    } else {
        Err(EwsError::MessageCount {
            expected,
            actual: results.len(),
        })
    }
}
