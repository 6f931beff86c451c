//! The phone link names the laptop by its mDNS host name, which stays the same when the
//! router hands out another address: on a home network made of two network namespaces,
//! a "phone" in the other namespace resolves the name over multicast DNS to the laptop's
//! address, and the page answers there. Without mDNS the links are addresses only.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use mdns_sd::{HostnameResolutionEvent, ServiceDaemon};
use tandem_tests::netns::{self, NetPair};
use tandem_tests::{Daemon, Home};

/// Longest a phone may wait for the name to resolve.
const RESOLVE: Duration = Duration::from_secs(10);

/// The host and port of a page link `https://HOST:PORT/#token=...`.
fn host_and_port(url: &str) -> (String, u16) {
    let authority = url
        .strip_prefix("https://")
        .and_then(|rest| rest.split_once('/'))
        .map(|(authority, _)| authority)
        .unwrap_or_else(|| panic!("a page link: {url}"));
    let (host, port) = authority.rsplit_once(':').expect("a port");
    (host.to_owned(), port.parse().expect("a port number"))
}

/// The addresses `host` resolves to over mDNS, asked from inside namespace `ns`.
fn resolve_from(ns: &str, host: &str) -> Vec<IpAddr> {
    let (ns, host) = (ns.to_owned(), format!("{host}."));
    std::thread::spawn(move || {
        netns::enter(&ns).expect("enter the phone's namespace");
        let mdns = ServiceDaemon::new().expect("an mDNS daemon");
        let events = mdns
            .resolve_hostname(&host, Some(RESOLVE.as_millis() as u64))
            .expect("ask for the name");
        let deadline = Instant::now() + RESOLVE;
        let mut found = Vec::new();
        while let Ok(event) =
            events.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            match event {
                HostnameResolutionEvent::AddressesFound(_, addrs) => {
                    found.extend(addrs.iter().map(|a| a.to_ip_addr()));
                    break;
                }
                HostnameResolutionEvent::SearchStopped(_) => break,
                _ => {}
            }
        }
        let _ = mdns.shutdown();
        found
    })
    .join()
    .expect("the resolving thread")
}

/// Whether the page answers at `ip:port`, asked from inside namespace `ns`.
fn page_answers_from(ns: &str, ip: IpAddr, port: u16) -> bool {
    let ns = ns.to_owned();
    std::thread::spawn(move || {
        netns::enter(&ns).expect("enter the phone's namespace");
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(true)
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        agent
            .get(&format!("https://{ip}:{port}/"))
            .call()
            .and_then(|mut r| r.body_mut().read_to_string())
            .is_ok_and(|page| page.contains("<title>Tandem</title>"))
    })
    .join()
    .expect("the page thread")
}

#[test]
fn the_phone_link_names_the_laptop_by_a_name_that_resolves_over_mdns() {
    let Some(net) = NetPair::create_or_skip(
        "the_phone_link_names_the_laptop_by_a_name_that_resolves_over_mdns",
    ) else {
        return;
    };
    let home = Home::init("Alex");
    let alex = Daemon::start_in(home.path(), &net.ns[0]);
    let added = alex.cli_json(&["phone", "add", "Pixel"]);
    let urls: Vec<&str> = added["urls"]
        .as_array()
        .expect("page links")
        .iter()
        .map(|u| u.as_str().expect("a link"))
        .collect();
    let (host, port) = host_and_port(urls[0]);
    assert!(
        host.starts_with("tandem-") && host.ends_with(".local"),
        "the first link names the laptop's mDNS host: {urls:?}"
    );
    assert!(
        urls[1..].iter().any(|u| host_and_port(u).0 == net.ip[0]),
        "the laptop's address is a fallback link: {urls:?}"
    );
    assert!(
        added["calendar_url"].as_str().unwrap().contains(&host),
        "the calendar feed names the host too: {added}"
    );

    let resolved = resolve_from(&net.ns[1], &host);
    let laptop: IpAddr = net.ip[0].parse().unwrap();
    assert!(
        resolved.contains(&laptop),
        "{host} resolves to the laptop's address {laptop} on the home network, got {resolved:?}"
    );
    assert!(
        page_answers_from(&net.ns[1], laptop, port),
        "the page answers at the address the name resolves to"
    );
}

#[test]
fn without_mdns_the_phone_links_are_addresses() {
    let home = Home::init("Sam");
    let sam = home.start();
    let added = sam.cli_json(&["phone", "add", "Pixel"]);
    for url in added["urls"].as_array().expect("page links") {
        let (host, _) = host_and_port(url.as_str().unwrap());
        assert!(
            host.parse::<IpAddr>().is_ok(),
            "with mDNS off no name would resolve, so every link is an address: {added}"
        );
    }
}
