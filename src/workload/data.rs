//! Reference tables behind the payments workload. Values are fixed in the source (never
//! fetched), so a seed produces the same transactions forever; docs/workload.md explains where
//! each figure comes from.

/// A currency: ISO 4217 code, minor-unit exponent and a fixed reference rate in micro-USD per
/// unit (not a live rate: runs must not change with the markets).
pub struct Currency {
    pub code: &'static str,
    pub exponent: u32,
    pub usd_micros: u64,
}

pub const CURRENCIES: &[Currency] = &[
    Currency {
        code: "USD",
        exponent: 2,
        usd_micros: 1_000_000,
    },
    Currency {
        code: "EUR",
        exponent: 2,
        usd_micros: 1_080_000,
    },
    Currency {
        code: "GBP",
        exponent: 2,
        usd_micros: 1_270_000,
    },
    Currency {
        code: "JPY",
        exponent: 0,
        usd_micros: 6_700,
    },
    Currency {
        code: "CAD",
        exponent: 2,
        usd_micros: 730_000,
    },
    Currency {
        code: "AUD",
        exponent: 2,
        usd_micros: 660_000,
    },
    Currency {
        code: "CHF",
        exponent: 2,
        usd_micros: 1_130_000,
    },
    Currency {
        code: "CNY",
        exponent: 2,
        usd_micros: 138_000,
    },
    Currency {
        code: "INR",
        exponent: 2,
        usd_micros: 12_000,
    },
    Currency {
        code: "BRL",
        exponent: 2,
        usd_micros: 180_000,
    },
    Currency {
        code: "MXN",
        exponent: 2,
        usd_micros: 55_000,
    },
    Currency {
        code: "SEK",
        exponent: 2,
        usd_micros: 95_000,
    },
    Currency {
        code: "NOK",
        exponent: 2,
        usd_micros: 93_000,
    },
    Currency {
        code: "DKK",
        exponent: 2,
        usd_micros: 145_000,
    },
    Currency {
        code: "PLN",
        exponent: 2,
        usd_micros: 250_000,
    },
    Currency {
        code: "SGD",
        exponent: 2,
        usd_micros: 740_000,
    },
    Currency {
        code: "HKD",
        exponent: 2,
        usd_micros: 128_000,
    },
    Currency {
        code: "KRW",
        exponent: 0,
        usd_micros: 730,
    },
    Currency {
        code: "ZAR",
        exponent: 2,
        usd_micros: 55_000,
    },
    Currency {
        code: "NZD",
        exponent: 2,
        usd_micros: 600_000,
    },
    Currency {
        code: "TRY",
        exponent: 2,
        usd_micros: 30_000,
    },
    Currency {
        code: "AED",
        exponent: 2,
        usd_micros: 272_300,
    },
    Currency {
        code: "SAR",
        exponent: 2,
        usd_micros: 266_700,
    },
    Currency {
        code: "NGN",
        exponent: 2,
        usd_micros: 650,
    },
    Currency {
        code: "KES",
        exponent: 2,
        usd_micros: 7_700,
    },
    Currency {
        code: "CZK",
        exponent: 2,
        usd_micros: 43_000,
    },
    Currency {
        code: "HUF",
        exponent: 2,
        usd_micros: 2_700,
    },
    // Rare in card traffic, and awkward: no minor unit, three decimals, tiny unit values.
    Currency {
        code: "ISK",
        exponent: 0,
        usd_micros: 7_200,
    },
    Currency {
        code: "KWD",
        exponent: 3,
        usd_micros: 3_250_000,
    },
    Currency {
        code: "BHD",
        exponent: 3,
        usd_micros: 2_650_000,
    },
    Currency {
        code: "XOF",
        exponent: 0,
        usd_micros: 1_650,
    },
    Currency {
        code: "VND",
        exponent: 0,
        usd_micros: 40,
    },
    Currency {
        code: "CLP",
        exponent: 0,
        usd_micros: 1_050,
    },
];

/// Codes used for the `rare currency` edge case.
pub const RARE_CURRENCIES: &[&str] = &["ISK", "KWD", "BHD", "XOF", "VND", "CLP"];

/// A country: ISO 3166 code, default share of cardholders, and its currency.
pub struct Country {
    pub code: &'static str,
    pub weight: f64,
    pub currency: &'static str,
}

