//! State that knows what changed: the pieces a [`super::Store`] journals instead of the whole
//! state.
//!
//! A state struct is made of [`TrackedMap`]s (one mark per key taken mutably) and [`TrackedValue`]s
//! (one mark per field), and `journaled!` implements [`Journaled`] for
//! it from the list of its fields. After each update the store asks the state for its changes
//! (the marked entries, as they are now, or their removal) and appends them to the journal;
//! replaying the journal applies them again in order.
//!
//! What makes a forgotten change hard to write: the wrappers hand out `&mut` only through methods
//! that mark; the state's fields can only be reached mutably through them (a field of another type
//! does not compile in `journaled!`); and `journaled!` names every field of the struct, so a field
//! added without being listed does not compile either. What is left (replacing a whole field, as
//! in `s.orders = TrackedMap::default()`) is caught in debug builds: the store replays every record
//! it writes and compares the result with the state (`Store::update`).

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// A state a [`super::Store`] can journal; `journaled!` implements it.
///
/// The snapshot is the state's own JSON with one more member, `journal_seq`: the state must
/// ignore unknown members when it is read (serde's default; no `deny_unknown_fields`).
pub trait Journaled: Serialize + DeserializeOwned + Default {
    /// Writes the changes since the last call as a JSON object (field name → change) to `out` and
    /// forgets them. `Ok(false)`, with nothing written, when nothing changed.
    ///
    /// # Errors
    /// A changed value cannot be written as JSON.
    fn write_changes(&mut self, out: &mut Vec<u8>) -> serde_json::Result<bool>;

    /// Applies changes written by [`Journaled::write_changes`].
    ///
    /// # Errors
    /// A change does not fit the state (a field it does not have, a value of another type).
    fn apply_changes(&mut self, changes: serde_json::Map<String, Value>) -> serde_json::Result<()>;
}

/// One field of a [`Journaled`] state.
pub trait Tracked {
    /// Writes the change since the last call as one JSON value and forgets it; `Ok(false)`, with
    /// nothing written, when there is none.
    ///
    /// # Errors
    /// The changed value cannot be written as JSON.
    fn write_change(&mut self, out: &mut Vec<u8>) -> serde_json::Result<bool>;

    /// Applies a change written by [`Tracked::write_change`].
    ///
    /// # Errors
    /// The change does not have the field's type.
    fn apply_change(&mut self, change: Value) -> serde_json::Result<()>;
}

/// Implements [`Journaled`] for a struct whose fields are all [`Tracked`], from the list of its
/// fields: `journaled!(MyState { trades, seq });`. Every field must be listed (the expansion
/// destructures the struct without `..`).
macro_rules! journaled {
    ($state:ty { $($field:ident),+ $(,)? }) => {
        impl $crate::persist::Journaled for $state {
            fn write_changes(&mut self, out: &mut Vec<u8>) -> serde_json::Result<bool> {
                let Self { $($field),+ } = self;
                let mut changes = $crate::persist::tracked::Changes::start(out);
                $( changes.field(stringify!($field), $field)?; )+
                Ok(changes.finish())
            }

            fn apply_changes(
                &mut self,
                changes: serde_json::Map<String, serde_json::Value>,
            ) -> serde_json::Result<()> {
                let Self { $($field),+ } = self;
                for (name, change) in changes {
                    match name.as_str() {
                        $( stringify!($field) =>
                            $crate::persist::Tracked::apply_change($field, change)?, )+
                        other => {
                            return Err(<serde_json::Error as serde::de::Error>::unknown_field(
                                other,
                                &[$(stringify!($field)),+],
                            ));
                        }
                    }
                }
                Ok(())
            }
        }
    };
}
pub(crate) use journaled;

/// Writes a [`Journaled::write_changes`] object, leaving out the fields without a change.
#[doc(hidden)]
pub struct Changes<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    any: bool,
}

impl<'a> Changes<'a> {
    pub fn start(out: &'a mut Vec<u8>) -> Self {
        let start = out.len();
        out.push(b'{');
        Self {
            out,
            start,
            any: false,
        }
    }

    /// Adds `"name":change` when the field has a change.
    ///
    /// # Errors
    /// The change cannot be written as JSON.
    pub fn field(&mut self, name: &str, field: &mut impl Tracked) -> serde_json::Result<()> {
        let before = self.out.len();
        if self.any {
            self.out.push(b',');
        }
        serde_json::to_writer(&mut *self.out, name)?;
        self.out.push(b':');
        if field.write_change(self.out)? {
            self.any = true;
        } else {
            self.out.truncate(before);
        }
        Ok(())
    }

    /// Closes the object; whether any field changed (nothing is left written when none did).
    pub fn finish(self) -> bool {
        if self.any {
            self.out.push(b'}');
        } else {
            self.out.truncate(self.start);
        }
        self.any
    }
}

/// A digest of an entry's JSON as last journaled: an entry taken mutably but left as it was is
/// not journaled again. 128 bits of SHA-256, so two different values never pass for one.
type Fingerprint = [u8; 16];

