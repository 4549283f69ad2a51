//! The small languages inside Compose values: durations (`1m30s`), port
//! mappings (`127.0.0.1:8000-8001:80-81/udp`), paths relative to the file
//! that names them, service and project names, image references. Pure text in, value out;
//! callers attach the position.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::model::{Port, Protocol};
use super::yaml::Position;

/// Whether `reference` is an image reference as the engine's reference
/// grammar (distribution/reference) reads it: `[host[:port]/]path[:tag][@digest]`,
/// path components lowercase. `app:` (a tag variable that was blank) is not.
pub fn is_valid_image_reference(reference: &str) -> bool {
    static GRAMMAR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        let label = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
        let domain = format!(r"(?:{label}(?:\.{label})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?");
        let component = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
        // Go's `\w` is ASCII; the regex crate's is Unicode, and 127
        // repetitions of that class took tens of milliseconds to compile.
        let tag = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
        let digest = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
        regex::Regex::new(&format!(
            r"^(?:{domain}/)?{component}(?:/{component})*(?::{tag})?(?:@{digest})?$"
        ))
        .expect("the reference grammar compiles")
    });
    GRAMMAR.is_match(reference)
}

/// Parses a size as Compose does (go-units' RAMInBytes): bytes, or a number
/// with a binary unit `b`, `k`, `m`, `g`, `t`, `p` (optionally followed by
/// `b`, any case): `64m`, `1.5g`, `512mb`, `1048576`.
pub fn parse_byte_size(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    let number_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(number_end);
    let number: f64 = number
        .parse()
        .map_err(|_| "it does not start with a number".to_string())?;
    let unit = unit.trim();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b').filter(|u| !u.is_empty()))
        .unwrap_or(unit);
    let multiplier: f64 = match unit {
        "" | "b" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        other => return Err(format!("unknown unit `{other}`")),
    };
    Ok((number * multiplier) as i64)
}

/// Parses a Compose/Go duration: `1h`, `1m30s`, `500ms`, `1.5s`, `10us`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty".into());
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_end];
        if number.is_empty() {
            return Err(format!("expected a number at `{rest}`"));
        }
        let value: f64 = number.parse().map_err(|_| format!("`{number}` is not a number"))?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err("missing unit (ns, us, ms, s, m or h)".into()),
            unit => return Err(format!("unknown unit `{unit}` (use ns, us, ms, s, m or h)")),
        };
        total += value * seconds_per_unit;
        rest = &rest[unit_end..];
    }
    if !total.is_finite() || total > 1e9 {
        return Err("too long".into());
    }
    Ok(Duration::from_secs_f64(total))
}

/// Parses one short-form port entry, expanding ranges. The host address
/// defaults to 127.0.0.1: flowinfra publishes to this machine only unless told.
pub fn parse_port(text: &str) -> Result<Vec<Port>, String> {
    let (mapping, protocol) = match text.rsplit_once('/') {
        Some((mapping, "tcp")) => (mapping, Protocol::Tcp),
        Some((mapping, "udp")) => (mapping, Protocol::Udp),
        Some((_, other)) => {
            return Err(format!("`{text}`: unknown protocol `{other}` (use tcp or udp)"));
        }
        None => (text, Protocol::Tcp),
    };
    let (host_ip, rest) = if let Some(stripped) = mapping.strip_prefix('[') {
        let (ip, rest) = stripped
            .split_once(']')
            .ok_or_else(|| format!("`{text}`: unclosed `[` in IPv6 address"))?;
        let rest = rest
            .strip_prefix(':')
            .ok_or_else(|| format!("`{text}`: expected `:` after the IPv6 address"))?;
        (Some(ip), rest)
    } else {
        let parts: Vec<&str> = mapping.split(':').collect();
        match parts.len() {
            1 | 2 => (None, mapping),
            // An empty address (`${HOST_IP:-}:443:443`) is no address, as in Compose.
            3 if parts[0].is_empty() => (None, &mapping[1..]),
            3 => (Some(parts[0]), &mapping[parts[0].len() + 1..]),
            _ => return Err(format!("`{text}`: too many `:`")),
        }
    };
    if let Some(ip) = host_ip
        && ip.parse::<IpAddr>().is_err()
    {
        return Err(format!("`{text}`: `{ip}` is not an IP address"));
    }
    let (host_part, container_part) = match rest.split_once(':') {
        Some((host, container)) => (Some(host), container),
        None => (None, rest),
    };
    let container = parse_port_range(container_part, text, false)?;
    let host = match host_part {
        None | Some("") => None,
        Some(host) => Some(parse_port_range(host, text, true)?),
    };
    if let Some((start, end)) = host
        && end - start != container.1 - container.0
        && start != end
    {
        return Err(format!(
            "`{text}`: the host range and the container range differ in size"
        ));
    }
    let host_ip = host_ip.unwrap_or("127.0.0.1").to_string();
    Ok((container.0..=container.1)
        .enumerate()
        .map(|(offset, container_port)| Port {
            host_ip: host_ip.clone(),
            host_port: host.map(|(start, end)| if start == end { start } else { start + offset as u16 }),
            container_port,
            protocol,
            name: None,
            app_protocol: None,
        })
        .collect())
}

fn parse_port_range(text: &str, whole: &str, allow_zero: bool) -> Result<(u16, u16), String> {
    let number = |part: &str| -> Result<u16, String> {
        match part.parse::<u32>() {
            Ok(0) if !allow_zero => Err(format!("`{whole}`: port 0 is not a valid container port")),
            Ok(value) if value <= 65535 => Ok(value as u16),
            Ok(value) => Err(format!("`{whole}`: port {value} is out of range (1-65535)")),
            Err(_) => Err(format!("`{whole}`: `{part}` is not a port number")),
        }
    };
    match text.split_once('-') {
        Some((start, end)) => {
            let (start, end) = (number(start)?, number(end)?);
            if start > end {
                return Err(format!("`{whole}`: range {start}-{end} runs backwards"));
            }
            Ok((start, end))
        }
        None => {
            let port = number(text)?;
            Ok((port, port))
        }
    }
}

