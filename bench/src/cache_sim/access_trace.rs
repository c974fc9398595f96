//! A distributor's access log (`hecaton dataplane serve --access-log`) as a cache trace: each
//! `GET` of an asset answered 200 or 206 is a request for its object at the line's time; an
//! object's size is the largest full (200) response seen for it (or the largest range, when
//! only ranges were seen). Lines that are not asset reads are skipped, and counted.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use anyhow::Context;

/// The trace: sizes by dense index, then (index, ms since the first request) in order.
#[derive(Debug, Default)]
pub struct AccessTrace {
    /// Size of each object, by dense index.
    pub sizes: Vec<u64>,
    /// Requests in log order.
    pub requests: Vec<(u32, u64)>,
    /// Lines skipped (not an asset GET answered 200/206, or not parsable).
    pub skipped: u64,
}

/// Reads `path`.
pub fn read(path: &Path) -> anyhow::Result<AccessTrace> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut t = AccessTrace::default();
    let mut index: HashMap<u64, u32> = HashMap::new();
    let mut full: Vec<bool> = Vec::new();
    let mut first_ms = None;
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        let Some((ms, id, status, bytes)) = parse(&line) else {
            t.skipped += 1;
            continue;
        };
        let start = *first_ms.get_or_insert(ms);
        let next = t.sizes.len() as u32;
        let i = *index.entry(id).or_insert(next);
        if i == next {
            t.sizes.push(0);
            full.push(false);
        }
        let (size, seen_full) = (&mut t.sizes[i as usize], &mut full[i as usize]);
        if status == 200 && (!*seen_full || bytes > *size) {
            *size = bytes;
            *seen_full = true;
        } else if !*seen_full {
            *size = (*size).max(bytes);
        }
        t.requests.push((i, ms.saturating_sub(start)));
    }
    anyhow::ensure!(
        !t.requests.is_empty(),
        "{} has no asset reads (GET answered 200 or 206)",
        path.display()
    );
    Ok(t)
}

/// (ms since the epoch, object id, status, bytes) of an asset GET line answered 200 or 206.
fn parse(line: &str) -> Option<(u64, u64, u16, u64)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let [time, _client, method, path, status, bytes, _secs, object, _x_cache] = f[..] else {
        return None;
    };
    let status: u16 = status.parse().ok()?;
    if method != "GET" || !(status == 200 || status == 206) || !path.starts_with("/api/v1/assets/")
    {
        return None;
    }
    Some((
        time_ms(time)?,
        object.parse().ok()?,
        status,
        bytes.parse().ok()?,
    ))
}

/// `2026-12-06T03:40:00.123Z` → ms since the epoch.
fn time_ms(t: &str) -> Option<u64> {
    let t = t.strip_suffix('Z')?;
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, millis) = time.split_once('.').unwrap_or((time, "0"));
    let mut h = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (hh, mm, ss) = (h.next()??, h.next()??, h.next()??);
    // days-from-civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    // A fraction of a second: ".5" is 500 ms, ".123456" 123 ms.
    let frac = format!("{:0<3}", &millis[..millis.len().min(3)]);
    u64::try_from(secs * 1000 + frac.parse::<i64>().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_reads_become_requests_with_sizes_and_times() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(
            &log,
            "2026-12-06T04:20:00.000Z 1.2.3.4:5 GET /api/v1/assets/12 200 1000 0.001 12 miss\n\
             2026-12-06T04:20:00.500Z 1.2.3.4:5 GET /api/v1/assets/12 206 100 0.001 12 hit\n\
             2026-12-06T04:20:01.000Z 1.2.3.4:5 GET /api/v1/assets/9 206 300 0.001 9 miss\n\
             2026-12-06T04:20:02.000Z 1.2.3.4:5 GET /api/v1/assets/12 404 50 0.001 12 -\n\
             2026-12-06T04:20:03.000Z 1.2.3.4:5 GET /api/v1/status 200 400 0.001 - -\n\
             garbage\n",
        )
        .unwrap();
        let t = read(&log).unwrap();
        assert_eq!(t.sizes, vec![1000, 300]);
        assert_eq!(t.requests, vec![(0, 0), (0, 500), (1, 1000)]);
        assert_eq!(t.skipped, 3);
        assert_eq!(time_ms("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(time_ms("2026-12-06T04:20:00.123Z"), Some(1_796_530_800_123));
    }
}
