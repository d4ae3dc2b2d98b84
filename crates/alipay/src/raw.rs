//! Finding the exact text Alipay signed inside a response body.
//!
//! Alipay signs the bytes of the `…_response` object as it wrote them; a re-serialisation (key
//! order, escapes, number formats, spacing) would not verify. So the body is scanned as text: the
//! members of the top-level object are located without parsing their values, and the signed
//! object is sliced out verbatim.

use std::ops::Range;

/// The parts of a response body that signature verification needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedParts<'a> {
    /// The top-level key found (`<method>_response`, or `error_response`).
    pub key: String,
    /// The exact text of its value, as signed.
    pub raw: &'a str,
    /// The decoded `sign` member, when present.
    pub sign: Option<String>,
}

/// Finds `<response_key>` (falling back to `error_response`, which Alipay uses for gateway-level
/// errors) and `sign` among the top-level members of `body`, in any order.
///
/// # Errors
/// A description when the body is not a JSON object, has neither key, or repeats one of them.
pub fn extract<'a>(body: &'a str, response_key: &str) -> Result<SignedParts<'a>, String> {
    let members = top_level_members(body)?;
    let find = |name: &str| -> Result<Option<Range<usize>>, String> {
        let mut hits = members.iter().filter(|(k, _)| k == name);
        let first = hits.next().map(|(_, r)| r.clone());
        if hits.next().is_some() {
            // Which copy was signed is unknowable; SDKs disagree (first vs last), so refuse.
            return Err(format!("member {name:?} appears more than once"));
        }
        Ok(first)
    };
    let (key, span) = match find(response_key)? {
        Some(span) => (response_key.to_owned(), span),
        None => match find("error_response")? {
            Some(span) => ("error_response".to_owned(), span),
            None => return Err(format!("no {response_key:?} in the response")),
        },
    };
    let raw = &body[span];
    if !raw.starts_with('{') {
        return Err(format!("{key:?} is not an object"));
    }
    let sign = match find("sign")? {
        None => None,
        Some(span) => Some(
            serde_json::from_str::<String>(&body[span])
                .map_err(|e| format!("sign is not a string: {e}"))?,
        ),
    };
    Ok(SignedParts { key, raw, sign })
}

