//! One line of a host report: what was checked, what was found, and how to fix it.

use std::fmt;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Fine as it is.
    Ok,
    /// Works, but not as well as it could.
    Warn,
    /// The data plane cannot run like this.
    Fail,
}

/// The result of one host check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Short name: `io_uring`, `memlock`, `nofile`.
    pub name: &'static str,
    /// How it came out.
    pub status: Status,
    /// What was found, in words an operator understands.
    pub found: String,
    /// What to do about it, when something should be done.
    pub fix: Option<String>,
}

impl Check {
    pub(crate) fn ok(name: &'static str, found: String) -> Self {
        Self {
            name,
            status: Status::Ok,
            found,
            fix: None,
        }
    }

    pub(crate) fn warn(name: &'static str, found: String, fix: String) -> Self {
        Self {
            name,
            status: Status::Warn,
            found,
            fix: Some(fix),
        }
    }

    pub(crate) fn fail(name: &'static str, found: String, fix: String) -> Self {
        Self {
            name,
            status: Status::Fail,
            found,
            fix: Some(fix),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.status {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        write!(f, "[{tag}] {}: {}", self.name, self.found)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n       fix: {fix}")?;
        }
        Ok(())
    }
}
