//! Distinctive personal data: customers, saved addresses, orders, TOTP seeds and a secret, and
//! the list of every string that must never reach the database in readable form.

use storefort_core::customer::{
    normalize_email, normalize_phone, Address, Customer, NewCustomer, NewOrder, OrderRecord,
};
use storefort_store::Db;

/// Clear-text positive control: staff emails are not personal data of customers and are stored
/// as they are, so the scanner must find this one.
pub const STAFF_EMAIL: &str = "control.owner.5150@staff-positive-control.test";
/// A setting stored in clear (second positive control).
pub const SETTING_VALUE: &str = "Positive-Control-Setting-Tangerine-8812";
/// The sealed secret's name and value.
pub const SECRET: (&str, &str) = ("smtp.password", "Hunter2-Smtp-Pa55word-Gorgonzola");

/// What was written, as the store returned it.
pub struct Seeded {
    /// Customers with their saved addresses.
    pub customers: Vec<Customer>,
    /// One order per customer.
    pub orders: Vec<OrderRecord>,
    /// (staff user id, seed): the first confirmed (`totp_secret`), the second pending.
    pub seeds: Vec<(String, String)>,
    /// (label, value) of every personal or secret string written.
    pub sensitive: Vec<(String, String)>,
}

#[allow(clippy::too_many_arguments)]
fn addr(
    name: &str,
    line1: &str,
    line2: &str,
    city: &str,
    region: &str,
    postcode: &str,
    country: &str,
) -> Address {
    Address {
        name: name.into(),
        line1: line1.into(),
        line2: line2.into(),
        city: city.into(),
        region: region.into(),
        postcode: postcode.into(),
        country: country.into(),
    }
}

struct Person {
    customer: NewCustomer,
    addresses: Vec<Address>,
    order_email: &'static str,
    order_phone: &'static str,
    billing: Address,
    shipping: Option<Address>,
}

fn person(name: &str, email: &str, phone: &str, note: &str) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        email: email.into(),
        phone: phone.into(),
        marketing_consent: true,
        note: note.into(),
    }
}

fn people() -> Vec<Person> {
    let zeb_home = addr(
        "Zebulon Quixotic-Fairweather",
        "17 Periwinkle Crescent",
        "Flat 4B Marmalade House",
        "Little Snoddington",
        "Wexcombeshire",
        "ZX9 7QJ",
        "GB",
    );
    let zeb_work = addr(
        "Z. Quixotic-Fairweather",
        "Unit 9 Gasholder Yard Works",
        "",
        "Brimblecombe Regis",
        "",
        "QB4 2XW",
        "GB",
    );
    let zoe_home = addr(
        "Zoë Þórhallsdóttir-Wibberley",
        "Skólavörðustígur 44 bakhús",
        "",
        "Reykjavíkurbær-Ytri",
        "",
        "IS-1017",
        "IS",
    );
    let bart_home = addr(
        "Bartholomew Xanthippe-Quorn",
        "3 Gullveig Mews",
        "Basement Flat Cobbleditch",
        "Nether Wallop-Marsh",
        "Hampshire Downs",
        "SO20 8QX",
        "GB",
    );
    let olu_home = addr(
        "Oluwaseun Kettleborough",
        "221 Threadneedle Gardens",
        "",
        "Upper Ditherington",
        "Salopshire Marches",
        "SY9 4WQ",
        "GB",
    );
    vec![
        Person {
            customer: person(
                "Zebulon Quixotic-Fairweather",
                "Zebulon.Q7731@Example-Vault-Test.org",
                "+44 20 7946 0123",
                "prefers the blue gift wrap",
            ),
            addresses: vec![zeb_home.clone(), zeb_work],
            order_email: "zeb.orders.4471@example-vault-test.org",
            order_phone: "+44 7700 900461",
            billing: zeb_home,
            shipping: Some(addr(
                "Hesketh-Plimsoll Antiques",
                "88 Quayside Rookery",
                "Loading Bay Wimbourne",
                "Port Fennimore",
                "",
                "PF7 3ZK",
                "GB",
            )),
        },
        Person {
            customer: person(
                "Zoë Þórhallsdóttir-Wibberley",
                "zoe.thorhalls9042@example-vault-test.org",
                "+354 555 8812",
                "allergic to lavender packing peanuts",
            ),
            addresses: vec![zoe_home.clone()],
            order_email: "zoe.thorhalls9042@example-vault-test.org",
            order_phone: "",
            billing: zoe_home,
            shipping: None,
        },
        Person {
            customer: person(
                "Bartholomew Xanthippe-Quorn",
                "b.xquorn.5518@example-vault-test.org",
                "(0161) 496-0777",
                "ring the bell twice, the dog is called Pemberton",
            ),
            addresses: vec![bart_home.clone()],
            order_email: "b.xquorn.5518@example-vault-test.org",
            order_phone: "(0161) 496-0777",
            billing: bart_home.clone(),
            shipping: Some(bart_home),
        },
        Person {
            customer: person(
                "Mireille Vantongerloo-Sprague",
                "mireille.vs.6604@example-vault-test.org",
                "+33 1 99 00 43 21",
                "",
            ),
            addresses: Vec::new(),
            order_email: "mireille.vs.6604@example-vault-test.org",
            order_phone: "+33 1 99 00 43 21",
            billing: addr(
                "Mireille Vantongerloo-Sprague",
                "12 Rue des Quatre-Vents-Perdus",
                "",
                "Saint-Ouen-les-Trembleurs",
                "",
                "93499",
                "FR",
            ),
            shipping: None,
        },
        Person {
            customer: person(
                "Oluwaseun Kettleborough",
                "o.kettleborough.3390@example-vault-test.org",
                "",
                "VIP: leave parcels with concierge Ignatius Mbeki-Lowe",
            ),
            addresses: vec![olu_home.clone()],
            order_email: "o.kettleborough.3390@example-vault-test.org",
            order_phone: "",
            billing: olu_home.clone(),
            shipping: Some(olu_home),
        },
    ]
}

