//! Server-side probes: `[[probe]]` tables name a Prometheus or OpenMetrics text endpoint and the
//! series to keep from it. This module holds what a probe is once checked (selectors with their
//! label matchers), reads an exposition, and keeps what the scrapes found
//! (`targets::http::scrape` fetches it during a run).
//!
//! Only sample lines matter here (`name{labels} value [timestamp]`); `#` lines (HELP, TYPE,
//! UNIT, EOF) are skipped, and a line that is not a sample is skipped too, so one odd line of a
//! service's exposition never costs the whole scrape. A selector that matches several samples
//! keeps their sum (PromQL's `sum(selector)`); label matchers narrow it to one.

use regex::Regex;

/// How a label matcher compares: `=`, `!=`, `=~`, `!~` (regexes match the whole value).
#[derive(Clone, Debug)]
pub enum Match {
    Eq(String),
    Ne(String),
    Re(Regex),
    NotRe(Regex),
}

impl Match {
    fn holds(&self, value: &str) -> bool {
        match self {
            Match::Eq(v) => value == v,
            Match::Ne(v) => value != v,
            Match::Re(r) => r.is_match(value),
            Match::NotRe(r) => !r.is_match(value),
        }
    }
}

/// `metric{label="value", other=~"re.*"}`: a metric name with label matchers.
#[derive(Clone, Debug)]
pub struct Selector {
    pub metric: String,
    pub matchers: Vec<(String, Match)>,
}

/// Why a selector was refused, and at which byte of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorError {
    pub at: usize,
    pub message: String,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn is_name_char(c: u8) -> bool {
    is_name_start(c) || c.is_ascii_digit()
}

/// Reads a quoted label value starting at the `"` at `b[*i]`; leaves `i` past the closing
/// quote. `\\`, `\"` and `\n` are the escapes of both formats.
fn quoted(s: &str, i: &mut usize) -> Option<String> {
    let b = s.as_bytes();
    if b.get(*i) != Some(&b'"') {
        return None;
    }
    *i += 1;
    let mut out = String::new();
    let mut chars = s[*i..].char_indices();
    while let Some((k, c)) = chars.next() {
        match c {
            '"' => {
                *i += k + 1;
                return Some(out);
            }
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, e)) => out.push(e),
                None => return None,
            },
            c => out.push(c),
        }
    }
    None
}

fn skip_spaces(b: &[u8], i: &mut usize) {
    while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t') {
        *i += 1;
    }
}

fn name_at(b: &[u8], i: &mut usize) -> Option<(usize, usize)> {
    let start = *i;
    if *i < b.len() && is_name_start(b[*i]) {
        *i += 1;
        while *i < b.len() && is_name_char(b[*i]) {
            *i += 1;
        }
        Some((start, *i))
    } else {
        None
    }
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let b = text.as_bytes();
        let fail = |at: usize, message: String| Err(SelectorError { at, message });
        let mut i = 0;
        skip_spaces(b, &mut i);
        let Some((s, e)) = name_at(b, &mut i) else {
            return fail(
                i,
                format!(
                    "\"{text}\" does not start with a metric name (letters, digits, _ and :), e.g. process_cpu_seconds_total or queue{{component=\"ml-scorer\"}}"
                ),
            );
        };
        let metric = text[s..e].to_string();
        let mut matchers = Vec::new();
        skip_spaces(b, &mut i);
        if i < b.len() && b[i] == b'{' {
            i += 1;
            loop {
                skip_spaces(b, &mut i);
                if i < b.len() && b[i] == b'}' {
                    i += 1;
                    break;
                }
                let Some((ls, le)) = name_at(b, &mut i) else {
                    return fail(i, "expected a label name or }".to_string());
                };
                skip_spaces(b, &mut i);
                let rest = &text[i..];
                let op = ["=~", "!~", "!=", "="]
                    .into_iter()
                    .find(|op| rest.starts_with(op));
                let Some(op) = op else {
                    return fail(
                        i,
                        "expected =, !=, =~ or !~ after the label name".to_string(),
                    );
                };
                i += op.len();
                skip_spaces(b, &mut i);
                let value_at = i;
                let Some(value) = quoted(text, &mut i) else {
                    return fail(value_at, "expected a value in double quotes".to_string());
                };
                let regex = |v: &str| {
                    Regex::new(&format!("^(?:{v})$")).map_err(|e| SelectorError {
                        at: value_at,
                        message: format!("\"{v}\" is not a regular expression: {e}"),
                    })
                };
                let m = match op {
                    "=" => Match::Eq(value),
                    "!=" => Match::Ne(value),
                    "=~" => Match::Re(regex(&value)?),
                    _ => Match::NotRe(regex(&value)?),
                };
                matchers.push((text[ls..le].to_string(), m));
                skip_spaces(b, &mut i);
                match b.get(i) {
                    Some(b',') => i += 1,
                    Some(b'}') => {}
                    _ => return fail(i, "expected , or } after a label matcher".to_string()),
                }
            }
        }
        skip_spaces(b, &mut i);
        if i < b.len() {
            return fail(
                i,
                format!("unexpected \"{}\" after the selector", &text[i..]),
            );
        }
        Ok(Selector { metric, matchers })
    }

    fn matches(&self, sample: &Sample<'_>) -> bool {
        sample.name == self.metric
            && self.matchers.iter().all(|(label, m)| {
                let value = sample
                    .labels
                    .iter()
                    .find(|(l, _)| l == label)
                    .map_or("", |(_, v)| v.as_str());
                m.holds(value)
            })
    }
}

