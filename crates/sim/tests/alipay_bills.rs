//! Alipay simulator: bills in Alipay's format (a zip of GBK CSV files) consistent with the trades,
//! fees included, and the controls that make the bill disagree with what the merchant saw.
//!
//! Calls are signed here as a merchant would sign them, and the files are read with a zip reader
//! and a GBK decoder, not with the `alipay` crate's reader.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Read};

use channel_core::RsaPrivateKey;
use encoding_rs::GBK;
use serde_json::{Value, json};
use sim::{RunningSim, SimConfig};
use time::macros::{format_description, offset};

const APP_ID: &str = "2021000000000777";

struct Merchant {
    sim: RunningSim,
    http: reqwest::Client,
    key: RsaPrivateKey,
}

/// A CSV file of a bill: its name, `#` lines, header and rows (fields without Alipay's tabs).
struct BillFile {
    name: String,
    name_was_utf8: bool,
    comments: Vec<String>,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl BillFile {
    fn column(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.header))
    }

    /// The rows as the named columns, each row joined with `|`.
    fn pick(&self, columns: &[&str]) -> Vec<String> {
        let at: Vec<usize> = columns.iter().map(|c| self.column(c)).collect();
        self.rows
            .iter()
            .map(|r| {
                at.iter()
                    .map(|i| r[*i].as_str())
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }

    fn comment(&self, starts: &str) -> &str {
        self.comments
            .iter()
            .find(|c| c.starts_with(starts))
            .unwrap_or_else(|| panic!("no comment {starts} in {:?}", self.comments))
    }
}

fn china_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc().to_offset(offset!(+8))
}

fn today() -> String {
    china_now()
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap()
}

