#!/usr/bin/env python3
"""Write crates/core/tests/data/fraud_eval.json: labelled synthetic orders for evaluating fraud
screening (issue 6, item 4). Python 3 standard library only; a fixed seed makes the file
reproducible:

    python3 scripts/gen_fraud_eval.py

Each record is {"id", "label": "fraud" | "legit", "pattern", "input"} where input is a
storefort_core::fraud::RiskInput as JSON.

The shop sells dog-grooming kit: most items cost 5-120 pounds, the top tenth of prices starts
at 300-450 pounds (the "Dog Polisher" range), a typical order is 40-80 pounds.

Fraud patterns follow the seed's advice and common card-not-present fraud; legitimate patterns
are the look-alikes a rule of thumb gets wrong. Neither side is clean: some fraud is careful
(matching names, one address, checks passing, an old account taken over) and some honest
shoppers trip signals (a mistyped postcode fails the AVS check, a privacy-minded shopper uses a
throwaway address, a couple share one card, someone on holiday orders from abroad).
"""

import json
import pathlib
import random

SEED = 20240606
OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/core/tests/data/fraud_eval.json"

rng = random.Random(SEED)

CHEAP = [("BRUSH-S", 899), ("SHAMPOO", 1250), ("TOWEL", 1599), ("COMB", 650), ("TREATS", 499)]
MID = [("CLIPPER", 6999), ("DRYER", 11999), ("BATH-MAT", 3499), ("GROOM-TABLE", 8999)]
EXPENSIVE = [("POLISHER-XL", 45000), ("POLISHER-PRO", 38000), ("GROOM-STATION", 32000)]

FIRST = ["Jane", "John", "Amira", "Tom", "Priya", "Lukas", "Chloe", "Marek", "Sofia", "Ben",
         "Aisha", "Oliver", "Emma", "Noah", "Zara", "Liam", "Isla", "Jack", "Maya", "Leo"]
LAST = ["Smith", "Jones", "Khan", "Brown", "Patel", "Schmidt", "Martin", "Nowak", "Rossi",
        "Taylor", "Wilson", "Evans", "Walsh", "Murphy", "Hughes", "Clarke", "Lewis", "Hall"]
TITLES = ["", "", "", "Mr ", "Mrs ", "Ms ", "Dr "]

STREETS = {
    "GB": (["High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue",
            "Victoria Street", "Queens Road", "Green Lane"],
           [("London", "SW1A {d}AA"), ("Manchester", "M{d} 2AB"), ("Leeds", "LS{d} 4QT"),
            ("Bristol", "BS{d} 6XY"), ("Glasgow", "G{d} 3RS")]),
    "US": (["Main Street", "Oak Avenue", "Maple Drive", "Elm Street", "Sunset Boulevard"],
           [("Springfield", "6270{d}"), ("Austin", "7870{d}"), ("Denver", "8020{d}"),
            ("Miami", "3310{d}")]),
    "FR": (["Rue de Rivoli", "Avenue Victor Hugo", "Rue de la Paix", "Boulevard Voltaire"],
           [("Paris", "7500{d}"), ("Lyon", "6900{d}"), ("Lille", "5900{d}")]),
    "DE": (["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße"],
           [("Berlin", "1011{d}"), ("Hamburg", "2009{d}"), ("München", "8033{d}")]),
    "IE": (["Main Street", "Church Road", "Strand Road"],
           [("Dublin", "D0{d} X2Y3"), ("Cork", "T1{d} AB12")]),
    "ES": (["Calle Mayor", "Avenida del Mar"], [("Madrid", "2801{d}"), ("Málaga", "2900{d}")]),
    "NG": (["Allen Avenue", "Awolowo Road"], [("Lagos", "10{d}001")]),
    "RU": (["Tverskaya Ulitsa", "Arbat"], [("Moscow", "12500{d}")]),
}

# Phone numbers valid for libphonenumber, by country: prefix + random digits.
PHONES = {"GB": ("+44207946", 4), "US": ("+120255501", 2), "FR": ("+3314", 7),
          "DE": ("+49302", 7), "IE": ("+3531", 7), "ES": ("+3491", 7),
          "NG": ("+234803", 7), "RU": ("+7495", 7), "CN": ("+8610", 8),
          "BR": ("+55119", 8), "IN": ("+9198", 8)}
