//! [`JsValue`]: the values host functions, binary messages and
//! [`Machine::eval_async`](crate::Machine::eval_async) carry, and their
//! encoding (`port/xs_wasm.h`, "Value encoding"): JSON's values plus
//! `undefined`, `BigInt`, `ArrayBuffer`, typed arrays, `DataView`, `Map`,
//! `Set` and `Date`.

use std::fmt;

/// The kind of a typed array (or `DataView`) in a [`JsValue::TypedArray`];
/// the number is its code in the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TypedArrayKind {
    /// `Int8Array`
    Int8 = 0,
    /// `Uint8Array`
    Uint8 = 1,
    /// `Uint8ClampedArray`
    Uint8Clamped = 2,
    /// `Int16Array`
    Int16 = 3,
    /// `Uint16Array`
    Uint16 = 4,
    /// `Int32Array`
    Int32 = 5,
    /// `Uint32Array`
    Uint32 = 6,
    /// `Float32Array`
    Float32 = 7,
    /// `Float64Array`
    Float64 = 8,
    /// `BigInt64Array`
    BigInt64 = 9,
    /// `BigUint64Array`
    BigUint64 = 10,
    /// `DataView`
    DataView = 11,
}

impl TypedArrayKind {
    const ALL: [TypedArrayKind; 12] = [
        Self::Int8,
        Self::Uint8,
        Self::Uint8Clamped,
        Self::Int16,
        Self::Uint16,
        Self::Int32,
        Self::Uint32,
        Self::Float32,
        Self::Float64,
        Self::BigInt64,
        Self::BigUint64,
        Self::DataView,
    ];

    /// Bytes per element (1 for `DataView`).
    pub fn element_size(self) -> usize {
        match self {
            Self::Int8 | Self::Uint8 | Self::Uint8Clamped | Self::DataView => 1,
            Self::Int16 | Self::Uint16 => 2,
            Self::Int32 | Self::Uint32 | Self::Float32 => 4,
            Self::Float64 | Self::BigInt64 | Self::BigUint64 => 8,
        }
    }

    /// The constructor's name in JavaScript (`"Uint8Array"`).
    pub fn name(self) -> &'static str {
        ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array", "DataView"][self as usize]
    }
}

/// A JavaScript value as it crosses between host and guest (structured
/// data, not a reference: each crossing copies it).
///
/// `Object` keeps its keys in the guest's order. Conversions: from and to
/// [`serde_json::Value`] ([`JsValue::from_json`], [`JsValue::to_json`]),
/// and serde's `Serialize`/`Deserialize` (bytes as serde bytes, `Undefined`
/// as unit, `BigInt` as its decimal text, `Date` as its time value, `Map`
/// as a sequence of pairs).
///
/// # Examples
///
/// ```
/// use xs_wasm::{JsValue, TypedArrayKind};
/// let value = JsValue::Array(vec![JsValue::from("a"), JsValue::Bytes(vec![1, 2]), JsValue::Undefined]);
/// let bytes = value.encode();
/// assert_eq!(JsValue::decode(&bytes).unwrap(), value);
/// assert_eq!(JsValue::from(vec![1u8, 2]), JsValue::TypedArray(TypedArrayKind::Uint8, vec![1, 2]));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum JsValue {
    /// `undefined`
    Undefined,
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number (f64; `-0`, `NaN` and the infinities included)
    Number(f64),
    /// A string (UTF-8; the guest's lone surrogates arrive as U+FFFD)
    String(String),
    /// A `BigInt`, as its decimal text (`"-123"`)
    BigInt(String),
    /// An array (holes are `Undefined`)
    Array(Vec<JsValue>),
    /// A plain object: its own enumerable string keys, in order
    Object(Vec<(String, JsValue)>),
    /// An `ArrayBuffer`
    Bytes(Vec<u8>),
    /// A typed array or a `DataView`: its kind and its bytes (little-endian
    /// elements; only the view's range of its buffer)
    TypedArray(TypedArrayKind, Vec<u8>),
    /// A `Map`, its entries in order
    Map(Vec<(JsValue, JsValue)>),
    /// A `Set`, its values in order
    Set(Vec<JsValue>),
    /// A `Date`, its time value (ms since the epoch; NaN for an invalid date)
    Date(f64),
}

