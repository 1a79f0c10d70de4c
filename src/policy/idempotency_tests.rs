use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

use super::*;

const TTL: u64 = 100;
const NOW: i64 = 1_000_000;

fn temp_store() -> (tempfile::TempDir, IdempotencyStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = IdempotencyStore::open(&dir.path().join("nested/dir/idempotency.db")).unwrap();
    (dir, store)
}

fn owner(pid: i64, token: &str) -> Owner {
    Owner {
        pid,
        token: token.to_owned(),
    }
}

fn done(store: &IdempotencyStore, key: &str, hash: &str, result: &str, now: i64) {
    let me = owner(1, "tok-done");
    assert_eq!(
        store
            .claim(key, "place_order", hash, &me, 7, now, TTL)
            .unwrap(),
        Claim::Claimed
    );
    store
        .complete(key, "place_order", &me.token, result, now, TTL)
        .unwrap();
}

#[test]
fn claim_then_complete_then_replay() {
    let (_dir, store) = temp_store();
    let a = owner(11, "a");
    assert_eq!(store.lookup("k", "place_order", NOW).unwrap(), None);
    assert_eq!(
        store
            .claim("k", "place_order", "sha256:h", &a, 42, NOW, TTL)
            .unwrap(),
        Claim::Claimed
    );
    let pending = store.lookup("k", "place_order", NOW + 1).unwrap().unwrap();
    assert_eq!(
        pending,
        Entry {
            request_hash: "sha256:h".into(),
            created_at: NOW,
            expires_at: NOW + TTL as i64,
            state: EntryState::Pending {
                owner_pid: 11,
                owner_token: "a".into(),
                tag: 42,
                claimed_at: NOW,
            },
        }
    );
    store
        .complete("k", "place_order", "a", r#"{"success":true}"#, NOW + 2, TTL)
        .unwrap();
    let entry = store.lookup("k", "place_order", NOW + 3).unwrap().unwrap();
    assert_eq!(
        entry.state,
        EntryState::Done {
            result_json: r#"{"success":true}"#.into()
        }
    );
    assert_eq!(entry.created_at, NOW + 2);
    assert_eq!(entry.expires_at, NOW + 2 + TTL as i64);
    // A second claim sees the finished row.
    assert_eq!(
        store
            .claim(
                "k",
                "place_order",
                "sha256:h",
                &owner(12, "b"),
                42,
                NOW + 4,
                TTL
            )
            .unwrap(),
        Claim::Taken(entry)
    );
}

#[test]
fn scope_is_key_and_action() {
    let (_dir, store) = temp_store();
    let a = owner(1, "a");
    for action in [
        "place_order",
        "cancel_order",
        "close_position",
        "modify_order",
    ] {
        assert_eq!(
            store.claim("same", action, "h", &a, 1, NOW, TTL).unwrap(),
            Claim::Claimed,
            "{action}"
        );
    }
}

#[test]
fn ttl_expiry_boundary() {
    // Expired exactly when expires_at <= now.
    let table: &[(i64, bool)] = &[
        (NOW + TTL as i64 - 1, true),
        (NOW + TTL as i64, false),
        (NOW + TTL as i64 + 1, false),
    ];
    for (at, visible) in table {
        let (_dir, store) = temp_store();
        done(&store, "k", "h", "{}", NOW);
        assert_eq!(
            store.lookup("k", "place_order", *at).unwrap().is_some(),
            *visible,
            "lookup at {at}"
        );
        if !visible {
            // Deleted, not merely hidden: an earlier clock no longer finds it either.
            assert_eq!(store.lookup("k", "place_order", NOW).unwrap(), None);
        }
    }
}

#[test]
fn expired_rows_are_replaced_by_a_new_claim() {
    let (_dir, store) = temp_store();
    done(&store, "k", "old-hash", r#"{"old":1}"#, NOW);
    let later = NOW + TTL as i64;
    let b = owner(2, "b");
    assert_eq!(
        store
            .claim("k", "place_order", "new-hash", &b, 9, later, TTL)
            .unwrap(),
        Claim::Claimed
    );
    let entry = store.lookup("k", "place_order", later).unwrap().unwrap();
    assert_eq!(entry.request_hash, "new-hash");
    assert!(matches!(
        entry.state,
        EntryState::Pending { owner_pid: 2, .. }
    ));
}

#[test]
fn divergent_hash_is_visible_to_the_caller() {
    let (_dir, store) = temp_store();
    done(&store, "k", "sha256:first", r#"{"r":1}"#, NOW);
    match store
        .claim(
            "k",
            "place_order",
            "sha256:second",
            &owner(3, "c"),
            1,
            NOW + 1,
            TTL,
        )
        .unwrap()
    {
        Claim::Taken(entry) => assert_eq!(entry.request_hash, "sha256:first"),
        other => panic!("expected Taken, got {other:?}"),
    }
    let entry = store.lookup("k", "place_order", NOW + 1).unwrap().unwrap();
    assert_eq!(entry.request_hash, "sha256:first");
}

#[test]
fn first_write_wins() {
    let (_dir, store) = temp_store();
    let a = owner(1, "a");
    store
        .claim("k", "cancel_order", "h", &a, 5, NOW, TTL)
        .unwrap();
    // A survivor reconciles the (supposedly dead) claim first.
    assert!(
        store
            .resolve(
                "k",
                "cancel_order",
                "a",
                r#"{"from":"reconcile"}"#,
                NOW + 1,
                TTL
            )
            .unwrap()
    );
    // The owner's late completion does not overwrite it, and neither does a second resolve.
    store
        .complete(
            "k",
            "cancel_order",
            "a",
            r#"{"from":"owner"}"#,
            NOW + 2,
            TTL,
        )
        .unwrap();
    assert!(
        !store
            .resolve(
                "k",
                "cancel_order",
                "a",
                r#"{"from":"again"}"#,
                NOW + 3,
                TTL
            )
            .unwrap()
    );
    let entry = store.lookup("k", "cancel_order", NOW + 4).unwrap().unwrap();
    assert_eq!(
        entry.state,
        EntryState::Done {
            result_json: r#"{"from":"reconcile"}"#.into()
        }
    );
}

#[test]
fn only_the_owner_completes_or_releases() {
    let (_dir, store) = temp_store();
    store
        .claim("k", "place_order", "h", &owner(1, "a"), 5, NOW, TTL)
        .unwrap();
    store
        .complete("k", "place_order", "intruder", r#"{"x":1}"#, NOW, TTL)
        .unwrap();
    store.release("k", "place_order", "intruder").unwrap();
    assert!(
        !store
            .resolve("k", "place_order", "intruder", "{}", NOW, TTL)
            .unwrap()
    );
    let entry = store.lookup("k", "place_order", NOW).unwrap().unwrap();
    assert!(matches!(entry.state, EntryState::Pending { .. }));
    // An empty result would look pending again, so it is refused.
    assert!(
        !store
            .resolve("k", "place_order", "a", "", NOW, TTL)
            .unwrap()
    );

    store.release("k", "place_order", "a").unwrap();
    assert_eq!(store.lookup("k", "place_order", NOW).unwrap(), None);
}

#[test]
fn release_never_deletes_a_done_row() {
    let (_dir, store) = temp_store();
    done(&store, "k", "h", r#"{"ok":1}"#, NOW);
    store.release("k", "place_order", "tok-done").unwrap();
    assert!(store.lookup("k", "place_order", NOW).unwrap().is_some());
}

#[test]
fn migrates_an_upstream_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idempotency.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL;").unwrap();
        conn.execute(CREATE_TABLE, []).unwrap();
        conn.execute(
            "INSERT INTO idempotency VALUES ('k1', 'place_order', 'sha256:u', ?1, ?2, ?3)",
            params![r#"{"success":true,"replayed":false}"#, NOW, NOW + 50],
        )
        .unwrap();
    }
    let store = IdempotencyStore::open(&path).unwrap();
    let columns: Vec<String> = {
        let conn = store.lock();
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('idempotency')")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        columns,
        [
            "key",
            "action",
            "request_hash",
            "result_json",
            "created_at",
            "expires_at",
            "owner_pid",
            "owner_token",
            "tag",
            "claimed_at"
        ]
    );
    assert_eq!(
        store.lookup("k1", "place_order", NOW).unwrap(),
        Some(Entry {
            request_hash: "sha256:u".into(),
            created_at: NOW,
            expires_at: NOW + 50,
            state: EntryState::Done {
                result_json: r#"{"success":true,"replayed":false}"#.into()
            },
        })
    );
    drop(store);
    // Opening a migrated file again is a no-op.
    let again = IdempotencyStore::open(&path).unwrap();
    assert!(again.lookup("k1", "place_order", NOW).unwrap().is_some());
}

#[test]
fn a_foreign_file_is_a_clear_error_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idempotency.db");
    let junk = "this is a shopping list, not a database\n".repeat(200);
    std::fs::write(&path, &junk).unwrap();
    let err = IdempotencyStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    assert!(err.to_string().contains("not an SQLite database"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), junk);
}

#[test]
fn a_damaged_database_is_a_clear_error_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idempotency.db");
    {
        let store = IdempotencyStore::open(&path).unwrap();
        store
            .claim("k", "place_order", "h", &owner(1, "a"), 1, NOW, TTL)
            .unwrap();
        let conn = store.lock();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;")
            .unwrap();
    }
    // Keep the 100-byte header (so it still reads as SQLite) and garble the schema page.
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 4096);
    for b in &mut bytes[100..4096] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = IdempotencyStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("corrupt"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[cfg(unix)]
#[test]
fn files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idempotency.db");
    // A pre-existing, world-readable file is tightened too.
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = IdempotencyStore::open(&path).unwrap();
    store
        .claim("k", "place_order", "h", &owner(1, "a"), 1, NOW, TTL)
        .unwrap();
    assert_eq!(mode(&path), 0o600);
    for suffix in ["-wal", "-shm"] {
        let side = side_file(&path, suffix);
        assert!(side.exists(), "{suffix} exists in WAL mode");
        assert_eq!(mode(&side), 0o600, "{suffix}");
    }
}

#[test]
fn tags_are_stable_positive_mql_ints() {
    let mut seen = BTreeSet::new();
    for i in 0..2000 {
        let key = format!("key-{i}");
        let tag = tag_for(&key, "place_order");
        assert!((1..=i64::from(i32::MAX)).contains(&tag), "{tag}");
        assert_eq!(tag, tag_for(&key, "place_order"));
        seen.insert(tag);
    }
    assert_eq!(seen.len(), 2000, "no collisions in a small sample");
    // The action is part of the input, and the separator keeps ("ab","c") apart from ("a","bc").
    assert_ne!(tag_for("k", "place_order"), tag_for("k", "close_position"));
    assert_ne!(tag_for("c", "ab"), tag_for("bc", "a"));
    // Pinned so that a change of derivation (which would orphan in-flight tags) is noticed.
    let mut h = Sha256::new();
    h.update(b"place_order\0k1");
    let d = h.finalize();
    let expected = (u64::from_be_bytes(d[..8].try_into().unwrap()) % 2_147_483_647) as i64 + 1;
    assert_eq!(tag_for("k1", "place_order"), expected);
}

#[test]
fn this_process_owner_is_fixed() {
    let a = Owner::this_process();
    let b = Owner::this_process();
    assert_eq!(a, b);
    assert_eq!(a.pid, i64::from(std::process::id()));
    assert_eq!(a.token.len(), 32);
    assert!(claim_holder_alive(a.pid, &a.token));
    // Our pid with another token: an earlier incarnation, gone.
    assert!(!claim_holder_alive(a.pid, "someone-else"));
}

#[cfg(unix)]
#[test]
fn owner_liveness() {
    assert!(owner_alive(i64::from(std::process::id())));
    // pid 1 exists on every Unix; signalling it is normally EPERM, which still means alive.
    assert!(owner_alive(1));
    for bogus in [0, -1, i64::from(i32::MAX) + 1, i64::MIN] {
        assert!(!owner_alive(bogus), "{bogus}");
    }
    // A child that has exited and been reaped no longer exists.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = i64::from(child.id());
    child.wait().unwrap();
    assert!(!owner_alive(pid));
    assert!(!claim_holder_alive(pid, "dead-token"));
}

/// Claims every key in `keys` on `store`, returning the keys this caller won.
fn claim_all(store: &IdempotencyStore, keys: &[String], me: &Owner) -> BTreeSet<String> {
    let mut won = BTreeSet::new();
    for key in keys {
        let tag = tag_for(key, "place_order");
        match store
            .claim(key, "place_order", "h", me, tag, NOW, TTL)
            .unwrap()
        {
            Claim::Claimed => {
                won.insert(key.clone());
            }
            Claim::Taken(entry) => match entry.state {
                EntryState::Pending { owner_token, .. } => assert_ne!(owner_token, me.token),
                other => panic!("unexpected state {other:?}"),
            },
        }
    }
    won
}

fn race_keys() -> Vec<String> {
    (0..300).map(|i| format!("race-{i}")).collect()
}

fn assert_partition(a: &BTreeSet<String>, b: &BTreeSet<String>, keys: &[String]) {
    assert!(
        a.is_disjoint(b),
        "a key was claimed twice: {:?}",
        a.intersection(b).next()
    );
    let union: BTreeSet<String> = a.union(b).cloned().collect();
    assert_eq!(union, keys.iter().cloned().collect::<BTreeSet<_>>());
}

#[test]
fn racing_threads_on_two_connections_claim_each_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idempotency.db");
    let keys = Arc::new(race_keys());
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = ["t1", "t2"]
        .into_iter()
        .map(|token| {
            let store = IdempotencyStore::open(&path).unwrap();
            let (keys, barrier) = (keys.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                claim_all(&store, &keys, &owner(1, token))
            })
        })
        .collect();
    let won: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_partition(&won[0], &won[1], &keys);
}

