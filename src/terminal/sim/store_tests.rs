//! The files themselves: what a commit leaves on disk and how every kind of damage is read.

use super::*;

fn account() -> Account {
    Account::fresh(9, 1_000.0, 100, 5)
}

fn store(dir: &tempfile::TempDir) -> Store {
    Store::new(&dir.path().join("account.json")).unwrap()
}

/// The account on disk, read from scratch.
fn load(store: &Store) -> (Account, u64, Option<Mark>) {
    match store.read(None).unwrap() {
        Loaded::Account(d) => {
            let (generation, mark) = (d.generation, d.mark.clone());
            (d.whole(), generation, mark)
        }
        other => panic!("{other:?}"),
    }
}

fn corrupt_why(store: &Store, known: Option<&Mark>) -> String {
    match store.read(known).unwrap() {
        Loaded::Corrupt { why } => why,
        other => panic!("not corrupt: {other:?}"),
    }
}

/// Books `n` withdrawals of one dollar (one deal each).
fn book(a: &mut Account, n: usize) {
    for k in 0..n {
        a.book_balance(-1.0, 10 + k as i64, "w");
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_new_account_round_trips_and_leaves_two_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(&dir.path().join("nested/sim/account.json")).unwrap();
    assert!(matches!(store.read(None).unwrap(), Loaded::Missing));
    let mut a = account();
    book(&mut a, 3);
    let mark = store.commit(&a, 41, None).unwrap();
    assert_eq!((mark.orders, mark.deals, mark.superseded), (0, 4, 0));
    assert_eq!(load(&store), (a, 41, Some(mark.clone())));
    assert_eq!(
        names(&store.dir()),
        ["account.json", "account.json.journal.jsonl"],
        "no temp files left"
    );
    assert_eq!(
        fs::read_to_string(store.path()).unwrap(),
        "{\"format\":2,\"journal\":\"account.json.journal.jsonl\"}\n"
    );
    assert_eq!(
        fs::metadata(store.journal_path()).unwrap().len(),
        mark.bytes
    );
    assert_eq!(store.peek_generation(), None, "only format 1 is peeked at");
}

#[test]
fn commits_append_and_a_reload_reads_only_what_follows_its_mark() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut a = account();
    let m1 = store.commit(&a, 1, None).unwrap();
    let first = fs::read(store.journal_path()).unwrap();
    let b = a.clone();
    book(&mut a, 2);
    a.selected.insert("EURJPY".into(), true);
    let m2 = store.commit(&a, 2, Some(&m1)).unwrap();
    assert_eq!((m2.deals, m2.journal.as_str()), (3, m1.journal.as_str()));
    assert_eq!(m2.superseded, m1.last_state);
    let second = fs::read(store.journal_path()).unwrap();
    assert!(second.starts_with(&first), "appended, not rewritten");
    assert_eq!(second.len() as u64, m2.bytes);

    assert!(matches!(store.read(Some(&m2)).unwrap(), Loaded::Unchanged));
    // A reader that has generation 1 reads the new records only and ends up equal.
    let mut reader = b;
    match store.read(Some(&m1)).unwrap() {
        Loaded::Account(d) => {
            assert_eq!(d.tail_of, Some((0, 1)));
            assert_eq!(d.account.deals.len(), 2, "only the new records were read");
            assert_eq!((d.generation, d.mark.as_ref()), (2, Some(&m2)));
            d.update(&mut reader);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(reader, a);
    assert_eq!(load(&store), (a.clone(), 2, Some(m2.clone())));

    // A commit that books no history appends a state line only.
    a.processed_ms += 1;
    let m3 = store.commit(&a, 3, Some(&m2)).unwrap();
    assert_eq!((m3.deals, m3.bytes), (3, m2.bytes + m3.last_state));
    assert_eq!(load(&store), (a, 3, Some(m3)));
}

#[test]
fn a_torn_tail_is_never_read_and_the_next_commit_cuts_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut a = account();
    let m1 = store.commit(&a, 1, None).unwrap();
    let mut f = OpenOptions::new()
        .append(true)
        .open(store.journal_path())
        .unwrap();
    f.write_all(b"{\"deal\":{\"ticket\":99,\"ord").unwrap();
    drop(f);
    assert_eq!(
        load(&store).0,
        a,
        "the tail past the last commit is ignored"
    );
    assert!(matches!(store.read(Some(&m1)).unwrap(), Loaded::Unchanged));
    book(&mut a, 1);
    let m2 = store.commit(&a, 2, Some(&m1)).unwrap();
    assert_eq!(fs::metadata(store.journal_path()).unwrap().len(), m2.bytes);
    assert_eq!(load(&store), (a, 2, Some(m2)));
}

#[test]
fn compaction_rewrites_the_journal_once_superseded_commits_dominate_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).with_compaction_after(4_000);
    let mut a = account();
    let m0 = store.commit(&a, 1, None).unwrap();
    let mut mark = m0.clone();
    let mut generation = 1;
    let mut reader = (a.clone(), m0.clone());
    while mark.journal == m0.journal {
        generation += 1;
        a.processed_ms += 1;
        if generation % 10 == 0 {
            book(&mut a, 1);
        }
        let before = mark.bytes;
        mark = store.commit(&a, generation, Some(&mark)).unwrap();
        if mark.journal == m0.journal {
            assert!(mark.bytes > before);
        }
    }
    assert!(generation > 10, "{generation}");
    assert_eq!(mark.superseded, 0);
    assert_eq!(
        fs::metadata(store.journal_path()).unwrap().len(),
        mark.bytes
    );
    assert_eq!(load(&store), (a.clone(), generation, Some(mark.clone())));
    // A reader still on the old journal notices the new id and reads it whole.
    match store.read(Some(&reader.1)).unwrap() {
        Loaded::Account(d) => {
            assert_eq!(d.tail_of, None);
            d.update(&mut reader.0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(reader.0, a);
}

#[test]
fn a_journal_that_does_not_hold_what_was_committed_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut a = account();
    let m1 = store.commit(&a, 1, None).unwrap();
    book(&mut a, 2);
    let m2 = store.commit(&a, 2, Some(&m1)).unwrap();
    let good = fs::read(store.journal_path()).unwrap();
    let header_len = match journal::parse_header(&good) {
        Head::Ours { len, .. } => len as usize,
        other => panic!("{other:?}"),
    };

    let zeroed = {
        let mut z = good.clone();
        z[header_len + 5..header_len + 15].fill(0);
        z
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("damaged", zeroed, "unreadable line"),
        ("headless", good[header_len..].to_vec(), "header"),
        (
            "empty",
            journal::header("0123456789abcdef"),
            "no complete commit",
        ),
    ];
    for (what, bytes, needle) in cases {
        fs::write(store.journal_path(), &bytes).unwrap();
        let why = corrupt_why(&store, None);
        assert!(
            why.contains("account.json.journal.jsonl") && why.contains(needle),
            "{what}: {why}"
        );
    }
    // Shorter than what a reader already read: only a reader that knows can tell.
    fs::write(store.journal_path(), &good[..m1.bytes as usize + 10]).unwrap();
    assert!(corrupt_why(&store, Some(&m2)).contains("shorter"));
    assert!(
        store.commit(&a, 3, Some(&m2)).is_err(),
        "never appended past a hole"
    );
    // A journal of another account: the reader reads it whole instead.
    let other = Store::new(&dir.path().join("other.json")).unwrap();
    other.commit(&account(), 1, None).unwrap();
    fs::copy(other.journal_path(), store.journal_path()).unwrap();
    assert!(store.commit(&a, 3, Some(&m2)).is_err());
    assert!(matches!(store.read(Some(&m2)).unwrap(), Loaded::Account(d) if d.tail_of.is_none()));

    fs::remove_file(store.journal_path()).unwrap();
    assert!(corrupt_why(&store, Some(&m2)).contains("missing"));
    fs::write(store.journal_path(), &good).unwrap();
    fs::remove_file(store.path()).unwrap();
    assert!(corrupt_why(&store, None).contains("exists without it"));
}

#[test]
fn a_format_1_file_is_read_whole_and_needs_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut a = account();
    book(&mut a, 2);
    let mut v = serde_json::json!({"format": 1, "generation": 7, "account": a});
    v["account"]["deals"] = serde_json::to_value(&a.deals).unwrap();
    v["account"]["history_orders"] = serde_json::json!([]);
    let v1 = serde_json::to_vec_pretty(&v).unwrap();
    fs::write(store.path(), &v1).unwrap();
    assert_eq!(store.peek_generation(), Some(7));
    assert_eq!(load(&store), (a.clone(), 7, None));

    let mut no_history = v.clone();
    no_history["account"]
        .as_object_mut()
        .unwrap()
        .remove("deals");
    fs::write(store.path(), serde_json::to_vec(&no_history).unwrap()).unwrap();
    assert!(corrupt_why(&store, None).contains("no history"));

    // The migration writes the journal first; until account.json is replaced, the
    // format-1 file is what counts.
    fs::write(store.path(), &v1).unwrap();
    let mark = store.commit(&a, 8, None).unwrap();
    assert_eq!(load(&store), (a.clone(), 8, Some(mark)));
    fs::write(store.path(), &v1).unwrap();
    assert_eq!(load(&store), (a, 7, None));
}