/// Why bytes are not an encoded value ([`JsValue::decode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an encoded value: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

/// Nesting deeper than this is refused (as the guest's encoder does).
const MAX_DEPTH: usize = 128;

impl JsValue {
    /// The value's encoding (`port/xs_wasm.h`, "Value encoding").
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        fn len(out: &mut Vec<u8>, n: usize) {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        fn text(out: &mut Vec<u8>, s: &str) {
            len(out, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        match self {
            JsValue::Undefined => out.push(0),
            JsValue::Null => out.push(1),
            JsValue::Bool(b) => out.push(if *b { 3 } else { 2 }),
            JsValue::Number(n) => {
                out.push(4);
                out.extend_from_slice(&n.to_le_bytes());
            }
            JsValue::String(s) => {
                out.push(5);
                text(out, s);
            }
            JsValue::BigInt(s) => {
                out.push(6);
                text(out, s);
            }
            JsValue::Array(items) => {
                out.push(7);
                len(out, items.len());
                items.iter().for_each(|v| v.encode_into(out));
            }
            JsValue::Object(entries) => {
                out.push(8);
                len(out, entries.len());
                for (k, v) in entries {
                    text(out, k);
                    v.encode_into(out);
                }
            }
            JsValue::Bytes(b) => {
                out.push(9);
                len(out, b.len());
                out.extend_from_slice(b);
            }
            JsValue::TypedArray(kind, b) => {
                out.push(10);
                out.push(*kind as u8);
                len(out, b.len());
                out.extend_from_slice(b);
            }
            JsValue::Map(entries) => {
                out.push(11);
                len(out, entries.len());
                for (k, v) in entries {
                    k.encode_into(out);
                    v.encode_into(out);
                }
            }
            JsValue::Set(items) => {
                out.push(12);
                len(out, items.len());
                items.iter().for_each(|v| v.encode_into(out));
            }
            JsValue::Date(t) => {
                out.push(13);
                out.extend_from_slice(&t.to_le_bytes());
            }
        }
    }

    /// The value `bytes` encode: exactly one value, nested at most 128 levels.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] for anything else (truncated, an unknown tag, bad
    /// UTF-8, a typed array whose length is not a whole number of elements,
    /// trailing bytes).
    pub fn decode(bytes: &[u8]) -> Result<JsValue, DecodeError> {
        let mut reader = Reader { bytes, at: 0 };
        let value = reader.value(0)?;
        if reader.at != bytes.len() {
            return Err(DecodeError(format!("{} trailing bytes", bytes.len() - reader.at)));
        }
        Ok(value)
    }

    /// The value of a JSON value (numbers as f64).
    pub fn from_json(json: &serde_json::Value) -> JsValue {
        match json {
            serde_json::Value::Null => JsValue::Null,
            serde_json::Value::Bool(b) => JsValue::Bool(*b),
            serde_json::Value::Number(n) => JsValue::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => JsValue::String(s.clone()),
            serde_json::Value::Array(a) => JsValue::Array(a.iter().map(JsValue::from_json).collect()),
            serde_json::Value::Object(o) => JsValue::Object(o.iter().map(|(k, v)| (k.clone(), JsValue::from_json(v))).collect()),
        }
    }

    /// The value as JSON, as the guest's `JSON.stringify` would give it
    /// (`undefined` and non-finite numbers become `null`, bytes an array of
    /// numbers, a `Map` an array of pairs, a `Set` an array, a `Date` its
    /// time value, a `BigInt` its decimal text).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            JsValue::Undefined | JsValue::Null => J::Null,
            JsValue::Bool(b) => J::Bool(*b),
            JsValue::Number(n) | JsValue::Date(n) => match exact_integer(*n) {
                Some(i) => J::from(i),
                None => serde_json::Number::from_f64(*n).map_or(J::Null, J::Number),
            },
            JsValue::String(s) | JsValue::BigInt(s) => J::String(s.clone()),
            JsValue::Array(a) | JsValue::Set(a) => J::Array(a.iter().map(JsValue::to_json).collect()),
            JsValue::Object(o) => J::Object(o.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            JsValue::Bytes(b) | JsValue::TypedArray(_, b) => J::Array(b.iter().map(|&x| J::from(x)).collect()),
            JsValue::Map(m) => J::Array(m.iter().map(|(k, v)| J::Array(vec![k.to_json(), v.to_json()])).collect()),
        }
    }

    /// The bytes of a `Bytes` or `TypedArray` value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            JsValue::Bytes(b) | JsValue::TypedArray(_, b) => Some(b),
            _ => None,
        }
    }

    /// The text of a `String` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            JsValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number of a `Number` value.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            JsValue::Number(n) => Some(*n),
            _ => None,
        }
    }
}