BAD_PHONES = ["+44123", "+15550100", "+999123456", "+4400000000000"]

MAIL = ["gmail.com", "outlook.com", "icloud.com", "yahoo.co.uk", "btinternet.com",
        "hotmail.com", "proton.me", "gmx.de"]
THROWAWAY = ["mailinator.com", "guerrillamail.com", "10minutemail.com", "yopmail.com",
             "sharklasers.com", "trashmail.com", "getnada.com", "dispostable.com"]
WORK = ["acme-kennels.co.uk", "happypaws-vets.com", "groomco.de", "citydogs.fr"]


def pick(seq):
    return rng.choice(seq)


def chance(p):
    return rng.random() < p


def name(title_ok=True):
    t = pick(TITLES) if title_ok else ""
    return f"{t}{pick(FIRST)} {pick(LAST)}"


def address(country, who=None):
    streets, cities = STREETS[country]
    city, pc = pick(cities)
    line2 = pick(["", "", "", f"Flat {rng.randint(1, 30)}", f"Apt {rng.randint(1, 30)}"])
    return {
        "name": who or name(),
        "line1": f"{rng.randint(1, 220)} {pick(streets)}",
        "line2": line2,
        "city": city,
        "region": "",
        "postcode": pc.format(d=rng.randint(1, 9)),
        "country": country,
    }


def respelt(a):
    """The same place typed differently (case, abbreviations, postcode spacing)."""
    b = dict(a)
    b["line1"] = a["line1"].replace("Street", "St.").replace("Road", "Rd").replace("Avenue", "Ave")
    if chance(0.5):
        b["line1"] = b["line1"].lower()
    b["postcode"] = a["postcode"].replace(" ", "").lower() if chance(0.5) else a["postcode"]
    if chance(0.5):
        b["name"] = a["name"].upper()
    return b


def phone(country):
    if country not in PHONES:
        return pick(BAD_PHONES)
    prefix, n = PHONES[country]
    return prefix + "".join(str(rng.randint(0, 9)) for _ in range(n))


def email(who, domain=None):
    first, last = who.split()[-2:]
    return f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@{domain or pick(MAIL)}"


def lines(kind):
    """Order lines: 'small', 'normal', 'big' (one or two dear items), 'bulk' (many dear units),
    'bulk_cheap' (many cheap units)."""
    if kind == "small":
        out = [(s, p, rng.randint(1, 2)) for s, p in rng.sample(CHEAP, rng.randint(1, 2))]
    elif kind == "normal":
        out = [(s, p, 1) for s, p in rng.sample(CHEAP + MID, rng.randint(1, 3))]
    elif kind == "big":
        out = [(s, p, rng.randint(1, 2)) for s, p in rng.sample(EXPENSIVE, rng.randint(1, 2))]
        out += [(s, p, 1) for s, p in rng.sample(MID, rng.randint(0, 2))]
    elif kind == "bulk":
        s, p = pick(EXPENSIVE[:2]) if chance(0.7) else pick(EXPENSIVE)
        out = [(s, p, rng.randint(6, 20))]
    else:
        out = [(s, p, rng.randint(10, 40)) for s, p in rng.sample(CHEAP + MID, 2)]
    return [{"sku": s, "unit_price_minor": p, "quantity": q} for s, p, q in out]


def order(country="GB", kind="normal", who=None, **over):
    who = who or name()
    bill = address(country, who)
    ls = lines(kind)
    total = sum(l["unit_price_minor"] * l["quantity"] for l in ls) + pick([0, 399, 599])
    base = {
        "total_minor": total,
        "currency": "GBP",
        "channel": "web",
        "lines": ls,
        "email": email(who),
        "phone": phone(country),
        "billing": bill,
        "shipping": respelt(bill) if chance(0.3) else dict(bill),
        "checks": {"cvc": "pass", "postcode": pick(["pass"] * 9 + ["unavailable"]),
                   "three_d_secure": pick(["not_checked", "not_checked", "pass", "unavailable"])},
        "ip_country": country if chance(0.8) else None,
        "history": {"orders": 0, "paid_orders": 0, "refunded_orders": 0},
        "velocity": {"orders": 1, "failed_payments": 0, "distinct_cards": 1,
                     "distinct_addresses": 1},
        "shop": {"typical_order_minor": rng.choice([4500, 5500, 6500, 8000]),
                 "expensive_price_minor": 32000},
    }
    base.update(over)
    return base


