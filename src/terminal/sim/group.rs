//! MT5 group filters (`symbols_get(group=...)`, `positions_get(group=...)`,
//! `history_deals_get(..., group=...)`).
//!
//! A group is a comma-separated list of patterns where `*` matches any run of characters;
//! a pattern starting with `!` excludes. A name is selected when at least one inclusive
//! pattern matches it and no exclusion does (`"*,!*JPY*"` = everything but yen pairs).
//! Matching ignores ASCII case, as the terminal does. An empty group selects everything.

/// Whether `name` is selected by `group`.
pub(crate) fn matches(group: &str, name: &str) -> bool {
    let mut included = false;
    let mut any_inclusive = false;
    for pat in group.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some(ex) = pat.strip_prefix('!') {
            if glob(ex.trim(), name) {
                return false;
            }
        } else {
            any_inclusive = true;
            included = included || glob(pat, name);
        }
    }
    included || (!any_inclusive && group.trim().is_empty())
}

/// `*`-wildcard match, ASCII case-insensitive, linear time (greedy with backtracking to the
/// last star).
fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&n[ni]) {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn group_patterns_follow_mt5_rules() {
        let cases = [
            ("*", "EURUSD", true),
            ("*", "", true),
            ("", "EURUSD", true),
            ("EURUSD", "EURUSD", true),
            ("eurusd", "EURUSD", true),
            ("EURUSD", "EURUSD.r", false),
            ("*EURUSD*", "EURUSD.r", true),
            ("*EURUSD*", "", false),
            ("*USD*", "USDJPY", true),
            ("*USD*", "EURJPY", false),
            ("EUR*", "EURJPY", true),
            ("*JPY", "EURJPY", true),
            ("*JPY", "JPYX", false),
            ("*,!*JPY*", "EURJPY", false),
            ("*,!*JPY*", "EURUSD", true),
            ("!*JPY*", "EURUSD", false),
            ("EUR*, GBP*", "GBPUSD", true),
            ("EUR*,GBP*", "USDCHF", false),
            ("*USD*,!XAU*", "XAUUSD", false),
            ("X*U*D", "XAUUSD", true),
            ("**", "US500", true),
            ("U?500", "US500", false),
        ];
        for (group, name, want) in cases {
            assert_eq!(matches(group, name), want, "{group:?} vs {name:?}");
        }
    }
}
