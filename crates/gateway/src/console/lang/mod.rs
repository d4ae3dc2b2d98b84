//! The console's two languages: Chinese unless English is asked for with `?lang=en`, which a
//! cookie (`pg_lang`) then remembers; `?lang=zh` goes back. Every string a page shows is in one
//! table per language ([`Text`]), those of the pages that manage sites, users, notifications and
//! anomalies in another (`manage`: [`Manage`]), and those of reconciliation and statements in a
//! third (`books`: [`Books`]); statuses are named here too, by exhaustive matches.

pub(super) mod books;
mod manage;

pub use books::Books;
pub use manage::Manage;

use axum::http::{HeaderMap, HeaderValue, Uri};

pub use crate::checkout::Lang;
use crate::domain::{
    Channel, NotificationStatus, OrderStatus, RefundStatus, Role, SplitPurpose, SplitStatus,
};
use crate::service::ServiceError;

use super::session::{LANG_COOKIE, cookie, set_cookie};

/// The language of a console request: `?lang=`, else the cookie, else Chinese.
pub(super) fn lang_of(uri: &Uri, headers: &HeaderMap) -> Lang {
    asked(uri)
        .or_else(|| cookie(headers, LANG_COOKIE).and_then(Lang::from_tag))
        .unwrap_or(Lang::Zh)
}

/// The language `?lang=` asks for, if it names one.
pub(super) fn asked(uri: &Uri) -> Option<Lang> {
    uri.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="))
        .and_then(Lang::from_tag)
}

/// The cookie that remembers a language asked for in the URL, if one was.
pub(super) fn remember(uri: &Uri, secure: bool) -> Option<HeaderValue> {
    asked(uri).map(|lang| set_cookie(LANG_COOKIE, lang.param(), "/console", 365 * 86_400, secure))
}

/// What a language names things.
pub(super) trait Names {
    fn strings(self) -> &'static Text;
    fn manage(self) -> &'static Manage;
    fn books(self) -> &'static Books;
    /// `zh` in Chinese, `en` in English.
    fn pick(self, zh: &'static str, en: &'static str) -> &'static str;
    fn order_status(self, s: OrderStatus) -> &'static str;
    fn refund_status(self, s: RefundStatus) -> &'static str;
    fn split_status(self, s: SplitStatus) -> &'static str;
    /// Who asked for a split: the site, the order's plan, or the operator's fee.
    fn split_purpose(self, p: SplitPurpose) -> &'static str;
    fn notification_status(self, s: NotificationStatus) -> &'static str;
    fn channel(self, c: Channel) -> &'static str;
    fn role(self, r: &Role) -> &'static str;
    /// What a channel said of an order (`service::ChannelCheck::Answered`).
    fn upstream(self, said: &str) -> &'static str;
}

impl Names for Lang {
    fn strings(self) -> &'static Text {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    fn manage(self) -> &'static Manage {
        match self {
            Lang::Zh => &manage::ZH,
            Lang::En => &manage::EN,
        }
    }

