//! The gateway's view of the payment channels: one vocabulary (create, pay parameters, query, close)
//! over the WeChat Pay and Alipay clients, mapping each `PayMethod` to its upstream call.
