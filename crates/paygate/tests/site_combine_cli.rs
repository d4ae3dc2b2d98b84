//! Which member sites a platform site may combine orders for, from the command line (`paygate
//! site combine allow | revoke | list`): each change audited, repeats changing nothing, and the
//! refusals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use serde_json::json;
use support::serve::{fails_with, ok_json, site_cmd};

fn new_site(data: &Path, name: &str) -> String {
    let made = ok_json(&site_cmd(data, &["create", "--name", name, "--json"]));
    made["site_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_operator_lets_a_platform_combine_for_member_sites_and_takes_it_back() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let platform = new_site(&data, "platform");
    let (a, b) = (new_site(&data, "member a"), new_site(&data, "member b"));

    let list = |data: &Path| ok_json(&site_cmd(data, &["combine", "list", &platform, "--json"]));
    assert_eq!(list(&data), json!({"site_id": platform, "members": []}));

    let allowed = ok_json(&site_cmd(
        &data,
        &["combine", "allow", &platform, &b, "--json"],
    ));
    assert_eq!(
        allowed,
        json!({"site_id": platform, "member": b, "state": "allowed", "changed": true})
    );
    ok_json(&site_cmd(
        &data,
        &["combine", "allow", &platform, &a, "--json"],
    ));
    let again = ok_json(&site_cmd(
        &data,
        &["combine", "allow", &platform, &a, "--json"],
    ));
    assert_eq!(again["changed"], false, "allowing twice changes nothing");
    let mut members = vec![a.clone(), b.clone()];
    members.sort();
    assert_eq!(list(&data)["members"], json!(members));
    // The leave is one way: the member may not combine for the platform.
    assert_eq!(
        ok_json(&site_cmd(&data, &["combine", "list", &a, "--json"]))["members"],
        json!([])
    );

    let revoked = ok_json(&site_cmd(
        &data,
        &["combine", "revoke", &platform, &a, "--json"],
    ));
    assert_eq!(revoked["changed"], true);
    let again = ok_json(&site_cmd(
        &data,
        &["combine", "revoke", &platform, &a, "--json"],
    ));
    assert_eq!(again["changed"], false);
    assert_eq!(list(&data)["members"], json!([b]));
    let text = String::from_utf8(site_cmd(&data, &["combine", "list", &platform]).stdout).unwrap();
    assert_eq!(text.trim(), b);

    fails_with(
        &site_cmd(&data, &["combine", "allow", &platform, "site_doesnotexist"]),
        "no such site",
    );
    fails_with(
        &site_cmd(&data, &["combine", "list", "site_doesnotexist"]),
        "site site_doesnotexist: no such site",
    );
    fails_with(
        &site_cmd(&data, &["combine", "allow", &platform, &platform]),
        "always combines its own orders",
    );

    // Each change (not the repeats, not the refusals) is in the audit log as the command line's,
    // on the platform site, naming the member.
    let db = test_support::db::Database::at(&format!(
        "sqlite://{}?mode=rw",
        data.join("paygate.db").display()
    ));
    let audited = |action: &str| {
        format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND object_id = '{platform}' \
             AND actor_user_id IS NULL AND instr(detail, 'member ') > 0"
        )
    };
    assert_eq!(db.count(&audited("site.combine_allow")).await, 2);
    assert_eq!(db.count(&audited("site.combine_revoke")).await, 1);
}