    fn books(self) -> &'static Books {
        match self {
            Lang::Zh => &books::ZH,
            Lang::En => &books::EN,
        }
    }

    fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn order_status(self, s: OrderStatus) -> &'static str {
        match s {
            OrderStatus::Created => self.pick("已创建", "Created"),
            OrderStatus::Pending => self.pick("待支付", "Pending"),
            OrderStatus::Paid => self.pick("已支付", "Paid"),
            OrderStatus::Failed => self.pick("支付失败", "Failed"),
            OrderStatus::Closed => self.pick("已关闭", "Closed"),
            OrderStatus::Refunded => self.pick("已全额退款", "Refunded"),
        }
    }

    fn refund_status(self, s: RefundStatus) -> &'static str {
        match s {
            RefundStatus::Processing => self.pick("处理中", "Processing"),
            RefundStatus::Succeeded => self.pick("退款成功", "Succeeded"),
            RefundStatus::Failed => self.pick("退款失败", "Failed"),
            RefundStatus::Abnormal => self.pick("退款异常", "Abnormal"),
        }
    }

    fn split_status(self, s: SplitStatus) -> &'static str {
        match s {
            SplitStatus::Processing => self.pick("处理中", "Processing"),
            SplitStatus::Succeeded => self.pick("分账成功", "Succeeded"),
            SplitStatus::Failed => self.pick("分账失败", "Failed"),
        }
    }

    fn split_purpose(self, p: SplitPurpose) -> &'static str {
        match p {
            SplitPurpose::Site => self.pick("站点分账", "Site's split"),
            SplitPurpose::Ledger => self.pick("下单时约定的分账", "Planned with the order"),
            SplitPurpose::Fee => self.pick("平台服务费", "Operator's fee"),
        }
    }

    fn notification_status(self, s: NotificationStatus) -> &'static str {
        match s {
            NotificationStatus::Pending => self.pick("待送达", "Pending"),
            NotificationStatus::Delivered => self.pick("已送达", "Delivered"),
            NotificationStatus::Failed => self.pick("送达失败", "Failed"),
        }
    }

    fn channel(self, c: Channel) -> &'static str {
        match c {
            Channel::Wechat => self.pick("微信支付", "WeChat Pay"),
            Channel::Alipay => self.pick("支付宝", "Alipay"),
        }
    }

    fn role(self, r: &Role) -> &'static str {
        match r {
            Role::Admin => self.pick("管理员", "admin"),
            Role::Viewer => self.pick("只读", "viewer"),
            Role::Site(_) => self.pick("站点", "site"),
        }
    }

    fn upstream(self, said: &str) -> &'static str {
        match said {
            "not_paid" => self.pick("未支付", "not paid"),
            "paying" => self.pick("支付中", "paying"),
            "paid" => self.pick("已支付", "paid"),
            "failed" => self.pick("支付失败", "failed"),
            "closed" => self.pick("已关闭", "closed"),
            "refunded" => self.pick("已退款", "refunded"),
            "not_found" => self.pick("渠道没有这笔订单", "no such order"),
            _ => self.pick("未知", "unknown"),
        }
    }
}

/// Why the service did not do an action, in `lang`: every `ServiceError` has its sentence in both
/// tables (the error's own `Display` is English, for logs). What a channel said in its refusal is
/// quoted as it said it.
pub(super) fn refusal(lang: Lang, e: &ServiceError) -> String {
    let t = lang.strings();
    let status = |text: &str, s: OrderStatus| text.replace("{status}", lang.order_status(s));
    match e {
        ServiceError::PaymentNotConfigured(method) => t
            .svc_payment_not_configured
            .replace("{method}", &method.to_string()),
        ServiceError::UnsignableForAlipay { field } => {
            t.svc_unsignable_for_alipay.replace("{field}", field)
        }
        ServiceError::NonceReused => t.svc_nonce_reused.to_owned(),
        ServiceError::OutTradeNoConflict => t.svc_out_trade_no_conflict.to_owned(),
        ServiceError::NotFound => t.svc_order_not_found.to_owned(),
        ServiceError::AlreadyPaid(s) => status(t.svc_already_paid, *s),
        ServiceError::NotClosable(s) => status(t.svc_not_closable, *s),
        ServiceError::NotPayable(s) => status(t.svc_not_payable, *s),
        ServiceError::NotYetClosable { expires_at } => t
            .svc_not_yet_closable
            .replace("{until}", &super::format::time(*expires_at)),
        ServiceError::UpstreamRefused {
            channel,
            code,
            message,
            ..
        } => t
            .svc_upstream_refused
            .replace("{channel}", lang.channel(*channel))
            .replace("{code}", code)
            .replace("{message}", message),
        ServiceError::UpstreamUnknown { channel, .. } => t
            .svc_upstream_unknown
            .replace("{channel}", lang.channel(*channel)),
        ServiceError::RefundNotFound => t.svc_refund_not_found.to_owned(),
        ServiceError::NotRefundable(s) => status(t.svc_not_refundable, *s),
        ServiceError::RefundExceedsPaid { refundable } => t
            .svc_refund_exceeds_paid
            .replace("{amount}", &super::format::yuan(*refundable)),
        ServiceError::OutRefundNoConflict => t.svc_out_refund_no_conflict.to_owned(),
        ServiceError::RefundWindowPassed { channel, ended_at } => t
            .svc_refund_window_passed
            .replace("{channel}", lang.channel(*channel))
            .replace("{ended}", &super::format::time(*ended_at)),
        ServiceError::SplitNotFound => t.svc_split_not_found.to_owned(),
        ServiceError::NotSplittable(_) => t.svc_not_splittable.to_owned(),
        ServiceError::SplitExceedsPaid { splittable } => t
            .svc_split_exceeds_paid
            .replace("{amount}", &super::format::yuan(*splittable)),
        ServiceError::SplitRatioExceeded { left } => t
            .svc_split_ratio_exceeded
            .replace("{amount}", &super::format::yuan(*left)),
        ServiceError::OutSplitNoConflict => t.svc_out_split_no_conflict.to_owned(),
        ServiceError::SplitReceiversOfAnotherChannel(channel) => t
            .svc_split_receivers_of_another_channel
            .replace("{channel}", lang.channel(*channel)),
        ServiceError::Channel(_) => t.svc_channel.to_owned(),
        ServiceError::Store(_) => t.internal.to_owned(),
    }
}

