//! WeChat Pay's error answers: an HTTP status and `{"code","message"}`, in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn param(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "PARAM_ERROR", message)
    }
    pub fn sign(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "SIGN_ERROR", message)
    }
    pub fn order_not_exist() -> Self {
        Self::new(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在")
    }
    pub fn resource_not_exists(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", message)
    }
    pub fn system() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SYSTEM_ERROR",
            "系统错误",
        )
    }
    pub fn mch_not_exists() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "MCH_NOT_EXISTS", "商户号不存在")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code, "message": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}

/// Logs the cause of an internal failure and answers WeChat's generic 500.
pub fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "wechat simulator internal error");
    ApiError::system()
}

pub type ApiResult<T> = Result<T, ApiError>;
