//! The payments workload: transaction `i` of a run is generated from (seed, i) and the
//! `[workload]` settings alone, so it is the same whatever else changes (sharding, hot reload,
//! other phases). Each transaction carries ground-truth fraud labels and the indicators a scorer
//! would look at. Generation allocates nothing; identifiers become strings only when a
//! transaction is serialized (for `plan --arrivals` and HTTP bodies).

pub mod data;

use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::rng::{self, Draw, Purpose};
use crate::scenario::model::Workload;
use data::{
    CATEGORIES, COUNTRIES, CURRENCIES, Category, MAX_AMOUNT_MINOR, ODD_MERCHANT_NAMES,
    RARE_CURRENCIES,
};

/// Labelled fraud patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FraudPattern {
    /// Many small card-not-present charges to test stolen card numbers.
    CardTesting,
    /// A stolen login: new device, unusually large amount.
    AccountTakeover,
    /// A card used far from its holder's home country.
    GeoMismatch,
    /// Cash-out through high-risk merchants (gambling, crypto, gift cards, transfers).
    HighRiskMerchant,
    /// A burst of transactions on one card in a short time.
    Velocity,
}

const PATTERNS: [(FraudPattern, f64); 5] = [
    (FraudPattern::CardTesting, 0.20),
    (FraudPattern::AccountTakeover, 0.25),
    (FraudPattern::GeoMismatch, 0.20),
    (FraudPattern::HighRiskMerchant, 0.20),
    (FraudPattern::Velocity, 0.15),
];

/// Inputs that real systems handle badly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeCase {
    ZeroAmount,
    MaxAmount,
    RareCurrency,
    NonAsciiMerchant,
}

const EDGE_CASES: [EdgeCase; 4] = [
    EdgeCase::ZeroAmount,
    EdgeCase::MaxAmount,
    EdgeCase::RareCurrency,
    EdgeCase::NonAsciiMerchant,
];

/// How the transaction was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Card present at a terminal.
    Pos,
    /// Card not present, in a browser.
    Web,
    /// Card not present, in an app.
    Mobile,
}

/// What a scorer sees besides the raw fields.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Indicators {
    /// The device has never been used by this customer.
    pub new_device: bool,
    /// The transaction's country is not the customer's home country.
    pub country_mismatch: bool,
    /// The merchant's category is high-risk.
    pub high_risk_merchant: bool,
    /// Transactions by this card in the hour before this one.
    pub txns_last_hour: u32,
    /// The amount in USD over what this customer typically spends in this category.
    pub amount_ratio: f64,
    /// How long the customer has had the account.
    pub account_age_days: u32,
    /// The card has never been used at this merchant.
    pub first_time_merchant: bool,
    /// Reputation of the IP address and device fingerprint, 0 (clean) to 1 (known bad);
    /// 0 for card-present payments, which have none.
    pub ip_risk: f64,
}

/// One payment transaction with its ground truth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transaction {
    pub index: u64,
    pub customer: u64,
    pub home_country: &'static str,
    /// `None`: one of the customer's known devices, `Some(id)`: a device never seen before.
    pub device: Device,
    pub channel: Channel,
    pub category: &'static Category,
    pub merchant: u32,
    pub merchant_name: &'static str,
    pub country: &'static str,
    pub currency: &'static str,
    pub amount_minor: u64,
    pub amount_usd_cents: u64,
    pub indicators: Indicators,
    pub fraud: bool,
    pub pattern: Option<FraudPattern>,
    pub edge_case: Option<EdgeCase>,
}

/// A customer's device: the k-th known one, or a new one with a random id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    Known(u8),
    New(u64),
    /// A card-present payment: the terminal, not a customer device.
    Terminal,
}

impl Serialize for Transaction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Transaction", 18)?;
        st.serialize_field("id", Id::new("tx-").num(self.index, 12).as_str())?;
        st.serialize_field("index", &self.index)?;
        st.serialize_field(
            "customer_id",
            Id::new("cus-").num(self.customer, 9).as_str(),
        )?;
        st.serialize_field("home_country", self.home_country)?;
        let mut dev = Id::new("dev-");
        let device = match self.device {
            Device::Known(k) => Some(
                dev.num(self.customer, 9)
                    .text("-")
                    .num(u64::from(k), 1)
                    .as_str(),
            ),
            Device::New(id) => Some(dev.text("new-").hex(id, 12).as_str()),
            Device::Terminal => None,
        };
        st.serialize_field("device_id", &device)?;
        st.serialize_field("channel", &self.channel)?;
        st.serialize_field(
            "merchant_id",
            Id::new("mer-")
                .text(self.category.mcc)
                .text("-")
                .num(u64::from(self.merchant), 4)
                .as_str(),
        )?;
        st.serialize_field("merchant_name", self.merchant_name)?;
        st.serialize_field("merchant_category", self.category.name)?;
        st.serialize_field("mcc", self.category.mcc)?;
        st.serialize_field("country", self.country)?;
        st.serialize_field("currency", self.currency)?;
        st.serialize_field("amount_minor", &self.amount_minor)?;
        st.serialize_field("amount_usd_cents", &self.amount_usd_cents)?;
        st.serialize_field("indicators", &self.indicators)?;
        st.serialize_field("is_fraud", &self.fraud)?;
        st.serialize_field("fraud_pattern", &self.pattern)?;
        st.serialize_field("edge_case", &self.edge_case)?;
        st.end()
    }
}