/// Every string of the console in one language. `{…}` marks what a page fills in.
#[derive(Debug)]
pub struct Text {
    pub brand: &'static str,
    pub skip: &'static str,
    pub nav_label: &'static str,
    pub nav_dashboard: &'static str,
    pub nav_orders: &'static str,
    pub nav_notifications: &'static str,
    pub nav_anomalies: &'static str,
    pub nav_audit: &'static str,
    pub signed_in_as: &'static str,
    pub logout: &'static str,
    pub sandbox: &'static str,
    pub switch_to: &'static str,
    // Sign-in
    pub login_title: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub totp_code: &'static str,
    pub sign_in: &'static str,
    pub bad_credentials: &'static str,
    pub locked: &'static str,
    pub too_many_attempts: &'static str,
    pub second_factor_required: &'static str,
    pub bad_code: &'static str,
    pub form_expired: &'static str,
    // Dashboard
    pub dashboard_title: &'static str,
    pub today: &'static str,
    pub last_7_days: &'static str,
    pub last_30_days: &'static str,
    pub paid_orders: &'static str,
    pub paid_amount: &'static str,
    pub success_rate: &'static str,
    pub success_rate_none: &'static str,
    pub refunds: &'static str,
    pub by_channel: &'static str,
    pub by_site: &'static str,
    pub chart_title: &'static str,
    pub chart_desc: &'static str,
    pub needs_attention: &'static str,
    pub anomalies: &'static str,
    pub failed_notifications: &'static str,
    pub stuck_orders: &'static str,
    pub count: &'static str,
    pub amount: &'static str,
    pub times_in: &'static str,
    // Orders
    pub orders_title: &'static str,
    pub search: &'static str,
    pub out_trade_no: &'static str,
    pub transaction_id: &'static str,
    pub site: &'static str,
    pub any: &'static str,
    pub status: &'static str,
    pub channel: &'static str,
    pub method: &'static str,
    pub method_any: &'static str,
    pub created_from: &'static str,
    pub created_to: &'static str,
    pub stuck_only: &'static str,
    pub created: &'static str,
    pub refunded: &'static str,
    pub next_page: &'static str,
    pub first_page: &'static str,
    pub no_orders: &'static str,
    pub results: &'static str,
    pub invalid_filters: &'static str,
    // One order
    pub order_title: &'static str,
    pub description: &'static str,
    pub paid_at: &'static str,
    pub expires_at: &'static str,
    pub upstream_no: &'static str,
    /// The other protocol an order was made through, with the number it knows the order by.
    pub made_through: &'static str,
    pub next_check: &'static str,
    pub refundable: &'static str,
    pub timeline: &'static str,
    pub actions: &'static str,
    pub refund: &'static str,
    pub refund_amount: &'static str,
    pub refund_reason: &'static str,
    pub close: &'static str,
    pub query: &'static str,
    pub resend: &'static str,
    pub notifications: &'static str,
    pub delivery_attempts: &'static str,
    pub event: &'static str,
    pub none: &'static str,
    pub refund_no: &'static str,
    pub splits: &'static str,
    pub split_no: &'static str,
    pub split_purpose: &'static str,
    pub split_receivers: &'static str,
    pub when: &'static str,
    pub history_entry: &'static str,
    pub refund_entry: &'static str,
    pub notification_entry: &'static str,
    pub attempt_entry: &'static str,
    pub anomaly_entry: &'static str,
    pub pay_attempt_entry: &'static str,
    // Confirmation and outcomes
    pub confirm_title: &'static str,
    pub confirm: &'static str,
    pub cancel: &'static str,
    pub confirm_refund: &'static str,
    pub confirm_close: &'static str,
    pub confirm_query: &'static str,
    pub confirm_resend: &'static str,
    pub done_refund: &'static str,
    pub done_close: &'static str,
    pub done_query: &'static str,
    pub done_query_failed: &'static str,
    pub done_query_scheduled: &'static str,
    pub done_resend: &'static str,
    pub bad_amount: &'static str,
    pub bad_reason: &'static str,
    pub refused_action: &'static str,
    // Why the service did not do an action (`refusal`)
    pub svc_payment_not_configured: &'static str,
    pub svc_unsignable_for_alipay: &'static str,
    pub svc_nonce_reused: &'static str,
    pub svc_out_trade_no_conflict: &'static str,
    pub svc_order_not_found: &'static str,
    pub svc_already_paid: &'static str,
    pub svc_not_closable: &'static str,
    pub svc_not_payable: &'static str,
    pub svc_not_yet_closable: &'static str,
    pub svc_upstream_refused: &'static str,
    pub svc_upstream_unknown: &'static str,
    pub svc_refund_not_found: &'static str,
    pub svc_not_refundable: &'static str,
    pub svc_refund_exceeds_paid: &'static str,
    pub svc_out_refund_no_conflict: &'static str,
    pub svc_refund_window_passed: &'static str,
    pub svc_split_not_found: &'static str,
    pub svc_not_splittable: &'static str,
    pub svc_split_exceeds_paid: &'static str,
    pub svc_split_ratio_exceeded: &'static str,
    pub svc_out_split_no_conflict: &'static str,
    pub svc_split_receivers_of_another_channel: &'static str,
    pub svc_channel: &'static str,
    // Audit log
    pub audit_title: &'static str,
    pub notifications_title: &'static str,
    pub anomalies_title: &'static str,
    pub last_attempt: &'static str,
    pub kind: &'static str,
    pub occurrences: &'static str,
    pub last_seen: &'static str,
    pub no_events: &'static str,
    pub no_anomalies: &'static str,
    pub latest_only: &'static str,
    pub actor: &'static str,
    pub action: &'static str,
    pub object: &'static str,
    pub address: &'static str,
    pub detail: &'static str,
    pub command_line: &'static str,
    pub nobody: &'static str,
    // Errors
    pub not_found_title: &'static str,
    pub not_found: &'static str,
    pub forbidden_title: &'static str,
    pub forbidden: &'static str,
    pub wrong_origin_title: &'static str,
    pub wrong_origin: &'static str,
    pub wrong_origin_unnamed: &'static str,
    pub error_title: &'static str,
    pub internal: &'static str,
    pub back_to_dashboard: &'static str,
}

