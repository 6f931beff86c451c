//! `tandem phone add|list|revoke`: phones on the home network.

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use serde_json::json;
use tandem_protocol::api::{NewPhone, PhoneAdded};

use super::Ctx;
use crate::api;
use crate::args::PhoneCommand;
use crate::safe;
use crate::show::{self, say};

/// Runs one phone command.
pub fn run(ctx: &Ctx, command: PhoneCommand) -> anyhow::Result<()> {
    match command {
        PhoneCommand::Add { name } => {
            let added = api::add_phone(&ctx.client, &NewPhone { name })?;
            if ctx.json {
                show::json(&added);
            } else {
                print_added(&added);
            }
        }
        PhoneCommand::List => {
            let phones = api::phones(&ctx.client)?;
            if ctx.json {
                show::json(&phones);
            } else if phones.is_empty() {
                say!("No phones. Add one with `tandem phone add NAME`.");
            } else {
                let rows: Vec<Vec<String>> = phones
                    .iter()
                    .map(|p| {
                        vec![
                            p.id.clone(),
                            p.name.clone(),
                            show::stamp(&p.added_at),
                            p.last_seen
                                .as_ref()
                                .map(show::stamp)
                                .unwrap_or_else(|| "not since the daemon started".into()),
                        ]
                    })
                    .collect();
                say!(
                    "{}",
                    show::table(&["ID", "NAME", "ADDED", "LAST SEEN"], &rows)
                );
            }
        }
        PhoneCommand::Revoke { phone } => {
            api::revoke_phone(&ctx.client, &phone)?;
            if ctx.json {
                show::json(&json!({ "revoked": phone }));
            } else {
                say!(
                    "Revoked {}: its token stopped working.",
                    safe::one_line(&phone)
                );
            }
        }
    }
    Ok(())
}

fn print_added(added: &PhoneAdded) {
    let url = &added.urls[0];
    say!(
        "Scan this with {}'s camera, on the same Wi-Fi:\n",
        safe::one_line(&added.phone.name)
    );
    match QrCode::new(url.as_bytes()) {
        Ok(code) => say!(
            "{}",
            code.render::<Dense1x2>()
                .dark_color(Dense1x2::Light)
                .light_color(Dense1x2::Dark)
                .quiet_zone(true)
                .build()
        ),
        Err(e) => say!("(no QR code: {e})"),
    }
    say!("Or open: {url}");
    let fallbacks = &added.urls[1..];
    if url.contains(".local:") && !fallbacks.is_empty() {
        say!(
            "(This name stays the same when the router gives the laptop another address;              iPhones and Android 12 or later open it. If the phone cannot, use an address              below, which may change.)"
        );
    }
    for other in fallbacks {
        say!("     or: {other}");
    }
    say!(
        "\nThe browser will warn that the certificate is self-signed. Check that it shows\n\
         this SHA-256 fingerprint before going on:\n  {}",
        added.fingerprint
    );
    say!(
        "\nCalendar feed (subscribe in the phone's calendar): {}",
        added.calendar_url
    );
    say!(
        "\nThe page link holds the phone's own token, the calendar link a read-only one for \
         the calendar only; neither is shown again. \
         `tandem phone revoke {}` shuts the phone out.",
        added.phone.id
    );
}
