//! Conditional requests against our strong entity tag (the content id in quotes): `If-None-Match`
//! (weak comparison, RFC 9110 §13.1.2) and `If-Range` (strong comparison, §13.1.5). We send no
//! `Last-Modified`, so an `If-Range` date never matches and the full object is sent.

/// Whether `If-None-Match: value` matches `etag` (which includes its quotes): the request is
/// then answered 304.
pub fn none_match(value: &[u8], etag: &[u8]) -> bool {
    value.split(|&b| b == b',').any(|tag| {
        let tag = tag.trim_ascii();
        tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == etag
    })
}

/// Whether `If-Range: value` lets the range apply: only an identical strong tag does.
pub fn range_applies(value: &[u8], etag: &[u8]) -> bool {
    value.trim_ascii() == etag
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &[u8] = b"\"gW4QsJpeRbCjxSBRonyaCtuexDiyZiQRMJVN4EnvHcVdAU\"";

    #[test]
    fn if_none_match() {
        assert!(none_match(TAG, TAG));
        assert!(none_match(b"*", TAG));
        assert!(none_match(
            b"W/\"gW4QsJpeRbCjxSBRonyaCtuexDiyZiQRMJVN4EnvHcVdAU\"",
            TAG
        ));
        assert!(none_match(
            b"\"other\", \"gW4QsJpeRbCjxSBRonyaCtuexDiyZiQRMJVN4EnvHcVdAU\"",
            TAG
        ));
        assert!(!none_match(b"\"other\"", TAG));
        assert!(
            !none_match(b"gW4QsJpeRbCjxSBRonyaCtuexDiyZiQRMJVN4EnvHcVdAU", TAG),
            "unquoted"
        );
    }

    #[test]
    fn if_range() {
        assert!(range_applies(TAG, TAG));
        assert!(
            !range_applies(b"W/\"gW4QsJpeRbCjxSBRonyaCtuexDiyZiQRMJVN4EnvHcVdAU\"", TAG),
            "weak never matches"
        );
        assert!(
            !range_applies(b"Wed, 21 Oct 2015 07:28:00 GMT", TAG),
            "dates never match"
        );
        assert!(!range_applies(b"\"other\"", TAG));
    }
}
