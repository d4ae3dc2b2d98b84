//! Why a weidoufu request is refused, each with the Chinese `message` its answer carries.

/// A request that cannot become an order. [`std::fmt::Display`] gives the answer's `message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("缺少参数 {0}")]
    Missing(&'static str),
    #[error("参数 {0} 应为字符串")]
    NotText(&'static str),
    #[error("参数 {field} 超过 {max} 个字符")]
    TooLong { field: &'static str, max: usize },
    #[error("商户订单号 out_order_no 应为 18 到 32 位字母或数字")]
    BadOrderNo,
    #[error("支付类型 pay_type 应为 1（微信）或 2（支付宝）")]
    BadPayType,
    #[error("金额 total_fee 应为 1 到 999999999 之间的整数（单位：分）")]
    BadTotalFee,
    #[error("pay_type 为 1（微信）时 openid 必传")]
    MissingOpenid,
    #[error("pay_type 为 2（支付宝）时 buyer_id 必传")]
    MissingBuyerId,
    #[error("参数 {0} 应为 http 或 https 地址")]
    BadUrl(&'static str),
    #[error("用户 IP 地址 client_ip 格式不正确")]
    BadClientIp,
    #[error("订单过期时间 expire 应为 1 到 60 分钟")]
    BadExpire,
    #[error("分账参数 ledger 格式错误：{0}")]
    BadLedger(&'static str),
    #[error("分账金额合计超过订单金额")]
    LedgerOverTotal,
    #[error("缺少签名 sign")]
    MissingSign,
    /// The seed's failure example answers exactly this.
    #[error("签名错误")]
    BadSign,
}