impl From<&str> for JsValue {
    fn from(s: &str) -> Self {
        JsValue::String(s.to_owned())
    }
}

impl From<String> for JsValue {
    fn from(s: String) -> Self {
        JsValue::String(s)
    }
}

impl From<f64> for JsValue {
    fn from(n: f64) -> Self {
        JsValue::Number(n)
    }
}

impl From<bool> for JsValue {
    fn from(b: bool) -> Self {
        JsValue::Bool(b)
    }
}

/// A `Uint8Array` of the bytes.
impl From<Vec<u8>> for JsValue {
    fn from(b: Vec<u8>) -> Self {
        JsValue::TypedArray(TypedArrayKind::Uint8, b)
    }
}

impl From<serde_json::Value> for JsValue {
    fn from(json: serde_json::Value) -> Self {
        JsValue::from_json(&json)
    }
}

/// `n` as an integer when it is one exactly (JSON writes `1`, not `1.0`).
fn exact_integer(n: f64) -> Option<i64> {
    (n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0).then_some(n as i64)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if n > self.bytes.len() - self.at {
            return Err(DecodeError(format!("truncated at byte {}", self.at)));
        }
        let slice = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<usize, DecodeError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()) as usize)
    }

    fn f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }

    fn text(&mut self) -> Result<String, DecodeError> {
        let n = self.u32()?;
        let at = self.at;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| DecodeError(format!("invalid UTF-8 in the string at byte {at}")))
    }

    /// A count of items, each at least one byte: more than the bytes left is refused before allocating.
    fn count(&mut self) -> Result<usize, DecodeError> {
        let n = self.u32()?;
        if n > self.bytes.len() - self.at {
            return Err(DecodeError(format!("a count of {n} items at byte {} exceeds the bytes left", self.at - 4)));
        }
        Ok(n)
    }

    fn value(&mut self, depth: usize) -> Result<JsValue, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let tag = self.take(1)?[0];
        Ok(match tag {
            0 => JsValue::Undefined,
            1 => JsValue::Null,
            2 => JsValue::Bool(false),
            3 => JsValue::Bool(true),
            4 => JsValue::Number(self.f64()?),
            5 => JsValue::String(self.text()?),
            6 => {
                let s = self.text()?;
                let digits = s.strip_prefix('-').unwrap_or(&s);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(DecodeError(format!("{s:?} is not a BigInt's decimal text")));
                }
                JsValue::BigInt(s)
            }
            7 => {
                let n = self.count()?;
                JsValue::Array((0..n).map(|_| self.value(depth + 1)).collect::<Result<_, _>>()?)
            }
            8 => {
                let n = self.count()?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.text()?;
                    entries.push((k, self.value(depth + 1)?));
                }
                JsValue::Object(entries)
            }
            9 => {
                let n = self.u32()?;
                JsValue::Bytes(self.take(n)?.to_vec())
            }
            10 => {
                let code = self.take(1)?[0];
                let kind = *TypedArrayKind::ALL.get(code as usize).ok_or_else(|| DecodeError(format!("unknown typed array kind {code}")))?;
                let n = self.u32()?;
                if n % kind.element_size() != 0 {
                    return Err(DecodeError(format!("{} bytes are not whole elements of a {}", n, kind.name())));
                }
                JsValue::TypedArray(kind, self.take(n)?.to_vec())
            }
            11 => {
                let n = self.count()?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.value(depth + 1)?;
                    entries.push((k, self.value(depth + 1)?));
                }
                JsValue::Map(entries)
            }
            12 => {
                let n = self.count()?;
                JsValue::Set((0..n).map(|_| self.value(depth + 1)).collect::<Result<_, _>>()?)
            }
            13 => JsValue::Date(self.f64()?),
            other => return Err(DecodeError(format!("unknown tag {other} at byte {}", self.at - 1))),
        })
    }
}