pub static ZH: Text = Text {
    brand: "paygate 控制台",
    skip: "跳到正文",
    nav_label: "主导航",
    nav_dashboard: "概览",
    nav_orders: "订单",
    nav_notifications: "通知",
    nav_anomalies: "异常",
    nav_audit: "审计日志",
    signed_in_as: "当前用户",
    logout: "退出登录",
    sandbox: "沙箱模式：不会产生真实资金流动",
    switch_to: "English",
    login_title: "登录控制台",
    email: "邮箱",
    password: "密码",
    totp_code: "身份验证器中的 6 位验证码",
    sign_in: "登录",
    bad_credentials: "邮箱或密码错误。",
    locked: "密码错误次数过多，账户已锁定，请于 {until} 之后再试。",
    too_many_attempts: "此地址登录失败次数过多，请 {minutes} 分钟后再试。",
    second_factor_required: "此账户已开启两步验证：请再次输入密码，并填写身份验证器中的 6 位验证码。",
    bad_code: "验证码错误，请重新输入密码和验证码。",
    form_expired: "登录表单已失效，请重试。",
    dashboard_title: "概览",
    today: "今天",
    last_7_days: "近 7 天",
    last_30_days: "近 30 天",
    paid_orders: "支付笔数",
    paid_amount: "支付金额",
    success_rate: "支付成功率",
    success_rate_none: "无新订单",
    refunds: "退款",
    by_channel: "按渠道",
    by_site: "按站点",
    chart_title: "近 30 天每日支付金额（元）",
    chart_desc: "柱状图：每根柱子是一天的支付金额，最右边是今天。",
    needs_attention: "待处理",
    anomalies: "异常",
    failed_notifications: "通知送达失败",
    stuck_orders: "滞留订单",
    count: "笔数",
    amount: "金额（元）",
    times_in: "时间均为北京时间（UTC+8）。",
    orders_title: "订单",
    search: "搜索",
    out_trade_no: "商户订单号",
    transaction_id: "渠道交易号",
    site: "站点",
    any: "全部",
    status: "状态",
    channel: "渠道",
    method: "支付方式",
    method_any: "任意（由付款人选择）",
    created_from: "创建日期从",
    created_to: "创建日期至",
    stuck_only: "只看滞留订单",
    created: "创建时间",
    refunded: "已退款（元）",
    next_page: "下一页",
    first_page: "回到第一页",
    no_orders: "没有符合条件的订单。",
    results: "搜索结果",
    invalid_filters: "以下条件无法识别，未进行搜索：",
    order_title: "订单",
    description: "商品描述",
    paid_at: "支付时间",
    expires_at: "过期时间",
    upstream_no: "上游订单号",
    made_through: "接入协议",
    next_check: "下次向渠道查单",
    refundable: "可退金额（元）",
    timeline: "时间线",
    actions: "操作",
    refund: "退款",
    refund_amount: "退款金额（元）",
    refund_reason: "退款原因（可选）",
    close: "关闭订单",
    query: "立即向渠道查询",
    resend: "重新发送",
    notifications: "商户通知",
    delivery_attempts: "投递记录",
    event: "事件",
    none: "无",
    refund_no: "退款单号",
    splits: "分账",
    split_no: "分账单号",
    split_purpose: "来由",
    split_receivers: "接收方",
    when: "时间",
    history_entry: "状态",
    refund_entry: "退款",
    notification_entry: "通知",
    attempt_entry: "投递",
    anomaly_entry: "异常",
    pay_attempt_entry: "支付尝试",
    confirm_title: "请确认",
    confirm: "确认",
    cancel: "取消",
    confirm_refund: "确认为订单 {order} 退款 {amount} 元？退款会立即提交给渠道，无法撤回。",
    confirm_close: "确认关闭订单 {order}？关闭后付款人将无法再支付。",
    confirm_query: "确认立即向渠道查询订单 {order}？查到的结果会像定时查单一样记录下来。",
    confirm_resend: "确认重新向站点发送通知 {event}？",
    done_refund: "退款已提交。",
    done_close: "订单已关闭。",
    done_query: "渠道的答复：",
    done_query_failed: "渠道暂时没有明确答复，定时查单会继续查询。",
    done_query_scheduled: "已安排立即检查这笔订单的各个支付尝试。",
    done_resend: "通知已重新排队发送。",
    bad_reason: "退款原因最多 80 个字，且不能含控制字符或不可见字符。",
    bad_amount: "金额格式不对：请以元为单位填写，最多两位小数，例如 12 或 12.30。",
    refused_action: "操作未完成：",
    svc_payment_not_configured: "站点没有开通支付方式 {method}，或 paygate 没有为它配置商户账号。",
    svc_unsignable_for_alipay: "{field} 含有 & 或 =，支付宝无法对它签名。",
    svc_nonce_reused: "这个请求的随机串已经用过（重放），什么也没有做。",
    svc_out_trade_no_conflict: "这个商户订单号已被一笔内容不同的订单使用。",
    svc_order_not_found: "找不到这笔订单。",
    svc_already_paid: "订单已经是“{status}”，不能关闭。",
    svc_not_closable: "“{status}”的订单不能关闭。",
    svc_not_payable: "订单已不能支付（现在是“{status}”）。",
    svc_not_yet_closable: "支付宝还没有见过这笔订单（付款人尚未打开），在 {until} 过期之前它仍可支付，所以现在不能关闭。",
    svc_upstream_refused: "{channel}拒绝了这次请求：{code}：{message}",
    svc_upstream_unknown: "{channel}没有给出明确答复：操作可能已生效，也可能没有。请稍后查看订单，或再试一次。",
    svc_refund_not_found: "找不到这笔退款。",
    svc_not_refundable: "“{status}”的订单不能退款。",
    svc_refund_exceeds_paid: "退款金额超过了可退金额：还可退 {amount} 元。",
    svc_out_refund_no_conflict: "这个退款单号已被一笔内容不同的退款使用。",
    svc_refund_window_passed: "{channel}对这笔订单的退款期限已于 {ended}（北京时间）结束。",
    svc_split_not_found: "找不到这笔分账。",
    svc_not_splittable: "这笔订单不能分账：它尚未支付，或创建时没有开启分账。",
    svc_split_exceeds_paid: "分账金额超过了可分金额：还可分 {amount} 元。",
    svc_split_ratio_exceeded: "分账金额超过了渠道允许的最大分账比例：还可分 {amount} 元。",
    svc_out_split_no_conflict: "这个分账单号已被一笔内容不同的分账使用。",
    svc_split_receivers_of_another_channel: "分账接收方不属于这笔订单的渠道（{channel}）。",
    svc_channel: "这笔订单无法按渠道的要求发出（配置或程序的问题），详情见服务器日志。",
    audit_title: "审计日志",
    notifications_title: "商户通知",
    anomalies_title: "异常",
    last_attempt: "最近一次投递",
    kind: "类型",
    occurrences: "次数",
    last_seen: "最近发生",
    no_events: "没有这种状态的通知。",
    no_anomalies: "没有记录到异常。",
    latest_only: "只列出最近的 {n} 条。",
    actor: "操作人",
    action: "动作",
    object: "对象",
    address: "来源地址",
    detail: "详情",
    command_line: "命令行",
    nobody: "未知",
    not_found_title: "找不到页面",
    not_found: "页面不存在，或你无权查看。",
    forbidden_title: "无法完成操作",
    forbidden: "你的账户无权进行此操作，或表单已失效。请返回页面重试。",
    wrong_origin_title: "请从控制台的地址操作",
    wrong_origin: "这个表单是从 {sent} 提交的，但控制台的地址是 {ours}。为防止其他网站冒用你的登录，控制台只接受从它自己的地址提交的表单，所以这次操作没有执行。请打开下面的地址，登录后重新操作。",
    wrong_origin_unnamed: "这个请求没有说明是从哪个地址提交的，而控制台只接受从 {ours} 提交的表单（为防止其他网站冒用你的登录），所以这次操作没有执行。请打开下面的地址，登录后重新操作。",
    error_title: "出错了",
    internal: "服务器暂时出错，请稍后重试。",
    back_to_dashboard: "返回概览",
};

