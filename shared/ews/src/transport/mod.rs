//! HTTPS transport for EWS and Autodiscover: TLS (rustls, optional custom CA), Basic
//! (reqwest) and NTLM (a pool of authenticated HTTP/1.1 connections on hyper).

mod error;
pub use error::TransportError;
