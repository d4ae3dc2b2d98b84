//! A notification to a site, rendered by its protocol: how it is sent and which answer
//! acknowledges it. The gateway's outbox sends it on its own schedule and records every attempt.

use url::Url;

/// How a notification travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeMethod {
    /// Everything in the URL's query; no body (EPay).
    Get,
    /// `application/x-www-form-urlencoded` body (Jeepay).
    PostForm,
    /// `application/json` body (weidoufu).
    PostJson,
}

impl NoticeMethod {
    /// The `Content-Type` of the body, if it has one.
    #[must_use]
    pub fn content_type(self) -> Option<&'static str> {
        match self {
            Self::Get => None,
            Self::PostForm => Some("application/x-www-form-urlencoded"),
            Self::PostJson => Some("application/json"),
        }
    }
}

/// What a site must answer for a notification to count as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// The body contains this word in any case, whatever the HTTP status (EPay: `success`).
    BodyContains(&'static str),
    /// The body, without surrounding whitespace, is this word in any case (Jeepay: `SUCCESS`).
    BodyIs(&'static str),
    /// A 2xx status whose JSON or text body says this word in any case.
    SuccessStatusAnd(&'static str),
    /// A 2xx status whose body is this word alone in any case, or a JSON object whose member of
    /// this name is `true` (weidoufu: `success`). A site answering `{"success":false,…}` with
    /// HTTP 200, as the MyDotnet client does when it refuses a notification, has not received it.
    SuccessStatusAndTrue(&'static str),
}

impl Ack {
    /// Whether an answer with `status` and `body` acknowledges the notification.
    #[must_use]
    pub fn accepts(self, status: u16, body: &str) -> bool {
        match self {
            Self::BodyContains(word) => contains_ignoring_case(body, word),
            Self::BodyIs(word) => body.trim().eq_ignore_ascii_case(word),
            Self::SuccessStatusAnd(word) => {
                (200..300).contains(&status) && contains_ignoring_case(body, word)
            }
            Self::SuccessStatusAndTrue(word) => {
                (200..300).contains(&status)
                    && (body.trim().eq_ignore_ascii_case(word) || json_member_is_true(body, word))
            }
        }
    }
}

fn json_member_is_true(body: &str, name: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body)
        .is_ok_and(|value| value.get(name) == Some(&serde_json::Value::Bool(true)))
}

fn contains_ignoring_case(body: &str, word: &str) -> bool {
    body.to_ascii_lowercase()
        .contains(&word.to_ascii_lowercase())
}

/// A rendered notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub method: NoticeMethod,
    /// Where it goes; for [`NoticeMethod::Get`], with the signed query.
    pub url: Url,
    /// Empty for [`NoticeMethod::Get`].
    pub body: Vec<u8>,
    pub ack: Ack,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_acknowledgement_rule_accepts_only_its_answer() {
        let contains = Ack::BodyContains("success");
        assert!(contains.accepts(200, "success"));
        assert!(contains.accepts(500, "ok: SUCCESS\n"));
        assert!(!contains.accepts(200, "fail"));
        let is = Ack::BodyIs("SUCCESS");
        assert!(is.accepts(200, " success\n"));
        assert!(!is.accepts(200, "success!"));
        let status_and = Ack::SuccessStatusAnd("success");
        assert!(status_and.accepts(200, r#"{"code":"SUCCESS"}"#));
        assert!(!status_and.accepts(500, "success"));
        let status_and_true = Ack::SuccessStatusAndTrue("success");
        let received = r#"{"status":200,"success":true,"msg":"处理成功","response":null}"#;
        assert!(status_and_true.accepts(200, received));
        assert!(status_and_true.accepts(204, " SUCCESS\n"));
        let refused = r#"{"status":200,"success":false,"msg":"验签失败","response":null}"#;
        assert!(!status_and_true.accepts(200, refused));
        assert!(!status_and_true.accepts(200, r#"{"success":"true"}"#));
        assert!(!status_and_true.accepts(200, "success!"));
        assert!(!status_and_true.accepts(500, received));
    }
}