impl Merchant {
    async fn start() -> Self {
        let sim = sim::start(
            SimConfig {
                time_scale: 0.0001,
                ..SimConfig::default()
            },
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let http = reqwest::Client::new();
        let key = RsaPrivateKey::generate().unwrap();
        // Notifications go nowhere that answers; the simulator's log still records each one.
        let body = json!({
            "app_id": APP_ID,
            "app_public_key_pem": key.public_key().unwrap().to_pem(),
            "notify_url": "http://127.0.0.1:9/alipay/notify",
        });
        let r = http
            .post(format!("{}/sim/alipay/apps", sim.base_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        Self { sim, http, key }
    }

    /// A signed OpenAPI call; the `…_response` object.
    async fn call(&self, method: &str, biz: &Value) -> Value {
        let mut params: Vec<(String, String)> = [
            ("app_id", APP_ID.to_owned()),
            ("method", method.to_owned()),
            ("format", "JSON".to_owned()),
            ("charset", "utf-8".to_owned()),
            ("sign_type", "RSA2".to_owned()),
            (
                "timestamp",
                china_now()
                    .format(format_description!(
                        "[year]-[month]-[day] [hour]:[minute]:[second]"
                    ))
                    .unwrap(),
            ),
            ("version", "1.0".to_owned()),
            ("biz_content", biz.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        params.sort();
        let text = params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        params.push(("sign".to_owned(), self.key.sign_base64(text.as_bytes())));
        let answer: Value = self
            .http
            .post(format!("{}/gateway.do", self.sim.base_url))
            .form(&params)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer[format!("{}_response", method.replace('.', "_"))].clone()
    }

    async fn precreate(&self, no: &str, yuan: &str) {
        let r = self
            .call(
                "alipay.trade.precreate",
                &json!({"out_trade_no": no, "total_amount": yuan, "subject": "测试商品"}),
            )
            .await;
        assert_eq!(r["code"], "10000", "{r}");
    }

    async fn control(&self, path_and_query: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path_and_query}", self.sim.base_url))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn paid(&self, no: &str, yuan: &str) {
        self.precreate(no, yuan).await;
        let (status, t) = self
            .control(&format!("/sim/alipay/trades/{no}/pay?app_id={APP_ID}"))
            .await;
        assert_eq!(status, 200, "{t}");
    }

    async fn refund(&self, no: &str, request_no: &str, yuan: &str) {
        let r = self
            .call(
                "alipay.trade.refund",
                &json!({"out_trade_no": no, "out_request_no": request_no, "refund_amount": yuan}),
            )
            .await;
        assert_eq!(r["code"], "10000", "{r}");
    }

    /// The bill's files; the error's `sub_code` when there is no bill.
    async fn bill(&self, bill_type: &str, bill_date: &str) -> Result<Vec<BillFile>, String> {
        let r = self
            .call(
                "alipay.data.dataservice.bill.downloadurl.query",
                &json!({"bill_type": bill_type, "bill_date": bill_date}),
            )
            .await;
        if r["code"] != "10000" {
            return Err(r["sub_code"].as_str().unwrap_or_default().to_owned());
        }
        let url = r["bill_download_url"].as_str().unwrap();
        let compact = bill_date.replace('-', "");
        assert!(
            url.contains(&format!(
                "fileType=csv.zip&bizDates={compact}&downloadFileName=20886219550000010156_{compact}.csv.zip"
            )),
            "{url}"
        );
        let zip = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        Ok(unzip(&zip))
    }

    fn callbacks_for(&self, out_trade_no: &str) -> usize {
        self.sim
            .ctx
            .callbacks()
            .records(Some("alipay"))
            .iter()
            .filter(|r| r.reference == out_trade_no)
            .count()
    }
}

fn unzip(bytes: &[u8]) -> Vec<BillFile> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut files = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let raw_name = entry.name_raw().to_vec();
        let mut raw = Vec::new();
        entry.read_to_end(&mut raw).unwrap();
        let (text, _, bad) = GBK.decode(&raw);
        assert!(!bad, "entry {i} is not GBK");
        let mut file = BillFile {
            name: GBK.decode(&raw_name).0.into_owned(),
            name_was_utf8: std::str::from_utf8(&raw_name).is_ok(),
            comments: Vec::new(),
            header: Vec::new(),
            rows: Vec::new(),
        };
        for line in text.lines() {
            if let Some(c) = line.strip_prefix('#') {
                file.comments.push(c.to_owned());
                continue;
            }
            let fields: Vec<String> = line
                .split(',')
                .map(|f| f.trim_matches('\t').to_owned())
                .collect();
            if file.header.is_empty() {
                file.header = fields;
            } else {
                assert_eq!(fields.len(), file.header.len(), "{line}");
                file.rows.push(fields);
            }
        }
        files.push(file);
    }
    files
}

fn named<'a>(files: &'a [BillFile], suffix: &str) -> &'a BillFile {
    files
        .iter()
        .find(|f| f.name.ends_with(suffix))
        .unwrap_or_else(|| {
            panic!(
                "no {suffix} in {:?}",
                files.iter().map(|f| &f.name).collect::<Vec<_>>()
            )
        })
}

const TRADE_COLUMNS: [&str; 6] = [
    "商户订单号",
    "业务类型",
    "订单金额（元）",
    "商家实收（元）",
    "退款批次号/请求号",
    "服务费（元）",
];

