//! Currencies: symbols, codes and words to the spec's upper-case code and minor-unit decimals.

/// A currency as the spec writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    /// ISO 4217 code or upper-case token symbol.
    pub code: String,
    /// Minor-unit decimals (fiat 2, JPY 0, USDC/USDT 6, WBTC 8, other tokens 18).
    pub decimals: u8,
}

/// ISO 4217 codes the node recognises as fiat, with their minor units where not 2.
const FIAT: &[(&str, u8)] = &[
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("JPY", 0),
    ("CHF", 2),
    ("CAD", 2),
    ("AUD", 2),
    ("NZD", 2),
    ("CNY", 2),
    ("HKD", 2),
    ("SGD", 2),
    ("INR", 2),
    ("SEK", 2),
    ("NOK", 2),
    ("DKK", 2),
    ("PLN", 2),
    ("CZK", 2),
    ("HUF", 2),
    ("MXN", 2),
    ("BRL", 2),
    ("ZAR", 2),
    ("TRY", 2),
    ("AED", 2),
    ("SAR", 2),
    ("ILS", 2),
    ("THB", 2),
    ("PHP", 2),
    ("IDR", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("KES", 2),
    ("EGP", 2),
    ("ARS", 2),
    ("CLP", 0),
    ("COP", 2),
    ("KRW", 0),
    ("VND", 0),
    ("ISK", 0),
    ("UGX", 0),
    ("BHD", 3),
    ("KWD", 3),
    ("OMR", 3),
    ("JOD", 3),
    ("TND", 3),
    ("RON", 2),
    ("BGN", 2),
    ("UAH", 2),
    ("PKR", 2),
    ("BDT", 2),
    ("TWD", 2),
    ("RUB", 2),
    ("QAR", 2),
    ("MAD", 2),
    ("GHS", 2),
];

/// Token symbols whose decimals are not 18.
const TOKEN_DECIMALS: &[(&str, u8)] = &[
    ("USDC", 6),
    ("USDT", 6),
    ("WBTC", 8),
    ("BTC", 8),
    ("CBBTC", 8),
];

/// Words and symbols that name a currency.
const NAMES: &[(&str, &str)] = &[
    ("us$", "USD"),
    ("u.s. dollar", "USD"),
    ("us dollar", "USD"),
    ("dollar", "USD"),
    ("$", "USD"),
    ("€", "EUR"),
    ("euro", "EUR"),
    ("£", "GBP"),
    ("pound", "GBP"),
    ("sterling", "GBP"),
    ("¥", "JPY"),
    ("yen", "JPY"),
    ("円", "JPY"),
    ("rs.", "INR"),
    ("rs", "INR"),
    ("yuan", "CNY"),
    ("renminbi", "CNY"),
    ("rmb", "CNY"),
    ("swiss franc", "CHF"),
    ("franc", "CHF"),
    ("₹", "INR"),
    ("rupee", "INR"),
    ("c$", "CAD"),
    ("r$", "BRL"),
    ("kr", "SEK"),
    ("kroner", "NOK"),
    ("canadian dollar", "CAD"),
    ("dollars canadiens", "CAD"),
    ("canadian", "CAD"),
    ("quid", "GBP"),
    ("cdn", "CAD"),
    ("zł", "PLN"),
    ("a$", "AUD"),
    ("australian dollar", "AUD"),
    ("₩", "KRW"),
    ("won", "KRW"),
    ("zloty", "PLN"),
    ("krona", "SEK"),
    ("kronor", "SEK"),
    ("real", "BRL"),
    ("reais", "BRL"),
    ("peso", "MXN"),
    ("rand", "ZAR"),
    ("lira", "TRY"),
    ("₺", "TRY"),
    ("₦", "NGN"),
    ("naira", "NGN"),
    ("ether", "ETH"),
    ("Ξ", "ETH"),
    ("bitcoin", "BTC"),
    // Chinese: `元` alone is the yuan; the longer names win over it.
    ("人民币", "CNY"),
    ("元", "CNY"),
    ("美元", "USD"),
    ("欧元", "EUR"),
    ("英镑", "GBP"),
    ("日元", "JPY"),
    ("港元", "HKD"),
    ("港币", "HKD"),
];

/// Whether a code fits the contracts' `bytes8`: 1 to 8 ASCII letters or digits.
pub fn fits_bytes8(code: &str) -> bool {
    (1..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Decimals of a code: ISO minor units for fiat, the token table, else 18.
pub fn decimals_of(code: &str) -> u8 {
    FIAT.iter()
        .chain(TOKEN_DECIMALS)
        .find(|(c, _)| *c == code)
        .map_or(18, |(_, d)| *d)
}

/// Whether `code` is a fiat currency the node knows.
pub fn is_fiat(code: &str) -> bool {
    FIAT.iter().any(|(c, _)| *c == code)
}

/// Reads the currency named in `span`; `text` is the whole text, which decides whether `¥` is
/// yen or yuan and whether `$` is a US dollar.
pub fn parse_currency(span: &str, text: &str) -> Option<Currency> {
    let code = code_in(span).or_else(|| name_in(span, text))?;
    Some(Currency {
        decimals: decimals_of(&code),
        code,
    })
}

/// An explicit code: an ISO code or a token symbol of 2 to 8 letters/digits written as a word.
fn code_in(span: &str) -> Option<String> {
    span.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| (2..=8).contains(&w.len()))
        .find_map(|word| {
            let upper = word.to_ascii_uppercase();
            let is_code = is_fiat(&upper) && word == upper;
            let is_token = decimals_of(&upper) != 18 || TOKENS.contains(&upper.as_str());
            (is_code || is_token && word.chars().any(|c| c.is_ascii_uppercase())).then_some(upper)
        })
}

/// Token symbols recognised even when only their case marks them (`eth`, `dai`).
const TOKENS: &[&str] = &[
    "ETH", "WETH", "STETH", "WSTETH", "DAI", "USDC", "USDT", "WBTC", "BTC", "FRAX", "LUSD", "GHO",
    "PYUSD", "USDE", "CRVUSD", "SOL", "MATIC", "POL", "ARB", "OP", "LINK", "UNI", "AAVE", "MKR",
    "RETH", "CBETH", "EURC", "TUSD",
];

fn name_in(span: &str, text: &str) -> Option<String> {
    let lower = span.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .map(|w| w.trim_end_matches('.'))
        .collect();
    // A one-word name in letters is a whole word, or its plural (`rs` is not in `years`, `won`
    // not in `wonderful`); symbols, phrases and CJK names are found anywhere.
    let named = |name: &str| {
        let bare = name.trim_end_matches('.');
        if bare.bytes().all(|b| b.is_ascii_lowercase()) {
            words
                .iter()
                .any(|w| *w == bare || w.strip_suffix('s').is_some_and(|stem| stem == bare))
        } else {
            lower.contains(name)
        }
    };
    // The longest name that matches: `Australian dollars` before `dollars`.
    let (_, code) = NAMES
        .iter()
        .filter(|(name, _)| named(name))
        .max_by_key(|(name, _)| name.len())?;
    let whole = text.to_lowercase();
    let code = match *code {
        "JPY"
            if ["cny", "rmb", "yuan", "renminbi", "人民币"]
                .iter()
                .any(|w| whole.contains(w)) =>
        {
            "CNY"
        }
        // `kr` is the Swedish, Norwegian or Danish crown: the text says which.
        "SEK" | "NOK"
            if [
                "dkk",
                "danish",
                "denmark",
                "danmark",
                "dansk",
                "danske",
                "københavn",
                "copenhagen",
            ]
            .iter()
            .any(|w| whole.contains(w)) =>
        {
            "DKK"
        }
        "SEK"
            if ["nok", "norw", "norge", "norsk"]
                .iter()
                .any(|w| whole.contains(w)) =>
        {
            "NOK"
        }
        other => other,
    };
    Some(code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(span: &str) -> String {
        parse_currency(span, span)
            .unwrap_or_else(|| panic!("no currency in {span:?}"))
            .code
    }

    #[test]
    fn codes_symbols_and_words() {
        assert_eq!(code("USD"), "USD");
        assert_eq!(code("$"), "USD");
        assert_eq!(code("US dollars"), "USD");
        assert_eq!(code("€"), "EUR");
        assert_eq!(code("euros"), "EUR");
        assert_eq!(code("£"), "GBP");
        assert_eq!(code("pounds sterling"), "GBP");
        assert_eq!(code("CHF"), "CHF");
        assert_eq!(code("Australian dollars"), "AUD");
        assert_eq!(code("Canadian dollars"), "CAD");
        assert_eq!(code("INR"), "INR");
        assert_eq!(code("USDC"), "USDC");
        assert_eq!(code("wBTC"), "WBTC");
        assert_eq!(code("ETH"), "ETH");
        assert_eq!(code("¥"), "JPY");
        assert_eq!(
            parse_currency("¥", "a loan of ¥500,000 (RMB)")
                .unwrap()
                .code,
            "CNY"
        );
        assert!(parse_currency("the", "the").is_none());
        assert_eq!(code("Rs."), "INR");
        assert_eq!(code("R$"), "BRL");
        assert_eq!(code("CDN"), "CAD");
        assert_eq!(code("dollars canadiens"), "CAD");
        assert_eq!(code("zł"), "PLN");
        assert_eq!(code("kr"), "SEK");
        assert_eq!(
            parse_currency("kr", "Lån i Norge: 250 000 kr")
                .unwrap()
                .code,
            "NOK"
        );
        assert_eq!(code("Rs 12,50,000"), "INR");
        assert_eq!(code("300万円"), "JPY");
        assert_eq!(code("人民币"), "CNY");
        for not_a_currency in ["years", "wonderful", "Grand", "really", "pounding"] {
            assert!(
                parse_currency(not_a_currency, "").is_none(),
                "{not_a_currency}"
            );
        }
    }

    #[test]
    fn decimals_follow_the_spec() {
        assert_eq!(decimals_of("USD"), 2);
        assert_eq!(decimals_of("JPY"), 0);
        assert_eq!(decimals_of("USDC"), 6);
        assert_eq!(decimals_of("USDT"), 6);
        assert_eq!(decimals_of("WBTC"), 8);
        assert_eq!(decimals_of("ETH"), 18);
        assert_eq!(decimals_of("DAI"), 18);
        assert_eq!(decimals_of("SOMETOKEN"), 18);
    }
}
