//! "did you mean `ramp`?": the nearest valid word to a mistyped one.

/// The candidate closest to `word`, when it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    let mut best: Option<((usize, usize, u32), &str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let d = strsim::damerau_levenshtein(&word_lower, &c.to_lowercase());
        let limit = (c.chars().count().max(word.chars().count()) / 3).max(1);
        let plausible = d <= limit || (word_lower.len() >= 3 && c.starts_with(&word_lower));
        // Ties go to the candidate whose differing characters are nearest (p96 -> p95, not p90).
        let shared = word_lower
            .chars()
            .zip(c.to_lowercase().chars())
            .take_while(|(a, b)| a == b)
            .count();
        let key = (
            d,
            usize::MAX - shared,
            closeness(&word_lower, &c.to_lowercase()),
        );
        if plausible && best.is_none_or(|(bk, _)| key < bk) {
            best = Some((key, c));
        }
    }
    best.map(|(_, c)| c)
}

/// For equal lengths, the summed distance between differing characters; otherwise 0.
fn closeness(a: &str, b: &str) -> u32 {
    if a.len() != b.len() {
        return 0;
    }
    a.chars()
        .zip(b.chars())
        .map(|(x, y)| (x as u32).abs_diff(y as u32))
        .sum()
}

/// `a, b or c`.
pub fn one_of(options: &[&str]) -> String {
    joined(options, "or")
}

/// `a, b and c`.
pub fn all_of(options: &[&str]) -> String {
    joined(options, "and")
}

fn joined(options: &[&str], word: &str) -> String {
    match options {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} {word} {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        let patterns = [
            "constant", "ramp", "step", "burst", "wave", "chaos", "pause",
        ];
        assert_eq!(did_you_mean("rmap", patterns), Some("ramp"));
        assert_eq!(did_you_mean("constnat", patterns), Some("constant"));
        assert_eq!(did_you_mean("sinusoid", patterns), None);
        assert_eq!(
            did_you_mean("durtion", ["name", "duration", "load"]),
            Some("duration")
        );
        assert_eq!(
            did_you_mean("latency.p96", ["latency.p90", "latency.p95"]),
            Some("latency.p95")
        );
    }
}
