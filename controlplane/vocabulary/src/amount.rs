//! Serde for balances (`u128`): a JSON number when it fits in 64 bits, else a decimal string;
//! either is accepted on input. Numbers wider than 64 bits do not survive serde's buffering of
//! tagged enums, and most JSON readers cannot hold them.

use serde::{de, Deserializer, Serializer};

/// Serializes an amount.
pub fn serialize<S: Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
    match u64::try_from(*value) {
        Ok(small) => serializer.serialize_u64(small),
        Err(_) => serializer.collect_str(value),
    }
}

/// Deserializes an amount from a non-negative integer or a decimal string.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u128, D::Error> {
    struct Amount;
    impl de::Visitor<'_> for Amount {
        type Value = u128;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a non-negative integer amount (number or decimal string)")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u128, E> {
            Ok(v.into())
        }
        fn visit_u128<E: de::Error>(self, v: u128) -> Result<u128, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u128, E> {
            u128::try_from(v).map_err(|_| E::custom("amounts are not negative"))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u128, E> {
            hecaton_shared::parse_decimal_u64(v)
                .map(u128::from)
                .or_else(|_| v.parse::<u128>())
                .map_err(|_| E::custom(format!("{v:?} is not a decimal amount")))
        }
    }
    deserializer.deserialize_any(Amount)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Wrap(#[serde(with = "super")] u128);

    #[test]
    fn small_amounts_are_numbers_and_large_ones_strings() {
        assert_eq!(serde_json::to_string(&Wrap(5)).unwrap(), "5");
        let big = u128::from(u64::MAX) + 1;
        assert_eq!(
            serde_json::to_string(&Wrap(big)).unwrap(),
            format!("\"{big}\"")
        );
        assert_eq!(
            serde_json::from_str::<Wrap>(&format!("\"{big}\"")).unwrap(),
            Wrap(big)
        );
        assert_eq!(serde_json::from_str::<Wrap>("7").unwrap(), Wrap(7));
        assert!(serde_json::from_str::<Wrap>("-1").is_err());
    }
}
