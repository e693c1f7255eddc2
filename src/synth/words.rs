//! Numbers written out in English words, for generated texts.

use crate::extract::numbers::{TENS, UNITS};

/// `45000` → `forty-five thousand`; `and_style` writes `two hundred and fifty`.
pub fn to_words(n: u64, and_style: bool) -> String {
    if n == 0 {
        return UNITS[0].to_owned();
    }
    let mut parts = Vec::new();
    let mut rest = n;
    for (scale, name) in [
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
        (1_000, "thousand"),
    ] {
        if rest >= scale {
            parts.push(format!(
                "{} {name}",
                below_thousand(rest / scale, and_style)
            ));
            rest %= scale;
        }
    }
    if rest > 0 {
        parts.push(below_thousand(rest, and_style));
    }
    parts.join(" ")
}

fn below_thousand(n: u64, and_style: bool) -> String {
    let (hundreds, rest) = (n / 100, n % 100);
    let tail = match rest {
        0 => String::new(),
        r if r < 20 => UNITS[r as usize].to_owned(),
        r if r % 10 == 0 => TENS[(r / 10 - 2) as usize].to_owned(),
        r => format!(
            "{}-{}",
            TENS[(r / 10 - 2) as usize],
            UNITS[(r % 10) as usize]
        ),
    };
    match (hundreds, tail.is_empty()) {
        (0, _) => tail,
        (h, true) => format!("{} hundred", UNITS[h as usize]),
        (h, false) if and_style => format!("{} hundred and {tail}", UNITS[h as usize]),
        (h, false) => format!("{} hundred {tail}", UNITS[h as usize]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::numbers::parse_words;

    #[test]
    fn words_round_trip_through_the_parser() {
        for n in [
            1, 7, 15, 36, 45, 100, 250, 1_080, 45_000, 180_000, 250_000, 1_250_000, 40_000_000,
        ] {
            for and_style in [false, true] {
                let words = to_words(n, and_style);
                assert_eq!(parse_words(&words), Some(n.into()), "{words}");
            }
        }
        assert_eq!(to_words(250_000, true), "two hundred and fifty thousand");
        assert_eq!(to_words(45_000, false), "forty-five thousand");
    }
}
