//! The strings of the pages about the books: the days' reconciliation against the channels' bills,
//! the sites' statements, and a site's balance from the ledger with the operator's fee. One table per language, like [`super::Text`]; `{…}` marks what a page
//! fills in. Discrepancy kinds and resolutions are named by exhaustive matches (`names`).

use crate::domain::{DiscrepancyKind, ReconciliationStatus, Resolution};

use super::Lang;

/// Every string of the reconciliation and statement pages in one language.
#[derive(Debug)]
pub struct Books {
    pub nav_reconciliation: &'static str,
    // The list of days
    pub title: &'static str,
    pub intro: &'static str,
    pub day: &'static str,
    pub account: &'static str,
    pub payments: &'static str,
    pub payments_fen: &'static str,
    pub refunds: &'static str,
    pub refunds_fen: &'static str,
    /// A column of a count and a sum, `3 · 179.90`.
    pub payments_both: &'static str,
    pub refunds_both: &'static str,
    pub fees: &'static str,
    pub net: &'static str,
    pub matched: &'static str,
    pub discrepancies: &'static str,
    pub planned: &'static str,
    pub planned_for: &'static str,
    pub no_days: &'static str,
    pub older: &'static str,
    pub newest: &'static str,
    pub yuan_note: &'static str,
    // One day
    pub day_title: &'static str,
    pub started: &'static str,
    pub finished: &'static str,
    pub error: &'static str,
    pub not_run_yet: &'static str,
    pub totals_note: &'static str,
    pub account_bill: &'static str,
    pub movements: &'static str,
    pub income: &'static str,
    pub expense: &'static str,
    pub other_movements: &'static str,
    pub upstream_no: &'static str,
    pub billed: &'static str,
    pub ours: &'static str,
    pub resolution: &'static str,
    pub order: &'static str,
    pub no_discrepancies: &'static str,
    pub rerun: &'static str,
    pub rerun_hint: &'static str,
    pub done_rerun: &'static str,
    pub back_to_days: &'static str,
    // Statements
    pub statement: &'static str,
    pub statement_hint: &'static str,
    pub statement_day: &'static str,
    pub download_csv: &'static str,
    pub download_json: &'static str,
    // A site's balance
    pub balance: &'static str,
    pub balance_hint: &'static str,
    pub balance_paid: &'static str,
    pub balance_refunded: &'static str,
    pub balance_fees: &'static str,
    pub balance_shared: &'static str,
    pub balance_net: &'static str,
    pub fee: &'static str,
    /// `{rate}` is a percentage, `{fixed}` yuan.
    pub fee_text: &'static str,
    // The order page
    pub billed_fee: &'static str,
    // Requests that cannot be read
    pub bad_request_title: &'static str,
    pub bad_date: &'static str,
    pub bad_format: &'static str,
}

pub static ZH: Books = Books {
    nav_reconciliation: "对账",
    title: "对账",
    intro: "每天按渠道的商户号，把渠道账单与 paygate 的订单和退款逐笔核对。",
    day: "账单日",
    account: "商户号",
    payments: "支付笔数",
    payments_fen: "支付金额",
    refunds: "退款笔数",
    refunds_fen: "退款金额",
    payments_both: "支付",
    refunds_both: "退款",
    fees: "手续费",
    net: "净额",
    matched: "一致",
    discrepancies: "差异",
    planned: "已计划",
    planned_for: "计划于 {when} 运行",
    no_days: "还没有对账记录。",
    older: "更早的日期",
    newest: "回到最近的日期",
    yuan_note: "支付和退款写作“笔数 · 金额”，金额单位为元；都是账单所列的全部交易（含同一商户号上其他系统的交易）。",
    day_title: "{channel} {day} 对账",
    started: "开始时间",
    finished: "结束时间",
    error: "失败原因",
    not_run_yet: "这一天还没有运行过对账。",
    totals_note: "账单所列的全部交易，含同一商户号上其他系统的交易。",
    account_bill: "资金账单",
    movements: "资金变动笔数",
    income: "收入",
    expense: "支出",
    other_movements: "非本账单交易的变动",
    upstream_no: "渠道单号",
    billed: "账单（元）",
    ours: "paygate（元）",
    resolution: "处理",
    order: "订单",
    no_discrepancies: "没有差异：账单与 paygate 的记录一致。",
    rerun: "重新对账",
    rerun_hint: "重新读取这一天的账单并逐笔核对，由运行中的 paygate 节点执行。已报告、修复或通知过的不会重复。",
    done_rerun: "已安排重新对账，运行中的节点会立即执行；稍后刷新本页查看结果。",
    back_to_days: "返回对账列表",
    statement: "对账单",
    statement_hint: "某一天（北京时间）本站点的支付和退款，附渠道账单所列的手续费；与接口 GET /v1/statements/{date} 返回的文件相同。",
    statement_day: "日期",
    download_csv: "下载 CSV",
    download_json: "下载 JSON",
    balance: "余额",
    balance_hint: "由账本中本站点的分录汇总：收款减去退款、平台服务费和分账，即应结算给站点的金额。退款不退还服务费。",
    balance_paid: "已收款（元）",
    balance_refunded: "已退款（元）",
    balance_fees: "平台服务费（元）",
    balance_shared: "已分账（元）",
    balance_net: "净额（元）",
    fee: "平台服务费率",
    fee_text: "{rate}% + {fixed} 元／笔",
    billed_fee: "渠道手续费（账单，元）",
    bad_request_title: "无法读取请求",
    bad_date: "日期不对：请填写一个真实存在的日期，格式为 YYYY-MM-DD，例如 2026-11-29。",
    bad_format: "文件格式只能是 CSV 或 JSON。",
};

