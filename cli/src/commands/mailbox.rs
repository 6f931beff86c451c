//! `tandem mailbox set DIR [--own] | off [--own] | status`: syncing while apart through a
//! folder both laptops already sync. The daemon does the work; this sets and shows it.

use anyhow::Context;
use tandem_protocol::mailbox::status::{FolderStatus, MailboxQuery, MailboxRequest, MailboxStatus};

use super::Ctx;
use crate::api;
use crate::args::MailboxCommand;
use crate::safe;
use crate::show::{self, say};

/// Runs one `tandem mailbox` command.
pub fn run(ctx: &Ctx, command: MailboxCommand) -> anyhow::Result<()> {
    let status: MailboxStatus = match command {
        MailboxCommand::Set { dir, own } => {
            let dir = std::path::absolute(&dir)
                .with_context(|| format!("cannot resolve {}", dir.display()))?;
            let request = MailboxRequest {
                dir: dir.display().to_string(),
                own,
            };
            let status = api::set_mailbox(&ctx.client, &request)?;
            if !ctx.json {
                say!(
                    "Mailbox set: {}. Set the same folder on {}.",
                    safe::one_line(&request.dir),
                    if own {
                        "your other laptop"
                    } else {
                        "your partner's laptop"
                    }
                );
            }
            status
        }
        MailboxCommand::Off { own } => {
            let status = api::mailbox_off(&ctx.client, &MailboxQuery { own })?;
            if !ctx.json {
                say!("Mailbox off. Its files stay in the folder; delete them if you like.");
            }
            status
        }
        MailboxCommand::Status => api::mailbox_status(&ctx.client)?,
    };
    if ctx.json {
        show::json(&status);
        return Ok(());
    }
    let folders = [
        ("Mailbox (shared with your partner)", &status.shared),
        ("Own-devices mailbox (private notes)", &status.own),
    ];
    if folders.iter().all(|(_, f)| f.is_none()) {
        say!("No mailbox: `tandem mailbox set DIR` syncs through a folder you both already sync.");
    }
    for (title, folder) in folders {
        if let Some(folder) = folder {
            show_folder(title, folder);
        }
    }
    Ok(())
}

fn show_folder(title: &str, folder: &FolderStatus) {
    say!("{title}: {}", safe::one_line(&folder.dir));
    let written = folder
        .last_written
        .map_or_else(|| "never".to_owned(), |at| show::stamp(&at));
    say!(
        "  last written {written}; {} bundle(s), {} KiB of this laptop's",
        folder.bundles,
        folder.bytes_used.div_ceil(1024)
    );
    for device in &folder.devices {
        let read = match (&device.note, &device.last_read) {
            (Some(note), _) => note.clone(),
            (None, Some(at)) => format!("last read {}", show::stamp(at)),
            (None, None) => "nothing read yet".to_owned(),
        };
        say!(
            "  {}: {}",
            safe::one_line(&device.name),
            safe::one_line(&read)
        );
    }
    if let Some(error) = &folder.error {
        say!("  Problem: {}", safe::one_line(error));
    }
}