fn fingerprint(json: &[u8]) -> Fingerprint {
    let digest = Sha256::digest(json);
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// A `BTreeMap` that marks each key handed out mutably, inserted or removed. Reading goes through
/// `Deref` (`get`, `iter`, `values`, `len`, …); the only ways to change it are
/// [`TrackedMap::get_mut`], [`TrackedMap::insert`] and [`TrackedMap::remove`]. Serialized as the
/// map itself.
///
/// A change is a JSON array of `[key, value]` (the entry as it is now) and `[key]` (removed).
pub struct TrackedMap<K, V> {
    map: BTreeMap<K, V>,
    marked: BTreeSet<K>,
    /// The fingerprint of each entry journaled since the state was loaded.
    journaled: BTreeMap<K, Fingerprint>,
}

impl<K: Ord + Clone, V> TrackedMap<K, V> {
    /// The value under `key`, to change: the entry is journaled after the update (unless it is
    /// left as it was).
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (k, _) = self.map.get_key_value(key)?;
        if !self.marked.contains(key) {
            self.marked.insert(k.clone());
        }
        self.map.get_mut(key)
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.marked.insert(key.clone());
        self.map.insert(key, value)
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (k, v) = self.map.remove_entry(key)?;
        self.marked.insert(k);
        Some(v)
    }
}

impl<K, V> Tracked for TrackedMap<K, V>
where
    K: Ord + Clone + Serialize + DeserializeOwned,
    V: Serialize + DeserializeOwned,
{
    fn write_change(&mut self, out: &mut Vec<u8>) -> serde_json::Result<bool> {
        let start = out.len();
        out.push(b'[');
        let mut any = false;
        let mut value = Vec::new();
        for key in std::mem::take(&mut self.marked) {
            let entry_start = out.len();
            if any {
                out.push(b',');
            }
            out.push(b'[');
            serde_json::to_writer(&mut *out, &key)?;
            match self.map.get(&key) {
                Some(v) => {
                    value.clear();
                    serde_json::to_writer(&mut value, v)?;
                    let print = fingerprint(&value);
                    if self.journaled.get(&key) == Some(&print) {
                        out.truncate(entry_start);
                        continue;
                    }
                    out.push(b',');
                    out.extend_from_slice(&value);
                    self.journaled.insert(key, print);
                }
                None => {
                    self.journaled.remove(&key);
                }
            }
            out.push(b']');
            any = true;
        }
        if any {
            out.push(b']');
        } else {
            out.truncate(start);
        }
        Ok(any)
    }

    fn apply_change(&mut self, change: Value) -> serde_json::Result<()> {
        let Value::Array(entries) = change else {
            return Err(serde_json::Error::custom("a map change is an array"));
        };
        for entry in entries {
            let Value::Array(mut parts) = entry else {
                return Err(serde_json::Error::custom("a map entry is an array"));
            };
            match parts.len() {
                2 => {
                    let value = V::deserialize(parts.pop().unwrap_or(Value::Null))?;
                    let key = K::deserialize(parts.pop().unwrap_or(Value::Null))?;
                    self.map.insert(key, value);
                }
                1 => {
                    let key = K::deserialize(parts.pop().unwrap_or(Value::Null))?;
                    self.map.remove(&key);
                }
                n => {
                    return Err(serde_json::Error::invalid_length(
                        n,
                        &"[key, value] or [key]",
                    ));
                }
            }
        }
        Ok(())
    }
}

impl<K, V> Default for TrackedMap<K, V> {
    fn default() -> Self {
        Self {
            map: BTreeMap::new(),
            marked: BTreeSet::new(),
            journaled: BTreeMap::new(),
        }
    }
}

impl<K, V> From<BTreeMap<K, V>> for TrackedMap<K, V> {
    fn from(map: BTreeMap<K, V>) -> Self {
        Self {
            map,
            ..Self::default()
        }
    }
}

impl<K, V> Deref for TrackedMap<K, V> {
    type Target = BTreeMap<K, V>;
    fn deref(&self) -> &BTreeMap<K, V> {
        &self.map
    }
}

impl<'a, K, V> IntoIterator for &'a TrackedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::collections::btree_map::Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}

impl<K: std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for TrackedMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.map.fmt(f)
    }
}

impl<K: Serialize, V: Serialize> Serialize for TrackedMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(serializer)
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for TrackedMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(deserializer).map(Self::from)
    }
}

/// A value that marks itself when taken mutably (`DerefMut`: `*s.seq += 1`). Serialized as the
/// value itself; its change is the whole value.
#[derive(Default)]
pub struct TrackedValue<T> {
    value: T,
    marked: bool,
}

impl<T> TrackedValue<T> {
    pub fn new(value: T) -> Self {
        Self {
            value,
            marked: false,
        }
    }
}

impl<T: Serialize + DeserializeOwned> Tracked for TrackedValue<T> {
    fn write_change(&mut self, out: &mut Vec<u8>) -> serde_json::Result<bool> {
        if !std::mem::take(&mut self.marked) {
            return Ok(false);
        }
        serde_json::to_writer(out, &self.value)?;
        Ok(true)
    }

    fn apply_change(&mut self, change: Value) -> serde_json::Result<()> {
        self.value = T::deserialize(change)?;
        Ok(())
    }
}

impl<T> Deref for TrackedValue<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for TrackedValue<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.marked = true;
        &mut self.value
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for TrackedValue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: Serialize> Serialize for TrackedValue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for TrackedValue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self::new)
    }
}
