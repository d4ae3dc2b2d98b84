//! Serde adapters for Alipay's wire formats: yuan strings for money, China time for instants.

/// `Fen` as a yuan string (`"0.01"`); Alipay sends amounts as strings, never as JSON numbers.
pub mod yuan {
    use channel_core::Fen;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's `serialize_with` signature
    pub fn serialize<S: Serializer>(fen: &Fen, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&fen.to_yuan_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fen, D::Error> {
        let s = String::deserialize(d)?;
        Fen::parse_yuan(&s).map_err(serde::de::Error::custom)
    }

    /// An optional amount; absent and `""` both mean none.
    pub mod option {
        use super::{Deserialize, Deserializer, Fen};

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Fen>, D::Error> {
            match Option::<String>::deserialize(d)? {
                None => Ok(None),
                Some(s) if s.is_empty() => Ok(None),
                Some(s) => Fen::parse_yuan(&s)
                    .map(Some)
                    .map_err(serde::de::Error::custom),
            }
        }
    }
}

/// An optional instant as an Alipay time string (China time).
pub mod china_time_option {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    #[allow(clippy::ref_option)] // serde's `serialize_with` signature
    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&crate::china_time::format(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => crate::china_time::parse(&s)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}