def returning(o, loyal=True):
    n = rng.randint(2, 25) if loyal else rng.randint(1, 3)
    paid = n if loyal else max(0, n - 1)
    o["history"] = {"orders": n, "paid_orders": paid if loyal else min(paid, 1),
                    "refunded_orders": 0 if loyal else rng.randint(0, 1)}
    return o


def honest_noise(o):
    """Things that happen to honest shoppers now and then."""
    if chance(0.06):
        o["checks"]["postcode"] = "fail"  # moved house, bank has the old postcode
    if chance(0.05):
        o["velocity"]["failed_payments"] = rng.randint(1, 2)  # typo in the card number
        o["velocity"]["orders"] = 2
    if chance(0.04):
        o["velocity"]["distinct_cards"] = 2
    if chance(0.05):
        o["phone"] = phone(pick(["IN", "CN", "BR", "ES", "US"]))  # living here, phone from home
    return o


# ---------------------------------------------------------------- fraud patterns

def f_big_different_address():
    o = order(kind=pick(["big", "big", "bulk"]))
    o["shipping"] = address(pick(["GB"] * 3 + ["FR", "NG", "DE"]))
    if chance(0.25):
        o["shipping"]["name"] = o["billing"]["name"]  # careful fraudster
    if chance(0.3):
        o["ip_country"] = pick(["NG", "RU", "CN", None])
    return o


def f_expensive_quantity():
    o = order(kind="bulk")
    if chance(0.6):
        o["shipping"] = address("GB")
    if chance(0.2):
        o["email"] = email(o["billing"]["name"], pick(THROWAWAY))
    return o


def f_card_testing():
    o = order(kind=pick(["small", "small", "normal", "big"]))
    o["velocity"] = {"orders": rng.randint(2, 12), "failed_payments": rng.randint(3, 25),
                     "distinct_cards": rng.randint(2, 9), "distinct_addresses": rng.randint(1, 4)}
    if chance(0.4):
        o["checks"]["cvc"] = pick(["fail", "unavailable"])
    if chance(0.3):
        o["ip_country"] = pick(["RU", "CN", "BR", "US"])
    return o


def f_throwaway_email():
    o = order(kind=pick(["normal", "big", "big"]))
    o["email"] = email(o["billing"]["name"], pick(THROWAWAY))
    if chance(0.5):
        o["shipping"] = address(pick(["GB", "GB", "IE"]))
    if chance(0.4):
        o["ip_country"] = pick(["RU", "NG", "IN"])
    return o


def f_country_mismatch():
    o = order(kind=pick(["normal", "big"]))
    o["ip_country"] = pick(["NG", "RU", "CN", "BR", "IN"])
    if chance(0.7):
        o["phone"] = phone(pick(["NG", "RU", "CN", "BR", "IN"]))
    if chance(0.2):
        o["phone"] = pick(BAD_PHONES)
    if chance(0.4):
        o["shipping"] = address(pick(["GB", "NG"]))
    return o


def f_failed_checks():
    o = order(kind=pick(["normal", "big"]))
    o["checks"] = {"cvc": pick(["fail", "fail", "pass"]), "postcode": pick(["fail", "pass"]),
                   "three_d_secure": pick(["fail", "not_checked", "unavailable"])}
    if o["checks"]["cvc"] == "pass" and o["checks"]["three_d_secure"] != "fail":
        o["checks"]["postcode"] = "fail"
    return o


def f_new_customer_big():
    o = order(kind="big")
    if chance(0.5):
        o["shipping"] = address("GB", o["billing"]["name"])
    if chance(0.3):
        o["velocity"]["orders"] = rng.randint(2, 4)
        o["velocity"]["failed_payments"] = rng.randint(1, 3)
    return o


def f_account_takeover():
    """A real customer's account or card details, used by someone else: history looks good,
    the delivery address is new. The hardest kind; most of it is expected to slip through."""
    o = returning(order(kind=pick(["normal", "big", "big"])), loyal=chance(0.6))
    o["shipping"] = address("GB")
    if chance(0.4):
        o["ip_country"] = pick(["RU", "NG", None])
    if chance(0.3):
        o["checks"]["cvc"] = "fail"
    return o


