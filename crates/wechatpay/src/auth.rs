//! The `Authorization` header of a request to WeChat Pay.

use channel_core::RsaPrivateKey;

pub const SCHEMA: &str = "WECHATPAY2-SHA256-RSA2048";

/// `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`; URL is the path and `?query` exactly as sent, BODY the
/// exact bytes sent (empty for GET).
#[must_use]
pub fn request_message(
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut m = format!("{method}\n{path_and_query}\n{timestamp}\n{nonce}\n").into_bytes();
    m.extend_from_slice(body);
    m.push(b'\n');
    m
}

/// The identity a request is signed with.
pub struct RequestSigner<'a> {
    pub mchid: &'a str,
    pub serial_no: &'a str,
    pub key: &'a RsaPrivateKey,
}

impl RequestSigner<'_> {
    /// The full header value, `WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",…`.
    #[must_use]
    pub fn authorization(
        &self,
        method: &str,
        path_and_query: &str,
        timestamp: i64,
        nonce: &str,
        body: &[u8],
    ) -> String {
        let signature = self.key.sign_base64(&request_message(
            method,
            path_and_query,
            timestamp,
            nonce,
            body,
        ));
        format!(
            "{SCHEMA} mchid=\"{}\",nonce_str=\"{nonce}\",timestamp=\"{timestamp}\",serial_no=\"{}\",signature=\"{signature}\"",
            self.mchid, self.serial_no
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{vector_file, vectors};

    #[test]
    fn reproduces_the_official_rsa_signature_vector() {
        let v = vectors();
        let case = &v["rsa_sign"];
        let key = RsaPrivateKey::from_pem(&vector_file(case["private_key_file"].as_str().unwrap()))
            .unwrap();
        let sig = key.sign_base64(case["message"].as_str().unwrap().as_bytes());
        assert_eq!(sig, case["signature"].as_str().unwrap());
    }

    #[test]
    fn header_signs_the_five_line_message() {
        let key = RsaPrivateKey::generate().unwrap();
        let public = key.public_key().unwrap();
        let signer = RequestSigner {
            mchid: "1900000001",
            serial_no: "5157F09EFDC096DE15EBE81A47057A72",
            key: &key,
        };
        let body = br#"{"mchid":"1900000001"}"#;
        let header = signer.authorization(
            "POST",
            "/v3/pay/transactions/native",
            1_554_208_460,
            "593BEC0C930BF1AF",
            body,
        );
        let params = header.strip_prefix("WECHATPAY2-SHA256-RSA2048 ").unwrap();
        let get = |k: &str| {
            params
                .split(',')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
                .unwrap()
        };
        assert_eq!(get("mchid"), "1900000001");
        assert_eq!(get("nonce_str"), "593BEC0C930BF1AF");
        assert_eq!(get("timestamp"), "1554208460");
        assert_eq!(get("serial_no"), "5157F09EFDC096DE15EBE81A47057A72");
        let expected = b"POST\n/v3/pay/transactions/native\n1554208460\n593BEC0C930BF1AF\n{\"mchid\":\"1900000001\"}\n";
        public.verify_base64(expected, &get("signature")).unwrap();
        assert_eq!(
            request_message("GET", "/v3/certificates", 1, "n", b""),
            b"GET\n/v3/certificates\n1\nn\n\n"
        );
    }
}