pub(crate) fn is_path_like(source: &str) -> bool {
    source.starts_with('/') || source.starts_with('.') || source.starts_with('~')
}

pub(crate) fn resolve_path(text: &str, position: &Position, project_dir: &Path) -> PathBuf {
    let path = if let Some(rest) = text.strip_prefix("~/") {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(rest)
    } else {
        PathBuf::from(text)
    };
    if path.is_absolute() {
        return path;
    }
    let base = position
        .file
        .parent()
        .filter(|p| position.file.exists() && !p.as_os_str().is_empty());
    let joined = match base {
        Some(dir) => dir.join(&path),
        None => project_dir.join(&path),
    };
    normalize_lexically(&joined)
}

/// Removes `.` and `..` without touching the filesystem.
pub(crate) fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

pub(crate) fn is_valid_service_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Compose's project-name rule: lowercase letters, digits, `-`, `_`, starting with a letter or digit.
pub fn normalize_project_name(name: &str) -> Option<String> {
    let lowered: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    lowered.chars().next().filter(char::is_ascii_alphanumeric)?;
    Some(lowered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_host_address_is_the_default_address() {
        let ports = parse_port(":2283:2283").unwrap();
        assert_eq!(ports[0].host_ip, "127.0.0.1");
        assert_eq!(ports[0].host_port, Some(2283));
    }

    #[test]
    fn sizes_parse_like_compose() {
        assert_eq!(parse_byte_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_byte_size("64m"), Ok(64 << 20));
        assert_eq!(parse_byte_size("64M"), Ok(64 << 20));
        assert_eq!(parse_byte_size("2gb"), Ok(2 << 30));
        assert_eq!(parse_byte_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_byte_size("10b"), Ok(10));
        assert!(parse_byte_size("lots").is_err());
        assert!(parse_byte_size("5q").is_err());
    }

    #[test]
    fn image_references_follow_the_engine_grammar() {
        for valid in [
            "busybox",
            "mysql:8.4",
            "library/mysql:8",
            "registry.example:5000/team/app:1.0-rc_1",
            "localhost/app",
            "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "app:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(is_valid_image_reference(valid), "{valid}");
        }
        for invalid in ["app:", ":1", "App", "app:/x", "app@", "a//b", "app:tag:more"] {
            assert!(!is_valid_image_reference(invalid), "{invalid}");
        }
    }

    #[test]
    fn durations_parse_like_compose() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("10"), Err("missing unit (ns, us, ms, s, m or h)".into()));
        assert_eq!(
            parse_duration("10 sec"),
            Err("unknown unit ` sec` (use ns, us, ms, s, m or h)".into())
        );
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn ports_default_to_loopback() {
        let ports = parse_port("3306:3306").unwrap();
        assert_eq!(
            ports,
            vec![Port {
                host_ip: "127.0.0.1".into(),
                host_port: Some(3306),
                container_port: 3306,
                protocol: Protocol::Tcp,
                name: None,
                app_protocol: None,
            }]
        );
    }

    #[test]
    fn port_forms_parse() {
        assert_eq!(parse_port("3306").unwrap()[0].host_port, None);
        let explicit = parse_port("0.0.0.0:8080:80/udp").unwrap();
        assert_eq!(
            (
                explicit[0].host_ip.as_str(),
                explicit[0].host_port,
                explicit[0].protocol
            ),
            ("0.0.0.0", Some(8080), Protocol::Udp)
        );
        let v6 = parse_port("[::1]:9000:9000").unwrap();
        assert_eq!(v6[0].host_ip, "::1");
        let range = parse_port("8000-8002:9000-9002").unwrap();
        assert_eq!(
            range
                .iter()
                .map(|p| (p.host_port.unwrap(), p.container_port))
                .collect::<Vec<_>>(),
            [(8000, 9000), (8001, 9001), (8002, 9002)]
        );
        assert_eq!(parse_port("127.0.0.1::5672").unwrap()[0].host_port, None);
    }

    #[test]
    fn invalid_ports_are_rejected_with_reasons() {
        assert_eq!(
            parse_port("70000:80").unwrap_err(),
            "`70000:80`: port 70000 is out of range (1-65535)"
        );
        assert_eq!(parse_port("abc").unwrap_err(), "`abc`: `abc` is not a port number");
        assert_eq!(
            parse_port("80/sctp").unwrap_err(),
            "`80/sctp`: unknown protocol `sctp` (use tcp or udp)"
        );
        assert_eq!(
            parse_port("1.2.3:80:80").unwrap_err(),
            "`1.2.3:80:80`: `1.2.3` is not an IP address"
        );
        assert_eq!(
            parse_port("80:0").unwrap_err(),
            "`80:0`: port 0 is not a valid container port"
        );
        assert_eq!(
            parse_port("9-8:9-8").unwrap_err(),
            "`9-8:9-8`: range 9-8 runs backwards"
        );
        assert_eq!(
            parse_port("1-3:1-2").unwrap_err(),
            "`1-3:1-2`: the host range and the container range differ in size"
        );
    }

    #[test]
    fn project_names_normalise() {
        assert_eq!(normalize_project_name("My Project"), Some("myproject".into()));
        assert_eq!(normalize_project_name("_x"), None);
    }
}