# ---------------------------------------------------------------- legitimate patterns

def l_gift():
    who = name()
    o = honest_noise(order(kind=pick(["small", "normal", "normal", "big"]), who=who))
    o["shipping"] = address(pick(["GB"] * 4 + ["IE", "FR", "US"]))
    if chance(0.5):
        returning(o, loyal=chance(0.6))
    return o


def l_loyal_repeat():
    o = returning(honest_noise(order(kind=pick(["normal", "big", "big", "bulk", "bulk_cheap"]))))
    if chance(0.3):
        o["shipping"] = address("GB", o["billing"]["name"])  # the office, or a new house
    elif chance(0.15):
        o["shipping"] = address("GB")  # a present
    if chance(0.1):
        o["ip_country"] = pick(["ES", "FR", "US"])  # ordering from holiday
    return o


def l_business():
    o = honest_noise(order(kind=pick(["bulk", "bulk", "bulk_cheap"])))
    company = pick(WORK)
    o["email"] = email(o["billing"]["name"], company)
    office = address(pick(["GB", "GB", "GB", "DE", "FR"]) if chance(0.2) else "GB")
    office["name"] = pick(["Reception", "Goods In", "Accounts Payable", name()])
    o["shipping"] = office
    if chance(0.5):
        returning(o, loyal=chance(0.5))
    if chance(0.3):
        o["velocity"]["distinct_cards"] = 2  # company card and personal card
    return o


def l_holiday_abroad():
    o = honest_noise(order(kind=pick(["small", "normal", "normal", "big"])))
    o["ip_country"] = pick(["ES", "FR", "US", "DE", "IE"])
    if chance(0.3):
        o["shipping"] = address(o["ip_country"] if o["ip_country"] in STREETS else "ES",
                                o["billing"]["name"])
    if chance(0.5):
        returning(o, loyal=chance(0.5))
    return o


def l_first_small():
    o = honest_noise(order(kind=pick(["small", "small", "normal"])))
    if chance(0.25):
        o["shipping"] = address("GB")
    if chance(0.08):
        o["email"] = email(o["billing"]["name"], pick(THROWAWAY))  # privacy-minded
    if chance(0.1):
        o["ip_country"] = pick(["US", "FR"])
    return o


def l_big_first_order():
    """A new customer buying the dear kit for themselves, delivered home."""
    o = honest_noise(order(kind=pick(["big", "big", "normal"])))
    if chance(0.15):
        o["shipping"] = address("GB", o["billing"]["name"])  # sent to work
    return o


PATTERNS = [
    ("fraud", "big_different_address", f_big_different_address, 22),
    ("fraud", "expensive_quantity", f_expensive_quantity, 18),
    ("fraud", "card_testing", f_card_testing, 18),
    ("fraud", "throwaway_email", f_throwaway_email, 16),
    ("fraud", "country_mismatch", f_country_mismatch, 16),
    ("fraud", "failed_checks", f_failed_checks, 16),
    ("fraud", "new_customer_big", f_new_customer_big, 16),
    ("fraud", "account_takeover", f_account_takeover, 10),
    ("legit", "gift", l_gift, 26),
    ("legit", "loyal_repeat", l_loyal_repeat, 26),
    ("legit", "business", l_business, 20),
    ("legit", "holiday_abroad", l_holiday_abroad, 20),
    ("legit", "first_small", l_first_small, 26),
    ("legit", "big_first_order", l_big_first_order, 16),
]


def main():
    records = []
    for label, pattern, make, count in PATTERNS:
        for i in range(count):
            records.append({"id": f"{pattern}-{i + 1:03}", "label": label, "pattern": pattern,
                            "input": make()})
    rng.shuffle(records)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # One order per line: small diffs when the generator changes, easy to grep.
    body = ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records)
    OUT.write_text("[\n" + body + "\n]\n", encoding="utf-8")
    fraud = sum(r["label"] == "fraud" for r in records)
    print(f"wrote {len(records)} orders ({fraud} fraud) to {OUT}")


if __name__ == "__main__":
    main()