pub const COUNTRIES: &[Country] = &[
    Country {
        code: "US",
        weight: 0.30,
        currency: "USD",
    },
    Country {
        code: "GB",
        weight: 0.08,
        currency: "GBP",
    },
    Country {
        code: "DE",
        weight: 0.07,
        currency: "EUR",
    },
    Country {
        code: "FR",
        weight: 0.06,
        currency: "EUR",
    },
    Country {
        code: "ES",
        weight: 0.03,
        currency: "EUR",
    },
    Country {
        code: "IT",
        weight: 0.03,
        currency: "EUR",
    },
    Country {
        code: "NL",
        weight: 0.02,
        currency: "EUR",
    },
    Country {
        code: "IE",
        weight: 0.01,
        currency: "EUR",
    },
    Country {
        code: "BE",
        weight: 0.01,
        currency: "EUR",
    },
    Country {
        code: "AT",
        weight: 0.01,
        currency: "EUR",
    },
    Country {
        code: "PT",
        weight: 0.01,
        currency: "EUR",
    },
    Country {
        code: "CA",
        weight: 0.04,
        currency: "CAD",
    },
    Country {
        code: "AU",
        weight: 0.03,
        currency: "AUD",
    },
    Country {
        code: "JP",
        weight: 0.05,
        currency: "JPY",
    },
    Country {
        code: "CN",
        weight: 0.04,
        currency: "CNY",
    },
    Country {
        code: "IN",
        weight: 0.04,
        currency: "INR",
    },
    Country {
        code: "BR",
        weight: 0.03,
        currency: "BRL",
    },
    Country {
        code: "MX",
        weight: 0.02,
        currency: "MXN",
    },
    Country {
        code: "SE",
        weight: 0.01,
        currency: "SEK",
    },
    Country {
        code: "NO",
        weight: 0.01,
        currency: "NOK",
    },
    Country {
        code: "DK",
        weight: 0.01,
        currency: "DKK",
    },
    Country {
        code: "PL",
        weight: 0.01,
        currency: "PLN",
    },
    Country {
        code: "CH",
        weight: 0.01,
        currency: "CHF",
    },
    Country {
        code: "SG",
        weight: 0.01,
        currency: "SGD",
    },
    Country {
        code: "HK",
        weight: 0.01,
        currency: "HKD",
    },
    Country {
        code: "KR",
        weight: 0.02,
        currency: "KRW",
    },
    Country {
        code: "ZA",
        weight: 0.01,
        currency: "ZAR",
    },
    Country {
        code: "NZ",
        weight: 0.005,
        currency: "NZD",
    },
    Country {
        code: "TR",
        weight: 0.01,
        currency: "TRY",
    },
    Country {
        code: "AE",
        weight: 0.01,
        currency: "AED",
    },
    Country {
        code: "SA",
        weight: 0.005,
        currency: "SAR",
    },
    Country {
        code: "NG",
        weight: 0.01,
        currency: "NGN",
    },
    Country {
        code: "KE",
        weight: 0.005,
        currency: "KES",
    },
    Country {
        code: "CZ",
        weight: 0.005,
        currency: "CZK",
    },
    Country {
        code: "HU",
        weight: 0.005,
        currency: "HUF",
    },
    Country {
        code: "IS",
        weight: 0.001,
        currency: "ISK",
    },
    Country {
        code: "KW",
        weight: 0.001,
        currency: "KWD",
    },
    Country {
        code: "BH",
        weight: 0.001,
        currency: "BHD",
    },
    Country {
        code: "SN",
        weight: 0.001,
        currency: "XOF",
    },
    Country {
        code: "VN",
        weight: 0.005,
        currency: "VND",
    },
    Country {
        code: "CL",
        weight: 0.005,
        currency: "CLP",
    },
];

/// A merchant category: MCC, share of legitimate traffic, lognormal ticket size in USD
/// (median, p99), whether card schemes and acquirers treat it as high-risk, and the share of
/// its payments made with the card present.
#[derive(Debug, PartialEq)]
pub struct Category {
    pub name: &'static str,
    pub mcc: &'static str,
    pub weight: f64,
    pub median_usd: f64,
    pub p99_usd: f64,
    pub high_risk: bool,
    pub card_present: f64,
    pub names: &'static [&'static str],
}

