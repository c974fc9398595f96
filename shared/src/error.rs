//! The error kinds both planes branch on. Each crate keeps its own `thiserror` enum with the
//! details; `kind()` on those enums maps them here, so that an HTTP handler, a socket reply or a
//! retry loop can decide without matching on another crate's variants.

use serde::{Deserialize, Serialize};

/// What kind of failure happened, independent of where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The caller's input is malformed (bad id, bad header, bad range syntax).
    InvalidInput,
    /// The thing asked for does not exist here.
    NotFound,
    /// The request conflicts with existing state (already stored, concurrent upload).
    Conflict,
    /// The input exceeds a limit (declared size, header cap, memory reservation).
    TooLarge,
    /// Bytes did not match what they were declared to be (size or content id).
    Corrupt,
    /// Temporarily unable: overloaded, draining, not accepting.
    Unavailable,
    /// The local disk or the operating system failed.
    Io,
}

impl ErrorKind {
    /// The HTTP status a public API answers with for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidInput | ErrorKind::Corrupt => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::TooLarge => 413,
            ErrorKind::Unavailable => 503,
            ErrorKind::Io => 500,
        }
    }

    /// Whether trying the same thing again later may succeed.
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorKind::Unavailable | ErrorKind::Io)
    }
}
