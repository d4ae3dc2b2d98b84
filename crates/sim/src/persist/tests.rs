use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::*;

/// A small state shaped like the simulators': a map and a counter.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Counts {
    items: TrackedMap<String, u32>,
    total: TrackedValue<u64>,
}

journaled!(Counts { items, total });

const NAME: &str = "s.json";

fn open(dir: &Path) -> Store<Counts> {
    Store::open(Some(dir), NAME).unwrap()
}

fn items(store: &Store<Counts>) -> BTreeMap<String, u32> {
    store.read(|s| (*s.items).clone())
}

async fn put(store: &Store<Counts>, key: &str, value: u32) {
    store
        .update(|s| {
            s.items.insert(key.to_owned(), value);
            *s.total += 1;
        })
        .await
        .unwrap();
}

fn journal(dir: &Path) -> PathBuf {
    dir.join(format!("{NAME}.log"))
}

fn journal_lines(dir: &Path) -> Vec<Vec<u8>> {
    std::fs::read(journal(dir))
        .unwrap()
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

#[tokio::test]
async fn survives_reopen_and_memory_only_works() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    put(&store, "a", 1).await;
    put(&store, "b", 2).await;
    drop(store);
    let again = open(dir.path());
    assert_eq!(
        items(&again),
        BTreeMap::from([("a".into(), 1), ("b".into(), 2)])
    );
    assert_eq!(again.read(|s| *s.total), 2);

    let mem: Store<Counts> = Store::open(None, NAME).unwrap();
    put(&mem, "c", 3).await;
    assert_eq!(mem.read(|s| s.items.len()), 1);
}

#[tokio::test]
async fn each_update_appends_only_what_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for i in 0..50 {
        put(&store, &format!("k{i}"), i).await;
    }
    let lines = journal_lines(dir.path());
    assert_eq!(lines.len(), 50);
    let last = String::from_utf8(lines[49].clone()).unwrap();
    assert!(last.contains(r#""items":[["k49",49]]"#), "{last}");
    assert!(!last.contains("k48"), "{last}");

    // Taking an entry mutably without changing it, or changing nothing: no record.
    store
        .update(|s| {
            if let Some(v) = s.items.get_mut("k3") {
                *v += 0;
            }
        })
        .await
        .unwrap();
    store.update(|s| s.items.len()).await.unwrap();
    assert_eq!(journal_lines(dir.path()).len(), 50);

    store.update(|s| s.items.remove("k3")).await.unwrap();
    let lines = journal_lines(dir.path());
    assert!(String::from_utf8_lossy(&lines[50]).contains(r#""items":[["k3"]]"#));
    drop(store);
    let again = open(dir.path());
    assert_eq!(again.read(|s| s.items.len()), 49);
    assert_eq!(again.read(|s| s.items.get("k3").copied()), None);
}

#[test]
fn concurrent_updates_from_many_threads_all_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    std::thread::scope(|scope| {
        for t in 0..8 {
            let store = &store;
            scope.spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                // Each update changes the state when called: all 25 are handed to the writer
                // before the first is awaited, as concurrent requests' updates are.
                let updates: Vec<_> = (0..25)
                    .map(|i| {
                        store.update(move |s| {
                            s.items.insert(format!("t{t}-{i}"), i);
                            *s.total += 1;
                        })
                    })
                    .collect();
                runtime.block_on(async {
                    for update in updates {
                        update.await.unwrap();
                    }
                });
            });
        }
    });
    assert_eq!(store.read(|s| *s.total), 200);
    drop(store);
    let again = open(dir.path());
    assert_eq!(again.read(|s| s.items.len()), 200);
    assert_eq!(again.read(|s| *s.total), 200);
    assert_eq!(again.read(|s| s.items.get("t7-24").copied()), Some(24));
}