#[cfg(unix)]
#[test]
fn account_journal_and_lock_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut a = account();
    let m = store.commit(&a, 1, None).unwrap();
    book(&mut a, 1);
    store.commit(&a, 2, Some(&m)).unwrap();
    drop(store.lock().unwrap());
    for p in [
        store.path().to_path_buf(),
        store.journal_path().to_path_buf(),
        with_suffix(store.path(), ".lock"),
    ] {
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600,
            "{p:?}"
        );
    }
}

#[test]
fn garbage_is_corrupt_and_can_be_set_aside_twice_in_one_second() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    for junk in [
        "{not json",
        "",
        "[]",
        "{\"format\":1,\"generation\":2}",
        "{\"format\":2,\"journal\":\"../../etc/passwd\"}",
        "{\"generation\":2}",
    ] {
        fs::write(store.path(), junk).unwrap();
        assert!(
            matches!(store.read(None).unwrap(), Loaded::Corrupt { .. }),
            "{junk:?}"
        );
    }
    store.commit(&account(), 3, None).unwrap();
    let first = store.set_aside(1_700_000_000).unwrap();
    fs::write(store.path(), "junk").unwrap();
    let second = store.set_aside(1_700_000_000).unwrap();
    assert_ne!(first.state, second.state);
    assert!(second.journal.is_none(), "{second:?}");
    let ends = |p: &Option<PathBuf>, tail: &str| {
        p.as_ref().unwrap().to_string_lossy().ends_with(tail) && p.as_ref().unwrap().exists()
    };
    assert!(ends(&first.state, "account.json.corrupt-1700000000"));
    assert!(ends(
        &first.journal,
        "account.json.journal.jsonl.corrupt-1700000000"
    ));
    assert!(ends(&second.state, "account.json.corrupt-1700000000-1"));
    assert!(matches!(store.read(None).unwrap(), Loaded::Missing));
}

#[test]
fn a_newer_format_is_refused_not_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    fs::write(
        store.path(),
        r#"{"format": 7, "generation": 1, "account": {"whatever": true}}"#,
    )
    .unwrap();
    let err = store.read(None).unwrap_err();
    assert!(
        matches!(err, SimError::NewerFormat { found: 7, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("account.json"));

    store.commit(&account(), 1, None).unwrap();
    fs::write(
        store.journal_path(),
        "{\"journal\":\"0123456789abcdef\",\"format\":3}\n",
    )
    .unwrap();
    let err = store.read(None).unwrap_err();
    assert!(
        matches!(err, SimError::NewerFormat { found: 3, .. }),
        "{err}"
    );
}
