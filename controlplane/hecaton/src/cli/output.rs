//! Printing results: one line per event for a person, or the JSON inclusion with `--json`.

use hecaton_controlplane::chain::ChainError;
use hecaton_emulator::embedded::Inclusion;
use serde_json::Value;

/// Prints an included call's events.
pub fn inclusion(json: bool, inclusion: &Inclusion) {
    if json {
        println!(
            "{}",
            serde_json::to_string(inclusion).expect("inclusion serializes")
        );
        return;
    }
    println!(
        "included in block {} ({})",
        inclusion.block, inclusion.block_hash
    );
    for event in &inclusion.events {
        println!(
            "  {}",
            event_line(&serde_json::to_value(event).expect("event serializes"))
        );
    }
}

/// `Pallet.EventName(fields)` from an event's JSON.
pub fn event_line(event: &Value) -> String {
    let pallet = event["pallet"].as_str().unwrap_or("?");
    match &event["event"] {
        Value::Object(map) => {
            let (name, fields) = map.iter().next().expect("one variant");
            let fields = match fields {
                Value::Array(items) => items
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            format!("{pallet}.{name}({fields})")
        }
        Value::String(name) => format!("{pallet}.{name}"),
        other => format!("{pallet}.{other}"),
    }
}

/// Turns a chain error into the CLI's error, keeping the pallet error name visible.
pub fn chain_error(error: ChainError) -> anyhow::Error {
    match error {
        ChainError::Dispatch { block, error } => {
            anyhow::anyhow!("the call failed in block {block}: {error}")
        }
        other => other.into(),
    }
}
