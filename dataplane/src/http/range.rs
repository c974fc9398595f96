//! `Range: bytes=...` (RFC 9110 §14). One range is served as 206; a syntactically invalid
//! header, another unit or several ranges are ignored (a full 200), as the RFC allows; a range
//! that starts past the end is 416.

/// A single byte range as written by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `bytes=first-last`
    Bounded(u64, u64),
    /// `bytes=first-`
    From(u64),
    /// `bytes=-length`: the last `length` bytes.
    Suffix(u64),
}

/// What to send for a representation of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// 200 with the whole representation.
    Full,
    /// 206 with bytes `start..=end`.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte, inclusive.
        end: u64,
    },
    /// 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// Parses a `Range` header value; `None` means ignore it.
pub fn parse(value: &[u8]) -> Option<RangeSpec> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (unit, set) = text.split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return None;
    }
    let (first, last) = set.trim().split_once('-')?;
    let num = |s: &str| hecaton_shared::parse_decimal_u64(s.trim()).ok();
    match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, true) => None,
        (true, false) => num(last).map(RangeSpec::Suffix),
        (false, true) => num(first).map(RangeSpec::From),
        (false, false) => {
            let (a, b) = (num(first)?, num(last)?);
            (a <= b).then_some(RangeSpec::Bounded(a, b))
        }
    }
}

/// Resolves a range against a representation of `size` bytes.
pub fn resolve(spec: Option<RangeSpec>, size: u64) -> Resolved {
    let Some(spec) = spec else {
        return Resolved::Full;
    };
    match spec {
        RangeSpec::Bounded(first, _) | RangeSpec::From(first) if first >= size => {
            Resolved::Unsatisfiable
        }
        RangeSpec::Bounded(first, last) => Resolved::Partial {
            start: first,
            end: last.min(size - 1),
        },
        RangeSpec::From(first) => Resolved::Partial {
            start: first,
            end: size - 1,
        },
        RangeSpec::Suffix(0) => Resolved::Unsatisfiable,
        RangeSpec::Suffix(_) if size == 0 => Resolved::Unsatisfiable,
        RangeSpec::Suffix(n) => Resolved::Partial {
            start: size.saturating_sub(n),
            end: size - 1,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(value: &str, size: u64) -> Resolved {
        resolve(parse(value.as_bytes()), size)
    }

    #[test]
    fn syntax() {
        assert_eq!(parse(b"bytes=0-499"), Some(RangeSpec::Bounded(0, 499)));
        assert_eq!(parse(b"bytes=500-"), Some(RangeSpec::From(500)));
        assert_eq!(parse(b"bytes=-500"), Some(RangeSpec::Suffix(500)));
        assert_eq!(parse(b"Bytes = 1 - 2 "), Some(RangeSpec::Bounded(1, 2)));
        for ignored in [
            "bytes=5-2",
            "bytes=-",
            "bytes=a-b",
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes",
            "bytes=+1-2",
            "",
        ] {
            assert_eq!(parse(ignored.as_bytes()), None, "{ignored:?}");
        }
    }

    #[test]
    fn edges_of_a_100_byte_object() {
        assert_eq!(r("bytes=0-0", 100), Resolved::Partial { start: 0, end: 0 });
        assert_eq!(
            r("bytes=99-99", 100),
            Resolved::Partial { start: 99, end: 99 }
        );
        assert_eq!(
            r("bytes=99-", 100),
            Resolved::Partial { start: 99, end: 99 }
        );
        assert_eq!(
            r("bytes=0-1000", 100),
            Resolved::Partial { start: 0, end: 99 }
        );
        assert_eq!(r("bytes=-1", 100), Resolved::Partial { start: 99, end: 99 });
        assert_eq!(
            r("bytes=-100", 100),
            Resolved::Partial { start: 0, end: 99 }
        );
        assert_eq!(
            r("bytes=-1000", 100),
            Resolved::Partial { start: 0, end: 99 }
        );
        assert_eq!(r("bytes=100-", 100), Resolved::Unsatisfiable);
        assert_eq!(r("bytes=100-200", 100), Resolved::Unsatisfiable);
        assert_eq!(r("bytes=-0", 100), Resolved::Unsatisfiable);
        assert_eq!(r("bytes=0-1,5-6", 100), Resolved::Full);
    }

    #[test]
    fn empty_object() {
        assert_eq!(r("bytes=0-", 0), Resolved::Unsatisfiable);
        assert_eq!(r("bytes=-5", 0), Resolved::Unsatisfiable);
        assert_eq!(resolve(None, 0), Resolved::Full);
    }
}