#[tokio::test]
async fn the_trade_bill_lists_payments_and_refunds_with_fees_in_alipays_format() {
    let m = Merchant::start().await;
    m.paid("bill-a", "100.00").await;
    m.refund("bill-a", "a-r1", "30.00").await;
    m.refund("bill-a", "a-r2", "70.00").await;
    m.paid("bill-b", "0.01").await;
    m.paid("bill-c", "123.45").await;

    let day = today();
    let files = m.bill("trade", &day).await.unwrap();
    let compact = day.replace('-', "");
    let detail = named(&files, "_业务明细.csv");
    assert_eq!(
        detail.name,
        format!("20886219550000010156_{compact}_业务明细.csv")
    );
    assert!(!detail.name_was_utf8, "entry names are GBK, as Alipay's");
    let summary = named(&files, "_业务明细(汇总).csv");
    assert_eq!(detail.comments[0], "支付宝业务明细查询");
    assert_eq!(detail.comment("账号"), "账号：[20886219550000010156]");
    assert!(
        detail
            .comment("起始日期")
            .contains("00:00:00]   终止日期：[")
    );
    assert_eq!(detail.header.len(), 25);

    assert_eq!(
        detail.pick(&TRADE_COLUMNS),
        [
            "bill-a|交易|100.00|100.00||-0.60",
            "bill-a|退款|-30.00|-30.00|a-r1|0.18",
            "bill-a|退款|-70.00|-70.00|a-r2|0.42",
            "bill-b|交易|0.01|0.01||0.00",
            "bill-c|交易|123.45|123.45||-0.74",
        ]
    );
    assert_eq!(
        detail.comment("交易合计"),
        "交易合计：3笔，商家实收共223.46元，商家优惠共0.00元"
    );
    assert_eq!(
        detail.comment("退款合计"),
        "退款合计：2笔，商家实收退款共-100.00元，商家优惠退款共0.00元"
    );
    assert!(detail.comment("导出时间").starts_with("导出时间：["));

    let total = summary
        .rows
        .iter()
        .find(|r| r[0] == "合计")
        .expect("a 合计 row");
    assert_eq!(
        total.join(","),
        "合计,,3,2,123.46,123.46,0.00,0.00,0.00,-0.74,0.00,122.72"
    );

    let month = &day[..7];
    let files = m.bill("signcustomer", month).await.unwrap();
    let account = named(&files, "_账务明细.csv");
    assert_eq!(
        account.name,
        format!(
            "20886219550000010156_{}_账务明细.csv",
            month.replace('-', "")
        )
    );
    assert_eq!(
        account.pick(&[
            "商户订单号",
            "业务类型",
            "收入金额（+元）",
            "支出金额（-元）",
            "账户余额（元）"
        ]),
        [
            "bill-a|在线支付|100.00|0.00|100.00",
            "bill-a|收费|0.00|-0.60|99.40",
            "bill-a|交易退款|0.00|-30.00|69.40",
            "bill-a|收费|0.18|0.00|69.58",
            "bill-a|交易退款|0.00|-70.00|-0.42",
            "bill-a|收费|0.42|0.00|0.00",
            "bill-b|在线支付|0.01|0.00|0.01",
            "bill-c|在线支付|123.45|0.00|123.46",
            "bill-c|收费|0.00|-0.74|122.72",
        ]
    );
    assert_eq!(account.comment("支出合计"), "支出合计：4笔，共-101.34元");
    assert_eq!(account.comment("收入合计"), "收入合计：5笔，共224.06元");
    let kinds = named(&files, "_账务明细(汇总).csv");
    assert_eq!(
        kinds.rows.iter().map(|r| r.join(",")).collect::<Vec<_>>(),
        [
            "在线支付,3,223.46,0,0.00",
            "交易退款,0,0.00,2,-100.00",
            "收费,2,0.60,2,-1.34",
            "合计,5,224.06,4,-101.34",
        ]
    );
    m.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_day_without_trades_has_no_bill_and_neither_has_tomorrow() {
    let m = Merchant::start().await;
    let yesterday = (china_now() - time::Duration::days(1))
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap();
    assert_eq!(
        m.bill("trade", &today()).await.err().as_deref(),
        Some("isp.bill_not_exist")
    );
    m.paid("only-today", "1.00").await;
    assert_eq!(
        m.bill("trade", &yesterday).await.err().as_deref(),
        Some("isp.bill_not_exist")
    );
    let tomorrow = (china_now() + time::Duration::days(1))
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap();
    assert_eq!(
        m.bill("trade", &tomorrow).await.err().as_deref(),
        Some("isp.bill_not_exist")
    );
    assert!(m.bill("trade", &today()).await.is_ok());
    m.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_close_that_lost_the_race_leaves_a_paid_trade_without_a_notification() {
    let m = Merchant::start().await;
    m.precreate("raced", "20.00").await;
    let closed = m
        .call("alipay.trade.close", &json!({"out_trade_no": "raced"}))
        .await;
    assert_eq!(closed["code"], "10000", "{closed}");

    let (status, t) = m
        .control(&format!(
            "/sim/alipay/trades/raced/pay-silently?app_id={APP_ID}"
        ))
        .await;
    assert_eq!(
        (status, t["trade_status"].as_str()),
        (200, Some("TRADE_SUCCESS"))
    );
    let q = m
        .call("alipay.trade.query", &json!({"out_trade_no": "raced"}))
        .await;
    assert_eq!(q["trade_status"], "TRADE_SUCCESS");

    // A payment made the usual way is notified, so the log would show one.
    m.paid("usual", "1.00").await;
    assert_eq!(m.callbacks_for("usual"), 1);
    assert_eq!(m.callbacks_for("raced"), 0);

    let files = m.bill("trade", &today()).await.unwrap();
    let detail = named(&files, "_业务明细.csv");
    assert!(
        detail
            .pick(&TRADE_COLUMNS)
            .contains(&"raced|交易|20.00|20.00||-0.12".to_owned())
    );

    let (status, again) = m
        .control(&format!(
            "/sim/alipay/trades/raced/pay-silently?app_id={APP_ID}"
        ))
        .await;
    assert_eq!(
        (status, again["sub_code"].as_str()),
        (409, Some("ACQ.TRADE_HAS_SUCCESS"))
    );
    m.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_trade_recorded_elsewhere_is_in_the_bill_but_was_never_announced() {
    let m = Merchant::start().await;
    let (status, t) = m
        .control(&format!(
            "/sim/alipay/trades/elsewhere-1/record?app_id={APP_ID}&amount=12.34"
        ))
        .await;
    assert_eq!(
        (status, t["trade_status"].as_str()),
        (200, Some("TRADE_SUCCESS"))
    );
    assert_eq!(m.callbacks_for("elsewhere-1"), 0);
    let q = m
        .call(
            "alipay.trade.query",
            &json!({"out_trade_no": "elsewhere-1"}),
        )
        .await;
    assert_eq!(q["total_amount"], "12.34");

    let files = m.bill("trade", &today()).await.unwrap();
    assert_eq!(
        named(&files, "_业务明细.csv").pick(&TRADE_COLUMNS),
        ["elsewhere-1|交易|12.34|12.34||-0.07"]
    );

    let (status, _) = m
        .control(&format!(
            "/sim/alipay/trades/elsewhere-1/record?app_id={APP_ID}&amount=1.00"
        ))
        .await;
    assert_eq!(status, 409, "an out_trade_no is recorded once");
    let (status, _) = m
        .control(&format!(
            "/sim/alipay/trades/elsewhere-2/record?app_id={APP_ID}&amount=1.234"
        ))
        .await;
    assert_eq!(status, 400);
    m.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_billed_amount_can_differ_from_the_amount_ordered() {
    let m = Merchant::start().await;
    m.paid("short", "50.00").await;
    let (status, t) = m
        .control(&format!(
            "/sim/alipay/trades/short/billed-amount?app_id={APP_ID}&amount=49.00"
        ))
        .await;
    assert_eq!((status, t["total_fen"].as_i64()), (200, Some(5000)));

    let files = m.bill("trade", &today()).await.unwrap();
    assert_eq!(
        named(&files, "_业务明细.csv").pick(&TRADE_COLUMNS),
        ["short|交易|49.00|49.00||-0.29"]
    );
    let q = m
        .call("alipay.trade.query", &json!({"out_trade_no": "short"}))
        .await;
    assert_eq!(
        q["total_amount"], "50.00",
        "the API still says what was ordered"
    );

    let (status, _) = m
        .control(&format!(
            "/sim/alipay/trades/nobody/billed-amount?app_id={APP_ID}&amount=1.00"
        ))
        .await;
    assert_eq!(status, 404);
    m.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_account_bill_can_charge_another_fee_than_the_trade_bill() {
    let m = Merchant::start().await;
    m.paid("fee", "100.00").await;
    let (status, _) = m
        .control(&format!(
            "/sim/alipay/trades/fee/account-fee?app_id={APP_ID}&amount=0.50"
        ))
        .await;
    assert_eq!(status, 200);

    let trade = m.bill("trade", &today()).await.unwrap();
    assert_eq!(
        named(&trade, "_业务明细.csv").pick(&TRADE_COLUMNS),
        ["fee|交易|100.00|100.00||-0.60"],
        "the trade bill keeps its fee"
    );
    let columns = [
        "业务类型",
        "收入金额（+元）",
        "支出金额（-元）",
        "账户余额（元）",
    ];
    let account = m.bill("signcustomer", &today()).await.unwrap();
    assert_eq!(
        named(&account, "_账务明细.csv").pick(&columns),
        ["在线支付|100.00|0.00|100.00", "收费|0.00|-0.50|99.50"]
    );
    assert_eq!(
        named(&account, "_账务明细(汇总).csv")
            .rows
            .last()
            .unwrap()
            .join(","),
        "合计,1,100.00,1,-0.50"
    );

    // No fee at all: the movement is gone, and the totals follow.
    m.control(&format!(
        "/sim/alipay/trades/fee/account-fee?app_id={APP_ID}&amount=0"
    ))
    .await;
    let account = m.bill("signcustomer", &today()).await.unwrap();
    let detail = named(&account, "_账务明细.csv");
    assert_eq!(detail.pick(&columns), ["在线支付|100.00|0.00|100.00"]);
    assert_eq!(detail.comment("支出合计"), "支出合计：0笔，共0.00元");
    for bad in ["-1.00", "abc"] {
        let (status, _) = m
            .control(&format!(
                "/sim/alipay/trades/fee/account-fee?app_id={APP_ID}&amount={bad}"
            ))
            .await;
        assert_eq!(status, 400, "{bad}");
    }
    let (status, _) = m
        .control(&format!(
            "/sim/alipay/trades/nobody/account-fee?app_id={APP_ID}&amount=1.00"
        ))
        .await;
    assert_eq!(status, 404);
    m.sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_account_bill_prepared_on_disk_is_served_for_its_day() {
    use sim::alipay::{
        AccountDetailRow, AccountDetailWriter, Period, account_summary, account_zip,
    };

    let m = Merchant::start().await;
    // Yesterday: a past day the simulator has no movement of.
    let yesterday = (china_now() - time::Duration::days(1)).date().to_string();
    let period = Period {
        bill_date: &yesterday,
    };
    let at = time::PrimitiveDateTime::new(
        time::Date::parse(&yesterday, format_description!("[year]-[month]-[day]")).unwrap(),
        time::Time::from_hms(10, 0, 0).unwrap(),
    )
    .assume_offset(offset!(+8))
    .unix_timestamp()
        * 1000;
    let mut detail = AccountDetailWriter::new(Vec::new(), &period, 0, 0).unwrap();
    let paid = AccountDetailRow {
        trade_no: "2024000000000001",
        out_trade_no: "prepared-1",
        subject: "prepared",
        at_ms: at,
        refund: false,
        fee: false,
        fen: 10_000,
    };
    detail.row(&paid).unwrap();
    detail
        .row(&AccountDetailRow {
            fee: true,
            fen: -60,
            ..paid
        })
        .unwrap();
    let now = at + 86_400_000;
    let (detail, totals) = detail.finish(now).unwrap();
    let zip = account_zip(&period, &account_summary(&totals, &period, now), detail).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("account.csv.zip");
    std::fs::write(&path, zip).unwrap();

    assert_eq!(
        m.bill("signcustomer", &yesterday).await.err().as_deref(),
        Some("isp.bill_not_exist")
    );
    m.sim.ctx.prepare_bill(sim::PreparedBill::AlipayAccount {
        app_id: APP_ID.to_owned(),
        bill_date: yesterday.clone(),
        zip: path,
    });
    let account = m.bill("signcustomer", &yesterday).await.unwrap();
    let columns = [
        "商户订单号",
        "业务类型",
        "收入金额（+元）",
        "支出金额（-元）",
        "账户余额（元）",
        "备注",
    ];
    assert_eq!(
        named(&account, "_账务明细.csv").pick(&columns),
        [
            "prepared-1|在线支付|100.00|0.00|100.00|",
            "prepared-1|收费|0.00|-0.60|99.40|交易服务费[2024000000000001]"
        ]
    );
    assert_eq!(
        named(&account, "_账务明细(汇总).csv")
            .rows
            .last()
            .unwrap()
            .join(","),
        "合计,1,100.00,1,-0.60"
    );
    // The trade bill of the day is not the prepared account bill.
    assert_eq!(
        m.bill("trade", &yesterday).await.err().as_deref(),
        Some("isp.bill_not_exist")
    );
    m.sim.shutdown().await.unwrap();
}