#[tokio::test]
async fn a_torn_last_record_is_ignored_and_the_ones_before_kept() {
    for torn in [
        &b"1234abcd {\"seq\":3,\"chan"[..],
        b"00000000 {\"seq\":3,\"changes\":{}}\n",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        put(&store, "a", 1).await;
        put(&store, "b", 2).await;
        drop(store);
        let mut bytes = std::fs::read(journal(dir.path())).unwrap();
        bytes.extend_from_slice(torn);
        std::fs::write(journal(dir.path()), bytes).unwrap();

        let again = open(dir.path());
        assert_eq!(
            items(&again),
            BTreeMap::from([("a".into(), 1), ("b".into(), 2)])
        );
        // Opening wrote a snapshot and emptied the journal: the torn bytes are gone.
        assert_eq!(std::fs::read(journal(dir.path())).unwrap(), b"");
        put(&again, "c", 3).await;
        drop(again);
        assert_eq!(open(dir.path()).read(|s| s.items.len()), 3);
    }
}

#[tokio::test]
async fn a_corrupt_record_before_the_last_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    put(&store, "a", 1).await;
    put(&store, "b", 2).await;
    put(&store, "c", 3).await;
    drop(store);
    let clean = std::fs::read(journal(dir.path())).unwrap();
    let mut lines = journal_lines(dir.path());
    // One changed byte in the value of the second record: its checksum no longer matches.
    let at = lines[1].iter().rposition(|&b| b == b'2').unwrap();
    lines[1][at] = b'9';
    std::fs::write(journal(dir.path()), lines.concat()).unwrap();
    assert!(Store::<Counts>::open(Some(dir.path()), NAME).is_err());

    // A record missing between the snapshot and the rest is refused too.
    let lines: Vec<_> = clean
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| !l.windows(7).any(|w| w == b"\"seq\":2"))
        .collect();
    std::fs::write(journal(dir.path()), lines.concat()).unwrap();
    assert!(Store::<Counts>::open(Some(dir.path()), NAME).is_err());

    std::fs::write(journal(dir.path()), clean).unwrap();
    assert_eq!(open(dir.path()).read(|s| s.items.len()), 3);
}

#[test]
fn a_corrupt_snapshot_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(NAME), b"{not json").unwrap();
    assert!(Store::<Counts>::open(Some(dir.path()), NAME).is_err());
}

#[tokio::test]
async fn compaction_keeps_everything_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.lock().compact_after = 0;
    for i in 0..100 {
        put(&store, &format!("k{i}"), i).await;
    }
    // The journal was emptied many times over: it holds a few records, not 100.
    let records = journal_lines(dir.path()).len();
    assert!(records < 20, "{records} records");
    let snapshot: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(NAME)).unwrap()).unwrap();
    assert!(snapshot["journal_seq"].as_u64().unwrap() > 80, "{snapshot}");
    drop(store);
    let again = open(dir.path());
    assert_eq!(again.read(|s| s.items.len()), 100);
    assert_eq!(again.read(|s| *s.total), 100);
}

#[tokio::test]
async fn a_failed_write_is_reported_and_the_next_update_saves_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    put(&store, "a", 1).await;
    // A directory where the new snapshot's temporary file goes: writing it fails (even as root).
    let blocker = dir.path().join(format!("{NAME}.tmp"));
    std::fs::create_dir(&blocker).unwrap();
    store.lock().compact_after = 0;
    let failed = store.update(|s| s.items.insert("b".into(), 2)).await;
    assert!(failed.is_err());
    // Until a snapshot is written, nothing is appended after the failure; updates keep failing.
    store.lock().compact_after = u64::MAX;
    let failed = store.update(|s| s.items.insert("c".into(), 3)).await;
    assert!(failed.is_err());
    assert_eq!(
        store.read(|s| s.items.len()),
        3,
        "the changes stay in memory"
    );

    std::fs::remove_dir(&blocker).unwrap();
    put(&store, "d", 4).await;
    put(&store, "e", 5).await;
    drop(store);
    let again = open(dir.path());
    assert_eq!(
        items(&again),
        BTreeMap::from([
            ("a".into(), 1),
            ("b".into(), 2),
            ("c".into(), 3),
            ("d".into(), 4),
            ("e".into(), 5)
        ])
    );
}

