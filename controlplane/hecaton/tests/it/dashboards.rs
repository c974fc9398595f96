//! The Grafana dashboards (`deploy/grafana/`) query only what a running node exports: every
//! `hecaton_*` metric named in a panel's expression must be a family of the node's `/metrics`.

use serde_json::Value;

/// The storage node's dashboard.
pub const STORAGE: &str = include_str!("../../../../deploy/grafana/storage-node.json");
/// The distributor's dashboard.
pub const DISTRIBUTOR: &str = include_str!("../../../../deploy/grafana/distributor.json");

/// Every `hecaton_*` name in the dashboard's expressions.
fn queried(dashboard: &str) -> Vec<String> {
    let json: Value = serde_json::from_str(dashboard).expect("dashboard JSON");
    let mut names = Vec::new();
    for panel in json["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            let mut rest = expr;
            while let Some(at) = rest.find("hecaton_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    names
}

/// Whether `metrics` (OpenMetrics text) has a sample named `name`, or declares its family
/// (`_total`, `_bucket`, `_sum`, `_count` are a family's samples).
fn exported(metrics: &str, name: &str) -> bool {
    let family = ["_total", "_bucket", "_sum", "_count"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name);
    metrics.lines().any(|l| {
        l.strip_prefix(name)
            .is_some_and(|r| r.starts_with('{') || r.starts_with(' '))
            || l.strip_prefix("# TYPE ")
                .and_then(|r| r.strip_prefix(family))
                .is_some_and(|r| r.starts_with(' '))
    })
}

/// Panics, naming them, if the dashboard queries metrics that `metrics` lacks.
pub fn assert_exported(dashboard: &str, metrics: &str) {
    let names = queried(dashboard);
    assert!(names.len() >= 20, "few metrics found: {names:?}");
    let missing: Vec<&String> = names.iter().filter(|n| !exported(metrics, n)).collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries {missing:?}, which the node does not export:\n{metrics}"
    );
}

#[test]
fn a_renamed_metric_is_caught() {
    let metrics =
        "# TYPE hecaton_cache_fills counter\nhecaton_cache_fills_total{outcome=\"x\"} 1\n\
                   hecaton_store_used_bytes 5\n";
    assert!(exported(metrics, "hecaton_cache_fills_total"));
    assert!(exported(metrics, "hecaton_store_used_bytes"));
    assert!(!exported(metrics, "hecaton_store_used"));
    assert!(!exported(metrics, "hecaton_bytes_held"));
    assert!(queried(STORAGE).contains(&"hecaton_store_used_bytes".to_owned()));
}