/// The top-level members of a JSON object: decoded key and byte range of the raw value.
fn top_level_members(body: &str) -> Result<Vec<(String, Range<usize>)>, String> {
    let mut s = Scanner {
        bytes: body.as_bytes(),
        pos: 0,
    };
    s.skip_ws();
    s.expect(b'{')?;
    let mut members = Vec::new();
    s.skip_ws();
    if s.peek() == Some(b'}') {
        s.pos += 1;
    } else {
        loop {
            s.skip_ws();
            let key_start = s.pos;
            s.skip_string()?;
            let key = serde_json::from_str::<String>(&body[key_start..s.pos])
                .map_err(|e| format!("bad key at byte {key_start}: {e}"))?;
            s.skip_ws();
            s.expect(b':')?;
            s.skip_ws();
            let value_start = s.pos;
            s.skip_value()?;
            members.push((key, value_start..s.pos));
            s.skip_ws();
            match s.next() {
                Some(b',') => {}
                Some(b'}') => break,
                _ => return Err(format!("expected ',' or '}}' at byte {}", s.pos)),
            }
        }
    }
    s.skip_ws();
    if s.pos != s.bytes.len() {
        return Err(format!("trailing text at byte {}", s.pos));
    }
    Ok(members)
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, want: u8) -> Result<(), String> {
        match self.next() {
            Some(b) if b == want => Ok(()),
            _ => Err(format!(
                "expected {:?} at byte {}",
                char::from(want),
                self.pos.saturating_sub(1)
            )),
        }
    }

    /// Skips a string starting at `"`; escapes are stepped over, not decoded.
    fn skip_string(&mut self) -> Result<(), String> {
        self.expect(b'"')?;
        loop {
            match self.next() {
                Some(b'"') => return Ok(()),
                Some(b'\\') => {
                    // The escaped byte (even `"` or `\`) cannot end the string.
                    self.next().ok_or("unterminated escape")?;
                }
                Some(_) => {}
                None => return Err("unterminated string".to_owned()),
            }
        }
    }

    /// Skips one value; nested objects and arrays are matched by depth, with strings (which may
    /// hold braces and quotes) skipped whole.
    fn skip_value(&mut self) -> Result<(), String> {
        match self.peek() {
            Some(b'"') => self.skip_string(),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                loop {
                    match self.peek() {
                        Some(b'"') => self.skip_string()?,
                        Some(b'{' | b'[') => {
                            depth += 1;
                            self.pos += 1;
                        }
                        Some(b'}' | b']') => {
                            depth -= 1;
                            self.pos += 1;
                            if depth == 0 {
                                return Ok(());
                            }
                        }
                        Some(_) => self.pos += 1,
                        None => return Err("unterminated object or array".to_owned()),
                    }
                }
            }
            Some(_) => {
                let start = self.pos;
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.pos += 1;
                }
                if self.pos == start {
                    return Err(format!("missing value at byte {start}"));
                }
                Ok(())
            }
            None => Err("missing value at end of body".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "alipay_trade_query_response";

    #[test]
    fn slices_the_object_verbatim_with_sign_after() {
        let body = r#"{"alipay_trade_query_response":{"code":"10000","msg":"Success","total_amount":"0.01"},"sign":"abc=="}"#;
        let p = extract(body, KEY).unwrap();
        assert_eq!(
            p.raw,
            r#"{"code":"10000","msg":"Success","total_amount":"0.01"}"#
        );
        assert_eq!(p.sign.as_deref(), Some("abc=="));
        assert_eq!(p.key, KEY);
    }

    #[test]
    fn sign_before_the_object_and_odd_spacing() {
        let body = "\n { \"sign\" : \"s\\/x\" ,\n  \"alipay_trade_query_response\" :  { \"code\" : \"10000\" } \n}\n";
        let p = extract(body, KEY).unwrap();
        assert_eq!(p.raw, r#"{ "code" : "10000" }"#);
        // JSON escapes in the sign are decoded (`\/` is `/`).
        assert_eq!(p.sign.as_deref(), Some("s/x"));
    }

    #[test]
    fn nested_objects_and_strings_with_braces_and_quotes() {
        let inner = r#"{"code":"10000","fund_bill_list":[{"amount":"1.00","fund_channel":"ALIPAYACCOUNT"}],"subject":"a } b { \"q\" \\","x":{"y":{"z":[1,2,{}]}},"n":-1.5e3,"t":true,"u":null}"#;
        let body = format!(r#"{{"{KEY}":{inner},"alipay_cert_sn":"}}","sign":"S"}}"#);
        let p = extract(&body, KEY).unwrap();
        assert_eq!(p.raw, inner);
        assert_eq!(p.sign.as_deref(), Some("S"));
    }

    #[test]
    fn unicode_is_kept_byte_for_byte() {
        let inner = "{\"subject\":\"语雀 \\u8bed\"}";
        let body = format!("{{\"{KEY}\":{inner},\"sign\":\"S\"}}");
        assert_eq!(extract(&body, KEY).unwrap().raw, inner);
    }

    #[test]
    fn unsigned_and_error_response() {
        let body = r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id"}}"#;
        let p = extract(body, KEY).unwrap();
        assert_eq!(p.key, "error_response");
        assert_eq!(p.sign, None);
    }

    #[test]
    fn refuses_ambiguous_or_broken_bodies() {
        let twice =
            format!(r#"{{"{KEY}":{{"code":"10000"}},"{KEY}":{{"code":"40004"}},"sign":"S"}}"#);
        assert!(extract(&twice, KEY).is_err());
        let two_signs = format!(r#"{{"{KEY}":{{}},"sign":"A","sign":"B"}}"#);
        assert!(extract(&two_signs, KEY).is_err());
        for bad in [
            "",
            "[]",
            "<html>502</html>",
            r#"{"other_response":{}}"#,
            r#"{"alipay_trade_query_response":"x"}"#,
            r#"{"alipay_trade_query_response":{"a":"}"#,
            r#"{"alipay_trade_query_response":{}} trailing"#,
            r#"{"alipay_trade_query_response":{},"sign":1}"#,
        ] {
            assert!(extract(bad, KEY).is_err(), "{bad:?} accepted");
        }
    }
}
