//! One module per EWS operation.