impl Transaction {
    /// Appends the transaction as JSON to `out`: the very bytes `serde_json::to_writer`
    /// writes for it (a test holds the two together), without serde's per-field escaping of
    /// names known in advance. An http run writes one for every request it sends.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"id":""#);
        out.extend_from_slice(Id::new("tx-").num(self.index, 12).as_bytes());
        out.extend_from_slice(br#"","index":"#);
        json_u64(out, self.index);
        out.extend_from_slice(br#","customer_id":""#);
        out.extend_from_slice(Id::new("cus-").num(self.customer, 9).as_bytes());
        out.extend_from_slice(br#"","home_country":"#);
        json_str(out, self.home_country);
        out.extend_from_slice(br#","device_id":"#);
        let mut dev = Id::new("\"dev-");
        match self.device {
            Device::Known(k) => {
                let id = dev.num(self.customer, 9).text("-").num(u64::from(k), 1);
                out.extend_from_slice(id.text("\"").as_bytes());
            }
            Device::New(id) => {
                let id = dev.text("new-").hex(id, 12).text("\"");
                out.extend_from_slice(id.as_bytes());
            }
            Device::Terminal => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(br#","channel":"#);
        json_value(out, &self.channel);
        out.extend_from_slice(br#","merchant_id":"#);
        // Merchant category codes are digits: nothing to escape.
        let mut merchant = Id::new("\"mer-");
        merchant
            .text(self.category.mcc)
            .text("-")
            .num(u64::from(self.merchant), 4)
            .text("\"");
        out.extend_from_slice(merchant.as_bytes());
        out.extend_from_slice(br#","merchant_name":"#);
        json_str(out, self.merchant_name);
        out.extend_from_slice(br#","merchant_category":"#);
        json_str(out, self.category.name);
        out.extend_from_slice(br#","mcc":"#);
        json_str(out, self.category.mcc);
        out.extend_from_slice(br#","country":"#);
        json_str(out, self.country);
        out.extend_from_slice(br#","currency":"#);
        json_str(out, self.currency);
        out.extend_from_slice(br#","amount_minor":"#);
        json_u64(out, self.amount_minor);
        out.extend_from_slice(br#","amount_usd_cents":"#);
        json_u64(out, self.amount_usd_cents);
        let i = &self.indicators;
        out.extend_from_slice(br#","indicators":{"new_device":"#);
        json_bool(out, i.new_device);
        out.extend_from_slice(br#","country_mismatch":"#);
        json_bool(out, i.country_mismatch);
        out.extend_from_slice(br#","high_risk_merchant":"#);
        json_bool(out, i.high_risk_merchant);
        out.extend_from_slice(br#","txns_last_hour":"#);
        json_u64(out, u64::from(i.txns_last_hour));
        out.extend_from_slice(br#","amount_ratio":"#);
        json_value(out, &i.amount_ratio);
        out.extend_from_slice(br#","account_age_days":"#);
        json_u64(out, u64::from(i.account_age_days));
        out.extend_from_slice(br#","first_time_merchant":"#);
        json_bool(out, i.first_time_merchant);
        out.extend_from_slice(br#","ip_risk":"#);
        json_value(out, &i.ip_risk);
        out.extend_from_slice(br#"},"is_fraud":"#);
        json_bool(out, self.fraud);
        out.extend_from_slice(br#","fraud_pattern":"#);
        json_value(out, &self.pattern);
        out.extend_from_slice(br#","edge_case":"#);
        json_value(out, &self.edge_case);
        out.push(b'}');
    }
}

/// A JSON string: as is between quotes when nothing in it needs escaping, else serde_json's.
fn json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        json_value(out, s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// A whole number, as serde_json writes it.
fn json_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn json_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

/// Any other value (numbers with fractions, enums, options), written by serde_json.
fn json_value<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    // Writing into a Vec cannot fail, and these values serialize without error.
    let _ = serde_json::to_writer(out, v);
}

/// An id such as `tx-000000000042`, written on the stack: a transaction is serialized for
/// every request an http run sends, and `format!` would allocate four strings for it.
struct Id {
    bytes: [u8; 64],
    len: usize,
}

impl Id {
    fn new(prefix: &str) -> Id {
        let mut id = Id {
            bytes: [0; 64],
            len: 0,
        };
        id.text(prefix);
        id
    }

    /// Appends `text` (ASCII ids and codes, short enough to fit; more is cut).
    fn text(&mut self, text: &str) -> &mut Id {
        let n = text.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&text.as_bytes()[..n]);
        self.len += n;
        self
    }

    /// Appends `digits` zero-padded to `width` (`format!("{n:0width$}")` of the number they
    /// spell); what does not fit is cut.
    fn padded(&mut self, digits: &[u8], width: usize) -> &mut Id {
        let room = self.bytes.len() - self.len;
        let pad = width.saturating_sub(digits.len()).min(room);
        self.bytes[self.len..self.len + pad].fill(b'0');
        self.len += pad;
        let n = digits.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&digits[..n]);
        self.len += n;
        self
    }

    /// Appends `n` in decimal, zero-padded to `width` digits.
    fn num(&mut self, n: u64, width: usize) -> &mut Id {
        self.padded(itoa::Buffer::new().format(n).as_bytes(), width)
    }

    /// Appends `n` in lower-case hexadecimal, zero-padded to `width` digits.
    fn hex(&mut self, mut n: u64, width: usize) -> &mut Id {
        let mut digits = [b'0'; 16];
        let mut used = 0;
        while n > 0 || used == 0 {
            digits[15 - used] = b"0123456789abcdef"[(n % 16) as usize];
            n /= 16;
            used += 1;
        }
        self.padded(&digits[16 - used..], width)
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn as_str(&self) -> &str {
        // Only ASCII is ever written (cut at a byte boundary of ASCII text).
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

/// The workload settings, resolved once per plan into lookup tables.
#[derive(Clone, Debug)]
pub struct Generator {
    seed: u64,
    fraud_rate: f64,
    /// The chance that a legitimate transaction is an edge case: `edge_case_rate` of all
    /// transactions, drawn among the `1 - fraud_rate` that are legitimate.
    edge_chance: f64,
    customers: u64,
    /// (index into COUNTRIES, weight) for customers' home countries.
    home_weights: Vec<f64>,
    homes: Vec<usize>,
    /// Transaction currencies by weight, or None for "the country's own currency".
    currency_weights: Option<(Vec<usize>, Vec<f64>)>,
    category_weights: Vec<f64>,
    high_risk: Vec<usize>,
    /// Each country's own currency (an index into CURRENCIES), by index into COUNTRIES.
    currency_of: Vec<usize>,
    /// For each home country, the default shares of every other country (trips abroad).
    abroad_weights: Vec<Vec<f64>>,
}

/// Merchants per category; merchant ids are `mer-MCC-NNNN`.
const MERCHANTS_PER_CATEGORY: u64 = 400;

/// The chance that a legitimate transaction is an edge case, for `edge_case_rate` of all
/// transactions to be edge cases. When the two rates add up to more than 1 (only a defaulted
/// `edge_case_rate` can: the plan rejects it set so), every legitimate transaction is one.
fn edge_chance(fraud_rate: f64, edge_case_rate: f64) -> f64 {
    let legitimate = 1.0 - fraud_rate;
    if legitimate <= 0.0 {
        0.0
    } else {
        (edge_case_rate / legitimate).min(1.0)
    }
}

impl Generator {
    /// Resolves the settings. Unknown country or currency codes were rejected when the plan
    /// was compiled; here they are skipped.
    pub fn new(seed: u64, w: &Workload) -> Generator {
        let (homes, home_weights): (Vec<usize>, Vec<f64>) = match &w.countries {
            Some(table) => table
                .iter()
                .filter_map(|(code, weight)| {
                    COUNTRIES
                        .iter()
                        .position(|c| c.code == code)
                        .map(|i| (i, weight.0))
                })
                .unzip(),
            None => COUNTRIES
                .iter()
                .enumerate()
                .map(|(i, c)| (i, c.weight))
                .unzip(),
        };
        let currency_weights = w.currencies.as_ref().map(|table| {
            table
                .iter()
                .filter_map(|(code, weight)| {
                    CURRENCIES
                        .iter()
                        .position(|c| c.code == code)
                        .map(|i| (i, weight.0))
                })
                .unzip()
        });
        Generator {
            seed,
            fraud_rate: w.fraud_rate.0,
            edge_chance: edge_chance(w.fraud_rate.0, w.edge_case_rate.0),
            customers: w.customers.max(1),
            home_weights,
            homes,
            currency_weights,
            category_weights: CATEGORIES.iter().map(|c| c.weight).collect(),
            high_risk: (0..CATEGORIES.len())
                .filter(|&i| CATEGORIES[i].high_risk)
                .collect(),
            currency_of: COUNTRIES
                .iter()
                .map(|c| {
                    let own = CURRENCIES.iter().position(|k| k.code == c.currency);
                    own.unwrap_or(0)
                })
                .collect(),
            abroad_weights: (0..COUNTRIES.len())
                .map(|home| {
                    COUNTRIES
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != home)
                        .map(|(_, c)| c.weight)
                        .collect()
                })
                .collect(),
        }
    }

    /// Transaction number `index`. The order of draws below is part of the determinism
    /// contract: changing it changes every plan (the golden tests will say so).
    pub fn transaction(&self, index: u64) -> Transaction {
        self.transaction_with(index, &mut Profiles::none())
    }

    /// Profiles kept for `transaction_with`: one slot per customer up to 2^17 customers
    /// (4 MB), a direct-mapped cache of 2^17 slots beyond.
    pub fn profiles(&self) -> Profiles {
        Profiles::with_slots(self.customers.min(PROFILE_SLOTS))
    }

    /// `transaction(index)`, taking the customer's profile from `profiles` when it is there
    /// (and leaving it there when it was not): a thread that makes many transactions makes
    /// each customer's profile once, not once per transaction.
    pub fn transaction_with(&self, index: u64, profiles: &mut Profiles) -> Transaction {
        let (mut d, customer) = self.begin(index);
        let profile = profiles.get(customer, |n| self.customer(n));
        self.finish(index, &mut d, customer, profile)
    }

    /// `transaction_with` of each item of `items` (numbered `index_of(item)`), in order,
    /// handed to `each` with its item. The same transactions, made a few at a time: the
    /// streams of a group are started and their customers' profiles looked up together, so
    /// the profiles' cache misses overlap instead of coming one after another.
    pub fn transactions_with<T>(
        &self,
        items: &[T],
        index_of: impl Fn(&T) -> u64,
        profiles: &mut Profiles,
        mut each: impl FnMut(&T, Transaction),
    ) {
        const GROUP: usize = 8;
        let mut groups = items.chunks_exact(GROUP);
        for group in &mut groups {
            let mut begun: [(Draw, u64); GROUP] =
                std::array::from_fn(|k| self.begin(index_of(&group[k])));
            // One look at each slot before any is used: independent loads, in flight at once.
            let found: [(u64, Customer); GROUP] =
                std::array::from_fn(|k| profiles.peek(begun[k].1));
            for (k, (d, customer)) in begun.iter_mut().enumerate() {
                let profile = match found[k] {
                    (n, profile) if n == *customer => profile,
                    _ => profiles.get(*customer, |n| self.customer(n)),
                };
                each(
                    &group[k],
                    self.finish(index_of(&group[k]), d, *customer, profile),
                );
            }
        }
        for item in groups.remainder() {
            each(item, self.transaction_with(index_of(item), profiles));
        }
    }

    /// Transaction `index`'s stream and its first draw, the customer.
    #[inline]
    fn begin(&self, index: u64) -> (Draw, u64) {
        let mut d = rng::stream(self.seed, Purpose::Transactions, index);
        let customer = d.below(self.customers);
        (d, customer)
    }

    /// The rest of transaction `index`, drawn from `d` after its customer's.
    #[inline]
    fn finish(&self, index: u64, d: &mut Draw, customer: u64, profile: Customer) -> Transaction {
        let (fraud, pattern, edge_case) = self.label(d);
        // Each step below takes its draws from the same stream, in this order: the order is
        // part of what transaction i is (docs/workload.md).
        let category = self.category(d, pattern);
        let (card_present, channel) = channel(d, pattern, category);
        let home = &COUNTRIES[profile.home];
        let country = self.country(d, pattern, &profile);
        let device = device(d, pattern, card_present, &profile);
        let txns_last_hour = match pattern {
            Some(FraudPattern::CardTesting) => 5 + d.below(30) as u32,
            Some(FraudPattern::Velocity) => 8 + d.below(40) as u32,
            _ => (d.exponential() * 0.8) as u32,
        };
        let first_time_merchant = d.chance(if fraud { 0.85 } else { 0.2 });
        let ip_risk = ip_risk(d.unit(), pattern, card_present);
        let typical = category.median_usd * profile.spend;
        let money = self.money(d, pattern, category, &profile, country, edge_case);
        let amount_ratio = if typical > 0.0 {
            f64::round(money.usd_cents as f64 / 100.0 / typical * 100.0) / 100.0
        } else {
            0.0
        };
        Transaction {
            index,
            customer,
            home_country: home.code,
            device,
            channel,
            category,
            merchant: money.merchant,
            merchant_name: money.merchant_name,
            country: COUNTRIES[country].code,
            currency: money.currency.code,
            amount_minor: money.minor,
            amount_usd_cents: money.usd_cents,
            indicators: Indicators {
                new_device: matches!(device, Device::New(_)),
                country_mismatch: country != profile.home,
                high_risk_merchant: category.high_risk,
                txns_last_hour,
                amount_ratio,
                account_age_days: profile.account_age_days,
                first_time_merchant,
                ip_risk,
            },
            fraud,
            pattern,
            edge_case,
        }
    }

    /// The ground truth: fraud or not, its pattern, and an edge case. Edge cases test
    /// robustness, not detection: they are never fraud, so a billion-dollar test amount cannot
    /// swamp the fraud and business figures. They are drawn among the legitimate
    /// transactions, so that each share is the one set: `fraud_rate` of all transactions are
    /// fraud, `edge_case_rate` of all are edge cases.
    fn label(&self, d: &mut Draw) -> (bool, Option<FraudPattern>, Option<EdgeCase>) {
        if d.chance(self.fraud_rate) {
            let weights: [f64; 5] = PATTERNS.map(|(_, w)| w);
            return (true, Some(PATTERNS[d.weighted(&weights)].0), None);
        }
        let edge_case = d
            .chance(self.edge_chance)
            .then(|| EDGE_CASES[d.below(EDGE_CASES.len() as u64) as usize]);
        (false, None, edge_case)
    }

    fn category(&self, d: &mut Draw, pattern: Option<FraudPattern>) -> &'static Category {
        match pattern {
            Some(FraudPattern::CardTesting) => {
                if d.chance(0.7) {
                    &CATEGORIES[6]
                } else {
                    &CATEGORIES[13]
                }
            }
            Some(FraudPattern::HighRiskMerchant) => {
                &CATEGORIES[self.high_risk[d.below(self.high_risk.len() as u64) as usize]]
            }
            _ => &CATEGORIES[d.weighted(&self.category_weights)],
        }
    }

    /// Where the payment is made: at home, or (more often for fraud) abroad.
    fn country(&self, d: &mut Draw, pattern: Option<FraudPattern>, profile: &Customer) -> usize {
        let abroad = match pattern {
            Some(FraudPattern::GeoMismatch) => 1.0,
            Some(FraudPattern::AccountTakeover) => 0.3,
            Some(_) => 0.1,
            None => 0.04,
        };
        if d.chance(abroad) {
            // Any other country, by the default shares.
            let mut pick = d.weighted(&self.abroad_weights[profile.home]);
            if pick >= profile.home {
                pick += 1;
            }
            pick.min(COUNTRIES.len() - 1)
        } else {
            profile.home
        }
    }

    /// The amount, currency and merchant, with the edge case applied.
    fn money(
        &self,
        d: &mut Draw,
        pattern: Option<FraudPattern>,
        category: &'static Category,
        profile: &Customer,
        country: usize,
        edge_case: Option<EdgeCase>,
    ) -> Money {
        let base = d.lognormal(category.median_usd, category.p99_usd) * profile.spend;
        let amount_usd = match pattern {
            Some(FraudPattern::CardTesting) => d.uniform(0.5, 5.0),
            Some(FraudPattern::AccountTakeover) => base * d.uniform(3.0, 10.0),
            Some(FraudPattern::GeoMismatch) => base * d.uniform(1.5, 4.0),
            Some(FraudPattern::HighRiskMerchant) => base * d.uniform(1.5, 5.0),
            Some(FraudPattern::Velocity) | None => base,
        };
        let mut currency = match &self.currency_weights {
            Some((codes, weights)) if !codes.is_empty() => &CURRENCIES[codes[d.weighted(weights)]],
            _ => &CURRENCIES[self.currency_of[country]],
        };
        let merchant = d.below(MERCHANTS_PER_CATEGORY) as u32;
        let mut merchant_name = category.names[merchant as usize % category.names.len()];
        let mut minor = to_minor(amount_usd, currency);
        match edge_case {
            Some(EdgeCase::ZeroAmount) => minor = 0,
            Some(EdgeCase::MaxAmount) => minor = MAX_AMOUNT_MINOR,
            Some(EdgeCase::RareCurrency) => {
                let code = RARE_CURRENCIES[d.below(RARE_CURRENCIES.len() as u64) as usize];
                currency = data::currency(code).unwrap_or(&CURRENCIES[0]);
                minor = to_minor(amount_usd, currency);
            }
            Some(EdgeCase::NonAsciiMerchant) => {
                merchant_name =
                    ODD_MERCHANT_NAMES[d.below(ODD_MERCHANT_NAMES.len() as u64) as usize];
            }
            None => {}
        }
        Money {
            currency,
            merchant,
            merchant_name,
            minor,
            usd_cents: usd_cents(minor, currency),
        }
    }

    /// Customer `n`'s fixed attributes, from (seed, n) alone.
    fn customer(&self, n: u64) -> Customer {
        let mut d: Draw = rng::stream(self.seed, Purpose::Customers, n);
        let home = self.homes[d
            .weighted(&self.home_weights)
            .min(self.homes.len().saturating_sub(1))];
        Customer {
            home,
            devices: 1 + d.below(3) as u8,
            spend: d.lognormal(1.0, 3.0),
            account_age_days: 1 + d.below(3650) as u32,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Customer {
    home: usize,
    devices: u8,
    spend: f64,
    account_age_days: u32,
}

/// The most profiles `Generator::profiles` keeps.
const PROFILE_SLOTS: u64 = 1 << 17;

/// Customers' profiles as they are made: slot `n mod slots` holds customer `n`'s until a
/// customer sharing the slot takes it. A profile depends on (seed, customer) alone, so one
/// taken from here is the one `Generator::customer` would make again.
pub struct Profiles {
    /// (customer, profile); `u64::MAX` marks an empty slot.
    slots: Vec<(u64, Customer)>,
}

impl Profiles {
    /// None kept: every profile is made afresh.
    pub fn none() -> Profiles {
        Profiles { slots: Vec::new() }
    }

    /// `n` slots, rounded up to a power of two.
    fn with_slots(n: u64) -> Profiles {
        let empty = Customer {
            home: 0,
            devices: 0,
            spend: 0.0,
            account_age_days: 0,
        };
        let n = n.max(1).next_power_of_two() as usize;
        Profiles {
            slots: vec![(u64::MAX, empty); n],
        }
    }

    /// What slot `n` holds: (customer, profile), the customer `u64::MAX` when there are no
    /// slots.
    #[inline]
    fn peek(&self, n: u64) -> (u64, Customer) {
        match self.slots.len() {
            0 => (u64::MAX, Customer::default()),
            len => self.slots[n as usize & (len - 1)],
        }
    }

    #[inline]
    fn get(&mut self, n: u64, make: impl FnOnce(u64) -> Customer) -> Customer {
        if self.slots.is_empty() {
            return make(n);
        }
        let i = n as usize & (self.slots.len() - 1);
        let slot = &mut self.slots[i];
        if slot.0 != n {
            *slot = (n, make(n));
        }
        slot.1
    }
}

/// USD to minor units of `currency`, rounded to the nearest unit.
fn to_minor(usd: f64, currency: &data::Currency) -> u64 {
    let units = usd * 1_000_000.0 / currency.usd_micros as f64;
    let minor = f64::round(units * 10f64.powi(currency.exponent as i32));
    if minor.is_finite() && minor > 0.0 {
        (minor as u64).min(MAX_AMOUNT_MINOR)
    } else {
        0
    }
}

/// Minor units of `currency` to US cents, in integer arithmetic, rounded half up.
pub fn usd_cents(minor: u64, currency: &data::Currency) -> u64 {
    // cents = minor / 10^exp * usd_micros / 10^4
    let num = minor as u128 * currency.usd_micros as u128;
    let den = 10u128.pow(currency.exponent) * 10_000;
    ((num + den / 2) / den) as u64
}

/// A transaction's amount, currency and merchant.
struct Money {
    currency: &'static data::Currency,
    merchant: u32,
    merchant_name: &'static str,
    minor: u64,
    usd_cents: u64,
}

/// Card present or not, and the channel.
fn channel(d: &mut Draw, pattern: Option<FraudPattern>, category: &Category) -> (bool, Channel) {
    let present_share = match pattern {
        Some(FraudPattern::CardTesting | FraudPattern::AccountTakeover) => 0.0,
        Some(FraudPattern::GeoMismatch) => 0.4,
        _ => category.card_present,
    };
    let card_present = d.chance(present_share);
    let channel = if card_present {
        Channel::Pos
    } else if d.chance(0.45) {
        Channel::Mobile
    } else {
        Channel::Web
    };
    (card_present, channel)
}

fn device(
    d: &mut Draw,
    pattern: Option<FraudPattern>,
    card_present: bool,
    profile: &Customer,
) -> Device {
    let new_device_share = match pattern {
        Some(FraudPattern::AccountTakeover) => 0.9,
        Some(FraudPattern::CardTesting) => 0.7,
        Some(FraudPattern::Velocity) => 0.4,
        Some(_) => 0.3,
        None => 0.03,
    };
    if card_present {
        d.word(); // keep the draw sequence independent of the channel
        Device::Terminal
    } else if d.chance(new_device_share) {
        Device::New(d.word() & 0xffff_ffff_ffff)
    } else {
        Device::Known(d.below(profile.devices as u64) as u8)
    }
}

/// The IP's risk score from one uniform draw `u` (0 for card-present payments).
fn ip_risk(u: f64, pattern: Option<FraudPattern>, card_present: bool) -> f64 {
    if card_present {
        return 0.0;
    }
    let r = match pattern {
        Some(
            FraudPattern::AccountTakeover | FraudPattern::CardTesting | FraudPattern::GeoMismatch,
        ) => 0.25 + 0.75 * libm::pow(u, 0.7),
        Some(FraudPattern::HighRiskMerchant) => 0.15 + 0.7 * u,
        Some(FraudPattern::Velocity) => 0.1 + 0.8 * u,
        None => 0.6 * u * u * u,
    };
    f64::round(r * 100.0) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::Fraction;

    fn generator(seed: u64) -> Generator {
        Generator::new(seed, &Workload::default())
    }

    /// Profiles taken from the cache, one slot per customer or sharing slots, give the
    /// transactions made without it.
    #[test]
    fn kept_profiles_give_the_same_transactions() {
        let w = Workload {
            customers: 1_000,
            ..Workload::default()
        };
        let g = Generator::new(21, &w);
        // One slot per customer, rounded up to a power of two.
        assert_eq!(g.profiles().slots.len(), 1_024);
        for mut kept in [g.profiles(), Profiles::with_slots(64)] {
            for i in 0..20_000 {
                assert_eq!(g.transaction_with(i, &mut kept), g.transaction(i), "{i}");
            }
        }
    }

    /// Made in groups (the profiles looked up a group at a time), sharing slots or one per
    /// customer, with a short last group: the transactions made one by one, in order.
    #[test]
    fn transactions_made_in_groups_are_those_made_one_by_one() {
        let w = Workload {
            customers: 1_000,
            ..Workload::default()
        };
        let g = Generator::new(22, &w);
        let indexes: Vec<u64> = (0..5_003).chain(90_000..90_013).collect();
        for mut kept in [g.profiles(), Profiles::with_slots(64), Profiles::none()] {
            let mut made = Vec::new();
            g.transactions_with(&indexes, |&i| i, &mut kept, |_, tx| made.push(tx));
            let one_by_one: Vec<Transaction> = indexes.iter().map(|&i| g.transaction(i)).collect();
            assert_eq!(made, one_by_one);
        }
    }

    #[test]
    fn write_json_writes_what_serde_json_writes() {
        let mut kinds = std::collections::HashSet::new();
        let workloads = [
            Workload::default(),
            Workload {
                fraud_rate: Fraction(0.3),
                edge_case_rate: Fraction(0.3),
                ..Workload::default()
            },
        ];
        let mut out = Vec::new();
        for (seed, w) in workloads.iter().enumerate() {
            let g = Generator::new(seed as u64, w);
            for i in (0..20_000).chain([u64::MAX / 2, u64::MAX - 1]) {
                let t = g.transaction(i);
                out.clear();
                t.write_json(&mut out);
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    serde_json::to_string(&t).unwrap(),
                    "transaction {i} of seed {seed}"
                );
                kinds.insert(format!("{:?}/{:?}", t.pattern, t.edge_case));
            }
        }
        // Every fraud pattern and edge case (the non-ASCII merchant names among them) seen.
        assert!(kinds.len() >= 9, "{kinds:?}");
    }

    #[test]
    fn ids_are_written_as_format_would() {
        let cases = [
            0,
            1,
            9,
            10,
            42,
            999,
            4_095,
            123_456_789,
            999_999_999_999,
            u64::MAX,
        ];
        for n in cases {
            assert_eq!(Id::new("tx-").num(n, 12).as_str(), format!("tx-{n:012}"));
            assert_eq!(Id::new("cus-").num(n, 9).as_str(), format!("cus-{n:09}"));
            assert_eq!(Id::new("").num(n, 1).as_str(), format!("{n}"));
            assert_eq!(
                Id::new("dev-").text("new-").hex(n, 12).as_str(),
                format!("dev-new-{n:012x}")
            );
        }
        // Every kind of device and merchant id, as the fields were written before.
        let g = generator(7);
        let mut kinds = std::collections::HashSet::new();
        for i in 0..5_000 {
            let t = g.transaction(i);
            let json = serde_json::to_value(t).unwrap();
            let device = match t.device {
                Device::Known(k) => Some(format!("dev-{:09}-{k}", t.customer)),
                Device::New(id) => Some(format!("dev-new-{id:012x}")),
                Device::Terminal => None,
            };
            kinds.insert(std::mem::discriminant(&t.device));
            assert_eq!(json["device_id"].as_str(), device.as_deref());
            assert_eq!(json["id"], format!("tx-{:012}", t.index));
            assert_eq!(json["customer_id"], format!("cus-{:09}", t.customer));
            assert_eq!(
                json["merchant_id"],
                format!("mer-{}-{:04}", t.category.mcc, t.merchant)
            );
        }
        assert_eq!(kinds.len(), 3, "known, new and terminal devices all seen");
    }

    #[test]
    fn transaction_i_depends_only_on_seed_and_i() {
        let g = generator(42);
        let forward: Vec<Transaction> = (0..500).map(|i| g.transaction(i)).collect();
        let backward: Vec<Transaction> = (0..500).rev().map(|i| g.transaction(i)).collect();
        for (i, t) in forward.iter().enumerate() {
            assert_eq!(*t, backward[499 - i]);
            assert_eq!(t.index, i as u64);
        }
        assert_ne!(generator(43).transaction(7), forward[7]);
    }

    #[test]
    fn fraud_and_edge_case_rates_follow_the_settings() {
        let w = Workload {
            fraud_rate: Fraction(0.1),
            edge_case_rate: Fraction(0.05),
            ..Workload::default()
        };
        let g = Generator::new(7, &w);
        let n = 50_000;
        let txs: Vec<Transaction> = (0..n).map(|i| g.transaction(i)).collect();
        let fraud = txs.iter().filter(|t| t.fraud).count() as f64 / n as f64;
        let edge = txs.iter().filter(|t| t.edge_case.is_some()).count() as f64 / n as f64;
        assert!((fraud - 0.1).abs() < 0.01, "{fraud}");
        assert!((edge - 0.05).abs() < 0.005, "{edge}");
        assert!(txs.iter().all(|t| t.fraud == t.pattern.is_some()));
        // Large shares side by side: each is still the share of all transactions.
        let g = Generator::new(
            7,
            &Workload {
                fraud_rate: Fraction(0.5),
                edge_case_rate: Fraction(0.4),
                ..Workload::default()
            },
        );
        let both: Vec<Transaction> = (0..20_000).map(|i| g.transaction(i)).collect();
        let share = |f: &dyn Fn(&Transaction) -> bool| {
            both.iter().filter(|t| f(t)).count() as f64 / both.len() as f64
        };
        let (fraud, edge) = (share(&|t| t.fraud), share(&|t| t.edge_case.is_some()));
        assert!((fraud - 0.5).abs() < 0.015, "fraud share {fraud} of 0.5");
        assert!((edge - 0.4).abs() < 0.015, "edge-case share {edge} of 0.4");
        assert!(
            txs.iter().all(|t| !(t.fraud && t.edge_case.is_some())),
            "edge cases are never fraud"
        );
        // Fraud carries its indicators far more often than legitimate traffic.
        let share = |f: &dyn Fn(&Transaction) -> bool, fraud: bool| {
            let group: Vec<&Transaction> = txs.iter().filter(|t| t.fraud == fraud).collect();
            group.iter().filter(|t| f(t)).count() as f64 / group.len() as f64
        };
        let new_device = |t: &Transaction| t.indicators.new_device;
        assert!(share(&new_device, true) > 5.0 * share(&new_device, false));
        let mismatch = |t: &Transaction| t.indicators.country_mismatch;
        assert!(share(&mismatch, true) > 3.0 * share(&mismatch, false));
    }

    #[test]
    fn edge_cases_are_what_they_say() {
        let w = Workload {
            fraud_rate: Fraction(0.0),
            edge_case_rate: Fraction(1.0),
            ..Workload::default()
        };
        let g = Generator::new(3, &w);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..2000 {
            let t = g.transaction(i);
            match t.edge_case.unwrap() {
                EdgeCase::ZeroAmount => assert_eq!(t.amount_minor, 0),
                EdgeCase::MaxAmount => assert_eq!(t.amount_minor, MAX_AMOUNT_MINOR),
                EdgeCase::RareCurrency => assert!(RARE_CURRENCIES.contains(&t.currency)),
                EdgeCase::NonAsciiMerchant => assert!(!t.merchant_name.is_ascii()),
            }
            seen.insert(format!("{:?}", t.edge_case));
        }
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn usd_conversion_is_exact_integer_arithmetic() {
        let usd = data::currency("USD").unwrap();
        let jpy = data::currency("JPY").unwrap();
        let kwd = data::currency("KWD").unwrap();
        assert_eq!(usd_cents(12_345, usd), 12_345);
        assert_eq!(usd_cents(10_000, jpy), 6_700); // ¥10,000 = $67.00
        assert_eq!(usd_cents(1_000, kwd), 325); // 1.000 KWD = $3.25
        assert!(usd_cents(MAX_AMOUNT_MINOR, kwd) > 0);
    }

    #[test]
    fn serializes_with_readable_identifiers() {
        let t = generator(42).transaction(17);
        let json = serde_json::to_value(t).unwrap();
        assert_eq!(json["id"], "tx-000000000017");
        assert!(json["customer_id"].as_str().unwrap().starts_with("cus-"));
        assert!(
            json["merchant_id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("mer-{}", t.category.mcc))
        );
        assert_eq!(json["is_fraud"], t.fraud);
    }
}