fn add(out: &mut Vec<(String, String)>, label: &str, value: &str) {
    let v = value.trim();
    if !v.is_empty() && !out.iter().any(|(_, x)| x == v) {
        out.push((label.to_string(), v.to_string()));
    }
}

fn add_phone(out: &mut Vec<(String, String)>, label: &str, phone: &str) {
    add(out, label, phone);
    let digits = normalize_phone(phone).trim_start_matches('+').to_string();
    add(out, &format!("{label} (digits)"), &digits);
}

fn add_address(out: &mut Vec<(String, String)>, label: &str, a: &Address) {
    for (field, v) in [
        ("name", &a.name),
        ("line1", &a.line1),
        ("line2", &a.line2),
        ("city", &a.city),
        ("region", &a.region),
        ("postcode", &a.postcode),
    ] {
        add(out, &format!("{label}.{field}"), v);
    }
}

/// Write the distinctive data set: customers, addresses, orders, two staff users' TOTP seeds,
/// a sealed secret, plus the clear-text positive controls.
pub async fn seed(db: &Db) -> Seeded {
    let mut sensitive = Vec::new();
    let mut customers = Vec::new();
    let mut orders = Vec::new();
    for (i, p) in people().into_iter().enumerate() {
        let who = format!("customer {i}");
        let c = &p.customer;
        let created = db
            .create_customer(c, Some("$argon2id$shopper"))
            .await
            .unwrap();
        for (n, a) in p.addresses.iter().enumerate() {
            let label = if n == 0 { "Home" } else { "Work" };
            db.add_address(&created.id, label, a).await.unwrap();
            add_address(&mut sensitive, &format!("{who} address {n}"), a);
        }
        add(&mut sensitive, &format!("{who} name"), &c.name);
        add(&mut sensitive, &format!("{who} email"), &c.email);
        add(
            &mut sensitive,
            &format!("{who} email (normalized)"),
            &normalize_email(&c.email),
        );
        add_phone(&mut sensitive, &format!("{who} phone"), &c.phone);
        add(&mut sensitive, &format!("{who} note"), &c.note);
        let order = db
            .create_order(&NewOrder {
                customer_id: created.id.clone(),
                status: "pending_payment".into(),
                currency: "GBP".into(),
                total_minor: 1999 + i as i64,
                email: p.order_email.into(),
                phone: p.order_phone.into(),
                billing: p.billing.clone(),
                shipping: p.shipping.clone(),
            })
            .await
            .unwrap();
        add(&mut sensitive, &format!("{who} order email"), p.order_email);
        add_phone(&mut sensitive, &format!("{who} order phone"), p.order_phone);
        add_address(&mut sensitive, &format!("{who} billing"), &p.billing);
        if let Some(s) = &p.shipping {
            add_address(&mut sensitive, &format!("{who} shipping"), s);
        }
        orders.push(order);
        customers.push(db.customer(&created.id).await.unwrap());
    }
    let mut seeds = Vec::new();
    for (n, email) in [
        STAFF_EMAIL,
        "second.manager.5151@staff-positive-control.test",
    ]
    .into_iter()
    .enumerate()
    {
        let id = db
            .create_user(email, "Olive Control", "owner", "$argon2id$staff", 4)
            .await
            .unwrap()
            .id
            .0;
        let seed = db.begin_mfa_enrolment(&id).await.unwrap();
        if n == 0 {
            db.confirm_mfa(&id, 1, &[]).await.unwrap();
        }
        add(&mut sensitive, &format!("staff {n} TOTP seed"), &seed);
        seeds.push((id, seed));
    }
    db.set_secret(SECRET.0, SECRET.1).await.unwrap();
    add(&mut sensitive, "secret smtp.password", SECRET.1);
    db.set_setting("shop.motto", SETTING_VALUE).await.unwrap();
    Seeded {
        customers,
        orders,
        seeds,
        sensitive,
    }
}

/// Everything written by [`seed`] reads back unchanged through `db`.
pub async fn assert_reads_back(db: &Db, s: &Seeded, engine: &str) {
    for want in &s.customers {
        let got = db.customer(&want.id).await.unwrap();
        assert_eq!(
            (&got.name, &got.email, &got.phone, &got.note, &got.addresses),
            (
                &want.name,
                &want.email,
                &want.phone,
                &want.note,
                &want.addresses
            ),
            "customer {} ({engine})",
            want.id.0
        );
        assert!(got.erased_at.is_none());
    }
    for want in &s.orders {
        let got = db.order_record(&want.id).await.unwrap();
        assert_eq!(&got, want, "order {} ({engine})", want.number);
    }
    let (confirmed, pending) = (&s.seeds[0], &s.seeds[1]);
    assert_eq!(
        db.mfa_secret(&confirmed.0).await.unwrap().as_ref(),
        Some(&confirmed.1)
    );
    assert_eq!(
        db.pending_mfa_secret(&pending.0).await.unwrap().as_ref(),
        Some(&pending.1)
    );
    assert_eq!(
        db.secret(SECRET.0).await.unwrap().as_deref(),
        Some(SECRET.1)
    );
}