#[tokio::test]
async fn records_already_in_the_snapshot_are_not_applied_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    put(&store, "a", 1).await;
    put(&store, "a", 2).await;
    drop(store);
    let journal_before = std::fs::read(journal(dir.path())).unwrap();
    // Opening writes a snapshot of records 1 and 2, then empties the journal; a crash between
    // the two leaves both files as below.
    drop(open(dir.path()));
    std::fs::write(journal(dir.path()), &journal_before).unwrap();
    let again = open(dir.path());
    assert_eq!(again.read(|s| s.items.get("a").copied()), Some(2));
    drop(again);

    // Even the first record alone (which would set the value back) is skipped.
    let first = journal_before
        .split_inclusive(|&b| b == b'\n')
        .next()
        .unwrap();
    std::fs::write(journal(dir.path()), first).unwrap();
    let again = open(dir.path());
    assert_eq!(again.read(|s| s.items.get("a").copied()), Some(2));
    // And numbering goes on after the snapshot's.
    put(&again, "b", 3).await;
    drop(again);
    assert_eq!(open(dir.path()).read(|s| s.items.len()), 2);
}

#[tokio::test]
async fn a_state_dir_from_before_the_journal_loads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(NAME),
        br#"{
  "items": { "a": 1 },
  "total": 7
}"#,
    )
    .unwrap();
    let store = open(dir.path());
    assert_eq!(store.read(|s| s.items.get("a").copied()), Some(1));
    assert_eq!(store.read(|s| *s.total), 7);
    put(&store, "b", 2).await;
    drop(store);
    let again = open(dir.path());
    assert_eq!(again.read(|s| s.items.len()), 2);
    assert_eq!(again.read(|s| *s.total), 8);
}

#[tokio::test]
async fn the_state_can_be_read_beside_a_running_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    put(&store, "a", 1).await;
    put(&store, "b", 2).await;
    let seen: Counts = load(dir.path(), NAME).unwrap().unwrap();
    assert_eq!(seen.items.len(), 2);
    assert!(load::<Counts>(dir.path(), "other.json").unwrap().is_none());
}

#[tokio::test]
async fn what_open_with_sets_is_on_disk_before_the_store_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let store: Store<Counts> = Store::open_with(Some(dir.path()), NAME, |s: &mut Counts| {
        *s.total = 42;
        Ok(())
    })
    .unwrap();
    assert_eq!(store.read(|s| *s.total), 42);
    assert_eq!(journal_lines(dir.path()).len(), 0);
    let seen: Counts = load(dir.path(), NAME).unwrap().unwrap();
    assert_eq!(*seen.total, 42);
}

#[cfg(debug_assertions)]
#[tokio::test]
#[should_panic(expected = "the journal missed a change")]
async fn a_change_the_journal_misses_fails_at_once_in_debug_builds() {
    let store: Store<Counts> = Store::open(None, NAME).unwrap();
    put(&store, "a", 1).await;
    // Replacing a whole tracked field bypasses its marks.
    let _ = store.update(|s| s.items = TrackedMap::default()).await;
}

#[cfg(unix)]
#[tokio::test]
async fn state_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("sim");
    create_private_dir(&state_dir).unwrap();
    assert_eq!(mode(&state_dir), 0o700);

    // A temporary file left over, world-readable, from an interrupted write.
    let stale = state_dir.join(format!("{NAME}.tmp"));
    std::fs::write(&stale, b"{}").unwrap();
    std::fs::set_permissions(&stale, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = open(&state_dir);
    put(&store, "a", 1).await;
    assert_eq!(mode(&state_dir.join(NAME)), 0o600);
    assert_eq!(mode(&journal(&state_dir)), 0o600);
    drop(store);

    // Files written by an older simulator (or by hand), and their dir, are tightened when opened.
    let old = state_dir.join("old.json");
    let old_journal = state_dir.join("old.json.log");
    std::fs::write(&old, b"{}").unwrap();
    std::fs::write(&old_journal, b"").unwrap();
    for path in [&old, &old_journal] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(&state_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    create_private_dir(&state_dir).unwrap();
    let _: Store<Counts> = Store::open(Some(&state_dir), "old.json").unwrap();
    assert_eq!(mode(&old), 0o600);
    assert_eq!(mode(&old_journal), 0o600);
    assert_eq!(mode(&state_dir), 0o700);
}
