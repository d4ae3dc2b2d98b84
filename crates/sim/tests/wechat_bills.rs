//! WeChat Pay v3 simulator: bills in WeChat's format with fees, and the controls that make its
//! records differ from the merchant's for reconciliation tests. The bills are read here with a few
//! lines of splitting, independent of the `wechatpay` crate's reader.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

const NOTIFY: &str = "https://merchant.example.com/notify";

/// A bill split into its four parts, backticks removed.
struct Bill {
    header: Vec<String>,
    rows: Vec<HashMap<String, String>>,
    summary: HashMap<String, String>,
    summary_header: Vec<String>,
}

impl Bill {
    fn parse(text: &str) -> Self {
        assert!(text.ends_with("\r\n"), "{text}");
        let lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
        let names = |l: &str| l.split(',').map(str::to_owned).collect::<Vec<_>>();
        let values = |l: &str| {
            l.split(',')
                .map(|c| {
                    c.strip_prefix('`')
                        .expect("every field has a backtick")
                        .to_owned()
                })
                .collect::<Vec<_>>()
        };
        let header = names(lines[0]);
        let n = lines.len();
        assert!(!lines[n - 2].starts_with('`') && lines[n - 1].starts_with('`'));
        let summary_header = names(lines[n - 2]);
        let rows = lines[1..n - 2]
            .iter()
            .map(|l| {
                let v = values(l);
                assert_eq!(v.len(), header.len(), "{l}");
                header.iter().cloned().zip(v).collect()
            })
            .collect();
        let summary = summary_header
            .iter()
            .cloned()
            .zip(values(lines[n - 1]))
            .collect();
        Self {
            header,
            rows,
            summary,
            summary_header,
        }
    }

    fn row(&self, column: &str, value: &str) -> &HashMap<String, String> {
        self.rows
            .iter()
            .find(|r| r[column] == value)
            .unwrap_or_else(|| panic!("no row with {column} = {value}"))
    }
}

fn china_today() -> String {
    time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap())
        .date()
        .to_string()
}

impl TestSim {
    /// Applies for a bill and downloads it (uncompressed); `Err` is the refusal's code.
    async fn bill(&self, m: &Merchant, apply: &str) -> Result<String, String> {
        let r = self.call(m, "GET", apply, None).await;
        if r.status != 200 {
            return Err(r.code());
        }
        let url = r.json()["download_url"].as_str().unwrap().to_owned();
        let file = self
            .call(m, "GET", &url[self.sim.base_url.len()..], None)
            .await;
        assert_eq!(file.status, 200);
        Ok(String::from_utf8(file.bytes).unwrap())
    }

    async fn trade_bill(&self, m: &Merchant, date: &str, bill_type: &str) -> Bill {
        let path = format!("/v3/bill/tradebill?bill_date={date}&bill_type={bill_type}");
        Bill::parse(&self.bill(m, &path).await.unwrap())
    }

