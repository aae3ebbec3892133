//! Reading the fraud decision out of a service's JSON answer. Only the value at the
//! decision's pointer (and the top-level `degraded` flag) is built; the rest of the answer is
//! checked as JSON and skipped, so a large answer costs no allocation beyond what is read.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::scenario::model::DecisionMap;
use crate::targets::Decision;

/// A `decision` map made ready to read answers with: its JSON pointer split into tokens once
/// rather than on every answer.
pub struct Decisions {
    /// The pointer's reference tokens (RFC 6901, `~1` and `~0` unescaped); `None` for a
    /// pointer that cannot match (not starting with `/`).
    tokens: Option<Vec<String>>,
    block: Vec<String>,
    review: Vec<String>,
}

impl Decisions {
    pub fn new(map: &DecisionMap) -> Decisions {
        let tokens = match map.pointer.as_str() {
            "" => Some(Vec::new()),
            p => p.strip_prefix('/').map(|rest| {
                rest.split('/')
                    .map(|t| t.replace("~1", "/").replace("~0", "~"))
                    .collect()
            }),
        };
        Decisions {
            tokens,
            block: map.block.clone(),
            review: map.review.clone(),
        }
    }

    /// The fraud decision in a JSON answer, read at the pointer and matched against the
    /// lists, and whether the answer says it was degraded (`"degraded": true` at the top
    /// level). `None` when the answer is not JSON or the pointer finds nothing.
    pub fn read(&self, body: &[u8]) -> (Option<Decision>, bool) {
        let mut json = serde_json::Deserializer::from_slice(body);
        let seek = Seek {
            tokens: self.tokens.as_deref(),
            top: true,
        };
        let Ok(found) = seek
            .deserialize(&mut json)
            .and_then(|f| json.end().map(|()| f))
        else {
            return (None, false);
        };
        let Some(v) = found.at else {
            return (None, found.degraded);
        };
        let other;
        let text = match &v {
            Value::String(s) => s.as_str(),
            v => {
                other = v.to_string();
                other.as_str()
            }
        };
        let listed = |list: &[String]| list.iter().any(|l| l == text);
        let decision = if listed(&self.block) {
            Decision::Block
        } else if listed(&self.review) {
            Decision::Review
        } else {
            Decision::Approve
        };
        (Some(decision), found.degraded)
    }
}

/// The value at `tokens` below `v`, as `serde_json::Value::pointer` finds it.
fn walk<'a>(mut v: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    for t in tokens {
        v = match v {
            Value::Object(m) => m.get(t.as_str())?,
            Value::Array(a) => a.get(index(t)?)?,
            _ => return None,
        };
    }
    Some(v)
}

/// An array index token: digits, no sign, no leading zero (RFC 6901).
fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() > 1) {
        return None;
    }
    token.parse().ok()
}

/// What a seek found: the value at the pointer, and (at the top level) `degraded`.
struct Found {
    at: Option<Value>,
    degraded: bool,
}

/// Deserializes a JSON value, keeping only what lies at `tokens` below it (`None`: nothing
/// can match) and, for the top-level value (`top`), its `degraded` member.
#[derive(Clone, Copy)]
struct Seek<'t> {
    tokens: Option<&'t [String]>,
    top: bool,
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = Found;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Found, D::Error> {
        match self.tokens {
            // The value itself is wanted: build it (and read `degraded` from it).
            Some([]) => {
                let v = <Value as serde::Deserialize>::deserialize(d)?;
                let degraded = self.top && degraded(v.get("degraded"));
                Ok(Found {
                    at: Some(v),
                    degraded,
                })
            }
            _ => d.deserialize_any(self),
        }
    }
}