impl serde::Serialize for JsValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            JsValue::Undefined => serializer.serialize_unit(),
            JsValue::Null => serializer.serialize_none(),
            JsValue::Bool(b) => serializer.serialize_bool(*b),
            JsValue::Number(n) | JsValue::Date(n) => match exact_integer(*n) {
                Some(i) => serializer.serialize_i64(i),
                None => serializer.serialize_f64(*n),
            },
            JsValue::String(s) | JsValue::BigInt(s) => serializer.serialize_str(s),
            JsValue::Bytes(b) | JsValue::TypedArray(_, b) => serializer.serialize_bytes(b),
            JsValue::Array(a) | JsValue::Set(a) => {
                let mut seq = serializer.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            JsValue::Map(m) => {
                let mut seq = serializer.serialize_seq(Some(m.len()))?;
                for pair in m {
                    seq.serialize_element(&[&pair.0, &pair.1])?;
                }
                seq.end()
            }
            JsValue::Object(o) => {
                let mut map = serializer.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for JsValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = JsValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JavaScript value")
            }
            fn visit_unit<E>(self) -> Result<JsValue, E> {
                Ok(JsValue::Null)
            }
            fn visit_none<E>(self) -> Result<JsValue, E> {
                Ok(JsValue::Null)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<JsValue, D::Error> {
                serde::Deserialize::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<JsValue, E> {
                Ok(JsValue::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<JsValue, E> {
                Ok(JsValue::Number(n as f64))
            }
            fn visit_u64<E>(self, n: u64) -> Result<JsValue, E> {
                Ok(JsValue::Number(n as f64))
            }
            fn visit_f64<E>(self, n: f64) -> Result<JsValue, E> {
                Ok(JsValue::Number(n))
            }
            fn visit_str<E>(self, s: &str) -> Result<JsValue, E> {
                Ok(JsValue::String(s.to_owned()))
            }
            fn visit_bytes<E>(self, b: &[u8]) -> Result<JsValue, E> {
                Ok(JsValue::Bytes(b.to_vec()))
            }
            fn visit_byte_buf<E>(self, b: Vec<u8>) -> Result<JsValue, E> {
                Ok(JsValue::Bytes(b))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<JsValue, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element()? {
                    items.push(v);
                }
                Ok(JsValue::Array(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JsValue, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, JsValue>()? {
                    entries.push((k, v));
                }
                Ok(JsValue::Object(entries))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_round_trips_and_bad_bytes_are_refused() {
        let value = JsValue::Array(vec![
            JsValue::Undefined,
            JsValue::Null,
            JsValue::Bool(true),
            JsValue::Number(-0.0),
            JsValue::String("h\u{e9}llo \u{1F600}".into()),
            JsValue::BigInt("-12345678901234567890".into()),
            JsValue::Object(vec![("k".into(), JsValue::Bytes(vec![1, 2, 3]))]),
            JsValue::TypedArray(TypedArrayKind::Float64, 1.5f64.to_le_bytes().to_vec()),
            JsValue::Map(vec![(JsValue::Number(1.0), JsValue::Set(vec![JsValue::from("a")]))]),
            JsValue::Date(5.0),
        ]);
        let bytes = value.encode();
        assert_eq!(JsValue::decode(&bytes).unwrap(), value);
        for cut in 0..bytes.len() {
            assert!(JsValue::decode(&bytes[..cut]).is_err(), "prefix of {cut} bytes decoded");
        }
        assert!(JsValue::decode(&[7, 255, 255, 255, 255]).is_err());
        assert!(JsValue::decode(&[10, 5, 3, 0, 0, 0, 1, 2, 3]).is_err());
        assert!(JsValue::decode(&[6, 2, 0, 0, 0, b'1', b'x']).is_err());
        let deep = [7u8, 1, 0, 0, 0].repeat(200);
        assert!(JsValue::decode(&deep).is_err());
    }

    #[test]
    fn json_and_serde_conversions() {
        let json = serde_json::json!({ "a": [1, "x", null, true] });
        let value = JsValue::from_json(&json);
        assert_eq!(value.to_json(), json);
        assert_eq!(serde_json::to_value(&value).unwrap(), json);
        let back: JsValue = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, value);
    }
}