/// One sample line of an exposition.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

fn number(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// The sample on one line, or None for a comment, a blank or a line that is not a sample.
pub fn sample(line: &str) -> Option<Sample<'_>> {
    let b = line.as_bytes();
    let mut i = 0;
    skip_spaces(b, &mut i);
    if i >= b.len() || b[i] == b'#' {
        return None;
    }
    let (s, e) = name_at(b, &mut i)?;
    let mut labels = Vec::new();
    if b.get(i) == Some(&b'{') {
        i += 1;
        loop {
            skip_spaces(b, &mut i);
            match b.get(i) {
                Some(b'}') => {
                    i += 1;
                    break;
                }
                Some(b',') => i += 1,
                _ => {
                    let (ls, le) = name_at(b, &mut i)?;
                    skip_spaces(b, &mut i);
                    if b.get(i) != Some(&b'=') {
                        return None;
                    }
                    i += 1;
                    skip_spaces(b, &mut i);
                    let v = quoted(line, &mut i)?;
                    labels.push((line[ls..le].to_string(), v));
                }
            }
        }
    }
    let mut rest = line[i..].split_ascii_whitespace();
    let value = number(rest.next()?)?;
    Some(Sample {
        name: &line[s..e],
        labels,
        value,
    })
}

/// The value of each selector in an exposition: the sum of the samples it matches, or None
/// when it matches none.
pub fn read(text: &str, selectors: &[&Selector]) -> Vec<Option<f64>> {
    let mut values = vec![None; selectors.len()];
    for s in text.lines().filter_map(sample) {
        for (v, sel) in values.iter_mut().zip(selectors) {
            if sel.matches(&s) {
                *v = Some(v.unwrap_or(0.0) + s.value);
            }
        }
    }
    values
}

/// When `text` is no exposition at all (lines, none of them a sample or a comment, such as a
/// JSON or HTML answer): its first such line, shortened. An exposition with one sample among
/// odd lines, or an empty one, is read as it is.
pub fn not_an_exposition(text: &str) -> Option<String> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let first = lines.clone().next()?;
    if lines.any(|l| sample(l).is_some()) {
        return None;
    }
    let mut short: String = first.chars().take(60).collect();
    if short.len() < first.len() {
        short.push('…');
    }
    Some(short)
}

/// Why a scrape failed: a kind results.json counts by, and what a person reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failed {
    pub kind: &'static str,
    pub detail: String,
}

/// What a probe's scrapes found during a run, as the run loop records them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeLog {
    pub scrapes: u64,
    pub failed: u64,
    /// Failed scrapes by kind (`refused`, `timeout`, `status-5xx`, ...).
    pub errors: std::collections::BTreeMap<&'static str, u64>,
    /// The first failure: when (plan time) and what.
    pub first_error: Option<(u64, String)>,
    /// Per series, scrapes that matched nothing.
    pub missing: Vec<u64>,
    /// Successful scrapes: plan time and each series' value (the rate of increase for a
    /// `rate` series, from its previous value; None where nothing matched).
    pub samples: Vec<(u64, Vec<Option<f64>>)>,
    /// The raw values of the last successful scrape, for rates.
    last_raw: Option<(u64, Vec<Option<f64>>)>,
}