pub const CATEGORIES: &[Category] = &[
    Category {
        name: "grocery",
        mcc: "5411",
        weight: 0.22,
        median_usd: 45.0,
        p99_usd: 250.0,
        high_risk: false,
        card_present: 0.85,
        names: &[
            "Fresh Market",
            "Corner Grocer",
            "Green Basket",
            "Daily Foods",
            "Harvest Store",
        ],
    },
    Category {
        name: "restaurants",
        mcc: "5812",
        weight: 0.16,
        median_usd: 28.0,
        p99_usd: 180.0,
        high_risk: false,
        card_present: 0.80,
        names: &[
            "Blue Door Bistro",
            "Noodle House",
            "Trattoria Roma",
            "Taco Stand",
            "The Grill",
        ],
    },
    Category {
        name: "fuel",
        mcc: "5541",
        weight: 0.08,
        median_usd: 40.0,
        p99_usd: 120.0,
        high_risk: false,
        card_present: 0.90,
        names: &["QuickFuel", "Highway Gas", "City Petrol", "Sun Station"],
    },
    Category {
        name: "retail",
        mcc: "5311",
        weight: 0.12,
        median_usd: 60.0,
        p99_usd: 600.0,
        high_risk: false,
        card_present: 0.60,
        names: &["Main Street Store", "MegaMart", "Home & Co", "Bargain Hall"],
    },
    Category {
        name: "electronics",
        mcc: "5732",
        weight: 0.05,
        median_usd: 150.0,
        p99_usd: 2500.0,
        high_risk: false,
        card_present: 0.40,
        names: &[
            "Circuit World",
            "Gadget Hub",
            "Pixel Store",
            "Volt Electronics",
        ],
    },
    Category {
        name: "travel",
        mcc: "4511",
        weight: 0.04,
        median_usd: 350.0,
        p99_usd: 3000.0,
        high_risk: false,
        card_present: 0.05,
        names: &["SkyWays Air", "Blue Jet", "TravelNow", "Coastline Air"],
    },
    Category {
        name: "digital-goods",
        mcc: "5815",
        weight: 0.07,
        median_usd: 12.0,
        p99_usd: 120.0,
        high_risk: false,
        card_present: 0.0,
        names: &["AppVault", "GameKeys", "StreamPlus", "eBooks Direct"],
    },
    Category {
        name: "subscriptions",
        mcc: "4899",
        weight: 0.06,
        median_usd: 15.0,
        p99_usd: 80.0,
        high_risk: false,
        card_present: 0.0,
        names: &["CloudBox", "MusicNow", "NewsDaily", "FitApp"],
    },
    Category {
        name: "pharmacy",
        mcc: "5912",
        weight: 0.05,
        median_usd: 25.0,
        p99_usd: 200.0,
        high_risk: false,
        card_present: 0.80,
        names: &["HealthPlus Pharmacy", "Care Chemist", "MediMart"],
    },
    Category {
        name: "apparel",
        mcc: "5651",
        weight: 0.06,
        median_usd: 55.0,
        p99_usd: 500.0,
        high_risk: false,
        card_present: 0.50,
        names: &["Thread & Co", "Urban Wear", "Style Lane", "Denim Depot"],
    },
    Category {
        name: "jewelry",
        mcc: "5944",
        weight: 0.01,
        median_usd: 300.0,
        p99_usd: 8000.0,
        high_risk: true,
        card_present: 0.50,
        names: &["Golden Ring", "Diamond Row", "Silver Line"],
    },
    Category {
        name: "gambling",
        mcc: "7995",
        weight: 0.015,
        median_usd: 50.0,
        p99_usd: 2000.0,
        high_risk: true,
        card_present: 0.0,
        names: &["LuckyBet", "Spin Palace", "AcePoker"],
    },
    Category {
        name: "crypto",
        mcc: "6051",
        weight: 0.01,
        median_usd: 200.0,
        p99_usd: 5000.0,
        high_risk: true,
        card_present: 0.0,
        names: &["CoinSwap", "BitDesk", "ChainPay"],
    },
    Category {
        name: "gift-cards",
        mcc: "6540",
        weight: 0.01,
        median_usd: 100.0,
        p99_usd: 500.0,
        high_risk: true,
        card_present: 0.20,
        names: &["GiftHub", "CardWorld", "e-Gift Store"],
    },
    Category {
        name: "money-transfer",
        mcc: "4829",
        weight: 0.01,
        median_usd: 250.0,
        p99_usd: 3000.0,
        high_risk: true,
        card_present: 0.0,
        names: &["SendFast", "GlobeRemit", "WireNow"],
    },
];

/// Merchant names that exercise encodings: accents, CJK, right-to-left, emoji, quotes.
pub const ODD_MERCHANT_NAMES: &[&str] = &[
    "Café Zürich",
    "東京ラーメン 新宿店",
    "Straße & Söhne GmbH",
    "Ресторан «Пушкин»",
    "مطعم الشرق",
    "Pizza 🍕 Palace",
    "O’Brien’s \"Pub\" – Ümlaut",
    "Ωmega Ελληνικά",
];

/// The largest amount the workload produces, in minor units (an edge case).
pub const MAX_AMOUNT_MINOR: u64 = 99_999_999_999;

pub fn currency(code: &str) -> Option<&'static Currency> {
    CURRENCIES.iter().find(|c| c.code == code)
}

pub fn country(code: &str) -> Option<&'static Country> {
    COUNTRIES.iter().find(|c| c.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes name one entry each (the generator compares countries by their place in the
    /// table), and every country's currency is in the currency table.
    #[test]
    fn codes_are_unique_and_every_country_has_its_currency() {
        for (i, c) in COUNTRIES.iter().enumerate() {
            assert!(
                !COUNTRIES[..i].iter().any(|o| o.code == c.code),
                "{}",
                c.code
            );
            assert!(currency(c.currency).is_some(), "{}: {}", c.code, c.currency);
        }
        for (i, c) in CURRENCIES.iter().enumerate() {
            assert!(
                !CURRENCIES[..i].iter().any(|o| o.code == c.code),
                "{}",
                c.code
            );
        }
    }
}
