//! Comparing addresses and names the way a person would: "10 High Street" and "10 high st." are
//! the same place, "Mr John Smith" and "john smith" the same person.
//!
//! Normalizing: lower case, common accents folded (é -> e, ß -> ss), punctuation and extra
//! spaces dropped, street words shortened to one form (street -> st), postcodes without spaces.

use super::super::customer::Address;

/// Street words and their one short form. Both the long and the short form map to the short one.
const STREET_WORDS: &[(&str, &str)] = &[
    ("street", "st"),
    ("road", "rd"),
    ("avenue", "ave"),
    ("av", "ave"),
    ("boulevard", "blvd"),
    ("drive", "dr"),
    ("lane", "ln"),
    ("court", "ct"),
    ("place", "pl"),
    ("square", "sq"),
    ("terrace", "ter"),
    ("crescent", "cres"),
    ("close", "cl"),
    ("gardens", "gdns"),
    ("highway", "hwy"),
    ("parkway", "pkwy"),
    ("mount", "mt"),
    ("apartment", "apt"),
    ("suite", "ste"),
    ("building", "bldg"),
    ("floor", "fl"),
    ("north", "n"),
    ("south", "s"),
    ("east", "e"),
    ("west", "w"),
    ("number", "no"),
    ("strasse", "str"),
];

/// Titles left out when comparing names.
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lady", "lord", "rev", "herr",
    "frau", "mme", "mlle", "m", "sr", "sra", "srta", "dott",
];

/// Do two addresses name the same place? Country, postcode and street (both lines) must match
/// after normalizing; the city counts only where neither address has a postcode.
pub fn same_address(a: &Address, b: &Address) -> bool {
    Parts::of(a) == Parts::of(b)
}

/// The normalized address, for counting distinct delivery addresses: equal for any two
/// addresses [`same_address`] calls the same. Contains personal data: hash it before storing.
pub fn address_key(a: &Address) -> String {
    let p = Parts::of(a);
    format!("{}|{}|{}|{}", p.country, p.postcode, p.street, p.city)
}

/// Which parts differ, in this order: `country`, `postcode`, `street`, `city` (for the reason
/// sentence and for highlighting on the review page). Empty when the addresses are the same
/// place and spelt alike; `city` alone may appear when [`same_address`] is still true (a city
/// spelt differently within the same postcode).
pub fn address_differences(a: &Address, b: &Address) -> Vec<&'static str> {
    let (pa, pb) = (Parts::of(a), Parts::of(b));
    let mut out = Vec::new();
    if pa.country != pb.country {
        out.push("country");
    }
    if pa.postcode != pb.postcode {
        out.push("postcode");
    }
    if pa.street != pb.street {
        out.push("street");
    }
    if normalize_words(&a.city, false) != normalize_words(&b.city, false) {
        out.push("city");
    }
    out
}

/// Are two names the same person's? Case, common accents, punctuation, spacing, word order and
/// titles (Mr, Mrs, Dr ...) do not matter: "Mr John Smith" = "smith, john".
pub fn same_name(a: &str, b: &str) -> bool {
    name_key(a) == name_key(b)
}

/// The sorted words of a name without titles.
fn name_key(name: &str) -> Vec<String> {
    let mut words: Vec<String> = words(name)
        .into_iter()
        .filter(|w| !TITLES.contains(&w.as_str()))
        .collect();
    words.sort_unstable();
    words
}

/// The normalized parts of an address that decide whether it is the same place.
#[derive(Debug, PartialEq, Eq)]
struct Parts {
    country: String,
    postcode: String,
    street: String,
    /// Only filled when there is no postcode (the city then tells places apart).
    city: String,
}

impl Parts {
    fn of(a: &Address) -> Parts {
        let country = a.country.trim().to_ascii_uppercase();
        let postcode = postcode(&country, &a.postcode);
        let mut lines = [
            normalize_words(&a.line1, true),
            normalize_words(&a.line2, true),
        ];
        // The same two lines typed the other way round are the same place.
        lines.sort_unstable();
        let street = lines
            .iter()
            .filter(|l| !l.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" / ");
        let city = if postcode.is_empty() {
            normalize_words(&a.city, false)
        } else {
            String::new()
        };
        Parts {
            country,
            postcode,
            street,
            city,
        }
    }
}

/// Upper case, letters and digits only; a US ZIP+4 keeps its five-digit ZIP.
fn postcode(country: &str, raw: &str) -> String {
    let mut p: String = raw
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect();
    if country == "US" && p.len() > 5 && p.bytes().all(|b| b.is_ascii_digit()) {
        p.truncate(5);
    }
    p
}

/// Words joined by single spaces; street words shortened when `street`.
fn normalize_words(s: &str, street: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for w in words(s) {
        if !out.is_empty() {
            out.push(' ');
        }
        if street {
            out.push_str(&street_word(&w));
        } else {
            out.push_str(&w);
        }
    }
    out
}

/// The short form of a street word; `hauptstrasse` becomes `hauptstr`.
fn street_word(w: &str) -> String {
    if let Some(&(_, short)) = STREET_WORDS
        .iter()
        .find(|(long, short)| *long == w || *short == w)
    {
        return short.to_string();
    }
    match w.strip_suffix("strasse") {
        Some(stem) if !stem.is_empty() => format!("{stem}str"),
        _ => w.to_string(),
    }
}

/// Lower-case words with accents folded; anything not a letter or digit separates words.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                push_folded(&mut cur, l);
            }
        } else if c == '\'' || c == '\u{2019}' {
            // O'Brien = OBrien.
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Push `c` (lower case) with its accent dropped, for the Latin letters shops meet most.
fn push_folded(out: &mut String, c: char) {
    let plain = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' | 'đ' | 'ð' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ĥ' | 'ħ' => 'h',
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ĵ' => 'j',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => 's',
        'ţ' | 'ť' | 'ŧ' | 'ț' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ŵ' => 'w',
        'ý' | 'ÿ' | 'ŷ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        'ß' => return out.push_str("ss"),
        'æ' => return out.push_str("ae"),
        'œ' => return out.push_str("oe"),
        'þ' => return out.push_str("th"),
        other => other,
    };
    out.push(plain);
}
