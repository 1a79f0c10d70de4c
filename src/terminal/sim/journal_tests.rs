//! Encoding and replaying commits, and every way the bytes can be damaged.

use super::*;

fn account() -> Account {
    Account::fresh(1, 100.0, 100, 5)
}

/// A journal body with three commits: the opening deposit, one withdrawal, then a change of
/// the open part only.
fn three_commits() -> (Vec<u8>, Account) {
    let mut a = account();
    let mut bytes = Vec::new();
    encode_commit(&mut bytes, &a, 1, 0, 0);
    a.book_balance(-40.0, 6, "withdrawal \"quoted\"\nnewline");
    encode_commit(&mut bytes, &a, 2, 0, 1);
    a.selected.insert("EURJPY".into(), true);
    encode_commit(&mut bytes, &a, 3, 0, 2);
    (bytes, a)
}

#[test]
fn commits_replay_to_the_account_with_its_history() {
    let (bytes, a) = three_commits();
    let r = replay(&bytes, 0, 0).unwrap();
    let (generation, mut open) = r.state.unwrap();
    assert_eq!(generation, 3);
    assert!(open.deals.is_empty(), "the state line carries no history");
    open.history_orders = r.orders;
    open.deals = r.deals;
    assert_eq!(open, a);
    assert_eq!(r.committed, bytes.len() as u64);
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    assert_eq!(
        lines.len(),
        1 + 1 + 1 + 1 + 1,
        "deposit, state, deal, state, state"
    );
    assert_eq!(r.last_state, lines[4].len() as u64);
    assert_eq!(r.superseded, (lines[1].len() + lines[3].len()) as u64);
}

#[test]
fn a_replay_can_start_after_any_commit() {
    let (bytes, a) = three_commits();
    let first = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let second = first + bytes[first..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let r = replay(&bytes[second..], 0, 1).unwrap();
    assert_eq!(r.deals, a.deals[1..]);
    assert_eq!(r.committed, (bytes.len() - second) as u64);
    // Started at the wrong place, the counts do not add up.
    let err = replay(&bytes[second..], 0, 0).unwrap_err();
    assert!(err.contains("counts 0 orders and 2 deals"), "{err}");
}

#[test]
fn an_uncommitted_tail_is_ignored_whatever_it_holds() {
    let (bytes, a) = three_commits();
    let mut more = a.clone();
    more.book_balance(-1.0, 7, "never committed");
    let mut next = Vec::new();
    encode_commit(&mut next, &more, 4, 0, 2);
    let state_at = next.len() - next.iter().rev().skip(1).position(|&b| b == b'\n').unwrap() - 1;
    for tail in [
        &next[..next.len() - 1], // torn state line
        &next[..state_at],       // records without their state line
        &next[..10],             // torn record
        b"\0\0\0\0\0\0\n\0\0\n", // garbage lines
        b"{\"state\":{\"gen\n",  // looks like a state line, is not one
    ] {
        let mut all = bytes.clone();
        all.extend_from_slice(tail);
        let r = replay(&all, 0, 0).unwrap();
        assert_eq!(r.committed, bytes.len() as u64, "{tail:?}");
        assert_eq!(r.deals, a.deals, "{tail:?}");
        assert_eq!(r.state.unwrap().0, 3);
    }
    let none = replay(&next[..state_at], 0, 2).unwrap();
    assert!(none.state.is_none() && none.deals.is_empty() && none.committed == 0);
}

#[test]
fn damage_before_a_commit_is_an_error() {
    let (bytes, _) = three_commits();
    let mut zeroed = bytes.clone();
    let second_line = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    zeroed[second_line..second_line + 20].fill(0);
    let err = replay(&zeroed, 0, 0).unwrap_err();
    assert!(
        err.contains(&format!("unreadable line at byte {second_line}")),
        "{err}"
    );
    // A record dropped from the middle.
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let dropped: Vec<u8> = [lines[0], lines[1], lines[3], lines[4]].concat();
    assert!(replay(&dropped, 0, 0).unwrap_err().contains("counts"));
}

#[test]
fn headers_name_the_journal_and_its_format() {
    let id = new_id();
    let h = header(&id);
    assert_eq!(
        parse_header(&h),
        Head::Ours {
            id: id.clone(),
            len: h.len() as u64
        }
    );
    assert!(h.len() <= HEADER_MAX);
    assert_eq!(
        parse_header(b"{\"journal\":\"0123456789abcdef\",\"format\":3}\n"),
        Head::Newer(3)
    );
    for bad in [
        &b"{\"deal\":{}}\n"[..],
        b"{\"journal\":\"ab",
        b"{\"journal\":\"../../etc/passwd\",\"format\":2}\n",
        b"{\"journal\":\"0123456789abcdef\",\"format\":1}\n",
    ] {
        assert!(matches!(parse_header(bad), Head::Bad(_)), "{bad:?}");
    }
}