/// A series' statistics over some scrapes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeriesStats {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub last: f64,
    pub samples: u64,
}

impl ProbeLog {
    pub fn new(series: usize) -> ProbeLog {
        ProbeLog {
            missing: vec![0; series],
            ..ProbeLog::default()
        }
    }

    /// Records one scrape; `rates[k]` says series k keeps its rate of increase.
    pub fn record(&mut self, at_ns: u64, result: Result<Vec<Option<f64>>, Failed>, rates: &[bool]) {
        self.scrapes += 1;
        let raw = match result {
            Ok(values) => values,
            Err(f) => {
                self.failed += 1;
                *self.errors.entry(f.kind).or_default() += 1;
                if self.first_error.is_none() {
                    self.first_error = Some((at_ns, f.detail));
                }
                return;
            }
        };
        for (m, v) in self.missing.iter_mut().zip(&raw) {
            if v.is_none() {
                *m += 1;
            }
        }
        let kept = raw
            .iter()
            .enumerate()
            .map(|(k, v)| {
                if !rates.get(k).copied().unwrap_or(false) {
                    return *v;
                }
                let (t0, before) = self.last_raw.as_ref()?;
                let (now, then) = ((*v)?, before.get(k).copied().flatten()?);
                let dt = (at_ns.checked_sub(*t0)?) as f64 / 1e9;
                // A counter that went down was reset: it counted `now` since.
                let increase = if now >= then { now - then } else { now };
                (dt > 0.0).then(|| increase / dt)
            })
            .collect();
        self.last_raw = Some((at_ns, raw));
        self.samples.push((at_ns, kept));
    }

    /// Statistics of series `k` over the scrapes taken inside `windows` ([start, end) in ns);
    /// None when no scrape there has a value.
    pub fn stats(&self, k: usize, windows: &[(u64, u64)]) -> Option<SeriesStats> {
        let mut st: Option<SeriesStats> = None;
        let mut sum = 0.0;
        for (at, values) in &self.samples {
            if !windows.iter().any(|&(a, b)| *at >= a && *at < b) {
                continue;
            }
            let Some(v) = values.get(k).copied().flatten().filter(|v| !v.is_nan()) else {
                continue;
            };
            sum += v;
            let s = st.get_or_insert(SeriesStats {
                min: v,
                max: v,
                mean: 0.0,
                last: v,
                samples: 0,
            });
            s.min = s.min.min(v);
            s.max = s.max.max(v);
            s.last = v;
            s.samples += 1;
        }
        st.map(|mut s| {
            s.mean = sum / s.samples as f64;
            s
        })
    }