pub static EN: Text = Text {
    brand: "paygate console",
    skip: "Skip to content",
    nav_label: "Main",
    nav_dashboard: "Dashboard",
    nav_orders: "Orders",
    nav_notifications: "Notifications",
    nav_anomalies: "Anomalies",
    nav_audit: "Audit log",
    signed_in_as: "Signed in as",
    logout: "Sign out",
    sandbox: "Sandbox mode: no real money moves",
    switch_to: "中文",
    login_title: "Sign in to the console",
    email: "Email",
    password: "Password",
    totp_code: "6-digit code from your authenticator app",
    sign_in: "Sign in",
    bad_credentials: "Wrong email or password.",
    locked: "This account is locked after too many wrong passwords; try again after {until}.",
    too_many_attempts: "Too many failed sign-ins from this address; try again in {minutes} minutes.",
    second_factor_required: "This account has two-step verification: enter your password again and the 6-digit code from your authenticator app.",
    bad_code: "Wrong code; enter your password and the code again.",
    form_expired: "The sign-in form expired; please try again.",
    dashboard_title: "Dashboard",
    today: "Today",
    last_7_days: "Last 7 days",
    last_30_days: "Last 30 days",
    paid_orders: "Paid orders",
    paid_amount: "Paid amount",
    success_rate: "Paid rate",
    success_rate_none: "no new orders",
    refunds: "Refunds",
    by_channel: "By channel",
    by_site: "By site",
    chart_title: "Paid per day, last 30 days (yuan)",
    chart_desc: "Bar chart: each bar is one day's paid amount; today is the rightmost.",
    needs_attention: "Needs attention",
    anomalies: "Anomalies",
    failed_notifications: "Failed notifications",
    stuck_orders: "Stuck orders",
    count: "Count",
    amount: "Amount (yuan)",
    times_in: "Times are China Standard Time (UTC+8).",
    orders_title: "Orders",
    search: "Search",
    out_trade_no: "Order number (out_trade_no)",
    transaction_id: "Channel transaction id",
    site: "Site",
    any: "Any",
    status: "Status",
    channel: "Channel",
    method: "Method",
    method_any: "Any (the payer chooses)",
    created_from: "Created from",
    created_to: "Created until",
    stuck_only: "Stuck orders only",
    created: "Created",
    refunded: "Refunded (yuan)",
    next_page: "Next page",
    first_page: "Back to the first page",
    no_orders: "No orders match.",
    results: "Results",
    invalid_filters: "These fields could not be read, so nothing was searched: ",
    order_title: "Order",
    description: "Description",
    paid_at: "Paid",
    expires_at: "Expires",
    upstream_no: "Upstream order number",
    made_through: "Made through",
    next_check: "Next check with the channel",
    refundable: "Refundable (yuan)",
    timeline: "Timeline",
    actions: "Actions",
    refund: "Refund",
    refund_amount: "Amount to refund (yuan)",
    refund_reason: "Reason (optional)",
    close: "Close the order",
    query: "Ask the channel now",
    resend: "Send again",
    notifications: "Notifications to the site",
    delivery_attempts: "Delivery attempts",
    event: "Event",
    none: "None",
    refund_no: "Refund number",
    splits: "Profit-sharing splits",
    split_no: "Split number",
    split_purpose: "Asked by",
    split_receivers: "Receivers",
    when: "When",
    history_entry: "Status",
    refund_entry: "Refund",
    notification_entry: "Notification",
    attempt_entry: "Delivery",
    anomaly_entry: "Anomaly",
    pay_attempt_entry: "Pay attempt",
    confirm_title: "Please confirm",
    confirm: "Confirm",
    cancel: "Cancel",
    confirm_refund: "Refund {amount} yuan of order {order}? The refund goes to the channel at once and cannot be taken back.",
    confirm_close: "Close order {order}? The payer will no longer be able to pay it.",
    confirm_query: "Ask the channel about order {order} now? What it says is recorded as a scheduled check's answer is.",
    confirm_resend: "Send notification {event} to the site again?",
    done_refund: "The refund was sent.",
    done_close: "The order is closed.",
    done_query: "The channel says: ",
    done_query_failed: "The channel gave no clear answer; the scheduled checks go on asking.",
    done_query_scheduled: "The order's pay attempts will be checked at once.",
    done_resend: "The notification is queued to be sent again.",
    bad_reason: "A reason is at most 80 characters, without control or invisible characters.",
    bad_amount: "That is not an amount in yuan: write at most two decimals, such as 12 or 12.30.",
    refused_action: "Not done: ",
    svc_payment_not_configured: "The site may not use {method}, or paygate has no account configured for it.",
    svc_unsignable_for_alipay: "{field} contains & or =, which Alipay cannot sign.",
    svc_nonce_reused: "This request's nonce was already used (a replay); nothing was done.",
    svc_out_trade_no_conflict: "This order number is already used by an order with different content.",
    svc_order_not_found: "No such order.",
    svc_already_paid: "The order's status is {status}: it can no longer be closed.",
    svc_not_closable: "An order in status {status} cannot be closed.",
    svc_not_payable: "The order can no longer be paid (its status is {status}).",
    svc_not_yet_closable: "Alipay has not seen this order yet (the payer has not opened it), and it stays payable until it expires at {until}, so it cannot be closed now.",
    svc_upstream_refused: "{channel} refused the request: {code}: {message}",
    svc_upstream_unknown: "{channel} gave no clear answer: the action may or may not have taken effect. Look at the order again in a moment, or try again.",
    svc_refund_not_found: "No such refund.",
    svc_not_refundable: "An order in status {status} cannot be refunded.",
    svc_refund_exceeds_paid: "The refund is more than what is left to refund: {amount} yuan.",
    svc_out_refund_no_conflict: "This refund number is already used by a refund with different content.",
    svc_refund_window_passed: "{channel}'s refund window for this order ended at {ended} (UTC+8).",
    svc_split_not_found: "No such split.",
    svc_not_splittable: "This order cannot be split: it is not paid, or was not made for profit sharing.",
    svc_split_exceeds_paid: "The split is more than what is left to split: {amount} yuan.",
    svc_split_ratio_exceeded: "The split is more than the channel lets the merchant split away: {amount} yuan is left.",
    svc_out_split_no_conflict: "This split number is already used by a split with different content.",
    svc_split_receivers_of_another_channel: "The receivers are not of this order's channel ({channel}).",
    svc_channel: "The order could not be put to the channel (a configuration or program error); the server's log has the details.",
    audit_title: "Audit log",
    notifications_title: "Notifications to sites",
    anomalies_title: "Anomalies",
    last_attempt: "Last attempt",
    kind: "Kind",
    occurrences: "Times",
    last_seen: "Last seen",
    no_events: "No notifications in this status.",
    no_anomalies: "No anomalies recorded.",
    latest_only: "Only the latest {n} are listed.",
    actor: "Who",
    action: "Action",
    object: "Object",
    address: "From",
    detail: "Detail",
    command_line: "command line",
    nobody: "unknown",
    not_found_title: "Not found",
    not_found: "This page does not exist, or you may not see it.",
    forbidden_title: "Not allowed",
    forbidden: "Your account may not do this, or the form expired. Go back and try again.",
    wrong_origin_title: "Use the console's own address",
    wrong_origin: "This form was sent from {sent}, but the console's address is {ours}. So that no other site can act with your sign-in, the console takes forms only from its own address, and nothing was done. Open the address below, sign in there and try again.",
    wrong_origin_unnamed: "This request did not say which address it was sent from, and the console takes forms only from {ours} (so that no other site can act with your sign-in), so nothing was done. Open the address below, sign in there and try again.",
    error_title: "Something went wrong",
    internal: "The server failed; please try again in a moment.",
    back_to_dashboard: "Back to the dashboard",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Channel as Ch, Timestamp};
    use crate::service::UpstreamOp;

    /// One of each `ServiceError` a console action can meet.
    fn every_refusal() -> Vec<ServiceError> {
        vec![
            ServiceError::PaymentNotConfigured(
                crate::domain::PayMethod::parse_dotted("wechat.native")
                    .unwrap()
                    .into(),
            ),
            ServiceError::UnsignableForAlipay {
                field: "description",
            },
            ServiceError::NonceReused,
            ServiceError::OutTradeNoConflict,
            ServiceError::NotFound,
            ServiceError::AlreadyPaid(OrderStatus::Paid),
            ServiceError::NotClosable(OrderStatus::Failed),
            ServiceError::NotPayable(OrderStatus::Closed),
            ServiceError::NotYetClosable {
                expires_at: Timestamp::from_millis(1_700_000_000_000),
            },
            ServiceError::UpstreamRefused {
                op: UpstreamOp::Close,
                channel: Ch::Wechat,
                code: "ORDERPAID".to_owned(),
                message: "订单已支付".to_owned(),
            },
            ServiceError::UpstreamUnknown {
                channel: Ch::Alipay,
                message: "timed out after 10s".to_owned(),
            },
            ServiceError::RefundNotFound,
            ServiceError::NotRefundable(OrderStatus::Pending),
            ServiceError::RefundExceedsPaid {
                refundable: 123_456,
            },
            ServiceError::OutRefundNoConflict,
            ServiceError::RefundWindowPassed {
                channel: Ch::Alipay,
                ended_at: Timestamp::from_millis(1_700_000_000_000),
            },
            ServiceError::SplitNotFound,
            ServiceError::NotSplittable("it is not paid"),
            ServiceError::SplitExceedsPaid { splittable: 100 },
            ServiceError::SplitRatioExceeded { left: 100 },
            ServiceError::OutSplitNoConflict,
            ServiceError::SplitReceiversOfAnotherChannel(Ch::Wechat),
            ServiceError::Channel("amount overflows".to_owned()),
        ]
    }

    #[test]
    fn a_refusal_is_said_in_chinese_on_the_chinese_page_and_in_english_on_the_english_one() {
        // What may stay Latin in a Chinese sentence: the names and codes it quotes.
        let quoted = ["wechat.native", "description", "ORDERPAID", "paygate"];
        for e in every_refusal() {
            let zh = refusal(Lang::Zh, &e);
            let mut rest = zh.clone();
            for q in quoted {
                rest = rest.replace(q, "");
            }
            assert!(
                !rest.chars().any(|c| c.is_ascii_alphabetic()),
                "{e:?} in Chinese: {zh}"
            );
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{zh}"
            );
            let en = refusal(Lang::En, &e);
            assert!(
                !en.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
                    || en.contains("订单已支付"),
                "{e:?} in English: {en}"
            );
            assert!(!zh.contains('{') && !en.contains('{'), "{zh} / {en}");
        }
        let e = ServiceError::RefundExceedsPaid {
            refundable: 123_456,
        };
        assert_eq!(
            refusal(Lang::Zh, &e),
            "退款金额超过了可退金额：还可退 1,234.56 元。"
        );
        assert_eq!(
            refusal(Lang::En, &e),
            "The refund is more than what is left to refund: 1,234.56 yuan."
        );
    }

    #[test]
    fn chinese_unless_asked_in_the_url_or_remembered() {
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        let mut en_cookie = HeaderMap::new();
        en_cookie.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_static("pg_lang=en"),
        );
        let none = HeaderMap::new();
        assert_eq!(lang_of(&uri("/console"), &none), Lang::Zh);
        assert_eq!(lang_of(&uri("/console?lang=en"), &none), Lang::En);
        assert_eq!(lang_of(&uri("/console"), &en_cookie), Lang::En);
        assert_eq!(lang_of(&uri("/console?lang=zh"), &en_cookie), Lang::Zh);
        assert_eq!(lang_of(&uri("/console?lang=fr"), &none), Lang::Zh);
        assert!(remember(&uri("/console?lang=en"), false).is_some());
        assert!(remember(&uri("/console?x=1"), false).is_none());
    }
}
