//! A posted form as its fields, in order, repeated names kept (`method=wechat.native&method=…`,
//! as checkboxes send them), read from `application/x-www-form-urlencoded`.

use axum::body::Bytes;

pub(super) struct Fields(Vec<(String, String)>);

impl Fields {
    pub(super) fn parse(body: &Bytes) -> Self {
        Self(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// A form with no fields.
    pub(super) fn empty() -> Self {
        Self(Vec::new())
    }

    /// The first value of `name`, or `""`.
    pub(super) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether the form has a field `name` at all (an empty one too).
    pub(super) fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Every value of `name`, in order.
    pub(super) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_are_all_kept_and_absent_ones_told_from_empty_ones() {
        let f = Fields::parse(&Bytes::from_static(
            b"csrf=abc&method=wechat.native&method=alipay.qr&notify_url=&name=%E5%95%86+A",
        ));
        assert_eq!(f.get("csrf"), "abc");
        assert_eq!(f.all("method"), ["wechat.native", "alipay.qr"]);
        assert_eq!(f.get("name"), "商 A");
        assert!(f.has("notify_url") && f.get("notify_url").is_empty());
        assert!(!f.has("methods_shown"));
        assert_eq!(f.get("missing"), "");
    }
}
