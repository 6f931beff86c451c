//! `tandem pair`, `tandem peers`, `tandem peer add|remove`.

use std::time::Duration;

use serde_json::json;
use tandem_protocol::api::{AddPeerRequest, JoinRequest, PairRequest, PeerStatus};

use super::Ctx;
use crate::api;
use crate::args::{PairArgs, PeerCommand};
use crate::failure::{NotFound, Usage};
use crate::safe;
use crate::show::{self, say, say_err};

/// How often `tandem pair` checks whether the other laptop joined.
const POLL: Duration = Duration::from_millis(300);

/// Shows a code and waits, or joins another laptop's code.
pub fn pair(ctx: &Ctx, args: PairArgs) -> anyhow::Result<()> {
    if let Some(code) = args.code {
        let join = JoinRequest {
            code,
            addr: args.addr,
            own: args.own,
        };
        let peer = api::join_pairing(&ctx.client, &join)?;
        if ctx.json {
            show::json(&peer);
        } else {
            say!(
                "Paired with {} ({}). Your plans now sync with them.",
                safe::one_line(&peer.name),
                peer.device_id
            );
        }
        return Ok(());
    }
    let before = api::pairing(&ctx.client)?;
    let opened = api::open_pairing(&ctx.client, &PairRequest { own: args.own })?;
    let code = opened.code.clone().unwrap_or_default();
    if ctx.json && args.no_wait {
        show::json(&opened);
        return Ok(());
    }
    say_err!("Pairing code: {code}  (valid 5 minutes)");
    say_err!("On the other laptop run:  tandem pair {code}");
    say_err!(
        "(if it cannot find this one, add --addr {})",
        opened.addrs.join(" or --addr ")
    );
    if args.no_wait {
        return Ok(());
    }
    say_err!("Waiting for the other laptop ... (Ctrl-C to stop)");
    loop {
        std::thread::sleep(POLL);
        let now = api::pairing(&ctx.client)?;
        if let Some(new) = now.paired.iter().find(|d| !before.paired.contains(d)) {
            let peers = api::peers(&ctx.client)?;
            let peer = peers.into_iter().find(|p| p.device_id.to_string() == *new);
            if ctx.json {
                show::json(&peer);
            } else if let Some(peer) = peer {
                say!(
                    "Paired with {} ({}).",
                    safe::one_line(&peer.name),
                    peer.device_id
                );
            }
            return Ok(());
        }
        if now.code.is_none() {
            anyhow::bail!(
                "pairing closed (the code expired or its 3 attempts were used): run `tandem pair` again"
            );
        }
    }
}

/// Lists paired devices, or devices nearby.
pub fn peers(ctx: &Ctx, nearby: bool) -> anyhow::Result<()> {
    if nearby {
        let devices = api::nearby(&ctx.client)?;
        if ctx.json {
            show::json(&devices);
        } else if devices.is_empty() {
            let status = api::status(&ctx.client)?;
            if status.mdns {
                say!(
                    "No tandem device seen on this network. Some Wi-Fi networks block discovery: use `tandem pair CODE --addr HOST:PORT`."
                );
            } else {
                say!(
                    "mDNS is off on this laptop (tandemd --no-mdns, or mdns = false in config.toml), so it looks for no one: use `tandem pair CODE --addr HOST:PORT`."
                );
            }
        } else {
            let rows: Vec<Vec<String>> = devices
                .iter()
                .map(|d| {
                    vec![
                        d.device_id.short(),
                        d.name.clone(),
                        if d.paired {
                            "paired".into()
                        } else {
                            "not paired".into()
                        },
                        d.addrs.join(" "),
                    ]
                })
                .collect();
            say!(
                "{}",
                show::table(&["DEVICE", "NAME", "STATE", "ADDRESSES"], &rows)
            );
        }
        return Ok(());
    }
    let peers = api::peers(&ctx.client)?;
    if ctx.json {
        show::json(&peers);
        return Ok(());
    }
    let status = api::status(&ctx.client)?;
    say!(
        "This device: {} (peer port {})",
        status.device_id,
        status.peer_port
    );
    if peers.is_empty() {
        say!(
            "No paired devices yet. Run `tandem pair` here and `tandem pair CODE --addr ...` on the other laptop."
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = peers
        .iter()
        .map(|p| {
            vec![
                p.device_id.short(),
                p.name.clone(),
                format!("{:?}", p.relation).to_lowercase(),
                if p.connected {
                    "connected".into()
                } else {
                    "offline".into()
                },
                p.addr.clone().unwrap_or_default(),
                p.found_by.clone(),
                p.last_seen
                    .map(|s| show::stamp(&s))
                    .unwrap_or_else(|| "never".into()),
            ]
        })
        .collect();
    say!(
        "{}",
        show::table(
            &[
                "DEVICE",
                "NAME",
                "RELATION",
                "STATE",
                "ADDRESS",
                "FOUND BY",
                "LAST SEEN"
            ],
            &rows
        )
    );
    Ok(())
}

/// Adds an address or removes a device.
pub fn peer(ctx: &Ctx, command: PeerCommand) -> anyhow::Result<()> {
    match command {
        PeerCommand::Add { addr } => {
            let peer = api::add_peer(&ctx.client, &AddPeerRequest { addr: addr.clone() })?;
            if ctx.json {
                show::json(&peer);
            } else {
                say!("Connected to {} at {addr}.", safe::one_line(&peer.name));
            }
        }
        PeerCommand::Remove { id } => {
            let peers = api::peers(&ctx.client)?;
            let wanted = id.replace('-', "").to_ascii_uppercase();
            let matches: Vec<&PeerStatus> = peers
                .iter()
                .filter(|p| {
                    p.device_id
                        .to_string()
                        .replace('-', "")
                        .starts_with(&wanted)
                })
                .collect();
            let peer = match matches.as_slice() {
                [one] => *one,
                [] => {
                    return Err(NotFound(format!(
                        "no paired device starts with {id}: see `tandem peers`"
                    ))
                    .into());
                }
                several => {
                    let listed: Vec<String> = several
                        .iter()
                        .map(|p| format!("{} ({})", p.device_id.short(), safe::one_line(&p.name)))
                        .collect();
                    return Err(Usage(format!(
                        "{id} could be {} devices: {}; give more of the id",
                        several.len(),
                        listed.join(", ")
                    ))
                    .into());
                }
            };
            api::remove_peer(&ctx.client, &peer.device_id)?;
            if ctx.json {
                show::json(&json!({ "unpaired": peer.device_id }));
            } else {
                say!(
                    "Unpaired {} ({}); it is refused from now on.",
                    safe::one_line(&peer.name),
                    peer.device_id
                );
            }
        }
    }
    Ok(())
}
