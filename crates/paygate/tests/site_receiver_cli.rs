//! The receivers a site's orders may name to be split to, from the command line (`paygate site
//! receiver add | remove | list`): set up with their real names, renamed, removed, each change
//! audited, and the refusals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use serde_json::json;
use support::serve::{fails_with, ok_json, site_cmd};

#[tokio::test]
async fn the_operator_sets_up_renames_and_removes_a_sites_receivers() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let made = ok_json(&site_cmd(&data, &["create", "--name", "shop", "--json"]));
    let id = made["site_id"].as_str().unwrap().to_owned();
    let list = |data: &Path| ok_json(&site_cmd(data, &["receiver", "list", &id, "--json"]));
    assert_eq!(list(&data), json!({"site_id": id, "receivers": []}));

    let add = |name: &str| {
        site_cmd(
            &data,
            &[
                "receiver",
                "add",
                &id,
                "--type",
                "MERCHANT_ID",
                "--account",
                "1900000110",
                "--name",
                name,
                "--json",
            ],
        )
    };
    let added = ok_json(&add("示例分账商户"));
    assert_eq!(added["result"], "added");
    ok_json(&add("示例分账商户（更名）"));
    ok_json(&site_cmd(
        &data,
        &[
            "receiver",
            "add",
            &id,
            "--type",
            "userId",
            "--account",
            "2088101126708402",
            "--name",
            "张三",
            "--json",
        ],
    ));
    assert_eq!(
        list(&data)["receivers"],
        json!([
            {"type": "MERCHANT_ID", "account": "1900000110", "name": "示例分账商户（更名）"},
            {"type": "userId", "account": "2088101126708402", "name": "张三"},
        ])
    );

    let removed = ok_json(&site_cmd(
        &data,
        &[
            "receiver",
            "remove",
            &id,
            "--type",
            "userId",
            "--account",
            "2088101126708402",
            "--json",
        ],
    ));
    assert_eq!(removed["result"], "removed");
    fails_with(
        &site_cmd(
            &data,
            &[
                "receiver",
                "remove",
                &id,
                "--type",
                "userId",
                "--account",
                "2088101126708402",
            ],
        ),
        "has no userId receiver 2088101126708402",
    );
    let text = String::from_utf8(site_cmd(&data, &["receiver", "list", &id]).stdout).unwrap();
    assert_eq!(text.trim(), "MERCHANT_ID\t1900000110\t示例分账商户（更名）");

    fails_with(
        &site_cmd(
            &data,
            &[
                "receiver",
                "add",
                &id,
                "--type",
                "BANK",
                "--account",
                "1",
                "--name",
                "x",
            ],
        ),
        "--type",
    );
    fails_with(
        &site_cmd(
            &data,
            &[
                "receiver",
                "add",
                &id,
                "--type",
                "MERCHANT_ID",
                "--account",
                "a b",
                "--name",
                "x",
            ],
        ),
        "--account",
    );
    fails_with(
        &site_cmd(
            &data,
            &[
                "receiver",
                "add",
                &id,
                "--type",
                "MERCHANT_ID",
                "--account",
                "1",
                "--name",
                " ",
            ],
        ),
        "--name",
    );
    fails_with(
        &site_cmd(
            &data,
            &[
                "receiver",
                "add",
                "site_doesnotexist",
                "--type",
                "MERCHANT_ID",
                "--account",
                "1",
                "--name",
                "x",
            ],
        ),
        "no such site",
    );

    let db = test_support::db::Database::at(&format!(
        "sqlite://{}?mode=rw",
        data.join("paygate.db").display()
    ));
    let audited = |action: &str| {
        format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND object_id = '{id}' \
             AND actor_user_id IS NULL"
        )
    };
    assert_eq!(db.count(&audited("site.receiver_put")).await, 3);
    assert_eq!(db.count(&audited("site.receiver_remove")).await, 1);
}
