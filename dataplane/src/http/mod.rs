//! HTTP/1.1 pieces the server is built from, each pure and tested on its own: request heads
//! (parsed with `httparse`, hyper's parser, under hard limits), byte ranges, conditional
//! requests, and response heads written straight into a buffer.

pub mod conditional;
pub mod date;
mod percent;
pub mod range;
pub mod request;
pub mod response;

pub use percent::percent_decode;