const CHILD_DB: &str = "MT5_MCP_TEST_IDEM_CHILD_DB";
const CHILD_DIR: &str = "MT5_MCP_TEST_IDEM_CHILD_DIR";

/// The second process of [`racing_processes_claim_each_key_once`]: the test binary re-run
/// with only this test selected. Does nothing when run by hand.
#[test]
#[ignore = "helper process for racing_processes_claim_each_key_once"]
fn child_process_claimer() {
    let (Ok(db), Ok(dir)) = (std::env::var(CHILD_DB), std::env::var(CHILD_DIR)) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let store = IdempotencyStore::open(Path::new(&db)).unwrap();
    std::fs::write(dir.join("ready"), b"").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !dir.join("go").exists() {
        assert!(std::time::Instant::now() < deadline, "parent never said go");
        std::thread::sleep(Duration::from_millis(1));
    }
    let won = claim_all(&store, &race_keys(), Owner::this_process());
    let text: Vec<String> = won.into_iter().collect();
    std::fs::write(dir.join("won.tmp"), text.join("\n")).unwrap();
    std::fs::rename(dir.join("won.tmp"), dir.join("won")).unwrap();
}

#[test]
fn racing_processes_claim_each_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("idempotency.db");
    let store = IdempotencyStore::open(&db).unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "policy::idempotency::tests::child_process_claimer",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &db)
        .env(CHILD_DIR, dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !dir.path().join("ready").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "child never got ready"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("child exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    std::fs::write(dir.path().join("go"), b"").unwrap();
    let keys = race_keys();
    let mine = claim_all(&store, &keys, Owner::this_process());
    assert!(child.wait().unwrap().success(), "child failed");
    let text = std::fs::read_to_string(dir.path().join("won")).unwrap();
    let theirs: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    assert_partition(&mine, &theirs, &keys);
    // Every pending row names the process that won it.
    let child_pid = i64::from(child.id());
    for key in &keys {
        let entry = store.lookup(key, "place_order", NOW).unwrap().unwrap();
        let EntryState::Pending { owner_pid, .. } = entry.state else {
            panic!("{key} not pending");
        };
        let expected = if mine.contains(key) {
            Owner::this_process().pid
        } else {
            child_pid
        };
        assert_eq!(owner_pid, expected, "{key}");
    }
}

#[test]
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<IdempotencyStore>();
}