    /// Refunds `amount` of `no` and waits until the refund has succeeded.
    async fn refund_now(&self, m: &Merchant, no: &str, refund_no: &str, amount: i64, total: i64) {
        let body = json!({"out_trade_no": no, "out_refund_no": refund_no,
            "amount": {"refund": amount, "total": total, "currency": "CNY"}});
        assert_eq!(self.refund(m, &body).await.status, 200);
        let path = format!("/v3/refund/domestic/refunds/{refund_no}");
        for _ in 0..100 {
            if self.call(m, "GET", &path, None).await.json()["status"] == "SUCCESS" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("refund {refund_no} never succeeded");
    }

    async fn control_ok(&self, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.control("POST", path, body).await;
        assert_eq!(status, 200, "{path}: {v}");
        v
    }
}

#[tokio::test]
async fn a_day_s_trade_bill_lists_payments_and_refunds_with_their_fees() {
    let t = TestSim::start().await;
    let m = t.register("1900000601", "public_key").await;
    let (shirt, coffee) = (no("shirt"), no("coffee"));
    t.native_order(&m, &shirt, 2990, NOTIFY).await;
    t.native_order(&m, &coffee, 600, NOTIFY).await;
    let paid = t.pay(&m, &shirt).await;
    t.pay(&m, &coffee).await;
    t.refund_now(&m, &shirt, "R1-shirt", 1000, 2990).await;
    let today = china_today();

    let all = t.trade_bill(&m, &today, "ALL").await;
    assert_eq!(
        all.header.join(","),
        "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
    );
    assert_eq!(all.rows.len(), 3);
    let sale = all
        .rows
        .iter()
        .find(|r| r["商户订单号"] == shirt && r["交易状态"] == "SUCCESS")
        .unwrap();
    assert_eq!(sale["微信订单号"], paid["transaction_id"].as_str().unwrap());
    assert_eq!(
        sale["交易时间"],
        paid["success_time"].as_str().unwrap()[..19].replace('T', " ")
    );
    assert_eq!(
        (sale["商户号"].as_str(), sale["特约商户号"].as_str()),
        (m.mchid.as_str(), "0")
    );
    assert_eq!(
        (sale["应结订单金额"].as_str(), sale["订单金额"].as_str()),
        ("29.90", "29.90")
    );
    assert_eq!(
        (sale["手续费"].as_str(), sale["费率"].as_str()),
        ("0.18000", "0.60%")
    );
    assert_eq!(
        [
            &sale["微信退款单号"],
            &sale["商户退款单号"],
            &sale["退款金额"],
            &sale["退款状态"]
        ],
        ["0", "0", "0.00", ""]
    );
    assert_eq!(
        all.row("商户订单号", &coffee)["手续费"],
        "0.04000",
        "0.036 rounds up"
    );
    let refund = all.row("交易状态", "REFUND");
    assert_eq!(refund["商户订单号"], shirt);
    assert_eq!(refund["微信订单号"], sale["微信订单号"]);
    assert_eq!(refund["商户退款单号"], "R1-shirt");
    assert!(refund["微信退款单号"].len() > 10);
    assert_eq!(
        (refund["退款金额"].as_str(), refund["申请退款金额"].as_str()),
        ("10.00", "10.00")
    );
    assert_eq!(
        (refund["退款类型"].as_str(), refund["退款状态"].as_str()),
        ("ORIGINAL", "SUCCESS")
    );
    assert_eq!(
        (refund["应结订单金额"].as_str(), refund["订单金额"].as_str()),
        ("0.00", "0.00")
    );
    assert_eq!(refund["手续费"], "-0.06000", "the fee given back");
    assert_eq!(
        all.summary_header.join(","),
        "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
    );
    let s = &all.summary;
    assert_eq!(
        (s["总交易单数"].as_str(), s["应结订单总金额"].as_str()),
        ("3", "35.90")
    );
    assert_eq!(
        (s["退款总金额"].as_str(), s["手续费总金额"].as_str()),
        ("10.00", "0.16000")
    );
    assert_eq!(
        (s["订单总金额"].as_str(), s["申请退款总金额"].as_str()),
        ("35.90", "10.00")
    );

    let success = t.trade_bill(&m, &today, "SUCCESS").await;
    assert_eq!(success.rows.len(), 2);
    assert!(
        !success
            .header
            .iter()
            .any(|c| c.starts_with("退款") || c == "微信退款单号")
    );
    assert_eq!(
        success.summary_header.join(","),
        "总交易单数,应结订单总金额,手续费总金额,订单总金额"
    );

    let refunds = t.trade_bill(&m, &today, "REFUND").await;
    assert_eq!(refunds.rows.len(), 1);
    let r = &refunds.rows[0];
    assert_eq!(
        r["交易时间"], sale["交易时间"],
        "a REFUND bill dates by the payment"
    );
    assert_eq!(r["退款申请时间"], refund["交易时间"]);
    assert!(!r["退款成功时间"].is_empty());
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_fund_flow_follows_the_same_trades() {
    let t = TestSim::start().await;
    let m = t.register("1900000602", "public_key").await;
    let n = no("flow");
    t.native_order(&m, &n, 2990, NOTIFY).await;
    let paid = t.pay(&m, &n).await;
    t.refund_now(&m, &n, "R1-flow", 2990, 2990).await;
    let today = china_today();

    let path = format!("/v3/bill/fundflowbill?bill_date={today}&account_type=BASIC");
    let flow = Bill::parse(&t.bill(&m, &path).await.unwrap());
    assert_eq!(
        flow.header.join(","),
        "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号"
    );
    let moves: Vec<(&str, &str, &str, &str)> = flow
        .rows
        .iter()
        .map(|r| {
            (
                r["业务类型"].as_str(),
                r["收支类型"].as_str(),
                r["收支金额(元)"].as_str(),
                r["账户结余(元)"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("交易", "收入", "29.90", "29.90"),
            ("扣除交易手续费", "支出", "0.18", "29.72"),
            ("退还交易手续费", "收入", "0.18", "29.90"),
            ("退款", "支出", "29.90", "0.00"),
        ]
    );
    assert_eq!(
        flow.rows[0]["微信支付业务单号"],
        paid["transaction_id"].as_str().unwrap()
    );
    assert_eq!(flow.rows[0]["业务凭证号"], n);
    assert_eq!(flow.rows[3]["业务凭证号"], "R1-flow");
    let s = &flow.summary;
    assert_eq!(
        [
            &s["资金流水总笔数"],
            &s["收入笔数"],
            &s["收入金额"],
            &s["支出笔数"],
            &s["支出金额"]
        ],
        ["4", "2", "30.08", "2", "30.08"]
    );

    // Nothing moves the operating or fees accounts, and a day without trades has no bill.
    let path = format!("/v3/bill/fundflowbill?bill_date={today}&account_type=OPERATION");
    assert_eq!(t.bill(&m, &path).await.unwrap_err(), "NO_STATEMENT_EXIST");
    let path = "/v3/bill/fundflowbill?bill_date=2020-01-01";
    assert_eq!(t.bill(&m, path).await.unwrap_err(), "NO_STATEMENT_EXIST");
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_payment_whose_close_lost_the_race_is_billed_without_a_callback() {
    let t = TestSim::start().await;
    let m = t.register("1900000603", "public_key").await;
    let (raced, normal) = (no("raced"), no("normal"));
    t.native_order(&m, &raced, 1500, NOTIFY).await;
    t.native_order(&m, &normal, 100, NOTIFY).await;
    assert_eq!(t.close_order(&m, &raced).await.status, 204);
    assert_eq!(
        t.query_order(&m, &raced).await.json()["trade_state"],
        "CLOSED"
    );

    let path = format!("/sim/wechat/orders/{raced}/pay-silently?mchid={}", m.mchid);
    let paid = t.control_ok(&path, None).await;
    assert_eq!(paid["trade_state"], "SUCCESS");
    assert_eq!(
        t.query_order(&m, &raced).await.json()["trade_state"],
        "SUCCESS"
    );
    // Paid once is paid.
    let (status, _) = t.control("POST", &path, None).await;
    assert_eq!(status, 409);

    // An ordinary payment's callback shows up in the log; the silent one's never does.
    t.pay(&m, &normal).await;
    let mut log = Value::Null;
    for _ in 0..100 {
        log = t.control("GET", "/sim/wechat/callbacks", None).await.1;
        if log.to_string().contains(&normal) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(log.to_string().contains(&normal), "{log}");
    assert!(!log.to_string().contains(&raced), "{log}");

    let bill = t.trade_bill(&m, &china_today(), "ALL").await;
    let row = bill.row("商户订单号", &raced);
    assert_eq!(
        (row["交易状态"].as_str(), row["订单金额"].as_str()),
        ("SUCCESS", "15.00")
    );
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_trade_the_merchant_never_created_is_billed_on_its_china_day() {
    let t = TestSim::start().await;
    let m = t.register("1900000604", "public_key").await;
    let n = no("elsewhere");
    let trade = t
        .control_ok(
            "/sim/wechat/external-trades",
            Some(json!({"mchid": m.mchid, "out_trade_no": n, "amount": 8800,
                "description": "Counter sale, cash desk 2"})),
        )
        .await;
    assert_eq!(trade["trade_state"], "SUCCESS");
    let queried = t.query_order(&m, &n).await.json();
    assert_eq!(
        (queried["amount"]["total"].clone(), queried["appid"].clone()),
        (json!(8800), json!(APPID))
    );

    let bill = t.trade_bill(&m, &china_today(), "ALL").await;
    let row = bill.row("商户订单号", &n);
    assert_eq!(
        (row["订单金额"].as_str(), row["手续费"].as_str()),
        ("88.00", "0.53000")
    );
    assert_eq!(row["微信订单号"], trade["transaction_id"].as_str().unwrap());
    assert_eq!(
        row["商品名称"], "Counter sale， cash desk 2",
        "a comma cannot split the field"
    );

    let (status, v) = t
        .control(
            "POST",
            "/sim/wechat/external-trades",
            Some(json!({"mchid": m.mchid, "out_trade_no": n, "amount": 1})),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("OUT_TRADE_NO_USED"))
    );

    // 16:30 UTC is half past midnight the next day in China: that day's bill has it.
    let late = no("late");
    t.control_ok(
        "/sim/wechat/external-trades",
        Some(
            json!({"mchid": m.mchid, "out_trade_no": late, "amount": 100,
            "success_time": "2024-03-05T16:30:00Z"}),
        ),
    )
    .await;
    let bill = t.trade_bill(&m, "2024-03-06", "ALL").await;
    assert_eq!(
        bill.row("商户订单号", &late)["交易时间"],
        "2024-03-06 00:30:00"
    );
    let path = "/v3/bill/tradebill?bill_date=2024-03-05";
    assert_eq!(t.bill(&m, path).await.unwrap_err(), "NO_STATEMENT_EXIST");
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_billed_amount_of_an_order_can_differ_from_what_was_ordered() {
    let t = TestSim::start().await;
    let m = t.register("1900000605", "public_key").await;
    let n = no("short");
    t.native_order(&m, &n, 2990, NOTIFY).await;
    t.pay(&m, &n).await;
    let path = format!("/sim/wechat/orders/{n}/bill-amount?mchid={}", m.mchid);
    let changed = t.control_ok(&path, Some(json!({"amount": 2900}))).await;
    assert_eq!(
        changed,
        json!({"out_trade_no": n, "total": 2990, "bill_amount": 2900})
    );

    assert_eq!(t.query_order(&m, &n).await.json()["amount"]["total"], 2990);
    let bill = t.trade_bill(&m, &china_today(), "ALL").await;
    let row = bill.row("商户订单号", &n);
    assert_eq!(
        [&row["订单金额"], &row["应结订单金额"], &row["手续费"]],
        ["29.00", "29.00", "0.17000"]
    );
    assert_eq!(bill.summary["订单总金额"], "29.00");
    let path = format!("/v3/bill/fundflowbill?bill_date={}", china_today());
    let flow = Bill::parse(&t.bill(&m, &path).await.unwrap());
    assert_eq!(flow.row("业务类型", "交易")["收支金额(元)"], "29.00");

    let undo = format!("/sim/wechat/orders/{n}/bill-amount?mchid={}", m.mchid);
    t.control_ok(&undo, Some(json!({"amount": null}))).await;
    let bill = t.trade_bill(&m, &china_today(), "ALL").await;
    assert_eq!(bill.row("商户订单号", &n)["订单金额"], "29.90");
    let missing = format!("/sim/wechat/orders/nope/bill-amount?mchid={}", m.mchid);
    assert_eq!(
        t.control("POST", &missing, Some(json!({"amount": 1})))
            .await
            .0,
        404
    );
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_fund_flow_can_take_another_fee_than_the_trade_bill_shows() {
    let t = TestSim::start().await;
    let m = t.register("1900000606", "public_key").await;
    let n = no("fee");
    t.native_order(&m, &n, 10_000, NOTIFY).await;
    t.pay(&m, &n).await;
    let path = format!("/sim/wechat/orders/{n}/fund-flow-fee?mchid={}", m.mchid);
    let changed = t.control_ok(&path, Some(json!({"fee": 50}))).await;
    assert_eq!(
        changed,
        json!({"out_trade_no": n, "fee": 60, "fund_flow_fee": 50})
    );

    let bill = t.trade_bill(&m, &china_today(), "ALL").await;
    assert_eq!(bill.row("商户订单号", &n)["手续费"], "0.60000");
    let flow_path = format!("/v3/bill/fundflowbill?bill_date={}", china_today());
    let flow = Bill::parse(&t.bill(&m, &flow_path).await.unwrap());
    assert_eq!(
        flow.row("业务类型", "扣除交易手续费")["收支金额(元)"],
        "0.50"
    );
    assert_eq!(flow.summary["支出金额"], "0.50");

    // No fee movement at all, then as it was.
    t.control_ok(&path, Some(json!({"fee": 0}))).await;
    let flow = Bill::parse(&t.bill(&m, &flow_path).await.unwrap());
    assert_eq!(flow.rows.len(), 1);
    assert_eq!(flow.summary["支出笔数"], "0");
    t.control_ok(&path, Some(json!({"fee": null}))).await;
    let flow = Bill::parse(&t.bill(&m, &flow_path).await.unwrap());
    assert_eq!(
        flow.row("业务类型", "扣除交易手续费")["收支金额(元)"],
        "0.60"
    );
    assert_eq!(
        t.control("POST", &path, Some(json!({"fee": -1}))).await.0,
        400
    );
    let missing = format!("/sim/wechat/orders/nope/fund-flow-fee?mchid={}", m.mchid);
    assert_eq!(
        t.control("POST", &missing, Some(json!({"fee": 1}))).await.0,
        404
    );
    t.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_fund_flow_bill_prepared_on_disk_is_served_for_its_day() {
    use sha1::Digest as _;
    use sim::wechat::{FundFlowRow, FundFlowWriter};
    use std::io::Write as _;

    let t = TestSim::start().await;
    let m = t.register("1900000609", "public_key").await;
    let day = "2024-03-05";
    let mut bill = FundFlowWriter::new(Vec::new(), &m.mchid, day, 1_000).unwrap();
    let row = FundFlowRow {
        time: "2024-03-05 10:00:00",
        business_id: "4200000001",
        name: "交易",
        kind: "交易",
        income: true,
        amount_fen: 2_990,
        applicant: "system",
        voucher: "prepared-1",
    };
    bill.row(&row).unwrap();
    bill.row(&FundFlowRow {
        kind: "扣除交易手续费",
        income: false,
        amount_fen: 18,
        ..row.clone()
    })
    .unwrap();
    // A zero fee moves nothing.
    bill.row(&FundFlowRow {
        amount_fen: 0,
        ..row.clone()
    })
    .unwrap();
    let text = String::from_utf8(bill.finish().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gzip = dir.path().join("fund-flow.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    std::fs::write(&gzip, enc.finish().unwrap()).unwrap();
    let sha1 = hex::encode(sha1::Sha1::digest(text.as_bytes()));
    t.sim.ctx.prepare_bill(sim::PreparedBill::WechatFundFlow {
        mchid: m.mchid.clone(),
        bill_date: day.to_owned(),
        gzip,
        sha1: sha1.clone(),
    });

    let path = format!("/v3/bill/fundflowbill?bill_date={day}&account_type=BASIC");
    let applied = t.call(&m, "GET", &path, None).await;
    assert_eq!(applied.json()["hash_value"], sha1.as_str());
    let served = t.bill(&m, &path).await.unwrap();
    assert_eq!(served, text);
    let flow = Bill::parse(&served);
    let moves: Vec<(&str, &str, &str)> = flow
        .rows
        .iter()
        .map(|r| {
            (
                r["资金流水单号"].as_str(),
                r["收支金额(元)"].as_str(),
                r["账户结余(元)"].as_str(),
            )
        })
        .collect();
    let flow_no = |n: u32| format!("{}20240305{n:08}", m.mchid);
    assert_eq!(
        moves,
        [
            (flow_no(1).as_str(), "29.90", "39.90"),
            (flow_no(2).as_str(), "0.18", "39.72")
        ]
    );
    assert_eq!(flow.summary["资金流水总笔数"], "2");
    // Only the basic account's bill of that day is the file; other days are the simulator's own.
    let other = "/v3/bill/fundflowbill?bill_date=2024-03-06";
    assert_eq!(t.bill(&m, other).await.unwrap_err(), "NO_STATEMENT_EXIST");
    let operation = format!("/v3/bill/fundflowbill?bill_date={day}&account_type=OPERATION");
    assert_eq!(
        t.bill(&m, &operation).await.unwrap_err(),
        "NO_STATEMENT_EXIST"
    );
    t.sim.shutdown().await.unwrap();
}
