//! The translation report: for every Compose field of every service, what
//! it became in Kubernetes, or why it has no counterpart. Printed on stderr
//! by `render` and written beside the manifests.

use std::fmt;

use serde::Serialize;

/// One field of one service and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub service: String,
    pub field: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// Rendered as this.
    Mapped(String),
    /// Left out, for this reason.
    NotMapped(String),
}

/// Every entry, in service order then field order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TranslationReport {
    pub entries: Vec<Entry>,
}

impl TranslationReport {
    pub fn mapped(&mut self, service: &str, field: &str, to: impl Into<String>) {
        self.push(service, field, Outcome::Mapped(to.into()));
    }

    pub fn not_mapped(&mut self, service: &str, field: &str, why: impl Into<String>) {
        self.push(service, field, Outcome::NotMapped(why.into()));
    }

    fn push(&mut self, service: &str, field: &str, outcome: Outcome) {
        self.entries.push(Entry {
            service: service.to_string(),
            field: field.to_string(),
            outcome,
        });
    }

    /// Entries grouped by service (in name order), each service's fields in
    /// the order the Compose Specification lists them.
    pub fn sort(&mut self) {
        self.entries
            .sort_by_key(|entry| (entry.service.clone(), field_rank(&entry.field)));
    }

    /// The entries of `service`.
    pub fn of<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |entry| entry.service == service)
    }
}

/// Where a field comes in a service's part of the report.
fn field_rank(field: &str) -> usize {
    const ORDER: &[&str] = &[
        "image",
        "build",
        "pull_policy",
        "container_name",
        "hostname",
        "entrypoint",
        "command",
        "environment",
        "ports",
        "volumes",
        "healthcheck",
        "depends_on",
        "restart",
        "labels",
        "profiles",
        "networks",
        // The runtime fields (src/render/runtime.rs), in the order it reports them.
        "user",
        "working_dir",
        "domainname",
        "expose",
        "tty",
        "stdin_open",
        "init",
        "privileged",
        "read_only",
        "stop_signal",
        "stop_grace_period",
        "mem_limit",
        "mem_reservation",
        "cpus",
        "pids_limit",
        "oom_score_adj",
        "cap_add",
        "cap_drop",
        "security_opt",
        "dns",
        "dns_search",
        "extra_hosts",
        "group_add",
        "sysctls",
        "ulimits",
        "tmpfs",
        "shm_size",
        "links",
        "ipc",
        "pid",
        "cgroup_parent",
        "runtime",
        "userns_mode",
        "logging",
        "x-flowinfra",
    ];
    ORDER
        .iter()
        .position(|name| {
            field == *name
                || field.starts_with(&format!("{name}."))
                || field.starts_with(&format!("{name}["))
                || field.starts_with(&format!("{name} ("))
        })
        .unwrap_or(ORDER.len())
}

impl fmt::Display for TranslationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.entries.iter().map(|entry| entry.field.len()).max().unwrap_or(0);
        let mut current: Option<&str> = None;
        for entry in &self.entries {
            if current != Some(entry.service.as_str()) {
                if current.is_some() {
                    writeln!(f)?;
                }
                writeln!(f, "{}:", entry.service)?;
                current = Some(&entry.service);
            }
            let (word, detail) = match &entry.outcome {
                Outcome::Mapped(to) => ("mapped    ", to),
                Outcome::NotMapped(why) => ("NOT MAPPED", why),
            };
            writeln!(f, "  {:width$}  {word}  {detail}", entry.field)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_groups_fields_by_service_and_says_mapped_or_not() {
        let mut report = TranslationReport::default();
        report.mapped("mysql", "image", "container image mysql:8.4");
        report.not_mapped("mysql", "restart", "pods always restart");
        report.mapped("redis", "ports", "Service redis");
        assert_eq!(
            report.to_string(),
            "mysql:\n  image    mapped      container image mysql:8.4\n  restart  NOT MAPPED  pods always restart\n\n\
             redis:\n  ports    mapped      Service redis\n"
        );
        assert_eq!(report.of("mysql").count(), 2);
    }
}