pub static EN: Books = Books {
    nav_reconciliation: "Reconciliation",
    title: "Reconciliation",
    intro: "Each day, each channel account's bill is set line by line against paygate's orders and refunds.",
    day: "Bill day",
    account: "Account",
    payments: "Payments",
    payments_fen: "Paid",
    refunds: "Refunds",
    refunds_fen: "Refunded",
    payments_both: "Payments",
    refunds_both: "Refunds",
    fees: "Fees",
    net: "Net",
    matched: "Matched",
    discrepancies: "Discrepancies",
    planned: "planned",
    planned_for: "planned for {when}",
    no_days: "No day reconciled or planned yet.",
    older: "Older days",
    newest: "Back to the latest days",
    yuan_note: "Payments and refunds as “count · amount”, amounts in yuan: everything the bill lists (other systems' trades on the same account included).",
    day_title: "Reconciliation of {channel}, {day}",
    started: "Started",
    finished: "Finished",
    error: "Why it failed",
    not_run_yet: "This day has not been run yet.",
    totals_note: "Everything the bill lists, other systems' trades on the same account included.",
    account_bill: "Account bill",
    movements: "Movements",
    income: "In",
    expense: "Out",
    other_movements: "Not the trade bill's trades",
    upstream_no: "Upstream number",
    billed: "Billed (yuan)",
    ours: "paygate (yuan)",
    resolution: "Resolution",
    order: "Order",
    no_discrepancies: "No discrepancies: the bill agrees with paygate.",
    rerun: "Reconcile again",
    rerun_hint: "Reads the day's bill again and checks every line, on a running paygate node. Nothing already reported, repaired or notified is done twice.",
    done_rerun: "The day is planned to be reconciled again; a running node runs it at once. Reload this page in a moment to see the outcome.",
    back_to_days: "Back to the days",
    statement: "Statement",
    statement_hint: "The site's payments and refunds of one day (China time), with the fees the channels' bills state: the same file as GET /v1/statements/{date}.",
    statement_day: "Day",
    download_csv: "Download CSV",
    download_json: "Download JSON",
    balance: "Balance",
    balance_hint: "Summed from the site's entries in the ledger: what was paid, less refunds, the operator's fees and splits, is what is owed to the site. Refunds do not give the fee back.",
    balance_paid: "Paid (yuan)",
    balance_refunded: "Refunded (yuan)",
    balance_fees: "Operator's fees (yuan)",
    balance_shared: "Shared (yuan)",
    balance_net: "Net (yuan)",
    fee: "Operator's fee",
    fee_text: "{rate}% + {fixed} yuan per order",
    billed_fee: "Channel fee (billed, yuan)",
    bad_request_title: "Cannot read the request",
    bad_date: "That is not a day: give a date that exists, as YYYY-MM-DD, such as 2026-11-29.",
    bad_format: "The file format is CSV or JSON.",
};

/// What a language calls a run's status, a discrepancy's kind and its resolution.
pub(in super::super) fn run_status(lang: Lang, s: ReconciliationStatus) -> &'static str {
    use super::Names;
    match s {
        ReconciliationStatus::Complete => lang.pick("已完成", "complete"),
        ReconciliationStatus::Failed => lang.pick("失败", "failed"),
        ReconciliationStatus::Running => lang.pick("进行中", "running"),
    }
}

pub(in super::super) fn discrepancy_kind(lang: Lang, k: DiscrepancyKind) -> &'static str {
    use super::Names;
    match k {
        DiscrepancyKind::PaidUpstreamOnly => {
            lang.pick("渠道已支付，paygate 未记录", "paid upstream only")
        }
        DiscrepancyKind::PaidHereOnly => lang.pick("paygate 已支付，渠道未支付", "paid here only"),
        DiscrepancyKind::MissingFromBill => {
            lang.pick("已支付但账单中没有", "missing from the bill")
        }
        DiscrepancyKind::AmountMismatch => lang.pick("金额不一致", "amount mismatch"),
        DiscrepancyKind::OtherPayment => lang.pick("另一笔支付", "another payment"),
        DiscrepancyKind::NotOurs => lang.pick("非 paygate 的交易", "not paygate's"),
        DiscrepancyKind::RefundSucceededUpstreamOnly => lang.pick(
            "渠道已退款，paygate 未记录",
            "refund succeeded upstream only",
        ),
        DiscrepancyKind::RefundHereOnly => {
            lang.pick("paygate 已退款，渠道未退款", "refund here only")
        }
        DiscrepancyKind::RefundMissingFromBill => {
            lang.pick("已退款但账单中没有", "refund missing from the bill")
        }
        DiscrepancyKind::RefundOutcomeMismatch => {
            lang.pick("退款结果不一致", "refund outcome mismatch")
        }
        DiscrepancyKind::RefundAmountMismatch => {
            lang.pick("退款金额不一致", "refund amount mismatch")
        }
        DiscrepancyKind::RefundNotOurs => lang.pick("非 paygate 的退款", "refund not paygate's"),
        DiscrepancyKind::FundsMismatch => {
            lang.pick("资金账单与交易账单不一致", "account bill disagrees")
        }
    }
}

pub(in super::super) fn resolution(lang: Lang, r: Resolution) -> &'static str {
    use super::Names;
    match r {
        Resolution::Repaired => lang.pick("已按渠道答复修复", "repaired"),
        Resolution::Anomaly => lang.pick("已记为异常，待人工处理", "an anomaly, for a person"),
        Resolution::Listed => lang.pick("仅列出", "listed"),
        Resolution::Retry => lang.pick("渠道未答复，下次对账重试", "retried at the next run"),
    }
}
