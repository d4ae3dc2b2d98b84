//! The official SDKs' vectors, read from `shared/vectors/` beside the repository at test time.

pub fn vector_file(name: &str) -> String {
    let path = format!(
        "{}/../../../shared/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn vectors() -> serde_json::Value {
    serde_json::from_str(&vector_file("wechatpay_v3.json")).unwrap()
}
