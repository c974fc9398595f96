//! SCALE through the real metadata: values, events and the `System.Events` list, encoded from
//! `scale_value::Value`s the metadata checks. Shared by the offline tests and the fake node.

use subxt::dynamic::Value;
use subxt::ext::scale_encode::EncodeAsType;
use subxt::Metadata;

use hecaton_controlplane::chain::joystream::encode::ToValue;
use hecaton_emulator::runtime::event::StorageEvent;

/// Encodes `value` as the type `ty`, panicking with the reason if the shape is wrong.
pub fn encode(md: &Metadata, ty: u32, value: &Value) -> Vec<u8> {
    value
        .encode_as_type(ty, md.types())
        .unwrap_or_else(|e| panic!("cannot encode {value} as type {ty}: {e}"))
}

/// The value type of `pallet.entry`.
pub fn value_ty(md: &Metadata, pallet: &str, entry: &str) -> u32 {
    md.pallet_by_name(pallet)
        .and_then(|p| p.storage())
        .and_then(|s| s.entry_by_name(entry))
        .unwrap_or_else(|| panic!("no storage entry {pallet}.{entry}"))
        .value_ty()
}

/// A `Storage` event as the runtime's outer event.
pub fn storage_event(event: &StorageEvent) -> Value {
    Value::unnamed_variant("Storage", [event.to_value()])
}

/// A plain `DispatchInfo`.
fn dispatch_info() -> Value {
    Value::named_composite([
        (
            "weight",
            Value::named_composite([
                ("ref_time", Value::u128(1000)),
                ("proof_size", Value::u128(0)),
            ]),
        ),
        ("class", Value::unnamed_variant("Normal", [])),
        ("pays_fee", Value::unnamed_variant("Yes", [])),
    ])
}

/// `System.ExtrinsicSuccess` with a plain dispatch info.
pub fn extrinsic_success() -> Value {
    Value::unnamed_variant(
        "System",
        [Value::named_variant(
            "ExtrinsicSuccess",
            [("dispatch_info", dispatch_info())],
        )],
    )
}

/// An `EventRecord` of extrinsic `index` (or of the block's finalization).
pub fn record(index: Option<u32>, event: Value) -> Value {
    let phase = match index {
        Some(i) => Value::unnamed_variant("ApplyExtrinsic", [Value::u128(u128::from(i))]),
        None => Value::unnamed_variant("Finalization", []),
    };
    Value::named_composite([
        ("phase", phase),
        ("event", event),
        ("topics", Value::unnamed_composite([])),
    ])
}

/// The SCALE bytes of `System.Events` holding `records`.
pub fn system_events(md: &Metadata, records: Vec<Value>) -> Vec<u8> {
    encode(
        md,
        value_ty(md, "System", "Events"),
        &Value::unnamed_composite(records),
    )
}

/// `System.ExtrinsicFailed` with the model's error as the chain's `DispatchError::Module`.
pub fn extrinsic_failed(md: &Metadata, error: &hecaton_emulator::runtime::DispatchError) -> Value {
    use hecaton_emulator::runtime::DispatchError as D;
    let dispatch_error = match error {
        D::Storage(e) => {
            let pallet = md.pallet_by_name("Storage").expect("Storage pallet");
            let index = pallet
                .error_variants()
                .and_then(|vs| vs.iter().find(|v| v.name == e.name()))
                .map(|v| v.index)
                .unwrap_or_else(|| panic!("the metadata has no Storage error {}", e.name()));
            Value::unnamed_variant(
                "Module",
                [Value::named_composite([
                    ("index", Value::u128(u128::from(pallet.error_index()))),
                    ("error", Value::from_bytes([index, 0, 0, 0])),
                ])],
            )
        }
        _ => Value::unnamed_variant("BadOrigin", []),
    };
    Value::unnamed_variant(
        "System",
        [Value::named_variant(
            "ExtrinsicFailed",
            [
                ("dispatch_error", dispatch_error),
                ("dispatch_info", dispatch_info()),
            ],
        )],
    )
}