fn degraded(v: Option<&Value>) -> bool {
    v.and_then(Value::as_bool).unwrap_or(false)
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        let mut found = Found {
            at: None,
            degraded: false,
        };
        let (first, rest) = match self.tokens {
            Some([first, rest @ ..]) => (Some(first.as_str()), rest),
            _ => (None, &[][..]),
        };
        // A later duplicate key wins, as in a parsed `Value`.
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let wanted = first == Some(key.as_ref());
            let flag = self.top && key == "degraded";
            match (wanted, flag) {
                (true, true) => {
                    let v: Value = map.next_value()?;
                    found.degraded = degraded(Some(&v));
                    found.at = walk(&v, rest).cloned();
                }
                (true, false) => {
                    found.at = map
                        .next_value_seed(Seek {
                            tokens: Some(rest),
                            top: false,
                        })?
                        .at;
                }
                (false, true) => found.degraded = degraded(Some(&map.next_value::<Value>()?)),
                (false, false) => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Found, A::Error> {
        let wanted = match self.tokens {
            Some([first, rest @ ..]) => index(first).map(|i| (i, rest)),
            _ => None,
        };
        let mut at = None;
        let mut i = 0;
        loop {
            match wanted {
                Some((w, rest)) if w == i => {
                    let next = seq.next_element_seed(Seek {
                        tokens: Some(rest),
                        top: false,
                    })?;
                    match next {
                        Some(f) => at = f.at,
                        None => break,
                    }
                }
                _ => {
                    if seq.next_element::<IgnoredAny>()?.is_none() {
                        break;
                    }
                }
            }
            i += 1;
        }
        Ok(Found {
            at,
            degraded: false,
        })
    }

    // A scalar has nothing below it.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Found, E> {
        Ok(nothing())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Found, E> {
        Ok(nothing())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Found, E> {
        Ok(nothing())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Found, E> {
        Ok(nothing())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Found, E> {
        Ok(nothing())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Found, E> {
        Ok(nothing())
    }
}

fn nothing() -> Found {
    Found {
        at: None,
        degraded: false,
    }
}

/// An object's key, borrowed from the answer unless it holds escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key<'de>, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(s.into()))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(s.to_owned().into()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(s.into()))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_decisions_by_pointer() {
        let map = DecisionMap {
            pointer: "/result/action".into(),
            block: vec!["deny".into()],
            review: vec!["hold".into()],
        };
        let d = Decisions::new(&map);
        assert_eq!(
            d.read(br#"{"result":{"action":"deny"}}"#),
            (Some(Decision::Block), false)
        );
        assert_eq!(
            d.read(br#"{"result":{"action":"hold"}}"#),
            (Some(Decision::Review), false)
        );
        assert_eq!(
            d.read(br#"{"result":{"action":"ok"},"degraded":true}"#),
            (Some(Decision::Approve), true)
        );
        assert_eq!(d.read(br#"{"other":1}"#), (None, false));
        assert_eq!(d.read(b"not json"), (None, false));
        assert_eq!(
            d.read(br#"{"result":{"action":"deny"}} trailing"#),
            (None, false)
        );
        assert_eq!(d.read(br#"{"result":{"action":"deny"}"#), (None, false));
        assert_eq!(d.read(br#"{"degraded":true,"result":[1]}"#), (None, true));
        assert_eq!(
            d.read(br#"{"pad":[{"x":[1,2,{"y":"z"}]}],"result":{"action":"hold","more":[1]}}"#),
            (Some(Decision::Review), false)
        );
        let numeric = Decisions::new(&DecisionMap {
            pointer: "/code".into(),
            block: vec!["2".into()],
            review: vec![],
        });
        assert_eq!(
            numeric.read(br#"{"code":2}"#),
            (Some(Decision::Block), false)
        );
    }

    #[test]
    fn pointers_find_what_serde_json_finds() {
        let text = r#"{"a":{"b/c":[10,{"d~e":"x"},30],"":{"":"empty"},"a":1,"a":2},"0":"zero","list":["p",[true,null],"q"],"degraded":true,"e\u0073c":"escaped key"}"#;
        let doc: serde_json::Value = serde_json::from_str(text).unwrap();
        let pointers = [
            "",
            "/a",
            "/a/b~1c",
            "/a/b~1c/0",
            "/a/b~1c/1/d~0e",
            "/a/b~1c/2",
            "/a/b~1c/3",
            "/a/b~1c/01",
            "/a/b~1c/+1",
            "/a/b~1c/-",
            "/a/",
            "/a//",
            "/0",
            "/list/1",
            "/list/x",
            "/missing",
            "/a/b~1c/1/d~0e/deeper",
            "no-slash",
        ];
        for p in pointers {
            let d = Decisions::new(&DecisionMap {
                pointer: p.into(),
                block: vec![],
                review: vec![],
            });
            assert_eq!(
                walk(&doc, d.tokens.as_deref().unwrap_or(&[])).filter(|_| d.tokens.is_some()),
                doc.pointer(p),
                "walk {p:?}"
            );
            let mut json = serde_json::Deserializer::from_str(text);
            let seek = Seek {
                tokens: d.tokens.as_deref(),
                top: true,
            };
            let found = seek.deserialize(&mut json).unwrap();
            assert_eq!(found.at.as_ref(), doc.pointer(p), "seek {p:?}");
            assert_eq!(
                found.degraded,
                doc["degraded"].as_bool().unwrap_or(false),
                "seek {p:?}"
            );
        }
    }
}