    /// Series `k` per entry of the run's timeline (`entries` of them, laid out by
    /// `metrics::slot`): the highest value scraped in each (so a spike between two scrapes of
    /// a fast probe still shows), None for an entry without one.
    pub fn per_second(&self, k: usize, entries: usize) -> Vec<Option<f64>> {
        let mut out: Vec<Option<f64>> = vec![None; entries];
        for (at, values) in &self.samples {
            let t = crate::metrics::slot(at / 1_000_000_000).index;
            let v = values.get(k).copied().flatten().filter(|v| !v.is_nan());
            if let (Some(slot), Some(v)) = (out.get_mut(t), v) {
                *slot = Some(slot.map_or(v, |old| old.max(v)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPOSITION: &str = r#"# HELP gauntlet_component_queue Calls waiting.
# TYPE gauntlet_component_queue gauge
gauntlet_component_queue{component="gateway"} 3
gauntlet_component_queue{component="ml-scorer"} 41
gauntlet_component_queue{component="rules-engine",zone="a \"b\""} 5
process_cpu_seconds_total 12.5 1700000000
odd line that is not a sample
up +Inf
# EOF
"#;

    fn value(sel: &str) -> Option<f64> {
        let s = Selector::parse(sel).unwrap();
        read(EXPOSITION, &[&s])[0]
    }

    #[test]
    fn an_answer_with_no_sample_at_all_is_no_exposition() {
        assert_eq!(
            not_an_exposition("{\"status\":\"ok\"}\n").as_deref(),
            Some("{\"status\":\"ok\"}")
        );
        assert!(not_an_exposition("<html>\n<body>oops</body>").is_some());
        // Empty, comments only, or one sample among odd lines: read as it is.
        assert_eq!(not_an_exposition(""), None);
        assert_eq!(not_an_exposition("# HELP up\n# TYPE up gauge\n"), None);
        assert_eq!(not_an_exposition("garbage line\nup 1\n"), None);
    }

    #[test]
    fn a_bare_name_sums_every_labelled_sample_and_matchers_narrow_it() {
        assert_eq!(value("gauntlet_component_queue"), Some(49.0));
        assert_eq!(
            value(r#"gauntlet_component_queue{component="ml-scorer"}"#),
            Some(41.0)
        );
        assert_eq!(
            value(r#"gauntlet_component_queue{component!="ml-scorer"}"#),
            Some(8.0)
        );
        assert_eq!(
            value(r#"gauntlet_component_queue{component=~"ml-.*|gate.*"}"#),
            Some(44.0)
        );
        assert_eq!(
            value(r#"gauntlet_component_queue{ component !~ "ml" , }"#),
            Some(49.0)
        );
        assert_eq!(
            value(r#"gauntlet_component_queue{zone="a \"b\""}"#),
            Some(5.0)
        );
    }

    #[test]
    fn timestamps_infinities_and_missing_series_are_read_as_written() {
        assert_eq!(value("process_cpu_seconds_total"), Some(12.5));
        assert_eq!(value("up"), Some(f64::INFINITY));
        assert_eq!(value("not_there"), None);
        assert_eq!(value(r#"gauntlet_component_queue{component="nope"}"#), None);
    }

    #[test]
    fn a_rate_series_keeps_the_increase_per_second_and_survives_a_reset() {
        let mut log = ProbeLog::new(2);
        let s = 1_000_000_000;
        let rates = [false, true];
        log.record(0, Ok(vec![Some(5.0), Some(100.0)]), &rates);
        log.record(2 * s, Ok(vec![Some(7.0), Some(140.0)]), &rates);
        log.record(3 * s, Ok(vec![Some(1.0), Some(30.0)]), &rates);
        let f = Failed {
            kind: "timeout",
            detail: "slow".into(),
        };
        log.record(4 * s, Err(f), &rates);
        log.record(5 * s, Ok(vec![None, Some(50.0)]), &rates);
        let rates_seen: Vec<Option<f64>> = log.samples.iter().map(|(_, v)| v[1]).collect();
        assert_eq!(rates_seen, vec![None, Some(20.0), Some(30.0), Some(10.0)]);
        assert_eq!((log.scrapes, log.failed, log.missing[0]), (5, 1, 1));
        assert_eq!(log.errors.get("timeout"), Some(&1));
        assert_eq!(log.first_error, Some((4 * s, "slow".to_string())));
        let all = log.stats(0, &[(0, u64::MAX)]).unwrap();
        assert_eq!(
            (all.min, all.max, all.last, all.samples),
            (1.0, 7.0, 1.0, 3)
        );
        assert!((all.mean - 13.0 / 3.0).abs() < 1e-12);
        let late = log.stats(0, &[(2 * s, 4 * s)]).unwrap();
        assert_eq!((late.min, late.max), (1.0, 7.0));
        assert_eq!(log.stats(0, &[(4 * s, 6 * s)]), None);
        assert_eq!(
            log.per_second(0, 6),
            vec![Some(5.0), None, Some(7.0), Some(1.0), None, None]
        );
    }

    #[test]
    fn a_bad_selector_says_where_and_why() {
        let e = |s: &str| Selector::parse(s).unwrap_err();
        assert_eq!(e("9lives").at, 0);
        assert_eq!(e(r#"q{component="a""#).at, 15);
        assert!(e(r#"q{component:"a"}"#).message.contains("=, !=, =~ or !~"));
        assert!(e(r#"q{component=a}"#).message.contains("double quotes"));
        assert!(e(r#"q{c=~"("}"#).message.contains("regular expression"));
        assert!(e("q extra").message.contains("extra"));
    }
}
